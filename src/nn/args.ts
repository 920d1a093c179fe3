/**
 * Checking the constructor arguments of layers: per-axis sizes (a number for every
 * axis, or one per axis, as PyTorch's _pair/_triple), counts and probabilities.
 * Errors name the layer and the argument.
 */

/** One value for every spatial axis, or a list with one per axis. */
export type PerAxis = number | readonly number[];

/** Expands a per-axis argument to `dims` integers >= min, or throws naming the layer. */
export function perAxis(layer: string, name: string, v: PerAxis, dims: number, min: number): number[] {
  const list = typeof v === 'number' ? new Array<number>(dims).fill(v) : Array.isArray(v) ? [...v] : [];
  if (list.length !== dims || list.some((x) => !Number.isInteger(x) || x < min)) {
    throw new RangeError(`${layer}: ${name} must be an integer >= ${min} or a list of ${dims}, got ${JSON.stringify(v)}`);
  }
  return list;
}

/** Throws unless v is an integer >= min. */
export function checkInt(layer: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${layer}: ${name} must be an integer >= ${min}, got ${v}`);
}

/** Throws unless p is a probability. */
export function checkProbability(layer: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${layer}: p must be in [0, 1], got ${p}`);
}

/** "[3, 3]" for printing a per-axis value in extraRepr. */
export function fmtAxes(v: readonly number[]): string {
  return `[${v.join(', ')}]`;
}
