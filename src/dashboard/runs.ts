/**
 * What the dashboard knows of a run: its settings, its per-step and per-epoch rows,
 * and its latest evaluation (the predictions, scored by the same `scorePredictions`
 * that `tsvision evaluate` prints). A run comes from a training process in this one
 * (the Dashboard callback pushes its events) or from a run folder's files:
 * run.json, history.csv, steps.csv and evaluation/predictions.txt.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { scorePredictions, type EvaluationScores } from '../metrics/analysis.js';
import { precisionRecallCurve } from '../metrics/pr_curve.js';
import { readPredictions, type PredictionRecord } from '../metrics/predictions.js';
import type { Logs } from '../train/callbacks.js';
import { readNumberCsv } from '../train/curves.js';

/** Worst mistakes kept for the thumbnails. */
export const WORST = 12;

export interface Evaluation {
  /** what was evaluated: 'validation after epoch 3', 'best checkpoint (epoch 5)' */
  label: string;
  classes: string[];
  records: PredictionRecord[];
  scores: EvaluationScores;
  /** grows with every new evaluation of the run (thumbnail URLs carry it, so a browser never shows a stale picture) */
  version: number;
}

export interface Run {
  id: string;
  name: string;
  /** the run folder, when there is one */
  dir: string | null;
  /** 'running' while a training process in this one pushes events */
  status: 'running' | 'finished' | 'unfinished';
  settings: Record<string, unknown>;
  command: string[] | null;
  steps: Logs[];
  epochs: Logs[];
  evaluation: Evaluation | null;
}

const readJSON = (path: string): any => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
};

/** Whether a folder holds a training run's files. */
export function isRunDir(dir: string): boolean {
  return ['history.csv', 'run.json', 'steps.csv'].some((f) => existsSync(join(dir, f)));
}

/** The run folders a command-line argument names: the folder itself when it is a run, else its subfolders that are. */
export function findRunDirs(dir: string): string[] {
  if (isRunDir(dir)) return [dir];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names
    .filter((n) => !n.startsWith('.'))
    .map((n) => join(dir, n))
    .filter((d) => {
      try {
        return statSync(d).isDirectory() && isRunDir(d);
      } catch {
        return false;
      }
    });
}

/** An evaluation from predictions (the evaluation's own scoring, with more worst mistakes kept for thumbnails). */
export function makeEvaluation(label: string, classes: readonly string[], records: PredictionRecord[], version: number): Evaluation {
  return { label, classes: [...classes], records, scores: scorePredictions(classes, records, { worst: WORST }), version };
}

/** The evaluation a run folder holds (evaluation/predictions.txt), or null. */
export function readEvaluation(dir: string, version: number): Evaluation | null {
  const file = join(dir, 'evaluation', 'predictions.txt');
  if (!existsSync(file)) return null;
  const { classes, records } = readPredictions(file);
  const source = readJSON(join(dir, 'evaluation', 'metrics.json'))?.checkpoint;
  let label = 'evaluation';
  if (typeof source === 'string') {
    const epoch = readJSON(join(dir, basename(source), 'checkpoint.json'))?.epoch;
    label = `${basename(source)} checkpoint${typeof epoch === 'number' ? ` (epoch ${epoch})` : ''}`;
  }
  return makeEvaluation(label, classes, records, version);
}

/** A run folder's status, settings and command (run.json, final/). */
export function readRunInfo(dir: string): Pick<Run, 'status' | 'settings' | 'command'> {
  const run = readJSON(join(dir, 'run.json'));
  return {
    status: existsSync(join(dir, 'final', 'checkpoint.json')) ? 'finished' : 'unfinished',
    settings: run?.settings && typeof run.settings === 'object' ? run.settings : {},
    command: Array.isArray(run?.command) ? run.command : null,
  };
}

/** A run read from its folder's files. */
export function readRun(id: string, dir: string, version = 1): Run {
  return {
    id,
    name: basename(resolve(dir)),
    dir,
    ...readRunInfo(dir),
    steps: readNumberCsv(join(dir, 'steps.csv')),
    epochs: readNumberCsv(join(dir, 'history.csv')),
    evaluation: readEvaluation(dir, version),
  };
}

/** The run without its rows, for lists. */
export function runSummary(run: Run) {
  return {
    id: run.id,
    name: run.name,
    dir: run.dir,
    status: run.status,
    settings: run.settings,
    command: run.command,
    epochsDone: run.epochs.length,
    steps: run.steps.length,
    evaluation: run.evaluation ? run.evaluation.label : null,
  };
}

/** Where a predictions file's image path is: as given (from this process's folder), else from the run folder or one of its parents. */
export function locateImage(path: string, runDir: string | null): string | null {
  if (existsSync(path)) return resolve(path);
  if (runDir === null) return null;
  for (let d = resolve(runDir), i = 0; i < 4; i++, d = dirname(d)) {
    const p = resolve(d, path);
    if (existsSync(p)) return p;
    if (dirname(d) === d) break;
  }
  return null;
}

/** The evaluation as the page shows it: the matrix, the per-class table, the confused pairs, the worst mistakes. */
export function evaluationSummary(run: Run) {
  const ev = run.evaluation;
  if (!ev) return null;
  const { scores, classes } = ev;
  const r = scores.report;
  return {
    label: ev.label,
    version: ev.version,
    images: ev.records.length,
    classes,
    accuracy: r.accuracy,
    confusionMatrix: scores.confusion.matrix,
    perClass: r.classes,
    macro: r.macro,
    weighted: r.weighted,
    mostConfused: scores.pairs.map((p) => ({ true: classes[p.target], predicted: classes[p.predicted], count: p.count, share: p.share })),
    worstMistakes: scores.worst.map((m, i) => ({
      index: i,
      path: m.path,
      true: classes[m.target],
      predicted: classes[m.predicted],
      confidence: m.confidence,
      targetProb: m.targetProb,
      thumbnail: locateImage(m.path, run.dir) !== null,
    })),
  };
}

/**
 * One class's precision-recall curve (sklearn's, from precisionRecallCurve) with the counts
 * at each threshold: "call it this class when its probability >= thresholds[i]" finds
 * found[i] of the `positives` and raises falseAlarms[i].
 */
export function prCurveData(ev: Evaluation, k: number) {
  const scores = ev.records.map((r) => r.probs[k]);
  const curve = precisionRecallCurve(
    scores,
    ev.records.map((r) => r.target === k),
  );
  const positives = ev.records.filter((r) => r.target === k).length;
  const sorted = [...scores].sort((a, b) => a - b);
  // images scoring >= t: those after the first index holding t
  const atLeast = (t: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return sorted.length - lo;
  };
  const found = curve.thresholds.map((_, i) => (positives === 0 ? 0 : Math.round(curve.recall[i] * positives)));
  const falseAlarms = curve.thresholds.map((t, i) => atLeast(t) - found[i]);
  return {
    class: ev.classes[k],
    classIndex: k,
    images: ev.records.length,
    positives,
    thresholds: curve.thresholds,
    precision: curve.precision,
    recall: curve.recall,
    found,
    falseAlarms,
  };
}
