/** Shape arithmetic: the only place broadcasting, strides and axis normalisation are computed. */
import { ShapeError, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws naming `op` unless every dimension is a non-negative integer. */
export function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${op}: a shape is a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

/** Row-major strides of a contiguous tensor. */
export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** NumPy broadcasting of two shapes; throws naming `op` and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a contiguous tensor of `shape` as if it had `outShape` (0 on broadcast dimensions). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : own[i - off]));
}

/** Normalises a possibly negative axis for a tensor of rank `ndim`. */
export function normAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= Math.max(ndim, 1)) {
    throw new RangeError(`${op}: dimension ${axis} is out of range for a tensor of rank ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalised, sorted, de-duplicated axes; undefined means every axis. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return [...Array(ndim).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normAxis(op, a, ndim)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw new RangeError(`${op}: repeated dimension in [${list.join(', ')}]`);
  return out;
}

/** Splits `shape` around axis into [outer, size, inner] products. */
export function splitAt(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return [outer, shape[axis], inner];
}

/** The shape left after reducing `axes` (kept as size 1 when keepdim). */
export function reducedShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdim) out.push(1);
  });
  return out;
}

/** Resolves a reshape target with at most one -1 against a number of elements. */
export function inferShape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  const neg = to.filter((d) => d === -1).length;
  if (neg > 1 || to.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(`${op}: invalid target shape ${fmtShape(to)}`);
  }
  const known = to.reduce((acc, d) => (d === -1 ? acc : acc * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (numel(out) !== n || !out.every(Number.isInteger)) {
    throw new ShapeError(`${op}: cannot reshape ${fmtShape(from)} (${n} elements) into ${fmtShape(to)}`);
  }
  return out;
}

/** Output length of a convolution or pooling window along one axis (PyTorch's formula). */
export function convOutputSize(input: number, kernel: number, stride: number, padding: number, dilation: number, ceilMode = false): number {
  const span = input + 2 * padding - dilation * (kernel - 1) - 1;
  if (!ceilMode) return Math.floor(span / stride) + 1;
  let out = Math.ceil(span / stride) + 1;
  // A last window that would start inside the right padding is dropped, as in PyTorch.
  if ((out - 1) * stride >= input + padding) out--;
  return out;
}

/** One value for every spatial axis, or a list with one per axis (PyTorch's _pair/_triple). */
export type PerAxis = number | readonly number[];

/** Expands a per-axis argument to `dims` integers >= min, or throws naming the op and the argument. */
export function perAxis(op: string, name: string, v: PerAxis, dims: number, min: number): number[] {
  const list = typeof v === 'number' ? new Array<number>(dims).fill(v) : Array.isArray(v) ? [...v] : [];
  if (list.length !== dims || list.some((x) => !Number.isInteger(x) || x < min)) {
    throw new RangeError(`${op}: ${name} must be an integer >= ${min} or a list of ${dims}, got ${JSON.stringify(v)}`);
  }
  return list;
}
