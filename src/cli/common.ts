/**
 * What the tsvision subcommands share: one-line command errors, loading a checkpoint's
 * Predictor, and the records of the predictions file.
 */
import { statSync } from 'node:fs';
import { argmax, type PredictionRecord } from '../metrics/predictions.js';
import { Predictor, PredictorError, type FileResult, type FromCheckpointOptions } from '../train/predictor.js';
import { TTA_MODES } from '../train/tta.js';
import type { OptionSpec } from './args.js';

/** --tta of the commands that classify (evaluate, predict). */
export const TTA_OPTION: OptionSpec = {
  name: 'tta',
  type: 'string',
  choices: TTA_MODES,
  default: 'none',
  help: 'test-time augmentation, probabilities averaged: flip (2 views), flip+crops (the picture and 4 corner crops of 7/8, each mirrored: 10 views)',
};

/** An error whose message is the whole story, printed as is (one line). */
export class CommandError extends Error {
  override name = 'CommandError';
}

/** Throws a CommandError unless `path` is an existing folder. */
export function requireFolder(path: string, where: string, what: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new CommandError(`${where}: ${what} ${path} does not exist`);
  }
  if (!isDir) throw new CommandError(`${where}: ${what} ${path} is not a folder`);
}

/** The Predictor of a checkpoint directory, its errors as one CommandError line starting with `where`. */
export function loadPredictor(dir: string, where: string, options: FromCheckpointOptions = {}): Predictor {
  try {
    return Predictor.fromCheckpoint(dir, options);
  } catch (e) {
    if (e instanceof PredictorError) throw new CommandError(`${where}: ${e.message}`);
    throw e;
  }
}

/**
 * Records for the predictions file: truth, prediction (from the full probabilities)
 * and the probabilities as the file holds them (5 decimals), so that evaluate and a
 * later rescore of the file compute the same numbers.
 */
export function toRecords(results: readonly FileResult[], paths: readonly string[], targets: ArrayLike<number>): PredictionRecord[] {
  return results.map(({ index, probs }) => ({
    probs: probs.map((p) => Number(p.toFixed(5))),
    target: targets[index],
    predicted: argmax(probs),
    path: paths[index],
  }));
}
