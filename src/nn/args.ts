/**
 * Checking the constructor arguments of layers: per-axis sizes (a number for every
 * axis, or one per axis, as PyTorch's _pair/_triple), counts and probabilities.
 * Errors name the layer and the argument.
 */

export { perAxis, type PerAxis } from '../tensor/shape.js';

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
