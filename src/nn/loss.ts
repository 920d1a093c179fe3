/**
 * Losses, as functions (crossEntropy, nllLoss, ...) and as Modules
 * (CrossEntropyLoss, ...), following PyTorch 1.13's formulas. Each composes
 * differentiable tensor ops (binaryCrossEntropyElementwise and softplus among them).
 *
 * Class targets are int32 tensors: input [N, C] or [N, C, d1, ...] with target
 * [N] or [N, d1, ...] (or input [C] with a 0-d target).
 */
import { DTypeError, fmtShape, ShapeError } from '../tensor/errors.js';
import { abs, add, binaryCrossEntropyElementwise, div, mul, neg, softplus, sub } from '../tensor/ops/elementwise.js';
import { gather, reshape, unsqueeze } from '../tensor/ops/movement.js';
import { logSoftmax, mean, sum } from '../tensor/ops/reduce.js';
import { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

type F32 = Tensor<'float32'>;

/** How a loss's per-element values are combined: averaged, summed, or returned as they are. */
export type Reduction = 'mean' | 'sum' | 'none';

function checkReduction(op: string, reduction: Reduction): void {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  }
}

function reduce(op: string, loss: F32, reduction: Reduction): F32 {
  checkReduction(op, reduction);
  return reduction === 'none' ? loss : reduction === 'sum' ? sum(loss) : mean(loss);
}

function expectSameShape(op: string, input: Tensor, target: Tensor): void {
  if (input.ndim !== target.ndim || input.shape.some((d, i) => d !== target.shape[i])) {
    throw new ShapeError(`${op}: target shape ${fmtShape(target.shape)} differs from input shape ${fmtShape(input.shape)}`);
  }
}

function expectF32(op: string, what: string, t: Tensor): void {
  if (t.dtype !== 'float32') throw new DTypeError(`${op}: ${what} must be float32, got ${t.dtype} (shape ${fmtShape(t.shape)})`);
}

/**
 * total / divisor for a 'mean'. A zero divisor (every target ignored) gives NaN, as
 * PyTorch, but with zero gradients (as PyTorch's) rather than 0·∞ = NaN ones.
 */
function meanOf(total: F32, divisor: number): F32 {
  return divisor === 0 ? add(mul(total, 0), NaN) : div(total, divisor);
}

function f32(shape: readonly number[], data: Float32Array): F32 {
  return new Tensor<'float32'>(data, shape);
}

// ---- class-index targets -----------------------------------------------------

interface ClassTargets {
  /** Target as a gather index [N, 1, d...], 0 where ignored. */
  index: Tensor<'int32'>;
  /** -weight[target] per target (0 where ignored), target's shape. */
  negWeights: F32;
  /** Σ weight[target] over the targets that are not ignored: the 'mean' divisor. */
  totalWeight: number;
}

/** Validates input [N, C, d...] against target [N, d...] and turns the targets into a gather index and weights. */
function classTargets(op: string, input: Tensor, target: Tensor, weight: Tensor | null | undefined, ignoreIndex: number): ClassTargets {
  if (target.dtype !== 'int32') {
    throw new DTypeError(
      `${op}: class targets must be int32, got ${target.dtype} (shape ${fmtShape(target.shape)})` +
        (target.dtype === 'float32' ? "; float32 targets are class probabilities and need the input's shape" : ''),
    );
  }
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (target.ndim !== expected.length || target.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(`${op}: target shape ${fmtShape(target.shape)} does not fit input shape ${fmtShape(input.shape)} (expected ${fmtShape(expected)})`);
  }
  const C = input.shape[1];
  let w: Float32Array | null = null;
  if (weight) {
    expectF32(op, 'weight', weight);
    if (weight.ndim !== 1 || weight.shape[0] !== C) {
      throw new ShapeError(`${op}: weight shape ${fmtShape(weight.shape)} does not match the ${C} classes of input shape ${fmtShape(input.shape)}`);
    }
    w = weight.data as Float32Array;
  }
  const t = target.data as Int32Array;
  const idx = new Int32Array(t.length);
  const negW = new Float32Array(t.length);
  let total = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === ignoreIndex) continue; // index 0, weight 0
    if (!(c >= 0 && c < C)) throw new RangeError(`${op}: target ${c} is out of bounds for ${C} classes`);
    const wc = w ? w[c] : 1;
    idx[i] = c;
    negW[i] = -wc;
    total += wc;
  }
  return {
    index: new Tensor<'int32'>(idx, [input.shape[0], 1, ...input.shape.slice(2)]),
    negWeights: f32(target.shape, negW),
    totalWeight: total,
  };
}

/** -Σ over the picked log-probabilities, weighted, with PyTorch's 'mean' (divided by the total weight). */
function nllFromTargets(logp: Tensor, targetShape: readonly number[], ct: ClassTargets, reduction: Reduction): F32 {
  const loss = mul(reshape(gather(logp, 1, ct.index), targetShape), ct.negWeights);
  if (reduction === 'none') return loss;
  return reduction === 'sum' ? sum(loss) : meanOf(sum(loss), ct.totalWeight);
}

/** An unbatched input [C] with a 0-d target runs as a batch of one; 'none' then returns a 0-d loss. */
function unbatched(op: string, input: Tensor, target: Tensor, run: (input: Tensor, target: Tensor) => F32): F32 {
  if (input.ndim !== 1) return run(input, target);
  if (target.ndim !== 0 && target.dtype === 'int32') {
    throw new ShapeError(`${op}: an unbatched input of shape ${fmtShape(input.shape)} needs a 0-d target, got ${fmtShape(target.shape)}`);
  }
  const out = run(unsqueeze(input, 0), unsqueeze(target, 0));
  return out.ndim === 1 ? reshape(out, []) : out;
}

export interface NLLLossOptions {
  /** A rescaling weight per class, float32 [C]. */
  weight?: Tensor | null;
  /** Targets equal to this contribute nothing, to the loss or to the 'mean' divisor (default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

/**
 * Negative log-likelihood of log-probabilities: ℓᵢ = -w[yᵢ]·x[i, yᵢ] (0 for
 * ignored targets); 'mean' divides Σℓ by Σ w[yᵢ] over the targets not ignored.
 * input: [N, C, d...] log-probabilities, target: int32 [N, d...].
 */
export function nllLoss(input: Tensor, target: Tensor, { weight = null, ignoreIndex = -100, reduction = 'mean' }: NLLLossOptions = {}): F32 {
  checkReduction('nllLoss', reduction);
  expectF32('nllLoss', 'input', input);
  if (input.ndim === 0) throw new ShapeError(`nllLoss: the input needs a class dimension, got shape ${fmtShape(input.shape)}`);
  return unbatched('nllLoss', input, target, (x, y) => nllFromTargets(x, y.shape, classTargets('nllLoss', x, y, weight, ignoreIndex), reduction));
}

export interface CrossEntropyOptions extends NLLLossOptions {
  /**
   * ε in [0, 1]: the target becomes (1-ε)·onehot + ε/C. For class targets this is
   * PyTorch 1.13's (1-ε)·nll + (ε/C)·Σ_c(-w_c·log p_c), reduced like nll.
   */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of unnormalised logits: nllLoss(logSoftmax(input, 1), target).
 * input: [N, C, d...]; target: int32 class indices [N, d...], or float32 class
 * probabilities with the input's shape ('mean' then divides by N·d..., and
 * ignoreIndex does not apply).
 */
export function crossEntropy(
  input: Tensor,
  target: Tensor,
  { weight = null, ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 }: CrossEntropyOptions = {},
): F32 {
  const op = 'crossEntropy';
  checkReduction(op, reduction);
  expectF32(op, 'input', input);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new RangeError(`${op}: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  const eps = labelSmoothing;
  if (input.ndim === 0) throw new ShapeError(`${op}: the input needs a class dimension, got shape ${fmtShape(input.shape)}`);
  const C = input.shape[input.ndim === 1 ? 0 : 1];
  // The class weight shaped to broadcast along the class dimension: [C, 1, ..., 1].
  const classWeight = (x: Tensor): F32 | null => (weight ? reshape(weight as F32, [C, ...x.shape.slice(2).map(() => 1)]) : null);

  if (target.dtype === 'float32' && target.ndim === input.ndim && target.shape.every((d, i) => d === input.shape[i])) {
    if (ignoreIndex >= 0) throw new RangeError(`${op}: ignoreIndex is not supported with class-probability targets`);
    if (weight && (weight.ndim !== 1 || weight.shape[0] !== C)) {
      throw new ShapeError(`${op}: weight shape ${fmtShape(weight.shape)} does not match the ${C} classes of input shape ${fmtShape(input.shape)}`);
    }
    return unbatched(op, input, target, (x, y) => {
      const probs = eps > 0 ? add(mul(y, 1 - eps), eps / C) : y;
      let terms = mul(logSoftmax(x, 1), probs);
      const cw = classWeight(x);
      if (cw) terms = mul(terms, cw);
      const loss = neg(sum(terms, 1));
      if (reduction === 'none') return loss;
      return reduction === 'sum' ? sum(loss) : meanOf(sum(loss), loss.size);
    });
  }

  return unbatched(op, input, target, (x, y) => {
    const ct = classTargets(op, x, y, weight, ignoreIndex);
    const logp = logSoftmax(x, 1);
    const nll = nllFromTargets(logp, y.shape, ct, reduction);
    if (eps === 0) return nll;
    // Σ_c w_c·log p_c per target, negated and zeroed where the target is ignored.
    const cw = classWeight(x);
    const perTarget = sum(cw ? mul(logp, cw) : logp, 1);
    const keep = new Float32Array(ct.negWeights.size);
    const yd = y.data as Int32Array;
    for (let i = 0; i < keep.length; i++) keep[i] = yd[i] === ignoreIndex ? 0 : -1;
    const smooth = mul(perTarget, f32(y.shape, keep));
    const smoothReduced = reduction === 'none' ? smooth : reduction === 'sum' ? sum(smooth) : meanOf(sum(smooth), ct.totalWeight);
    return add(mul(nll, 1 - eps), mul(smoothReduced, eps / C));
  });
}

// ---- binary targets --------------------------------------------------------------

export interface BCELossOptions {
  /** A rescaling weight that broadcasts to the input. */
  weight?: Tensor | null;
  reduction?: Reduction;
}

/**
 * Binary cross-entropy of probabilities: ℓ = -w·(y·log x + (1-y)·log(1-x)),
 * each log clamped to >= -100 as PyTorch does. input, target: same shape, values in [0, 1].
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, { weight = null, reduction = 'mean' }: BCELossOptions = {}): F32 {
  const op = 'binaryCrossEntropy';
  checkReduction(op, reduction);
  expectF32(op, 'input', input);
  expectF32(op, 'target', target);
  expectSameShape(op, input, target);
  let loss = binaryCrossEntropyElementwise(input as F32, target as F32);
  if (weight) loss = mul(loss, weight);
  return reduce(op, loss, reduction);
}

export interface BCEWithLogitsLossOptions extends BCELossOptions {
  /** Weight of the positive term, broadcast along the last dimension (one per class): float32 [C]. */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy of logits, in the stable form
 * ℓ = w·((1-y)·x + (1 + (p-1)·y)·softplus(-x)), p the posWeight (1 when absent).
 * input, target: same shape.
 */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  { weight = null, posWeight = null, reduction = 'mean' }: BCEWithLogitsLossOptions = {},
): F32 {
  const op = 'binaryCrossEntropyWithLogits';
  checkReduction(op, reduction);
  expectF32(op, 'input', input);
  expectF32(op, 'target', target);
  expectSameShape(op, input, target);
  const sp = softplus(neg(input));
  const logWeight = posWeight ? add(mul(sub(posWeight, 1), target), 1) : null;
  let loss = add(mul(sub(1, target), input), logWeight ? mul(logWeight, sp) : sp);
  if (weight) loss = mul(loss, weight);
  return reduce(op, loss, reduction);
}

// ---- regression ------------------------------------------------------------------

/** ℓ = (x - y)². input, target: same shape. */
export function mseLoss(input: Tensor, target: Tensor, { reduction = 'mean' }: { reduction?: Reduction } = {}): F32 {
  expectSameShape('mseLoss', input, target);
  const d = sub(input, target);
  return reduce('mseLoss', mul(d, d), reduction);
}

/** ℓ = |x - y|. input, target: same shape. */
export function l1Loss(input: Tensor, target: Tensor, { reduction = 'mean' }: { reduction?: Reduction } = {}): F32 {
  expectSameShape('l1Loss', input, target);
  return reduce('l1Loss', abs(sub(input, target)), reduction);
}

// ---- modules -------------------------------------------------------------------

/** nllLoss as a module; the class weight is the buffer "weight" (as in PyTorch's state dict). */
export class NLLLoss extends Module<[Tensor, Tensor]> {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly reduction: Reduction;

  constructor({ weight = null, ignoreIndex = -100, reduction = 'mean' }: NLLLossOptions = {}) {
    super();
    checkReduction('NLLLoss', reduction);
    this.registerBuffer('weight', weight);
    this.ignoreIndex = ignoreIndex;
    this.reduction = reduction;
  }

  forward(input: Tensor, target: Tensor): F32 {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction });
  }
}

/** crossEntropy as a module; the class weight is the buffer "weight". */
export class CrossEntropyLoss extends Module<[Tensor, Tensor]> {
  declare readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly reduction: Reduction;
  readonly labelSmoothing: number;

  constructor({ weight = null, ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 }: CrossEntropyOptions = {}) {
    super();
    checkReduction('CrossEntropyLoss', reduction);
    if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) throw new RangeError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
    this.registerBuffer('weight', weight);
    this.ignoreIndex = ignoreIndex;
    this.reduction = reduction;
    this.labelSmoothing = labelSmoothing;
  }

  forward(input: Tensor, target: Tensor): F32 {
    const { weight, ignoreIndex, reduction, labelSmoothing } = this;
    return crossEntropy(input, target, { weight, ignoreIndex, reduction, labelSmoothing });
  }
}

/** binaryCrossEntropy as a module; the weight is the buffer "weight". */
export class BCELoss extends Module<[Tensor, Tensor]> {
  declare readonly weight: Tensor | null;
  readonly reduction: Reduction;

  constructor({ weight = null, reduction = 'mean' }: BCELossOptions = {}) {
    super();
    checkReduction('BCELoss', reduction);
    this.registerBuffer('weight', weight);
    this.reduction = reduction;
  }

  forward(input: Tensor, target: Tensor): F32 {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** binaryCrossEntropyWithLogits as a module; the weights are the buffers "weight" and "pos_weight". */
export class BCEWithLogitsLoss extends Module<[Tensor, Tensor]> {
  declare readonly weight: Tensor | null;
  readonly reduction: Reduction;

  constructor({ weight = null, posWeight = null, reduction = 'mean' }: BCEWithLogitsLossOptions = {}) {
    super();
    checkReduction('BCEWithLogitsLoss', reduction);
    this.registerBuffer('weight', weight);
    this.registerBuffer('pos_weight', posWeight);
    this.reduction = reduction;
  }

  get posWeight(): Tensor | null {
    return this.buffer('pos_weight');
  }

  forward(input: Tensor, target: Tensor): F32 {
    return binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.posWeight, reduction: this.reduction });
  }
}

/** mseLoss as a module. */
export class MSELoss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;

  constructor({ reduction = 'mean' }: { reduction?: Reduction } = {}) {
    super();
    checkReduction('MSELoss', reduction);
    this.reduction = reduction;
  }

  forward(input: Tensor, target: Tensor): F32 {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

/** l1Loss as a module. */
export class L1Loss extends Module<[Tensor, Tensor]> {
  readonly reduction: Reduction;

  constructor({ reduction = 'mean' }: { reduction?: Reduction } = {}) {
    super();
    checkReduction('L1Loss', reduction);
    this.reduction = reduction;
  }

  forward(input: Tensor, target: Tensor): F32 {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}
