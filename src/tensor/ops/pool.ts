/**
 * Pooling over 1 to 3 spatial dimensions: max and average with kernel, stride,
 * padding, dilation (max) and ceilMode; adaptive average and max pooling to a
 * target output size (global pooling when it is 1).
 */
import { backend, type PoolGeometry } from '../../backend/index.js';
import { record } from '../autograd.js';
import { fmtShape, ShapeError } from '../errors.js';
import { convOutputSize, perAxis, type PerAxis, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { expectFloat, newFloat, type F32 } from './util.js';

export interface MaxPoolOptions {
  kernelSize: PerAxis;
  /** Defaults to kernelSize. */
  stride?: PerAxis;
  padding?: PerAxis;
  dilation?: PerAxis;
  /** Round the output size up, so a partial last window counts. */
  ceilMode?: boolean;
}

export interface AvgPoolOptions {
  kernelSize: PerAxis;
  stride?: PerAxis;
  padding?: PerAxis;
  ceilMode?: boolean;
  /** Divide by the whole window, padding included (PyTorch's default), or only by the real elements. */
  countIncludePad?: boolean;
}

/** [planes, spatial] of x for a pool over its last `dims` axes (x has one or two leading axes). */
function split(op: string, x: Tensor, dims: number): [number, number[]] {
  if (x.ndim !== dims + 1 && x.ndim !== dims + 2) {
    throw new ShapeError(`${op}: expected a ${dims + 2}-D input [N, C, ...] (or ${dims + 1}-D unbatched), got shape ${fmtShape(x.shape)}`);
  }
  const spatial = x.shape.slice(x.ndim - dims);
  return [numel(x.shape.slice(0, x.ndim - dims)), spatial];
}

function windows(
  op: string,
  x: Tensor,
  dims: number,
  o: { kernelSize: PerAxis; stride?: PerAxis; padding?: PerAxis; dilation?: PerAxis; ceilMode?: boolean },
  countIncludePad: boolean,
): PoolGeometry {
  expectFloat(op, x);
  const [planes, inSize] = split(op, x, dims);
  const kernel = perAxis(op, 'kernelSize', o.kernelSize, dims, 1);
  const stride = perAxis(op, 'stride', o.stride ?? kernel, dims, 1);
  const padding = perAxis(op, 'padding', o.padding ?? 0, dims, 0);
  const dilation = perAxis(op, 'dilation', o.dilation ?? 1, dims, 1);
  if (padding.some((p, i) => 2 * p > dilation[i] * (kernel[i] - 1) + 1)) {
    throw new RangeError(`${op}: padding ${JSON.stringify(padding)} must be at most half the kernel size ${JSON.stringify(kernel)}`);
  }
  const outSize = inSize.map((n, i) => convOutputSize(n, kernel[i], stride[i], padding[i], dilation[i], o.ceilMode ?? false));
  if (outSize.some((s) => s < 1)) {
    throw new ShapeError(`${op}: input shape ${fmtShape(x.shape)} is too small for kernel ${fmtShape(kernel)}`);
  }
  return { planes, inSize, outSize, kernel, stride, padding, dilation, adaptive: false, countIncludePad };
}

function adaptiveWindows(op: string, x: Tensor, dims: number, outputSize: PerAxis): PoolGeometry {
  expectFloat(op, x);
  const [planes, inSize] = split(op, x, dims);
  const outSize = perAxis(op, 'outputSize', outputSize, dims, 1);
  const ones = new Array<number>(dims).fill(1);
  return { planes, inSize, outSize, kernel: ones, stride: ones, padding: ones.map(() => 0), dilation: ones, adaptive: true, countIncludePad: false };
}

function outShape(x: Tensor, g: PoolGeometry): number[] {
  return [...x.shape.slice(0, x.ndim - g.inSize.length), ...g.outSize];
}

function maxPoolWith(op: string, x: Tensor, g: PoolGeometry): F32 {
  const y = newFloat(outShape(x, g));
  const indices = backend().alloc('int32', y.size);
  backend().maxPool(g, x.data as Float32Array, y.data, indices);
  // the backward needs the argmax indices and the input's shape, not the input
  const inShape = x.shape;
  return record(
    y,
    op,
    [x],
    (dy) => {
      const dx = newFloat(inShape);
      backend().maxPoolBackward(g.planes, numel(g.inSize), numel(g.outSize), indices, dy.data, dx.data);
      return [dx];
    },
    g,
  );
}

function avgPoolWith(op: string, x: Tensor, g: PoolGeometry): F32 {
  const y = newFloat(outShape(x, g));
  backend().avgPool(g, x.data as Float32Array, y.data);
  const inShape = x.shape;
  return record(
    y,
    op,
    [x],
    (dy) => {
      const dx = newFloat(inShape);
      backend().avgPoolBackward(g, dy.data, dx.data);
      return [dx];
    },
    g,
  );
}

/** Max over windows of the last `dims` axes. */
export function maxPool(x: Tensor, dims: 1 | 2 | 3, options: MaxPoolOptions): F32 {
  const op = `maxPool${dims}d`;
  return maxPoolWith(op, x, windows(op, x, dims, options, false));
}

/** Mean over windows of the last `dims` axes. */
export function avgPool(x: Tensor, dims: 1 | 2 | 3, options: AvgPoolOptions): F32 {
  const op = `avgPool${dims}d`;
  return avgPoolWith(op, x, windows(op, x, dims, options, options.countIncludePad ?? true));
}

/** Average pooling to a fixed output size, whatever the input size (outputSize 1 is global average pooling). */
export function adaptiveAvgPool(x: Tensor, dims: 1 | 2 | 3, outputSize: PerAxis): F32 {
  const op = `adaptiveAvgPool${dims}d`;
  return avgPoolWith(op, x, adaptiveWindows(op, x, dims, outputSize));
}

export function adaptiveMaxPool(x: Tensor, dims: 1 | 2 | 3, outputSize: PerAxis): F32 {
  const op = `adaptiveMaxPool${dims}d`;
  return maxPoolWith(op, x, adaptiveWindows(op, x, dims, outputSize));
}

export const maxPool1d = (x: Tensor, o: MaxPoolOptions): F32 => maxPool(x, 1, o);
export const maxPool2d = (x: Tensor, o: MaxPoolOptions): F32 => maxPool(x, 2, o);
export const maxPool3d = (x: Tensor, o: MaxPoolOptions): F32 => maxPool(x, 3, o);
export const avgPool1d = (x: Tensor, o: AvgPoolOptions): F32 => avgPool(x, 1, o);
export const avgPool2d = (x: Tensor, o: AvgPoolOptions): F32 => avgPool(x, 2, o);
export const avgPool3d = (x: Tensor, o: AvgPoolOptions): F32 => avgPool(x, 3, o);
export const adaptiveAvgPool2d = (x: Tensor, outputSize: PerAxis): F32 => adaptiveAvgPool(x, 2, outputSize);
export const adaptiveMaxPool2d = (x: Tensor, outputSize: PerAxis): F32 => adaptiveMaxPool(x, 2, outputSize);
