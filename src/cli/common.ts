/**
 * What the tsvision subcommands share: loading a trained classifier from a
 * checkpoint with one-line errors, and classifying a list of image files
 * (decoded with sharp, preprocessed as in training, batched, unreadable files
 * reported and skipped).
 */
import { statSync } from 'node:fs';
import { loadImage } from '../data/decode.js';
import { DataLoader } from '../data/loader.js';
import { SampleError } from '../data/errors.js';
import { argmax, type PredictionRecord } from '../metrics/predictions.js';
import { StateDictError } from '../nn/module.js';
import type { Module } from '../nn/module.js';
import { getModel, modelEntry } from '../models/index.js';
import { noGrad } from '../tensor/autograd.js';
import { softmax } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadCheckpoint, resolveCheckpoint } from '../train/checkpoint.js';
import { Model } from '../train/model.js';
import { evalTransform, parsePreprocess, type PreprocessConfig } from '../transforms/presets.js';

/** An error whose message is the whole story, printed as is (one line). */
export class CommandError extends Error {
  override name = 'CommandError';
}

/** Throws a CommandError unless `path` is an existing folder. */
export function requireFolder(path: string, where: string, what: string): void {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new CommandError(`${where}: ${what} ${path} does not exist`);
  }
  if (!isDir) throw new CommandError(`${where}: ${what} ${path} is not a folder`);
}

export interface Classifier {
  model: Model;
  preset: PreprocessConfig;
  classes: string[];
  /** the checkpoint directory actually read */
  path: string;
}

/** A StateDictError's gist on one line. */
export function stateDictGist(e: StateDictError): string {
  const parts: string[] = [];
  if (e.missingKeys.length) parts.push(`${e.missingKeys.length} missing (${e.missingKeys.slice(0, 2).join(', ')}${e.missingKeys.length > 2 ? ', …' : ''})`);
  if (e.unexpectedKeys.length) parts.push(`${e.unexpectedKeys.length} unexpected (${e.unexpectedKeys.slice(0, 2).join(', ')}${e.unexpectedKeys.length > 2 ? ', …' : ''})`);
  if (e.mismatchedKeys.length) {
    const m = e.mismatchedKeys[0];
    parts.push(`${e.mismatchedKeys.length} of another shape (${m.key}: [${m.got.join(', ')}], the network has [${m.expected.join(', ')}])`);
  }
  return parts.join('; ');
}

/** The classifier of a checkpoint written by `tsvision train` (or any checkpoint with an architecture, classes and a preset). */
export function loadClassifier(dir: string, where: string): Classifier {
  if (resolveCheckpoint(dir) === null) throw new CommandError(`${where}: no checkpoint at ${dir} (expected a folder with checkpoint.json, as tsvision train writes)`);
  let ck;
  try {
    ck = loadCheckpoint(dir);
  } catch (e) {
    throw new CommandError(`${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  const arch = ck.info.architecture;
  if (!arch) throw new CommandError(`${where}: the checkpoint at ${ck.path} does not record its architecture`);
  const classes = ck.info.classes;
  if (!classes || classes.length < 2) throw new CommandError(`${where}: the checkpoint at ${ck.path} does not record its class names`);
  const preset = parsePreprocess(ck.info.preprocessing, `${where}: ${ck.path}`);
  let net: Module;
  try {
    modelEntry(arch.name);
    net = getModel(arch.name, arch.config);
  } catch (e) {
    throw new CommandError(`${where}: the checkpoint at ${ck.path} is a '${arch.name}', which this tsvision cannot build: ${(e as Error).message}`);
  }
  try {
    net.loadStateDict(ck.modelState);
  } catch (e) {
    if (e instanceof StateDictError) {
      throw new CommandError(`${where}: the weights in ${ck.path} do not fit a '${arch.name}' ${JSON.stringify(arch.config)}: ${stateDictGist(e)}`);
    }
    throw e;
  }
  const model = new Model(net, { architecture: arch, classes, preprocessing: ck.info.preprocessing ?? null });
  model.epoch = ck.info.epoch;
  model.step = ck.info.step;
  return { model, preset, classes, path: ck.path };
}

/** The probabilities the classifier gives each file, in order; a file that does not decode is told to onSkip and left out. */
export async function classifyFiles(
  net: Module, preset: PreprocessConfig, paths: readonly string[],
  { batchSize = 64, onSkip }: { batchSize?: number; onSkip: (path: string, reason: string) => void },
): Promise<{ index: number; probs: number[] }[]> {
  const transform = evalTransform(preset);
  const dataset = {
    length: paths.length,
    async getItem(i: number): Promise<[Tensor, number]> {
      let img;
      try {
        img = await loadImage(paths[i], { channels: preset.channels });
      } catch (e) {
        onSkip(paths[i], (e as Error).message);
        throw new SampleError(`${paths[i]}: ${(e as Error).message}`, i, paths[i]);
      }
      return [transform.apply(img) as Tensor, i];
    },
  };
  const out: { index: number; probs: number[] }[] = [];
  const wasTraining = net.training;
  net.eval();
  try {
    for await (const [x, idx] of new DataLoader(dataset, { batchSize, prefetch: 2 }) as AsyncIterable<[Tensor, Tensor<'int32'>]>) {
      const p = noGrad(() => softmax(net.call(x), 1));
      const c = p.shape[1];
      const data = p.data as Float32Array;
      idx.data.forEach((index, r) => out.push({ index, probs: Array.from(data.subarray(r * c, (r + 1) * c)) }));
    }
  } finally {
    net.train(wasTraining);
  }
  return out;
}

/**
 * Records for the predictions file: truth, prediction (from the full probabilities)
 * and the probabilities as the file holds them (5 decimals), so that evaluate and a
 * later rescore of the file compute the same numbers.
 */
export function toRecords(results: { index: number; probs: number[] }[], paths: readonly string[], targets: ArrayLike<number>): PredictionRecord[] {
  return results.map(({ index, probs }) => ({
    probs: probs.map((p) => Number(p.toFixed(5))), target: targets[index], predicted: argmax(probs), path: paths[index],
  }));
}
