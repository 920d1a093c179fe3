/**
 * nn.functional: the stateless forms of the layers (linear, dropout, layerNorm),
 * the activations (the tensor ops of the same names) and the losses. Everything
 * here composes differentiable tensor ops, so autograd covers it.
 */
import { add, div, mul, sqrt, sub } from '../tensor/ops/elementwise.js';
import { mean } from '../tensor/ops/reduce.js';
import { fmtShape, ShapeError } from '../tensor/errors.js';
import { bernoulli } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** y = x·Wᵀ + b. x: [..., in], weight: [out, in], bias: [out] → [..., out] (the tensor op: one SGEMM). */
export { linear } from '../tensor/ops/matmul.js';
export {
  relu, relu6, leakyRelu, sigmoid, tanh, silu, gelu, hardswish, hardsigmoid, softmax, logSoftmax,
} from '../tensor/ops/index.js';
export {
  crossEntropy, nllLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, mseLoss, l1Loss,
  type Reduction, type CrossEntropyOptions, type NLLLossOptions, type BCELossOptions, type BCEWithLogitsLossOptions,
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
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
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
