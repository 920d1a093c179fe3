/**
 * Batch-level mixing: MixUp (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a
 * collated batch x [N, C, H, W] with class targets, giving the mixed batch and soft
 * targets [N, K] (class probabilities, which CrossEntropyLoss takes).
 *
 * The arithmetic is timm's `Mixup` in batch mode: one λ per batch, each sample mixed
 * with its partner in the reversed batch (sample i with N-1-i; in an odd batch the
 * middle sample meets itself and stays as it is), targets
 * λ·smooth(y) + (1-λ)·smooth(y_partner) with smooth(y) = (1-ε)·onehot(y) + ε/K. CutMix
 * pastes the partner's box, drawn from λ, and then sets λ to the share of the
 * picture left unpasted (the box is clipped at the borders, so its area can be
 * smaller than 1-λ asked for). Every draw comes from a seeded Generator (by default
 * the global one, which checkpoints save), in timm's order: the mixing probability,
 * the switch between the two, λ ~ Beta(α, α), then the box centre (row, column).
 */
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/** A box [top, bottom, left, right) in pixels: rows top..bottom-1, columns left..right-1. */
export type Box = readonly [top: number, bottom: number, left: number, right: number];

/** What one batch is mixed with: λ, and for CutMix the pasted box. */
export interface MixParams {
  /** the weight of each sample's own target (after CutMix's correction: the unpasted share) */
  lam: number;
  /** CutMix's box, pasted from the partner; null for MixUp */
  box: Box | null;
}

/** A Gamma(shape, 1) sample (Marsaglia and Tsang 2000; shape < 1 through Gamma(shape + 1)·U^(1/shape)). */
export function sampleGamma(shape: number, g: Generator): number {
  if (!(shape > 0)) throw new RangeError(`sampleGamma: the shape must be > 0, got ${shape}`);
  if (shape < 1) return sampleGamma(shape + 1, g) * Math.pow(g.random() || 2 ** -53, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = g.normal();
    const v0 = 1 + c * x;
    if (v0 <= 0) continue;
    const v = v0 * v0 * v0;
    const u = g.random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, b) sample, as X / (X + Y) of two Gamma samples. */
export function sampleBeta(a: number, b: number, g: Generator): number {
  const x = sampleGamma(a, g);
  const y = sampleGamma(b, g);
  // both can underflow to 0 for a tiny alpha, where Beta puts its mass at 0 and 1
  return x + y > 0 ? x / (x + y) : g.random() < a / (a + b) ? 1 : 0;
}

/**
 * timm's rand_bbox and correction: a box of (H·√(1-λ)) x (W·√(1-λ)) (truncated, then halved
 * on each side of a uniform centre and clipped to the picture), and λ = 1 - its area / (H·W).
 */
export function cutmixBox(height: number, width: number, lam: number, g: Generator): MixParams {
  const ratio = Math.sqrt(1 - lam);
  const cutH = Math.trunc(height * ratio);
  const cutW = Math.trunc(width * ratio);
  const cy = g.int(0, height);
  const cx = g.int(0, width);
  const clip = (v: number, n: number) => Math.min(Math.max(v, 0), n);
  const box: Box = [clip(cy - (cutH >> 1), height), clip(cy + (cutH >> 1), height), clip(cx - (cutW >> 1), width), clip(cx + (cutW >> 1), width)];
  return { lam: 1 - ((box[1] - box[0]) * (box[3] - box[2])) / (height * width), box };
}

/** The reversed batch: sample i's partner is N-1-i (timm's x.flip(0)). */
export function flipPartners(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => n - 1 - i);
}

/**
 * Targets as class probabilities [N, K]: int32 class indices [N] become
 * (1-ε)·onehot + ε/K; a float32 [N, K] is taken as it is (already soft).
 */
export function softTargets(target: Tensor, numClasses: number, labelSmoothing = 0, where = 'softTargets'): Tensor<'float32'> {
  const n = target.shape[0];
  if (target.dtype === 'float32' && target.ndim === 2) {
    if (target.shape[1] !== numClasses) throw new RangeError(`${where}: soft targets of shape [${target.shape.join(', ')}] for ${numClasses} classes`);
    return target as Tensor<'float32'>;
  }
  if (!(target.dtype === 'int32' && (target.ndim === 1 || (target.ndim === 2 && target.shape[1] === 1)))) {
    throw new TypeError(
      `${where}: expected int32 class indices [N] or float32 probabilities [N, ${numClasses}], got ${target.dtype} [${target.shape.join(', ')}]`,
    );
  }
  const off = labelSmoothing / numClasses;
  const on = 1 - labelSmoothing + off;
  const out = new Float32Array(n * numClasses).fill(off);
  const t = target.data as Int32Array;
  for (let i = 0; i < n; i++) {
    if (!(t[i] >= 0 && t[i] < numClasses)) throw new RangeError(`${where}: target ${t[i]} is out of bounds for ${numClasses} classes`);
    out[i * numClasses + t[i]] = on;
  }
  return new Tensor<'float32'>(out, [n, numClasses]);
}

export interface MixBatchOptions extends MixParams {
  numClasses: number;
  labelSmoothing?: number;
  /** each sample's partner (default: the reversed batch) */
  partners?: ArrayLike<number>;
}

/**
 * Mixes a batch with given parameters: MixUp x' = λ·x + (1-λ)·x[partner] without a box,
 * CutMix x' = x with the box copied from x[partner] with one; targets
 * λ·y + (1-λ)·y[partner] as probabilities [N, K]. Returns new tensors.
 */
export function mixBatch(
  x: Tensor,
  target: Tensor,
  { lam, box, numClasses, labelSmoothing = 0, partners }: MixBatchOptions,
): [Tensor<'float32'>, Tensor<'float32'>] {
  const where = 'mixBatch';
  if (x.dtype !== 'float32' || x.ndim < 1 || (box !== null && x.ndim !== 4)) {
    throw new TypeError(`${where}: expected a float32 batch [N, ...] (for a box, [N, C, H, W]), got ${x.dtype} [${x.shape.join(', ')}]`);
  }
  const n = x.shape[0];
  const [c, h, w] = box === null ? [1, 1, x.size / Math.max(n, 1)] : x.shape.slice(1);
  if (target.shape[0] !== n) throw new RangeError(`${where}: ${n} images but ${target.shape[0]} targets`);
  const p = partners ?? flipPartners(n);
  if (p.length !== n || !Array.from(p).every((j) => Number.isInteger(j) && j >= 0 && j < n)) {
    throw new RangeError(`${where}: partners must be ${n} indices into the batch`);
  }
  const y = softTargets(target, numClasses, labelSmoothing, where).data as Float32Array;
  const src = x.data as Float32Array;
  const plane = c * h * w;
  const xs = new Float32Array(src.length);
  if (box === null) {
    for (let i = 0; i < n; i++) {
      const a = i * plane;
      const b = p[i] * plane;
      for (let k = 0; k < plane; k++) xs[a + k] = lam * src[a + k] + (1 - lam) * src[b + k];
    }
  } else {
    const [top, bottom, left, right] = box;
    xs.set(src);
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        for (let r = top; r < bottom; r++) {
          const a = i * plane + ch * h * w + r * w;
          const b = p[i] * plane + ch * h * w + r * w;
          // from the unmixed batch: the partner's own box may already hold its partner's
          xs.set(src.subarray(b + left, b + right), a + left);
        }
      }
    }
  }
  const ys = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < numClasses; k++) ys[i * numClasses + k] = lam * y[i * numClasses + k] + (1 - lam) * y[p[i] * numClasses + k];
  }
  return [new Tensor<'float32'>(xs, x.shape), new Tensor<'float32'>(ys, [n, numClasses])];
}

/** Anything fit can apply to each training batch: (x, y) to (x', soft targets). */
export interface BatchMixer {
  apply(x: Tensor, target: Tensor): [Tensor, Tensor];
}

export interface MixupOptions {
  numClasses: number;
  /** MixUp's α: λ ~ Beta(α, α); 0 turns MixUp off (default 1) */
  mixupAlpha?: number;
  /** CutMix's α; 0 turns CutMix off (default 0) */
  cutmixAlpha?: number;
  /** probability that a batch is mixed at all (default 1) */
  prob?: number;
  /** with both α > 0, the probability of CutMix rather than MixUp (default 0.5) */
  switchProb?: number;
  /** ε of the targets (default 0.1, as timm) */
  labelSmoothing?: number;
  /** only 'batch' (one λ per batch) */
  mode?: 'batch';
  /** default: the global generator (seeded by manualSeed, saved in checkpoints) */
  generator?: Generator;
}

/** timm's Mixup in batch mode: MixUp, CutMix, or a random choice between them, per batch. */
export class Mixup implements BatchMixer {
  readonly numClasses: number;
  readonly mixupAlpha: number;
  readonly cutmixAlpha: number;
  readonly prob: number;
  readonly switchProb: number;
  readonly labelSmoothing: number;
  readonly mode = 'batch' as const;
  readonly #generator: Generator | undefined;

  constructor({ numClasses, mixupAlpha = 1, cutmixAlpha = 0, prob = 1, switchProb = 0.5, labelSmoothing = 0.1, mode = 'batch', generator }: MixupOptions) {
    const name = this.constructor.name;
    if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new RangeError(`${name}: numClasses must be a positive integer, got ${numClasses}`);
    if (!(mixupAlpha >= 0) || !(cutmixAlpha >= 0)) throw new RangeError(`${name}: the alphas must be >= 0, got ${mixupAlpha} and ${cutmixAlpha}`);
    if (mixupAlpha === 0 && cutmixAlpha === 0) throw new RangeError(`${name}: mixupAlpha or cutmixAlpha must be > 0`);
    for (const [k, v] of [
      ['prob', prob],
      ['switchProb', switchProb],
      ['labelSmoothing', labelSmoothing],
    ] as const) {
      if (!(v >= 0 && v <= 1)) throw new RangeError(`${name}: ${k} must be in [0, 1], got ${v}`);
    }
    if (mode !== 'batch') throw new RangeError(`${name}: only mode 'batch' is supported, got '${mode}'`);
    this.numClasses = numClasses;
    this.mixupAlpha = mixupAlpha;
    this.cutmixAlpha = cutmixAlpha;
    this.prob = prob;
    this.switchProb = switchProb;
    this.labelSmoothing = labelSmoothing;
    this.#generator = generator;
  }

  /** Draws the next batch's parameters for pictures of height x width (λ = 1: unmixed). */
  draw(height: number, width: number): MixParams {
    const g = this.#generator ?? defaultGenerator();
    if (!(g.random() < this.prob)) return { lam: 1, box: null };
    let cut: boolean;
    if (this.mixupAlpha > 0 && this.cutmixAlpha > 0) cut = g.random() < this.switchProb;
    else cut = this.cutmixAlpha > 0;
    const alpha = cut ? this.cutmixAlpha : this.mixupAlpha;
    const lam = sampleBeta(alpha, alpha, g);
    return cut ? cutmixBox(height, width, lam, g) : { lam, box: null };
  }

  /** The mixed batch and its soft targets [N, numClasses]. */
  apply(x: Tensor, target: Tensor): [Tensor<'float32'>, Tensor<'float32'>] {
    if (x.ndim !== 4 && this.cutmixAlpha > 0) throw new TypeError(`${this.constructor.name}: CutMix needs a batch [N, C, H, W], got [${x.shape.join(', ')}]`);
    const params = this.draw(x.shape[2] ?? 1, x.shape[3] ?? 1);
    if (params.lam === 1) return [x as Tensor<'float32'>, softTargets(target, this.numClasses, this.labelSmoothing, this.constructor.name)];
    return mixBatch(x, target, { ...params, numClasses: this.numClasses, labelSmoothing: this.labelSmoothing });
  }
}

export interface MixUpOptions {
  numClasses: number;
  /** λ ~ Beta(α, α) (default 1) */
  alpha?: number;
  /** ε of the targets (default 0) */
  labelSmoothing?: number;
  /** probability that a batch is mixed (default 1) */
  prob?: number;
  generator?: Generator;
}

/** MixUp alone: x' = λ·x + (1-λ)·x[partner]. */
export class MixUp extends Mixup {
  constructor({ numClasses, alpha = 1, labelSmoothing = 0, prob = 1, generator }: MixUpOptions) {
    super({ numClasses, mixupAlpha: alpha, cutmixAlpha: 0, labelSmoothing, prob, generator });
  }
}

/** CutMix alone: the partner's box pasted in, λ the share left. */
export class CutMix extends Mixup {
  constructor({ numClasses, alpha = 1, labelSmoothing = 0, prob = 1, generator }: MixUpOptions) {
    super({ numClasses, mixupAlpha: 0, cutmixAlpha: alpha, labelSmoothing, prob, generator });
  }
}
