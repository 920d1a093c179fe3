/**
 * `tsvision train --weights`: opening a weights file or known name, the preprocessing
 * the weights were trained with, and loading what fits into the new network.
 */
import { loadWeightsFile } from '../io/weights-file.js';
import { describeMatch, loadMatchingWeights, resolveWeights, type ImageClassifier, type PretrainedWeights } from '../models/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { firstNonFinite } from '../train/checkpoint.js';
import { imagenetPreprocess, type PreprocessConfig } from '../transforms/presets.js';
import { CommandError } from './common.js';

export interface OpenedWeights {
  path: string;
  known: PretrainedWeights | null;
  tensors: Map<string, Tensor>;
}

/** The tensors of --weights (a path, or a known name downloaded once into the cache); one-line errors. */
export async function openWeights(arg: string, where: string): Promise<OpenedWeights> {
  try {
    const { path, known } = await resolveWeights(arg);
    const tensors = loadWeightsFile(path);
    const bad = firstNonFinite(tensors);
    if (bad) throw new Error(`${path}: tensor ${bad.key} holds ${bad.value} at index ${bad.index} (not finite)`);
    return { path, known, tensors };
  } catch (e) {
    throw new CommandError(`${where}: --weights: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * The preprocessing for training from pretrained weights: the weights' own (resize,
 * crop, interpolation, mean and std), or ImageNet's for a file the table does not
 * know; --image-size, --resize and --augment given on the command line win.
 */
export function pretrainedPreprocess(
  own: PreprocessConfig | null,
  defaultSize: number,
  channels: 1 | 3,
  values: Record<string, unknown>,
  given: ReadonlySet<string>,
): PreprocessConfig {
  const base = own ?? imagenetPreprocess(Math.round((defaultSize * 256) / 224), defaultSize);
  const crop = given.has('image-size') ? (values['image-size'] as number) : base.cropSize;
  const mean = channels === 3 ? base.mean : [base.mean.reduce((a, b) => a + b, 0) / 3];
  const std = channels === 3 ? base.std : [base.std.reduce((a, b) => a + b, 0) / 3];
  return {
    ...base,
    cropSize: crop,
    resizeSize: Math.round((crop * base.resizeSize) / base.cropSize),
    resizeMode: given.has('resize') ? (values.resize as PreprocessConfig['resizeMode']) : base.resizeMode,
    augment: values.augment as PreprocessConfig['augment'],
    channels,
    mean,
    std,
  };
}

/** Loads the weights that fit into `net`; returns the line that says what was loaded and what starts fresh. */
export function loadPretrained(net: ImageClassifier, weights: OpenedWeights, where: string): string {
  let line: string;
  try {
    line = describeMatch(loadMatchingWeights(net, weights.tensors));
  } catch (e) {
    throw new CommandError(`${where}: --weights ${weights.path}: ${(e as Error).message.replace(/^loadMatchingWeights: /, '')}`);
  }
  const known = weights.known;
  const what = known ? ` (${known.name}${known.accuracy ? `, ${known.accuracy.dataset} top-1 ${known.accuracy.top1}%` : ''})` : '';
  return `Weights: ${weights.path}${what}: ${line}.`;
}
