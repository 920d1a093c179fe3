/**
 * Samplers: which dataset indices an epoch visits, in what order. A DataLoader
 * given `sampler` takes each epoch's indices from it instead of 0..n-1 or a
 * shuffle.
 *
 * WeightedRandomSampler has torch.utils.data.WeightedRandomSampler's semantics:
 * `numSamples` indices drawn with probability proportional to `weights` (which
 * need not sum to 1), with replacement by default. Without replacement the
 * indices are distinct (weighted sampling without replacement, as
 * torch.multinomial: each draw proportional to the weights of the indices not
 * yet drawn), so numSamples may not exceed the number of positive weights.
 *
 * Class balance: `classWeights(counts)` gives each class N / (K · n_c)
 * (inverse frequency, normalised so that the average sample weighs 1:
 * scikit-learn's "balanced"), and `balancedSampler(targets)` draws every
 * class equally often on average (each sample weighing 1 / n_its class), which
 * is what `Model.fit({ balance: true })` and `tsvision train --balance` use.
 */
import { defaultGenerator, Generator } from '../tensor/random.js';

/** Anything that gives an epoch's dataset indices. */
export interface Sampler {
  /** indices per epoch */
  readonly length: number;
  /**
   * One epoch's indices. `generator` is the DataLoader's (a sampler with a generator
   * of its own draws from that one instead), so a seeded loader repeats its epochs.
   */
  indices(generator?: Generator): Int32Array;
}

export interface WeightedRandomSamplerOptions {
  /** indices per epoch (default: weights.length) */
  numSamples?: number;
  /** draw with replacement (default true, as torch) */
  replacement?: boolean;
  /** draws come from this generator (default: the DataLoader's, else the global one) */
  generator?: Generator;
}

export class WeightedRandomSampler implements Sampler, Iterable<number> {
  readonly weights: Float64Array;
  readonly numSamples: number;
  readonly replacement: boolean;
  readonly generator: Generator | undefined;
  /** cumulative weights, for draws with replacement by binary search */
  private readonly cumulative: Float64Array;

  constructor(weights: ArrayLike<number>, { numSamples = weights.length, replacement = true, generator }: WeightedRandomSamplerOptions = {}) {
    if (weights.length === 0) throw new RangeError('WeightedRandomSampler: weights is empty');
    if (!(Number.isInteger(numSamples) && numSamples > 0)) {
      throw new RangeError(`WeightedRandomSampler: numSamples must be a positive integer but received ${numSamples}`);
    }
    const w = Float64Array.from(weights);
    let positive = 0;
    for (let i = 0; i < w.length; i++) {
      if (!(Number.isFinite(w[i]) && w[i] >= 0)) throw new RangeError(`WeightedRandomSampler: weight ${i} is ${w[i]}; weights must be finite and >= 0`);
      if (w[i] > 0) positive++;
    }
    if (positive === 0) throw new RangeError('WeightedRandomSampler: every weight is 0');
    if (!replacement && numSamples > positive) {
      throw new RangeError(`WeightedRandomSampler: cannot draw ${numSamples} distinct indices without replacement from ${positive} positive weights`);
    }
    this.weights = w;
    this.numSamples = numSamples;
    this.replacement = replacement;
    this.generator = generator;
    this.cumulative = new Float64Array(w.length);
    let sum = 0;
    for (let i = 0; i < w.length; i++) this.cumulative[i] = sum += w[i];
  }

  get length(): number {
    return this.numSamples;
  }

  indices(generator?: Generator): Int32Array {
    const g = this.generator ?? generator ?? defaultGenerator();
    return this.replacement ? this.withReplacement(g) : this.withoutReplacement(g);
  }

  /** Iterates one epoch's indices from the sampler's generator (else the global one). */
  *[Symbol.iterator](): Iterator<number> {
    yield* this.indices();
  }

  private withReplacement(g: Generator): Int32Array {
    const c = this.cumulative;
    const total = c[c.length - 1];
    const out = new Int32Array(this.numSamples);
    for (let k = 0; k < out.length; k++) {
      // the first index whose cumulative weight exceeds u: index i with probability w_i / total (a zero weight is never chosen)
      const u = g.random() * total;
      let lo = 0;
      let hi = c.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (c[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      out[k] = lo;
    }
    return out;
  }

  /**
   * Efraimidis and Spirakis' keys: index i gets -ln(u_i) / w_i, and the numSamples
   * smallest keys, in increasing order, are distributed as successive draws without
   * replacement proportional to the weights.
   */
  private withoutReplacement(g: Generator): Int32Array {
    const w = this.weights;
    const keys: { i: number; key: number }[] = [];
    for (let i = 0; i < w.length; i++) {
      const u = g.random();
      if (w[i] > 0) keys.push({ i, key: -Math.log(u || Number.MIN_VALUE) / w[i] });
    }
    keys.sort((a, b) => a.key - b.key || a.i - b.i);
    return Int32Array.from(keys.slice(0, this.numSamples), (k) => k.i);
  }
}

/** Images per class: counts[k] = how many of `targets` are k (numClasses: at least the largest label + 1). */
export function classCounts(targets: ArrayLike<number>, numClasses = 0): number[] {
  let k = numClasses;
  for (let i = 0; i < targets.length; i++) k = Math.max(k, targets[i] + 1);
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    if (!(Number.isInteger(t) && t >= 0)) throw new RangeError(`classCounts: label ${i} is ${t}, not a class index`);
    counts[t]++;
  }
  return counts;
}

/**
 * Class weights that balance `counts`: N / (K · n_c) for each of the K classes present
 * (0 for an empty class), so that the average sample weighs 1 and every class weighs
 * N / K in all.
 */
export function classWeights(counts: readonly number[]): number[] {
  const present = counts.filter((n) => n > 0).length;
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => (n > 0 ? total / (present * n) : 0));
}

/**
 * A WeightedRandomSampler that draws every class equally often on average: sample i
 * weighs 1 / (images of its class). numSamples defaults to the number of samples (an
 * epoch as long as before, with replacement: the small classes repeat, the large
 * ones are subsampled).
 */
export function balancedSampler(targets: ArrayLike<number>, options: WeightedRandomSamplerOptions = {}): WeightedRandomSampler {
  const counts = classCounts(targets);
  const weights = Float64Array.from(targets as ArrayLike<number>, (t) => 1 / counts[t]);
  return new WeightedRandomSampler(weights, { numSamples: targets.length, ...options });
}
