/**
 * Metrics accumulated batch by batch, as paddle.metric: reset() at the start of an
 * epoch, update(output, target) per batch, accumulate() for the value so far.
 */
import type { Tensor } from '../tensor/tensor.js';

export interface Metric {
  /** the log keys this metric produces, e.g. ['acc'] or ['acc_top1', 'acc_top5'] */
  names(): string[];
  reset(): void;
  /** output: scores [N, C] (logits or probabilities); target: class indices [N] (or [N, 1]), or class probabilities [N, C] */
  update(output: Tensor, target: Tensor): void;
  /** one value per name */
  accumulate(): number[];
}

export interface AccuracyOptions {
  /** k or a list of k (default 1): a sample counts when its class is among the k highest scores */
  topk?: number | number[];
  /** log name (default 'acc'; with several k, `${name}_top${k}`) */
  name?: string;
}

/** The index of the largest of row[start .. start + n) (the first on ties). */
function argmaxRow(row: ArrayLike<number>, start: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (row[start + j] > row[start + best]) best = j;
  return best;
}

/** Top-k classification accuracy; soft targets count for their most probable class. */
export class Accuracy implements Metric {
  readonly topk: number[];
  readonly #name: string;
  #correct: number[];
  #count = 0;

  constructor({ topk = 1, name = 'acc' }: AccuracyOptions = {}) {
    this.topk = Array.isArray(topk) ? [...topk] : [topk];
    if (this.topk.length === 0 || !this.topk.every((k) => Number.isInteger(k) && k >= 1)) {
      throw new RangeError(`Accuracy: topk must be positive integers, got ${JSON.stringify(topk)}`);
    }
    this.#name = name;
    this.#correct = this.topk.map(() => 0);
  }

  names(): string[] {
    return this.topk.length === 1 ? [this.#name] : this.topk.map((k) => `${this.#name}_top${k}`);
  }

  reset(): void {
    this.#correct = this.topk.map(() => 0);
    this.#count = 0;
  }

  update(output: Tensor, target: Tensor): void {
    if (output.ndim !== 2) throw new RangeError(`Accuracy: expected scores [N, C], got shape [${output.shape.join(', ')}]`);
    const [n, c] = output.shape;
    // soft targets (MixUp, CutMix, smoothing): the class is the most probable one
    const soft = target.dtype === 'float32' && target.ndim === 2 && target.shape[0] === n && target.shape[1] === c && c > 1;
    if (!soft && target.size !== n) throw new RangeError(`Accuracy: ${n} scores but ${target.size} targets`);
    const s = output.data;
    const t = target.data;
    for (let i = 0; i < n; i++) {
      const y = soft ? argmaxRow(t, i * c, c) : t[i];
      const sy = s[i * c + y];
      // rank = how many classes score strictly higher than the target (ties count in its favour)
      let rank = 0;
      for (let j = 0; j < c; j++) if (s[i * c + j] > sy) rank++;
      if (Number.isNaN(sy)) rank = c;
      for (let q = 0; q < this.topk.length; q++) if (rank < this.topk[q]) this.#correct[q]++;
    }
    this.#count += n;
  }

  accumulate(): number[] {
    return this.#correct.map((c) => (this.#count ? c / this.#count : 0));
  }
}
