/** Making tensors from values: tensor(), zeros, ones, full, arange, linspace, eye, and their *Like forms. */
import { backend } from '../backend/index.js';
import { newTypedArray, type DType, type DTypeMap, type TypedArray } from '../core/dtype.js';
import { fmtShape, ShapeError } from './errors.js';
import { checkShape, numel, type Shape } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';

export interface CreateOptions<D extends DType = DType> {
  dtype?: D;
  requiresGrad?: boolean;
}

function finish<D extends DType>(t: Tensor<D>, options: CreateOptions<D>): Tensor<D> {
  if (options.requiresGrad) t.requiresGrad_();
  return t;
}

function inferNestedShape(value: NestedArray): number[] {
  const shape: number[] = [];
  let v: NestedArray = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0] ?? 0;
    if (shape[shape.length - 1] === 0) break;
  }
  return shape;
}

/**
 * A tensor from nested arrays, a flat array with `shape`, or a typed array
 * (copied). The dtype defaults to float32 (int32 and uint8 typed arrays keep theirs).
 */
export function tensor<D extends DType = 'float32'>(
  value: NestedArray | TypedArray | Float64Array | readonly number[],
  options: CreateOptions<D> & { shape?: Shape } = {},
): Tensor<D> {
  const isTyped = ArrayBuffer.isView(value);
  // Int32Array and Uint8Array keep their dtype; every other input (numbers, Float64Array, ...) becomes float32.
  const dtype = (options.dtype ?? (value instanceof Int32Array ? 'int32' : value instanceof Uint8Array ? 'uint8' : 'float32')) as D;
  let flat: ArrayLike<number>;
  let shape: number[];
  if (isTyped) {
    flat = value as ArrayLike<number>;
    shape = options.shape ? [...options.shape] : [flat.length];
  } else {
    shape = options.shape ? [...options.shape] : inferNestedShape(value as NestedArray);
    flat = Array.isArray(value) ? ((value as NestedArray[]).flat(Infinity as 1) as number[]) : [value as number];
  }
  if (flat.length !== numel(shape)) {
    throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmtShape(shape)} (ragged nested arrays?)`);
  }
  const data = backend().alloc(dtype, flat.length) as DTypeMap[D];
  for (let i = 0; i < flat.length; i++) data[i] = flat[i];
  return finish(new Tensor(data, shape), options);
}

/** A 0-d tensor holding one number. */
export function scalar(value: number, options: CreateOptions<'float32'> = {}): Tensor<'float32'> {
  return tensor<'float32'>([value], { ...options, shape: [] });
}

export function full<D extends DType = 'float32'>(shape: Shape, value: number, options: CreateOptions<D> = {}): Tensor<D> {
  checkShape('full', shape);
  const dtype = (options.dtype ?? 'float32') as D;
  const data = backend().alloc(dtype, numel(shape));
  if (dtype === 'float32') backend().fill(data as Float32Array, value);
  else data.fill(value);
  return finish(new Tensor(data, shape), options);
}

export function zeros<D extends DType = 'float32'>(shape: Shape, options: CreateOptions<D> = {}): Tensor<D> {
  return full(shape, 0, options);
}

export function ones<D extends DType = 'float32'>(shape: Shape, options: CreateOptions<D> = {}): Tensor<D> {
  return full(shape, 1, options);
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...options });
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...options });
}

export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...options });
}

/** Values start, start+step, ... below end (float32 unless dtype says otherwise). */
export function arange<D extends DType = 'float32'>(start: number, end?: number, step = 1, options: CreateOptions<D> = {}): Tensor<D> {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const data = newTypedArray((options.dtype ?? 'float32') as D, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return finish(new Tensor(data, [n]), options);
}

/** n evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, n: number, options: CreateOptions<'float32'> = {}): Tensor<'float32'> {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = n === 1 ? start : start + ((end - start) * i) / (n - 1);
  return finish(new Tensor(data, [n]), options);
}

/** The n x m identity matrix. */
export function eye(n: number, m = n, options: CreateOptions<'float32'> = {}): Tensor<'float32'> {
  const t = zeros<'float32'>([n, m], options);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return t;
}
