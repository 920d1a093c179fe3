/**
 * nn.functional: the stateless forms of the layers (linear, convolutions, pooling,
 * batchNorm, dropout and its channel-wise forms, layerNorm, groupNorm,
 * channelShuffle, stochasticDepth), the activations (the tensor ops of the same
 * names) and the losses. Everything here is a tensor op or composes differentiable
 * tensor ops, so autograd covers it.
 */
import { add, div, mul, sqrt, sub } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import { reshape, transpose } from '../tensor/ops/movement.js';
import { convTranspose, type ConvTransposeOptions } from '../tensor/ops/conv.js';
import { adaptiveAvgPool, adaptiveMaxPool } from '../tensor/ops/pool.js';
import { fmtShape, ShapeError } from '../tensor/errors.js';
import { bernoulli } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** y = x·Wᵀ + b. x: [..., in], weight: [out, in], bias: [out] → [..., out] (the tensor op: one SGEMM). */
export { linear } from '../tensor/ops/matmul.js';
export { relu, relu6, leakyRelu, sigmoid, tanh, silu, gelu, hardswish, hardsigmoid, softmax, logSoftmax } from '../tensor/ops/index.js';
/**
 * Convolutions (x [N, Cin, ...], weight [Cout, Cin/groups, ...k]), pooling, and batch
 * norm (F.batch_norm: updates the running statistics in place when training): the tensor ops.
 */
export {
  conv,
  conv1d,
  conv2d,
  conv3d,
  convTranspose,
  maxPool,
  maxPool1d,
  maxPool2d,
  maxPool3d,
  avgPool,
  avgPool1d,
  avgPool2d,
  avgPool3d,
  adaptiveAvgPool,
  adaptiveMaxPool,
  adaptiveAvgPool2d,
  adaptiveMaxPool2d,
  batchNorm,
  type ConvOptions,
  type ConvTransposeOptions,
  type MaxPoolOptions,
  type AvgPoolOptions,
  type BatchNormOptions,
} from '../tensor/ops/index.js';
export {
  crossEntropy,
  nllLoss,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  mseLoss,
  l1Loss,
  type Reduction,
  type CrossEntropyOptions,
  type NLLLossOptions,
  type BCELossOptions,
  type BCEWithLogitsLossOptions,
} from './loss.js';

type F32 = Tensor<'float32'>;

/**
 * Inverted dropout: in training each element is zeroed with probability p and
 * the rest scaled by 1/(1-p), so evaluation (training false) is the identity.
 * The mask comes from the global seeded generator.
 */
export function dropout(x: Tensor, p = 0.5, training = true): F32 {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x as F32;
  if (p === 1) return mul(x, 0);
  const mask = bernoulli(1 - p, x.shape);
  const scale = 1 / (1 - p);
  const m = mask.data;
  for (let i = 0; i < m.length; i++) m[i] *= scale;
  return mul(x, mask);
}

/**
 * Layer normalisation over the trailing dimensions `normalizedShape`:
 * y = (x - E[x]) / √(Var[x] + eps) · weight + bias, with the biased variance.
 * x: [..., *normalizedShape]; weight and bias: normalizedShape.
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): F32 {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || x.ndim < k || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new ShapeError(`layerNorm: input shape ${fmtShape(x.shape)} does not end in the normalized shape ${fmtShape(normalizedShape)}`);
  }
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && (t.ndim !== k || t.shape.some((d, i) => d !== normalizedShape[i]))) {
      throw new ShapeError(`layerNorm: ${name} shape ${fmtShape(t.shape)} differs from the normalized shape ${fmtShape(normalizedShape)}`);
    }
  }
  const axes = normalizedShape.map((_, i) => x.ndim - k + i);
  const centred = sub(x, mean(x, axes, { keepdim: true }));
  const variance = mean(mul(centred, centred), axes, { keepdim: true });
  let y = div(centred, sqrt(add(variance, eps)));
  if (weight) y = mul(y, weight);
  if (bias) y = add(y, bias);
  return y;
}

type Weight = Tensor | null | undefined;

function convTransposeNd(dims: number, x: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvTransposeOptions): F32 {
  if (weight.ndim !== dims + 2) {
    throw new ShapeError(`convTranspose${dims}d: weight must be ${dims + 2}-D [Cin, Cout/groups, ...kernel], got ${fmtShape(weight.shape)}`);
  }
  return convTranspose(x, weight, bias, options);
}

/** Transposed convolutions with the weight's rank checked: x [N, Cin, ...], weight [Cin, Cout/groups, ...k]. */
export const convTranspose1d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvTransposeOptions): F32 => convTransposeNd(1, x, w, b, o);
export const convTranspose2d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvTransposeOptions): F32 => convTransposeNd(2, x, w, b, o);
export const convTranspose3d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvTransposeOptions): F32 => convTransposeNd(3, x, w, b, o);

type Size = number | readonly number[];
export const adaptiveAvgPool1d = (x: Tensor, outputSize: Size): F32 => adaptiveAvgPool(x, 1, outputSize);
export const adaptiveAvgPool3d = (x: Tensor, outputSize: Size): F32 => adaptiveAvgPool(x, 3, outputSize);
export const adaptiveMaxPool1d = (x: Tensor, outputSize: Size): F32 => adaptiveMaxPool(x, 1, outputSize);
export const adaptiveMaxPool3d = (x: Tensor, outputSize: Size): F32 => adaptiveMaxPool(x, 3, outputSize);

/**
 * Group normalisation (Wu and He, 2018): the C channels of x [N, C, ...] are split
 * into numGroups groups, each normalised over its channels and positions with its
 * own mean and biased variance, then y = x̂·weight[c] + bias[c]. numGroups 1 is a
 * LayerNorm over [C, ...]; numGroups C is instance norm.
 */
export function groupNorm(x: Tensor, numGroups: number, weight?: Weight, bias?: Weight, eps = 1e-5): F32 {
  if (x.ndim < 2) throw new ShapeError(`groupNorm: expected an input [N, C, ...], got shape ${fmtShape(x.shape)}`);
  const [n, c] = x.shape;
  if (!Number.isInteger(numGroups) || numGroups < 1 || c % numGroups !== 0) {
    throw new ShapeError(`groupNorm: ${c} channels (input shape ${fmtShape(x.shape)}) cannot be split into ${numGroups} groups`);
  }
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) throw new ShapeError(`groupNorm: ${name} shape ${fmtShape(t.shape)} does not match ${c} channels`);
  }
  const grouped = reshape(x, [n, numGroups, -1]);
  const centred = sub(grouped, mean(grouped, 2, { keepdim: true }));
  const variance = mean(mul(centred, centred), 2, { keepdim: true });
  let y = reshape(div(centred, sqrt(add(variance, eps))), x.shape);
  const perChannel = [c, ...new Array<number>(x.ndim - 2).fill(1)];
  if (weight) y = mul(y, reshape(weight, perChannel));
  if (bias) y = add(y, reshape(bias, perChannel));
  return y;
}

/**
 * Channel-wise dropout over `dims` spatial axes: in training each channel of each
 * sample (x [N, C, ...spatial]; unbatched [C, ...spatial]) is zeroed as a whole with
 * probability p, the rest scaled by 1/(1-p).
 */
function featureDropout(dims: number, x: Tensor, p: number, training: boolean): F32 {
  const op = `dropout${dims}d`;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: p must be in [0, 1], got ${p}`);
  if (x.ndim !== dims + 1 && x.ndim !== dims + 2) {
    throw new ShapeError(`${op}: expected a ${dims + 2}-D input [N, C, ...] (or ${dims + 1}-D unbatched [C, ...]), got shape ${fmtShape(x.shape)}`);
  }
  if (!training || p === 0) return x as F32;
  if (p === 1) return mul(x, 0);
  const lead = x.ndim - dims;
  const mask = bernoulli(1 - p, [...x.shape.slice(0, lead), ...new Array<number>(dims).fill(1)]);
  const scale = 1 / (1 - p);
  const m = mask.data;
  for (let i = 0; i < m.length; i++) m[i] *= scale;
  return mul(x, mask);
}

/** Channel dropout of [N, C, L] (or [C, L]). */
export const dropout1d = (x: Tensor, p = 0.5, training = true): F32 => featureDropout(1, x, p, training);
/**
 * Channel dropout of [N, C, H, W] (or unbatched [C, H, W], as PyTorch 2; PyTorch 1.13
 * read a 3-D input as [N, C, L]).
 */
export const dropout2d = (x: Tensor, p = 0.5, training = true): F32 => featureDropout(2, x, p, training);
/** Channel dropout of [N, C, D, H, W] (or [C, D, H, W]). */
export const dropout3d = (x: Tensor, p = 0.5, training = true): F32 => featureDropout(3, x, p, training);

/**
 * ShuffleNet's channel shuffle: x [N, C, ...] is viewed as [N, groups, C/groups, ...],
 * the two channel axes are swapped and merged back, so output channel i·groups + g is
 * input channel g·(C/groups) + i.
 */
export function channelShuffle<T extends Tensor>(x: T, groups: number): T {
  if (x.ndim < 3) throw new ShapeError(`channelShuffle: expected an input [N, C, ...] with at least 3 dimensions, got shape ${fmtShape(x.shape)}`);
  const [n, c, ...rest] = x.shape;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0) {
    throw new ShapeError(`channelShuffle: ${c} channels (input shape ${fmtShape(x.shape)}) cannot be split into ${groups} groups`);
  }
  const swapped = transpose(reshape(x, [n, groups, c / groups, ...rest]), 1, 2);
  return reshape(swapped, x.shape) as T;
}

/**
 * Stochastic depth (Huang et al., 2016), torchvision.ops.stochastic_depth: in
 * training, 'row' zeroes each sample of x [N, ...] with probability p and scales
 * the survivors by 1/(1-p); 'batch' does the same to the whole batch at once.
 * The identity in evaluation or when p is 0. Meant for a residual branch.
 */
export function stochasticDepth(x: Tensor, p: number, mode: 'row' | 'batch', training = true): F32 {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`stochasticDepth: p must be in [0, 1], got ${p}`);
  if (mode !== 'row' && mode !== 'batch') throw new RangeError(`stochasticDepth: mode must be 'row' or 'batch', got ${JSON.stringify(mode)}`);
  if (!training || p === 0) return x as F32;
  if (mode === 'row' && x.ndim < 1) throw new ShapeError(`stochasticDepth: mode 'row' needs an input [N, ...], got shape ${fmtShape(x.shape)}`);
  const survival = 1 - p;
  const ones = new Array<number>(Math.max(x.ndim - 1, 0)).fill(1);
  const noise = bernoulli(survival, mode === 'row' ? [x.shape[0], ...ones] : x.ndim ? [1, ...ones] : []);
  if (survival > 0) {
    const m = noise.data;
    for (let i = 0; i < m.length; i++) m[i] /= survival;
  }
  return mul(x, noise);
}
