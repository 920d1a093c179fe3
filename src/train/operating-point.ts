/**
 * The operating point a deployment applies: "flag a picture as `logo` when the
 * logo probability is at least t", with t chosen on held-out pictures to reach a
 * target recall (or precision). The threshold comes from the predictions that
 * `tsvision evaluate` wrote beside the checkpoint (evaluation/predictions.txt), so
 * serve and tag apply exactly the point the evaluation reported.
 *
 *   const op = operatingPointFor(predictor, { className: 'logo', goal: 'recall', target: 0.95 });
 *   op.passes(probs)   // probs[op.classIndex] >= op.threshold
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { operatingPoint } from '../metrics/analysis.js';
import { readPredictions } from '../metrics/predictions.js';

export class OperatingPointError extends Error {
  override name = 'OperatingPointError';
}

export interface OperatingPointRequest {
  className: string;
  goal: 'precision' | 'recall';
  /** in (0, 1] */
  target: number;
  /** the predictions file to choose on; default: evaluation/predictions.txt beside the checkpoint */
  predictions?: string;
}

export interface DeployedOperatingPoint {
  class: string;
  classIndex: number;
  goal: 'precision' | 'recall';
  target: number;
  threshold: number;
  /** precision and recall at the threshold on the evaluation's pictures */
  precision: number;
  recall: number;
  /** the predictions file the threshold was chosen on */
  source: string;
  /** whether a probability row passes: its class probability is at least the threshold */
  passes(probs: ArrayLike<number>): boolean;
}

/** The predictions file `tsvision evaluate` writes for a checkpoint by default. */
export function defaultPredictionsFile(checkpointPath: string): string {
  return join(dirname(resolve(checkpointPath)), 'evaluation', 'predictions.txt');
}

/**
 * The threshold reaching `target` precision or recall for one class, chosen on an
 * evaluation's predictions. Errors name the class, the file and what to run.
 */
export function operatingPointFor(
  classifier: { classes: readonly string[]; source: string },
  { className, goal, target, predictions }: OperatingPointRequest,
): DeployedOperatingPoint {
  const k = classifier.classes.indexOf(className);
  if (k < 0) throw new OperatingPointError(`no class '${className}'; the classes are ${classifier.classes.join(', ')}`);
  if (!(target > 0 && target <= 1)) throw new OperatingPointError(`the target ${goal} must be in (0, 1], got ${target}`);
  const file = predictions ?? defaultPredictionsFile(classifier.source);
  if (!existsSync(file)) {
    throw new OperatingPointError(
      `the threshold for '${className}' is chosen on an evaluation's predictions, and ${file} does not exist; ` +
        `run tsvision evaluate --checkpoint ${classifier.source} --data DIR first (or give the predictions file)`,
    );
  }
  const { classes, records } = readPredictions(file);
  if (classes.length !== classifier.classes.length || classes.some((c, i) => c !== classifier.classes[i] && c !== String(i))) {
    throw new OperatingPointError(`${file} holds predictions for the classes ${classes.join(', ')}, not this model's ${classifier.classes.join(', ')}`);
  }
  const op = operatingPoint(records, k, goal, target);
  if (op.threshold === null) {
    throw new OperatingPointError(`no threshold reaches a ${goal} of ${target} for '${className}' on the ${records.length} pictures of ${file}`);
  }
  const threshold = op.threshold;
  return {
    class: className,
    classIndex: k,
    goal,
    target,
    threshold,
    precision: op.precision,
    recall: op.recall,
    source: file,
    passes: (probs) => probs[k] >= threshold,
  };
}
