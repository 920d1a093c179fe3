/**
 * The one interface between tensors and kernels. Every method is a primitive on
 * raw typed arrays with the shape arithmetic already done by the caller; gradients
 * are written once, above this line, in src/tensor/ops. Two implementations exist:
 * `native` (the C++ addon) and `reference` (plain TypeScript loops, the oracle the
 * tests compare native against and the fallback where the addon cannot be built).
 */
import type { DType, DTypeMap, TypedArray } from '../core/dtype.js';

export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'abs',
  'relu',
  'sigmoid',
  'tanh',
  'silu',
  'gelu',
  'geluTanh',
  'hardswish',
  'hardsigmoid',
  'leakyRelu',
  'clamp',
  'powScalar',
  'affine',
  'sign',
  'rdiv',
] as const;
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
export const REDUCE_OPS = ['sum', 'max', 'min'] as const;

/** Unary maps; p0 and p1 parameterise some: leakyRelu(slope), clamp(lo, hi), powScalar(p), affine(x*p0 + p1), rdiv(p0 / x). */
export type UnaryOp = (typeof UNARY_OPS)[number];

/** An activation applied in a kernel's epilogue: a unary op and its parameters (clamp's bounds, leakyRelu's slope). */
export interface Activation {
  op: UnaryOp;
  p0?: number;
  p1?: number;
}
export type BinaryOp = (typeof BINARY_OPS)[number];
export type CompareOp = (typeof COMPARE_OPS)[number];
export type ReduceOp = (typeof REDUCE_OPS)[number];
type Dims = readonly number[];

/** Adam / AdamW hyper-parameters for one update (step counts from 1). */
export interface AdamStep {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly step: number;
  /** AdamW: decay the parameter (param *= 1 - lr·wd) instead of adding wd·param to the gradient. */
  readonly decoupled: boolean;
  readonly amsgrad: boolean;
}

export interface SgdStep {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** The first update with momentum: the buffer starts as the gradient. */
  readonly first: boolean;
}

export interface RmspropStep {
  readonly lr: number;
  readonly alpha: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly centered: boolean;
}

/**
 * The windows of a pooling op over 1 to 3 spatial dimensions, for x [planes, ...inSize]
 * and y [planes, ...outSize] (planes = batch * channels). Regular windows start at
 * o·stride - padding and hold kernel taps spaced by dilation; adaptive windows
 * (kernel, stride, padding, dilation ignored) are [floor(o·in/out), ceil((o+1)·in/out)).
 */
export interface PoolGeometry {
  readonly planes: number;
  readonly inSize: Dims;
  readonly outSize: Dims;
  readonly kernel: Dims;
  readonly stride: Dims;
  readonly padding: Dims;
  readonly dilation: Dims;
  readonly adaptive: boolean;
  /** Average pooling: divide by the window size including padding (PyTorch's count_include_pad). */
  readonly countIncludePad: boolean;
}

/**
 * The geometry of a grouped, strided, dilated, padded convolution over 1 to 3
 * spatial dimensions: x [n, cIn, ...inSize], w [cOut, cIn / groups, ...kernel],
 * y [n, cOut, ...outSize]. Every array has one entry per spatial dimension.
 */
export interface ConvGeometry {
  readonly n: number;
  readonly cIn: number;
  readonly cOut: number;
  readonly groups: number;
  readonly inSize: Dims;
  readonly kernel: Dims;
  readonly stride: Dims;
  readonly padding: Dims;
  readonly dilation: Dims;
  readonly outSize: Dims;
}

export interface Backend {
  readonly name: 'native' | 'reference';
  /** A typed array of n elements whose contents are unspecified (native does not zero-fill). */
  alloc<D extends DType>(dtype: D, n: number): DTypeMap[D];

  /** y[i] = f(x[i]; p0, p1); y may be x. */
  unary(op: UnaryOp, x: Float32Array, y: Float32Array, p0: number, p1: number): void;
  /** dx[i] = gy[i] * f'(x[i]); y = f(x) is also given (exp, sqrt, sigmoid, tanh read it). */
  unaryBackward(op: UnaryOp, x: Float32Array, y: Float32Array, gy: Float32Array, dx: Float32Array, p0: number, p1: number): void;
  /** out (contiguous, `shape`) = a op b, each read through its strides (0 where broadcast). */
  binary(op: BinaryOp, shape: Dims, a: Float32Array, aStrides: Dims, b: Float32Array, bStrides: Dims, out: Float32Array): void;
  compare(op: CompareOp, shape: Dims, a: Float32Array, aStrides: Dims, b: Float32Array, bStrides: Dims, out: Uint8Array): void;
  where(shape: Dims, cond: Uint8Array, cStrides: Dims, a: Float32Array, aStrides: Dims, b: Float32Array, bStrides: Dims, out: Float32Array): void;

  /** out[o, i] = reduce over j of x[o, j, i] for x viewed as [outer, r, inner]. */
  reduce(op: ReduceOp, x: Float32Array, outer: number, r: number, inner: number, out: Float32Array): void;
  /** First index of the max (or min) along j; NaN counts as the extreme. */
  argReduce(isMax: boolean, x: Float32Array, outer: number, r: number, inner: number, out: Int32Array): void;
  softmax(x: Float32Array, outer: number, r: number, inner: number, log: boolean, y: Float32Array): void;
  softmaxBackward(y: Float32Array, gy: Float32Array, outer: number, r: number, inner: number, log: boolean, dx: Float32Array): void;

  /** Strided copy between arrays of the same dtype: dst[dOff + i·dStrides] = src[sOff + i·sStrides] over `shape`. */
  copyStrided(shape: Dims, src: TypedArray, srcOffset: number, srcStrides: Dims, dst: TypedArray, dstOffset: number, dstStrides: Dims): void;
  /** Like copyStrided but adds into dst (float32). */
  addStrided(shape: Dims, src: Float32Array, srcOffset: number, srcStrides: Dims, dst: Float32Array, dstOffset: number, dstStrides: Dims): void;
  fill(out: Float32Array, value: number): void;
  /** Converts element by element (float to int truncates toward zero). */
  cast(src: TypedArray, dst: TypedArray): void;

  /** out[o, j, i] = x[o, idx[j], i]; x is [outer, n, inner]. */
  indexSelect(x: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;
  /** out[o, idx[j], i] += g[o, j, i]. */
  indexAdd(g: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;
  /** out[o, j, i] = x[o, idx[o, j, i], i]; idx and out are [outer, k, inner]. */
  gather(x: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;
  /** out[o, idx[o, j, i], i] += g[o, j, i]. */
  scatterAdd(g: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;

  /** Max pooling: y and, per output, the flat index of the max within its input plane (first max; NaN wins). */
  maxPool(g: PoolGeometry, x: Float32Array, y: Float32Array, indices: Int32Array): void;
  /** dx (overwritten) = scatter-add of dy to the recorded indices; inPlane and outPlane are the plane sizes. */
  maxPoolBackward(planes: number, inPlane: number, outPlane: number, indices: Int32Array, dy: Float32Array, dx: Float32Array): void;
  avgPool(g: PoolGeometry, x: Float32Array, y: Float32Array): void;
  /** dx (overwritten) from dy: each output's gradient spread evenly over its window. */
  avgPoolBackward(g: PoolGeometry, dy: Float32Array, dx: Float32Array): void;

  /**
   * Per-channel statistics of x viewed as [n, c, hw]: mean, biased variance, and
   * invstd = 1 / sqrt(var + eps) (each of length c).
   */
  batchNormStats(x: Float32Array, n: number, c: number, hw: number, eps: number, mean: Float32Array, variance: Float32Array, invstd: Float32Array): void;
  /** y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]; gamma and beta may be null (1 and 0). */
  batchNormForward(
    x: Float32Array,
    n: number,
    c: number,
    hw: number,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    y: Float32Array,
  ): void;
  /**
   * Gradients of batch norm with batch statistics (training mode): dx, and the
   * per-channel dgamma = sum(dy * xhat), dbeta = sum(dy). All outputs overwritten.
   */
  batchNormBackward(
    x: Float32Array,
    dy: Float32Array,
    n: number,
    c: number,
    hw: number,
    mean: Float32Array,
    invstd: Float32Array,
    gamma: Float32Array | null,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
  ): void;

  /** One in-place Adam/AdamW update of param and its state (PyTorch 1.13's arithmetic); maxExpAvgSq only with amsgrad. */
  adamStep(h: AdamStep, param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, maxExpAvgSq: Float32Array | null): void;
  /** One in-place SGD update; buf (the momentum buffer) only with momentum. */
  sgdStep(h: SgdStep, param: Float32Array, grad: Float32Array, buf: Float32Array | null): void;
  /** One in-place RMSprop update; gradAvg only when centered, buf only with momentum. */
  rmspropStep(h: RmspropStep, param: Float32Array, grad: Float32Array, squareAvg: Float32Array, gradAvg: Float32Array | null, buf: Float32Array | null): void;

  /**
   * y = act(conv(x, w) + bias), y overwritten: bias [cOut] added per output channel (null for none), then
   * the activation `act` (a unary op with its parameters, for inference) while each output row is in cache.
   */
  convForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, act?: Activation): void;
  /**
   * Winograd F(4x4, 3x3), where the backend has it: u [36, cOut, cIn] = G w G^T for w [cOut, cIn, 3, 3], and
   * convForward's result for a 2-D 3x3 stride-1 undilated ungrouped convolution computed from u, with a
   * quarter of the multiplies (see native/kernels/winograd.cc). Results differ from convForward's in the
   * last digits, so only the inference path uses it.
   */
  winogradWeights?(cOut: number, cIn: number, w: Float32Array, u: Float32Array): void;
  convForwardWinograd?(g: ConvGeometry, x: Float32Array, u: Float32Array, bias: Float32Array | null, y: Float32Array, act?: Activation): void;
  /** dx = d(sum(y * dy))/dx, overwritten (this is also a transposed convolution of dy). */
  convBackwardInput(g: ConvGeometry, w: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** dw = d(sum(y * dy))/dw, overwritten. */
  convBackwardWeight(g: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array): void;

  /**
   * Batched row-major SGEMM: C_b = alpha · op(A_b) · op(B_b) + beta · C_b, with
   * A_b = A[aOffset + b·strideA ...] (stride 0 broadcasts). beta = 0 never reads C.
   */
  sgemm(
    batch: number,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    aOffset: number,
    lda: number,
    strideA: number,
    b: Float32Array,
    bOffset: number,
    ldb: number,
    strideB: number,
    beta: number,
    c: Float32Array,
    cOffset: number,
    ldc: number,
    strideC: number,
  ): void;
}
