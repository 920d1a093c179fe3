/**
 * Pretrained weights as data: which file, which architecture, how its inputs were
 * prepared, what it predicts and how well. A row per published file; the registry
 * lists a model's rows (`modelEntry(name).weights`) and the command line picks the
 * architecture and preprocessing from a file's name alone.
 */
import type { JsonValue } from '../core/json.js';
import type { PreprocessConfig } from '../transforms/presets.js';

export interface PretrainedAccuracy {
  /** the dataset and split the figures were measured on, e.g. 'ImageNet-1k val' */
  dataset: string;
  top1: number;
  top5?: number;
}

export interface PretrainedWeights {
  /** `<architecture>.<tag>`, e.g. 'resnet50.imagenet1k_v2' */
  name: string;
  /** other names, e.g. 'resnet50.imagenet' for an architecture's default weights */
  aliases?: string[];
  /** the registered model the weights fit */
  architecture: string;
  /** builder options the weights need (e.g. { transformInput: true }), merged into the model's config */
  config?: { [key: string]: JsonValue };
  /** the published file's name; when it carries a hash suffix (`resnet50-11ad3fa6.pth`), the prefix of its SHA-256 */
  file: string;
  /** where the file is published (downloaded only when asked to, into a cache) */
  url?: string;
  /** evaluation preprocessing the published accuracy was measured with */
  preprocess: PreprocessConfig;
  /** label names in output order, or the name of a label set shipped with the package */
  labels: string[] | 'imagenet-1k';
  accuracy?: PretrainedAccuracy;
  numParams?: number;
  licence?: string;
  /** the source file's key layout when it is not the registered model's own (e.g. another implementation's names) */
  keyFormat?: string;
}

/** The SHA-256 prefix in a file name `name-<hex>.ext` (torch.hub's convention), or null. */
export function hashPrefixOf(file: string): string | null {
  const m = /-([0-9a-f]{8,64})\.[A-Za-z0-9]+$/.exec(file);
  return m ? m[1] : null;
}
