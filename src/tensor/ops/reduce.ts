/** Reductions over axes (sum, mean, max, min, argmax, argmin, var) and softmax / logSoftmax. */
import { backend, type ReduceOp } from '../../backend/index.js';
import { record, traced } from '../autograd.js';
import { fmtShape } from '../errors.js';
import { normAxes, normAxis, reducedShape, splitAt } from '../shape.js';
import { Tensor } from '../tensor.js';
import { div, eq, mul, sub, toFloat } from './elementwise.js';
import { broadcastTo } from './movement.js';
import { expectFloat, newFloat, type F32 } from './util.js';

export interface ReduceOptions {
  keepdim?: boolean;
}

type Axes = number | readonly number[] | undefined;

/**
 * Reduces `axes` of x with the backend's [outer, r, inner] kernel. Runs of
 * adjacent axes are one call; separate runs are reduced one after another from
 * the last, so earlier axes keep their positions. Returns the keepdim shape.
 */
function reduceRaw(op: ReduceOp, x: F32, axes: number[]): F32 {
  let cur = x;
  let i = axes.length - 1;
  while (i >= 0) {
    let j = i;
    while (j > 0 && axes[j - 1] === axes[j] - 1) j--;
    const first = axes[j];
    const last = axes[i];
    const shape = cur.shape;
    const outer = shape.slice(0, first).reduce((a, d) => a * d, 1);
    const r = shape.slice(first, last + 1).reduce((a, d) => a * d, 1);
    const inner = shape.slice(last + 1).reduce((a, d) => a * d, 1);
    if (r === 0 && op !== 'sum') {
      throw new RangeError(`${op}: cannot reduce over an empty dimension of shape ${fmtShape(x.shape)}`);
    }
    const outShape = shape.map((d, k) => (k >= first && k <= last ? 1 : d));
    const out = newFloat(outShape);
    backend().reduce(op, cur.data, outer, r, inner, out.data);
    cur = out;
    i = j - 1;
  }
  return cur;
}

function countOf(shape: readonly number[], axes: number[]): number {
  return axes.reduce((a, d) => a * shape[d], 1);
}

/** Sum over the given axes (all by default). int32 and uint8 inputs (counts of labels or masks) are summed as float32. */
export function sum(x: Tensor, axes?: Axes, { keepdim = false }: ReduceOptions = {}): F32 {
  if (x.dtype !== 'float32') return sum(toFloat(x), axes, { keepdim });
  const ax = normAxes('sum', axes, x.ndim);
  const kept = reduceRaw('sum', x as F32, ax);
  const out = new Tensor<'float32'>(kept.data, reducedShape(x.shape, ax, keepdim));
  const inShape = x.shape;
  return record(out, 'sum', [x], (g) => [broadcastTo(new Tensor(g.data, kept.shape), inShape)], { axes: ax, keepdim });
}

/** Mean over the given axes (all by default). */
export function mean(x: Tensor, axes?: Axes, options: ReduceOptions = {}): F32 {
  expectFloat('mean', x);
  const n = countOf(x.shape, normAxes('mean', axes, x.ndim));
  return div(sum(x, axes, options), n);
}

/**
 * Max over axes. The gradient goes evenly to every element equal to the max,
 * as PyTorch's amax does.
 */
export function max(x: Tensor, axes?: Axes, options: ReduceOptions = {}): F32 {
  return extreme('max', x, axes, options);
}

export function min(x: Tensor, axes?: Axes, options: ReduceOptions = {}): F32 {
  return extreme('min', x, axes, options);
}

function extreme(op: 'max' | 'min', x: Tensor, axes: Axes, { keepdim = false }: ReduceOptions): F32 {
  expectFloat(op, x);
  const ax = normAxes(op, axes, x.ndim);
  const kept = reduceRaw(op, x as F32, ax);
  const out = new Tensor<'float32'>(kept.data, reducedShape(x.shape, ax, keepdim));
  return record(
    out,
    op,
    [x],
    (g) => {
      const mask = toFloat(eq(x, kept));
      const count = reduceRaw('sum', mask, ax);
      return [mul(mask, broadcastTo(div(new Tensor(g.data, kept.shape), count), x.shape))];
    },
    { axes: ax, keepdim },
  );
}

/** Index of the first maximum along `axis` (of the flattened tensor when omitted), as int32. */
export function argmax(x: Tensor, axis?: number, options: ReduceOptions = {}): Tensor<'int32'> {
  return argExtreme(true, x, axis, options);
}

export function argmin(x: Tensor, axis?: number, options: ReduceOptions = {}): Tensor<'int32'> {
  return argExtreme(false, x, axis, options);
}

function argExtreme(isMax: boolean, x: Tensor, axis: number | undefined, { keepdim = false }: ReduceOptions): Tensor<'int32'> {
  const name = isMax ? 'argmax' : 'argmin';
  expectFloat(name, x);
  if (x.size === 0) throw new RangeError(`${name}: the tensor is empty (shape ${fmtShape(x.shape)})`);
  let outer = 1;
  let r = x.size;
  let inner = 1;
  let shape: number[] = keepdim ? x.shape.map(() => 1) : [];
  if (axis !== undefined) {
    const a = normAxis(name, axis, x.ndim);
    [outer, r, inner] = splitAt(x.shape, a);
    shape = reducedShape(x.shape, [a], keepdim);
  }
  const out = new Tensor<'int32'>(backend().alloc('int32', outer * inner), shape);
  backend().argReduce(isMax, x.data as Float32Array, outer, r, inner, out.data);
  return traced(out, name, [x]);
}

export interface VarOptions extends ReduceOptions {
  /** Bessel's correction: 1 (the default, unbiased, as in PyTorch) or 0. */
  correction?: number;
}

/** Variance over axes: sum((x - mean)^2) / (n - correction). */
export function variance(x: Tensor, axes?: Axes, { keepdim = false, correction = 1 }: VarOptions = {}): F32 {
  expectFloat('var', x);
  const n = countOf(x.shape, normAxes('var', axes, x.ndim));
  const centred = sub(x, mean(x, axes, { keepdim: true }));
  return div(sum(mul(centred, centred), axes, { keepdim }), Math.max(0, n - correction));
}

function softmaxImpl(x: Tensor, axis: number, log: boolean): F32 {
  const name = log ? 'logSoftmax' : 'softmax';
  expectFloat(name, x);
  const a = normAxis(name, axis, Math.max(x.ndim, 1));
  const [outer, r, inner] = x.ndim === 0 ? [1, 1, 1] : splitAt(x.shape, a);
  const y = newFloat(x.shape);
  backend().softmax(x.data as Float32Array, outer, r, inner, log, y.data);
  const inShape = x.shape;
  return record(
    y,
    name,
    [x],
    (g) => {
      const dx = newFloat(inShape);
      backend().softmaxBackward(y.data, g.data, outer, r, inner, log, dx.data);
      return [dx];
    },
    { axis: a },
  );
}

/** exp(x) / sum(exp(x)) along `axis`, computed stably. */
export function softmax(x: Tensor, axis: number): F32 {
  return softmaxImpl(x, axis, false);
}

/** x - logsumexp(x) along `axis`, computed stably. */
export function logSoftmax(x: Tensor, axis: number): F32 {
  return softmaxImpl(x, axis, true);
}
