/**
 * Input checking shared by the metrics: class indices from an int tensor or a
 * number[], and scores [N, C] from a float tensor or number[][]. Everything is
 * validated before a metric changes its state, so a bad batch leaves it untouched.
 */
import { ShapeError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

/** Class indices: an int32 (or any integer-valued) 1-D tensor, [N, 1] tensor, or a plain array. */
export type Labels = Tensor | ArrayLike<number>;
/** Scores or probabilities [N, C]: a 2-D tensor or an array of rows. */
export type Scores = Tensor | ArrayLike<ArrayLike<number>>;

/** Checks class indices are integers in [0, numClasses) and returns them as an Int32Array. */
export function toLabels(op: string, what: string, x: Labels, numClasses: number): Int32Array {
  let values: ArrayLike<number>;
  if (x instanceof Tensor) {
    const ok = x.ndim === 1 || (x.ndim === 2 && x.shape[1] === 1);
    if (!ok) throw new ShapeError(`${op}: ${what} must have shape [N] (or [N, 1]), got ${fmtShape(x.shape)}`);
    values = x.data;
  } else if (isArrayLike(x)) {
    values = x;
  } else {
    throw new TypeError(`${op}: ${what} must be a tensor or an array of class indices`);
  }
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new TypeError(`${op}: ${what}[${i}] = ${String(v)} is not an integer class index`);
    }
    if (v < 0 || v >= numClasses) {
      throw new RangeError(`${op}: ${what}[${i}] = ${v} is out of range for ${numClasses} classes`);
    }
    out[i] = v;
  }
  return out;
}

/** Scores [N, C] as a flat row-major array plus N; C must equal numClasses. */
export function toScores(op: string, x: Scores, numClasses: number): { data: ArrayLike<number>; n: number } {
  if (x instanceof Tensor) {
    if (x.ndim !== 2 || x.shape[1] !== numClasses) {
      throw new ShapeError(`${op}: scores must have shape [N, ${numClasses}], got ${fmtShape(x.shape)}`);
    }
    return { data: x.data, n: x.shape[0] };
  }
  if (!isArrayLike(x)) throw new TypeError(`${op}: scores must be a tensor or an array of rows`);
  const n = x.length;
  const data = new Float64Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const row = x[i];
    if (!isArrayLike(row) || row.length !== numClasses) {
      throw new ShapeError(`${op}: scores row ${i} must have ${numClasses} values, got ${isArrayLike(row) ? row.length : typeof row}`);
    }
    for (let j = 0; j < numClasses; j++) data[i * numClasses + j] = row[j];
  }
  return { data, n };
}

/** Index of the first largest value of row i (NaN is skipped; an all-NaN row gives 0). */
export function argmaxRow(data: ArrayLike<number>, i: number, c: number): number {
  let best = 0;
  let bestV = -Infinity;
  let found = false;
  for (let j = 0; j < c; j++) {
    const v = data[i * c + j];
    if (Number.isNaN(v)) continue;
    if (!found || v > bestV) {
      best = j;
      bestV = v;
      found = true;
    }
  }
  return best;
}

export function isScores(x: unknown): boolean {
  if (x instanceof Tensor) return x.ndim === 2 && x.dtype === 'float32';
  return isArrayLike(x) && x.length > 0 && isArrayLike((x as ArrayLike<unknown>)[0]);
}

export function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

export function checkNumClasses(op: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${op}: numClasses must be a positive integer, got ${n}`);
}
