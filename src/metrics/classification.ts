/**
 * Scores from a confusion matrix, with sklearn's definitions (precision_recall_fscore_support,
 * classification_report) and zero_division=0: a ratio whose denominator is 0 (precision
 * of a class never predicted, recall of a class with no samples) is 0.
 * Every class 0..C-1 takes part, as sklearn with labels=range(C).
 */
import { ShapeError } from '../tensor/errors.js';
import { ConfusionMatrix } from './confusion.js';

export type CM = ConfusionMatrix | readonly (readonly number[])[];

function asCM(cm: CM): ConfusionMatrix {
  return cm instanceof ConfusionMatrix ? cm : ConfusionMatrix.fromMatrix(cm);
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

function columnSums(cm: ConfusionMatrix): number[] {
  const c = cm.numClasses;
  const out = new Array<number>(c).fill(0);
  for (let t = 0; t < c; t++) for (let p = 0; p < c; p++) out[p] += cm.counts[t * c + p];
  return out;
}

/** Correct / total (sklearn.metrics.accuracy_score); NaN for an empty matrix. */
export function accuracy(cm: CM): number {
  const m = asCM(cm);
  const c = m.numClasses;
  let diag = 0;
  for (let i = 0; i < c; i++) diag += m.counts[i * c + i];
  const total = m.total;
  return total === 0 ? NaN : diag / total;
}

/** Samples of each true class (row sums). */
export function support(cm: CM): number[] {
  const m = asCM(cm);
  const c = m.numClasses;
  return Array.from({ length: c }, (_, t) => {
    let s = 0;
    for (let p = 0; p < c; p++) s += m.counts[t * c + p];
    return s;
  });
}

/** Per class: TP / (TP + FP), 0 when the class is never predicted. */
export function precision(cm: CM): number[] {
  const m = asCM(cm);
  const c = m.numClasses;
  const col = columnSums(m);
  return col.map((s, k) => ratio(m.counts[k * c + k], s));
}

/** Per class: TP / (TP + FN), 0 when the class has no samples. */
export function recall(cm: CM): number[] {
  const m = asCM(cm);
  const c = m.numClasses;
  return support(m).map((s, k) => ratio(m.counts[k * c + k], s));
}

/** Per class: 2TP / (2TP + FP + FN) (the harmonic mean of precision and recall), 0 when that is 0/0. */
export function f1(cm: CM): number[] {
  const m = asCM(cm);
  const c = m.numClasses;
  const col = columnSums(m);
  const sup = support(m);
  return sup.map((s, k) => {
    const tp = m.counts[k * c + k];
    return ratio(2 * tp, s + col[k]); // s + col = 2TP + FN + FP
  });
}

export interface Averages {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Unweighted mean over all C classes (sklearn average='macro'). */
export function macro(cm: CM): Averages {
  const m = asCM(cm);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { precision: mean(precision(m)), recall: mean(recall(m)), f1: mean(f1(m)), support: m.total };
}

/** Mean weighted by support (sklearn average='weighted'); 0 when there are no samples. */
export function weighted(cm: CM): Averages {
  const m = asCM(cm);
  const sup = support(m);
  const total = m.total;
  const w = (xs: number[]): number =>
    ratio(
      xs.reduce((a, x, k) => a + x * sup[k], 0),
      total,
    );
  return { precision: w(precision(m)), recall: w(recall(m)), f1: w(f1(m)), support: total };
}

export interface ReportRow extends Averages {
  name: string;
}

export interface ClassificationReport {
  /** one row per class, in class order */
  classes: ReportRow[];
  accuracy: number;
  macro: Averages;
  weighted: Averages;
  /** sklearn's text layout */
  text: string;
}

/** Python's '{:.Nf}': toFixed, except that an exact tie rounds half to even (toFixed rounds it up). */
function fixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (Math.abs(x) < 1e21) {
    const exact = Math.abs(x).toFixed(100); // the binary value's full decimal expansion for |x| >= 2^-40
    const dot = exact.indexOf('.');
    const tail = exact.slice(dot + 1 + digits);
    if (/^50*$/.test(tail)) {
      const kept = exact.slice(0, dot + 1 + digits).replace('.', '');
      if (Number(kept[kept.length - 1]) % 2 === 0) {
        const t = exact.slice(0, digits === 0 ? dot : dot + 1 + digits);
        return (x < 0 ? '-' : '') + t;
      }
    }
  }
  return x.toFixed(digits);
}

/**
 * sklearn.metrics.classification_report as data and as text (digits decimals, default 2).
 * classNames defaults to '0', '1', ...
 */
export function classificationReport(cm: CM, classNames?: readonly string[], { digits = 2 }: { digits?: number } = {}): ClassificationReport {
  const m = asCM(cm);
  const c = m.numClasses;
  const names = classNames ? [...classNames] : Array.from({ length: c }, (_, i) => String(i));
  if (names.length !== c) throw new ShapeError(`classificationReport: ${names.length} class names for ${c} classes`);
  const p = precision(m);
  const r = recall(m);
  const f = f1(m);
  const s = support(m);
  const classes = names.map((name, k) => ({ name, precision: p[k], recall: r[k], f1: f[k], support: s[k] }));
  const acc = accuracy(m);
  const mac = macro(m);
  const wei = weighted(m);

  const width = Math.max(...names.map((n) => n.length), 'weighted avg'.length, digits);
  const col = (x: string): string => ' ' + x.padStart(9);
  const row = (name: string, a: Averages): string =>
    name.padStart(width) + ' ' + col(fixed(a.precision, digits)) + col(fixed(a.recall, digits)) + col(fixed(a.f1, digits)) + col(String(a.support)) + '\n';
  let text = ''.padStart(width) + ' ' + col('precision') + col('recall') + col('f1-score') + col('support') + '\n\n';
  for (const r of classes) text += row(r.name, r);
  text += '\n';
  text += 'accuracy'.padStart(width) + ' ' + col('') + col('') + col(fixed(acc, digits)) + col(String(m.total)) + '\n';
  text += row('macro avg', mac);
  text += row('weighted avg', wei);
  return { classes, accuracy: acc, macro: mac, weighted: wei, text };
}
