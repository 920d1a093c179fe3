/**
 * What to read after an evaluation, computed from the predictions alone (so
 * `tsvision evaluate` and `tsvision rescore` print the same thing): accuracy, the
 * confusion matrix, the per-class table, the most confused class pairs, the
 * worst mistakes, and for one class the operating point that reaches a target
 * precision or recall.
 */
import { classificationReport, type ClassificationReport } from './classification.js';
import { ConfusionMatrix } from './confusion.js';
import { precisionRecallCurve, thresholdForPrecision, thresholdForRecall } from './pr_curve.js';
import type { PredictionRecord } from './predictions.js';

export interface Mistake {
  path: string;
  target: number;
  predicted: number;
  /** the probability given to the (wrong) predicted class */
  confidence: number;
  /** the probability given to the true class */
  targetProb: number;
}

export interface ConfusedPair {
  target: number;
  predicted: number;
  count: number;
  /** count / the true class's support */
  share: number;
}

export interface ClassOperatingPoint {
  classIndex: number;
  /** what was asked: a precision or a recall of at least `target` */
  goal: 'precision' | 'recall';
  target: number;
  /** null when no threshold reaches the target */
  threshold: number | null;
  precision: number;
  recall: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
}

/** The n wrong predictions given the highest probability, most confident first (ties by path). */
export function worstMistakes(records: readonly PredictionRecord[], n = 10): Mistake[] {
  return records
    .filter((r) => r.predicted !== r.target)
    .map((r) => ({ path: r.path, target: r.target, predicted: r.predicted, confidence: r.probs[r.predicted], targetProb: r.probs[r.target] }))
    .sort((a, b) => b.confidence - a.confidence || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, n);
}

/** The n largest off-diagonal cells of the confusion matrix (true, predicted), largest first. */
export function confusedPairs(cm: ConfusionMatrix, n = 5): ConfusedPair[] {
  const c = cm.numClasses;
  const rows = cm.matrix;
  const out: ConfusedPair[] = [];
  for (let t = 0; t < c; t++) {
    const support = rows[t].reduce((a, b) => a + b, 0);
    for (let p = 0; p < c; p++) {
      if (p !== t && rows[t][p] > 0) out.push({ target: t, predicted: p, count: rows[t][p], share: rows[t][p] / support });
    }
  }
  return out.sort((a, b) => b.count - a.count || b.share - a.share || a.target - b.target || a.predicted - b.predicted).slice(0, n);
}

/** Counts for "call it class k when its probability >= threshold" (one class against the rest). */
function countsAt(records: readonly PredictionRecord[], k: number, threshold: number) {
  let tp = 0,
    fp = 0,
    fn = 0;
  for (const r of records) {
    const positive = r.probs[k] >= threshold;
    if (r.target === k) {
      if (positive) tp++;
      else fn++;
    } else if (positive) fp++;
  }
  return { tp, fp, fn };
}

/**
 * For class k scored by its probability (one against the rest): the threshold
 * that reaches precision >= target with the most recall, or recall >= target with
 * the best precision ("find every poster, tolerating false alarms").
 */
export function operatingPoint(records: readonly PredictionRecord[], k: number, goal: 'precision' | 'recall', target: number): ClassOperatingPoint {
  if (!(target > 0 && target <= 1)) throw new RangeError(`operatingPoint: the target ${goal} must be in (0, 1], got ${target}`);
  const curve = precisionRecallCurve(
    records.map((r) => r.probs[k]),
    records.map((r) => r.target === k),
  );
  const point = goal === 'precision' ? thresholdForPrecision(curve, target) : thresholdForRecall(curve, target);
  if (!point) {
    const { tp, fp, fn } = countsAt(records, k, -Infinity);
    return { classIndex: k, goal, target, threshold: null, precision: NaN, recall: NaN, truePositives: tp, falsePositives: fp, falseNegatives: fn };
  }
  const { tp, fp, fn } = countsAt(records, k, point.threshold);
  return {
    classIndex: k,
    goal,
    target,
    threshold: point.threshold,
    precision: point.precision,
    recall: point.recall,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
  };
}

/** The confusion matrix as text, rows the true class and columns the prediction, labelled by name. */
export function formatConfusionMatrix(cm: ConfusionMatrix, classes: readonly string[]): string {
  const rows = cm.matrix;
  const nameWidth = Math.max(...classes.map((c) => c.length), 4);
  const width = Math.max(6, Math.min(12, Math.max(...classes.map((c) => c.length)) + 1), ...rows.flat().map((v) => String(v).length + 1));
  const head = (name: string) => (name.length >= width ? name.slice(0, width - 2) + '…' : name).padStart(width);
  let text = `${''.padEnd(nameWidth + 2)}${classes.map(head).join('')}\n`;
  rows.forEach((row, t) => {
    text += `  ${classes[t].padEnd(nameWidth)}${row.map((v) => String(v).padStart(width)).join('')}\n`;
  });
  return text;
}

export interface ScoreOptions {
  /** mistakes to list (default 10) */
  worst?: number;
  /** confused pairs to list (default 5) */
  pairs?: number;
  /** an operating point to find for one class */
  operatingPoint?: { classIndex: number; goal: 'precision' | 'recall'; target: number };
}

export interface EvaluationScores {
  confusion: ConfusionMatrix;
  report: ClassificationReport;
  worst: Mistake[];
  pairs: ConfusedPair[];
  operatingPoint: ClassOperatingPoint | null;
  /** everything above as the text tsvision prints */
  text: string;
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Every metric of a set of predictions, and the report's text. */
export function scorePredictions(classes: readonly string[], records: readonly PredictionRecord[], options: ScoreOptions = {}): EvaluationScores {
  const { worst: nWorst = 10, pairs: nPairs = 5 } = options;
  const c = classes.length;
  const cm = new ConfusionMatrix(c);
  cm.update(
    records.map((r) => r.predicted),
    records.map((r) => r.target),
  );
  const report = classificationReport(cm, classes, { digits: 4 });
  const worst = worstMistakes(records, nWorst);
  const pairs = confusedPairs(cm, nPairs);
  const op = options.operatingPoint
    ? operatingPoint(records, options.operatingPoint.classIndex, options.operatingPoint.goal, options.operatingPoint.target)
    : null;

  const correct = Math.round(report.accuracy * cm.total);
  let text = `Accuracy: ${pct(report.accuracy)} (${correct} of ${cm.total} images)\n\n`;
  text += 'Confusion matrix (rows: the true class, columns: the prediction):\n';
  text += formatConfusionMatrix(cm, classes);
  text += "\nPer class (precision: of the images called this class, the share that were; recall: of this class's images, the share found):\n";
  text += report.text;
  if (pairs.length > 0) {
    text += '\nMost confused (true class -> prediction):\n';
    for (const p of pairs)
      text += `  ${String(p.count).padStart(5)}  ${classes[p.target]} -> ${classes[p.predicted]}  (${pct(p.share)} of ${classes[p.target]})\n`;
  }
  if (worst.length > 0) {
    text += '\nWorst mistakes (wrong, with the highest confidence):\n';
    for (const m of worst)
      text += `  ${m.confidence.toFixed(4)}  said ${classes[m.predicted]}, is ${classes[m.target]} (${m.targetProb.toFixed(4)})  ${m.path}\n`;
  } else {
    text += '\nNo mistakes.\n';
  }
  if (op) {
    const name = classes[op.classIndex];
    text += `\nClass '${name}', ${op.goal} at least ${op.target}:\n`;
    if (op.threshold === null) {
      text += `  no threshold reaches it (${op.truePositives + op.falseNegatives} images are '${name}').\n`;
    } else {
      text +=
        `  call an image '${name}' when its probability is >= ${op.threshold.toFixed(5)}: ` +
        `precision ${op.precision.toFixed(4)}, recall ${op.recall.toFixed(4)} ` +
        `(${op.truePositives} found, ${op.falseNegatives} missed, ${op.falsePositives} false alarms)\n`;
    }
  }
  return { confusion: cm, report, worst, pairs, operatingPoint: op, text };
}
