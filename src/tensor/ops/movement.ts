/**
 * Ops that move data without arithmetic: reshape and its relatives (views that
 * share storage), permute/transpose, broadcastTo, concat/stack/split, slice, pad,
 * indexSelect and gather, casts, clone and detach.
 */
import { backend } from '../../backend/index.js';
import { record, traced } from '../autograd.js';
import type { DType, DTypeMap } from '../../core/dtype.js';
import { fmtShape, ShapeError } from '../errors.js';
import { broadcastShapes, broadcastStrides, contiguousStrides, inferShape, normAxis, numel, shapesEqual, splitAt, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { expectDType, newFloat, sumTo, type F32 } from './util.js';

function like<D extends DType>(dtype: D, shape: Shape): Tensor<D> {
  return new Tensor(backend().alloc(dtype, numel(shape)) as DTypeMap[D], shape);
}

// ---- views ----------------------------------------------------------------

/** The same elements in a new shape (one dimension may be -1). Shares storage. */
export function reshape<D extends DType>(x: Tensor<D>, shape: readonly number[]): Tensor<D> {
  const target = inferShape('reshape', x.shape, shape);
  const out = new Tensor(x.data, target);
  const inShape = x.shape;
  return record(out, 'reshape', [x], (g) => [new Tensor(g.data, inShape)]);
}

/** Merges dimensions startDim..endDim into one. */
export function flatten<D extends DType>(x: Tensor<D>, startDim = 0, endDim = -1): Tensor<D> {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normAxis('flatten', startDim, x.ndim);
  const e = normAxis('flatten', endDim, x.ndim);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  const merged = x.shape.slice(s, e + 1).reduce((a, d) => a * d, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/** Removes size-1 dimensions (only `dim` when given). */
export function squeeze<D extends DType>(x: Tensor<D>, dim?: number): Tensor<D> {
  if (dim === undefined)
    return reshape(
      x,
      x.shape.filter((d) => d !== 1),
    );
  const a = normAxis('squeeze', dim, x.ndim);
  return x.shape[a] === 1
    ? reshape(
        x,
        x.shape.filter((_, i) => i !== a),
      )
    : x;
}

/** Inserts a size-1 dimension at `dim`. */
export function unsqueeze<D extends DType>(x: Tensor<D>, dim: number): Tensor<D> {
  const a = normAxis('unsqueeze', dim, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

// ---- copies ---------------------------------------------------------------

/** Reorders dimensions: out.shape[i] = x.shape[dims[i]]. */
export function permute<D extends DType>(x: Tensor<D>, dims: readonly number[]): Tensor<D> {
  if (dims.length !== x.ndim) {
    throw new ShapeError(`permute: ${dims.length} dimensions given for a tensor of shape ${fmtShape(x.shape)}`);
  }
  // closures here see x's rank and shape, never x, which the backward closure would otherwise keep alive
  const [rank, inShape] = [x.ndim, x.shape];
  const p = dims.map((d) => normAxis('permute', d, rank));
  if (new Set(p).size !== p.length) throw new RangeError(`permute: repeated dimension in [${dims.join(', ')}]`);
  const shape = p.map((d) => inShape[d]);
  const xs = contiguousStrides(x.shape);
  const out = like(x.dtype, shape);
  backend().copyStrided(
    shape,
    x.data,
    0,
    p.map((d) => xs[d]),
    out.data,
    0,
    contiguousStrides(shape),
  );
  const inverse = new Array<number>(p.length);
  p.forEach((d, i) => (inverse[d] = i));
  return record(out, 'permute', [x], (g) => [permute(g, inverse)], { dims: p });
}

/** Swaps two dimensions. */
export function transpose<D extends DType>(x: Tensor<D>, dim0 = -2, dim1 = -1): Tensor<D> {
  const p = [...x.shape.keys()];
  const a = normAxis('transpose', dim0, x.ndim);
  const b = normAxis('transpose', dim1, x.ndim);
  [p[a], p[b]] = [p[b], p[a]];
  return permute(x, p);
}

/** Repeats size-1 (or missing leading) dimensions to reach `shape`, as a copy. */
export function broadcastTo<D extends DType>(x: Tensor<D>, shape: Shape): Tensor<D> {
  const target = broadcastShapes('broadcastTo', x.shape, shape);
  if (!shapesEqual(target, shape)) {
    throw new ShapeError(`broadcastTo: shape ${fmtShape(x.shape)} cannot be broadcast to ${fmtShape(shape)}`);
  }
  if (shapesEqual(x.shape, shape)) return x;
  const out = like(x.dtype, shape);
  backend().copyStrided(shape, x.data, 0, broadcastStrides(x.shape, shape), out.data, 0, contiguousStrides(shape));
  const inShape = x.shape;
  return record(out, 'broadcastTo', [x], (g) => [sumTo(g, inShape)]);
}

/** Joins tensors along an existing dimension. */
export function concat<D extends DType>(tensors: readonly Tensor<D>[], dim = 0): Tensor<D> {
  if (tensors.length === 0) throw new RangeError('concat: expected at least one tensor');
  // Closures below see only shapes: one that saw an input would keep it alive through the backward closure, which shares their scope.
  const { dtype, shape: firstShape } = tensors[0];
  const a = normAxis('concat', dim, firstShape.length);
  for (const t of tensors) {
    if (t.dtype !== dtype) throw new TypeError(`concat: dtypes ${dtype} and ${t.dtype} differ`);
    if (t.ndim !== firstShape.length || t.shape.some((d, i) => i !== a && d !== firstShape[i])) {
      throw new ShapeError(`concat: shapes ${fmtShape(firstShape)} and ${fmtShape(t.shape)} differ outside dimension ${a}`);
    }
  }
  const shape = [...firstShape];
  shape[a] = tensors.reduce((acc, t) => acc + t.shape[a], 0);
  const out = like(dtype, shape);
  const os = contiguousStrides(shape);
  let offset = 0;
  for (const t of tensors) {
    backend().copyStrided(t.shape, t.data, 0, contiguousStrides(t.shape), out.data, offset * os[a], os);
    offset += t.shape[a];
  }
  const parts = tensors.map((t) => ({ length: t.shape[a], grad: t.requiresGrad }));
  return record(
    out,
    'concat',
    tensors,
    (g) => {
      let start = 0;
      return parts.map(({ length, grad }) => {
        const part = grad ? slice(g, a, start, start + length) : null;
        start += length;
        return part;
      });
    },
    { axis: a },
  );
}

/** Joins equal-shaped tensors along a new dimension. */
export function stack<D extends DType>(tensors: readonly Tensor<D>[], dim = 0): Tensor<D> {
  if (tensors.length === 0) throw new RangeError('stack: expected at least one tensor');
  for (const t of tensors) {
    if (!shapesEqual(t.shape, tensors[0].shape)) {
      throw new ShapeError(`stack: shapes ${fmtShape(tensors[0].shape)} and ${fmtShape(t.shape)} differ`);
    }
  }
  const a = normAxis('stack', dim, tensors[0].ndim + 1);
  return concat(
    tensors.map((t) => unsqueeze(t, a)),
    a,
  );
}

/** Splits into pieces of `size` along dim (the last may be smaller), or into the listed sizes. */
export function split<D extends DType>(x: Tensor<D>, sizes: number | readonly number[], dim = 0): Tensor<D>[] {
  const a = normAxis('split', dim, x.ndim);
  const n = x.shape[a];
  let list: number[];
  if (typeof sizes === 'number') {
    if (!(sizes > 0)) throw new RangeError(`split: size must be positive, got ${sizes}`);
    list = [];
    for (let s = 0; s < n; s += sizes) list.push(Math.min(sizes, n - s));
  } else {
    list = [...sizes];
    if (list.reduce((p, q) => p + q, 0) !== n) {
      throw new ShapeError(`split: sizes [${list.join(', ')}] do not add up to dimension ${a} of shape ${fmtShape(x.shape)}`);
    }
  }
  let start = 0;
  return list.map((len) => {
    const part = slice(x, a, start, start + len);
    start += len;
    return part;
  });
}

/** Elements start, start+step, ... below end along one dimension (negative indices count from the end). */
export function slice<D extends DType>(x: Tensor<D>, dim: number, start = 0, end?: number, step = 1): Tensor<D> {
  const a = normAxis('slice', dim, x.ndim);
  const n = x.shape[a];
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`slice: step must be a positive integer, got ${step}`);
  const clampIdx = (i: number) => Math.min(Math.max(i < 0 ? i + n : i, 0), n);
  const s = clampIdx(start);
  const e = Math.max(s, clampIdx(end ?? n));
  const len = Math.ceil((e - s) / step);
  const shape = [...x.shape];
  shape[a] = len;
  const xs = contiguousStrides(x.shape);
  const srcStrides = xs.map((st, i) => (i === a ? st * step : st));
  const out = like(x.dtype, shape);
  backend().copyStrided(shape, x.data, s * xs[a], srcStrides, out.data, 0, contiguousStrides(shape));
  const inShape = x.shape;
  return record(
    out,
    'slice',
    [x],
    (g) => {
      const dx = newFloat(inShape);
      backend().fill(dx.data, 0);
      backend().copyStrided(shape, g.data, 0, contiguousStrides(shape), dx.data, s * xs[a], srcStrides);
      return [dx];
    },
    { axis: a, start: s, end: e, step },
  );
}

/**
 * Pads with a constant. `pads` lists (before, after) pairs starting from the last
 * dimension, as PyTorch's F.pad: [left, right, top, bottom, ...]. Pads must be >= 0.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): F32 {
  expectDType('pad', x, 'float32');
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new ShapeError(`pad: ${pads.length} pad values do not fit a tensor of shape ${fmtShape(x.shape)}`);
  }
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw new RangeError(`pad: pads must be non-negative integers, got [${pads.join(', ')}]`);
  const before = x.shape.map(() => 0);
  const shape = [...x.shape];
  for (let k = 0; k < pads.length / 2; k++) {
    const d = x.ndim - 1 - k;
    before[d] = pads[2 * k];
    shape[d] += pads[2 * k] + pads[2 * k + 1];
  }
  const os = contiguousStrides(shape);
  const offset = before.reduce((acc, b, d) => acc + b * os[d], 0);
  const out = newFloat(shape);
  backend().fill(out.data, value);
  backend().copyStrided(x.shape, x.data, 0, contiguousStrides(x.shape), out.data, offset, os);
  const inShape = x.shape;
  return record(
    out,
    'pad',
    [x],
    (g) => {
      const dx = newFloat(inShape);
      backend().copyStrided(inShape, g.data, offset, os, dx.data, 0, contiguousStrides(inShape));
      return [dx];
    },
    { before, value },
  );
}

function checkIndices(op: string, index: Tensor, n: number): Int32Array {
  expectDType(op, index, 'int32');
  const idx = index.data as Int32Array;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= n) throw new RangeError(`${op}: index ${idx[i]} is out of range for a dimension of size ${n}`);
  }
  return idx;
}

/** Picks entries along `dim` by a 1-D int32 index: out.shape[dim] = index.length. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): F32 {
  expectDType('indexSelect', x, 'float32');
  const a = normAxis('indexSelect', dim, x.ndim);
  if (index.ndim !== 1) throw new ShapeError(`indexSelect: the index must be 1-D, got shape ${fmtShape(index.shape)}`);
  const [outer, n, inner] = splitAt(x.shape, a);
  const idx = checkIndices('indexSelect', index, n);
  const shape = [...x.shape];
  shape[a] = idx.length;
  const out = newFloat(shape);
  backend().indexSelect(x.data as Float32Array, outer, n, inner, idx, out.data);
  const inShape = x.shape;
  return record(
    out,
    'indexSelect',
    [x],
    (g) => {
      const dx = newFloat(inShape);
      backend().fill(dx.data, 0);
      backend().indexAdd(g.data, outer, n, inner, idx, dx.data);
      return [dx];
    },
    { axis: a, index },
  );
}

/**
 * out[..., j, ...] = x[..., index[..., j, ...], ...] along `dim`; index is int32
 * with x's shape except along dim (as torch.gather with a full-size index).
 */
export function gather(x: Tensor, dim: number, index: Tensor): F32 {
  expectDType('gather', x, 'float32');
  const a = normAxis('gather', dim, x.ndim);
  if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== a && d !== x.shape[i])) {
    throw new ShapeError(`gather: index shape ${fmtShape(index.shape)} must equal input shape ${fmtShape(x.shape)} outside dimension ${a}`);
  }
  const [outer, n, inner] = splitAt(x.shape, a);
  const idx = checkIndices('gather', index, n);
  const out = newFloat(index.shape);
  backend().gather(x.data as Float32Array, outer, n, inner, idx, out.data);
  const inShape = x.shape;
  return record(
    out,
    'gather',
    [x],
    (g) => {
      const dx = newFloat(inShape);
      backend().fill(dx.data, 0);
      backend().scatterAdd(g.data, outer, n, inner, idx, dx.data);
      return [dx];
    },
    { axis: a, index },
  );
}

/** Converts to another dtype (float to int truncates toward zero). Differentiable float32 to float32 only. */
export function cast<D extends DType>(x: Tensor, dtype: D): Tensor<D> {
  if (x.dtype === dtype) return x as Tensor<D>;
  const out = like(dtype, x.shape);
  backend().cast(x.data, out.data);
  return traced(out, 'cast', [x]);
}

/** A copy with its own storage that stays on the tape. */
export function clone<D extends DType>(x: Tensor<D>): Tensor<D> {
  const out = like(x.dtype, x.shape);
  (out.data as DTypeMap[DType]).set(x.data as never);
  return record(out, 'clone', [x], (g) => [g]);
}

/** The same storage, cut from the tape. */
export function detach<D extends DType>(x: Tensor<D>): Tensor<D> {
  return traced(new Tensor(x.data, x.shape), 'detach', [x]);
}
