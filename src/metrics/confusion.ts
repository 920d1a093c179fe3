/**
 * A streaming confusion matrix: rows are the true class, columns the predicted
 * class, as sklearn.metrics.confusion_matrix. update() per batch; only the C x C
 * counts are kept, so a validation set of any size never has to be in memory.
 */
import { ShapeError } from '../tensor/errors.js';
import { argmaxRow, checkNumClasses, isScores, toLabels, toScores, type Labels, type Scores } from './inputs.js';

export class ConfusionMatrix {
  readonly numClasses: number;
  /** counts[t * C + p]: samples of true class t predicted as p (float64 holds exact integers to 2^53) */
  readonly counts: Float64Array;

  constructor(numClasses: number) {
    checkNumClasses('ConfusionMatrix', numClasses);
    this.numClasses = numClasses;
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /**
   * predictions: class indices (int tensor [N] or number[]) or scores/probabilities
   * [N, C] (2-D float32 tensor or number[][]; the first largest score is taken).
   * targets: class indices [N]. Validated in full before anything is counted.
   */
  update(predictions: Labels | Scores, targets: Labels): this {
    const op = 'ConfusionMatrix.update';
    const c = this.numClasses;
    let pred: Int32Array;
    if (isScores(predictions)) {
      const { data, n } = toScores(op, predictions as Scores, c);
      pred = new Int32Array(n);
      for (let i = 0; i < n; i++) pred[i] = argmaxRow(data, i, c);
    } else {
      pred = toLabels(op, 'predictions', predictions as Labels, c);
    }
    const tgt = toLabels(op, 'targets', targets, c);
    if (pred.length !== tgt.length) {
      throw new ShapeError(`${op}: ${pred.length} predictions but ${tgt.length} targets`);
    }
    for (let i = 0; i < tgt.length; i++) this.counts[tgt[i] * c + pred[i]] += 1;
    return this;
  }

  /** Adds another matrix's counts (e.g. from another worker or shard). */
  merge(other: ConfusionMatrix): this {
    if (!(other instanceof ConfusionMatrix) || other.numClasses !== this.numClasses) {
      throw new ShapeError(
        `ConfusionMatrix.merge: expected a ConfusionMatrix of ${this.numClasses} classes, got ` +
          `${other instanceof ConfusionMatrix ? other.numClasses : typeof other}`,
      );
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  reset(): this {
    this.counts.fill(0);
    return this;
  }

  /** A copy of the counts as rows (true class) of columns (predicted class). */
  get matrix(): number[][] {
    const c = this.numClasses;
    return Array.from({ length: c }, (_, t) => Array.from(this.counts.subarray(t * c, (t + 1) * c)));
  }

  /** Number of samples counted. */
  get total(): number {
    let s = 0;
    for (const v of this.counts) s += v;
    return s;
  }

  /** A ConfusionMatrix from existing counts (rows = true class). */
  static fromMatrix(rows: readonly (readonly number[])[]): ConfusionMatrix {
    const c = rows.length;
    const cm = new ConfusionMatrix(c);
    rows.forEach((row, t) => {
      if (row.length !== c) throw new ShapeError(`ConfusionMatrix.fromMatrix: row ${t} has ${row.length} values, expected ${c}`);
      row.forEach((v, p) => {
        if (!Number.isInteger(v) || v < 0) throw new RangeError(`ConfusionMatrix.fromMatrix: count [${t}][${p}] = ${v} is not a non-negative integer`);
        cm.counts[t * c + p] = v;
      });
    });
    return cm;
  }
}
