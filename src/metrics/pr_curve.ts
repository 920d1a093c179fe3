/**
 * sklearn.metrics.precision_recall_curve for one class (sklearn >= 1.1, drop_intermediate=False):
 * one threshold per distinct score, ascending; precision[i], recall[i] are those of
 * "score >= thresholds[i]"; the arrays end with the extra point precision 1, recall 0,
 * which has no threshold.
 */
import { ShapeError } from '../tensor/errors.js';

export interface PRCurve {
  precision: number[];
  recall: number[];
  thresholds: number[];
}

export interface OperatingPoint {
  threshold: number;
  precision: number;
  recall: number;
}

export function precisionRecallCurve(scores: ArrayLike<number>, isPositive: ArrayLike<boolean>): PRCurve {
  const op = 'precisionRecallCurve';
  const n = scores.length;
  if (isPositive.length !== n) throw new ShapeError(`${op}: ${n} scores but ${isPositive.length} labels`);
  if (n === 0) throw new RangeError(`${op}: no samples`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`${op}: scores[${i}] = ${scores[i]} is not finite`);
  }
  // descending score; stable, as sklearn's mergesort
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const tps: number[] = [];
  const fps: number[] = [];
  const thr: number[] = [];
  let tp = 0;
  for (let r = 0; r < n; r++) {
    if (isPositive[order[r]]) tp++;
    const last = r === n - 1 || scores[order[r + 1]] !== scores[order[r]];
    if (last) {
      tps.push(tp);
      fps.push(r + 1 - tp);
      thr.push(scores[order[r]]);
    }
  }
  const totalPos = tp;
  // sklearn: with no positive sample, recall is 1 at every threshold (and it warns)
  const precision = tps.map((t, i) => t / (t + fps[i])).reverse();
  const recall = tps.map((t) => (totalPos === 0 ? 1 : t / totalPos)).reverse();
  precision.push(1);
  recall.push(0);
  return { precision, recall, thresholds: thr.reverse() };
}

/**
 * The lowest threshold whose precision >= target (so the largest recall reaching that
 * precision); null when no threshold reaches it. The final (1, 0) point has no threshold.
 */
export function thresholdForPrecision(curve: PRCurve, target: number): OperatingPoint | null {
  for (let i = 0; i < curve.thresholds.length; i++) {
    if (curve.precision[i] >= target) return { threshold: curve.thresholds[i], precision: curve.precision[i], recall: curve.recall[i] };
  }
  return null;
}

/**
 * The operating point that reaches recall >= target with the best precision (for
 * "find every poster, with as few false alarms as possible"); among
 * equal precisions the highest threshold. Precision is not monotone in the threshold,
 * so this scans every qualifying threshold. Null when none reaches the target.
 */
export function thresholdForRecall(curve: PRCurve, target: number): OperatingPoint | null {
  let best = -1;
  for (let i = curve.thresholds.length - 1; i >= 0; i--) {
    if (curve.recall[i] >= target && (best < 0 || curve.precision[i] > curve.precision[best])) best = i;
  }
  return best < 0 ? null : { threshold: curve.thresholds[best], precision: curve.precision[best], recall: curve.recall[best] };
}
