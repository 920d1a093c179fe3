/**
 * Streaming top-k accuracy from scores [N, C]. A sample is correct when fewer than k
 * classes score strictly higher than its target: ties are broken in the target's
 * favour. A NaN target score is never correct; other NaN scores are ignored.
 */
import { ShapeError } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { toLabels, toScores, type Labels, type Scores } from './inputs.js';

export class TopKAccuracy {
  readonly k: number;
  #correct = 0;
  #count = 0;

  constructor(k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`TopKAccuracy: k must be a positive integer, got ${k}`);
    this.k = k;
  }

  update(scores: Scores, targets: Labels): this {
    const op = 'TopKAccuracy.update';
    let c: number;
    if (scores instanceof Tensor) {
      if (scores.ndim !== 2) throw new ShapeError(`${op}: scores must have shape [N, C], got [${scores.shape.join(', ')}]`);
      c = scores.shape[1];
    } else {
      c = scores.length > 0 ? (scores[0]?.length ?? 0) : this.k;
    }
    if (this.k > c) throw new RangeError(`${op}: k = ${this.k} exceeds the ${c} classes`);
    const { data, n } = toScores(op, scores, c);
    const tgt = toLabels(op, 'targets', targets, c);
    if (tgt.length !== n) throw new ShapeError(`${op}: ${n} score rows but ${tgt.length} targets`);
    let correct = 0;
    for (let i = 0; i < n; i++) {
      const s = data[i * c + tgt[i]];
      if (Number.isNaN(s)) continue;
      let higher = 0;
      for (let j = 0; j < c; j++) if (data[i * c + j] > s) higher++;
      if (higher < this.k) correct++;
    }
    this.#correct += correct;
    this.#count += n;
    return this;
  }

  /** Fraction correct so far; NaN before any sample. */
  get value(): number {
    return this.#count === 0 ? NaN : this.#correct / this.#count;
  }

  get correct(): number {
    return this.#correct;
  }

  get count(): number {
    return this.#count;
  }

  merge(other: TopKAccuracy): this {
    if (!(other instanceof TopKAccuracy) || other.k !== this.k)
      throw new RangeError(`TopKAccuracy.merge: k differs (${this.k} vs ${(other as TopKAccuracy)?.k})`);
    this.#correct += other.#correct;
    this.#count += other.#count;
    return this;
  }

  reset(): this {
    this.#correct = 0;
    this.#count = 0;
    return this;
  }
}
