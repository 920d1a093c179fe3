/**
 * The efficientnet_pytorch package's published ImageNet weights (its utils.py url_map and
 * url_map_advprop), for the models of efficientnet_pytorch.ts, whose state-dict keys are the
 * files' own. Top-1 is the package README's, for the standard weights; it publishes none for
 * the AdvProp ones.
 *
 * Preprocessing, as the package's ImageNet evaluation: Resize(resolution, bicubic) and
 * CenterCrop(resolution). The standard weights take ImageNet's mean and std; the AdvProp
 * weights take x * 2 - 1 on [0, 1] pixels, which is mean 0.5 and std 0.5.
 */
import { imagenetPreprocess, type PreprocessConfig } from '../transforms/presets.js';
import { EFFICIENTNET_PYTORCH_VARIANTS, type EfficientNetPyTorchName } from './efficientnet_pytorch.js';
import type { PretrainedWeights } from './pretrained.js';

const RELEASE = 'https://github.com/lukemelas/EfficientNet-PyTorch/releases/download/1.0/';

/** Variant number -> [standard file's hash or null, top-1, AdvProp file's hash, parameters with 1000 classes]. */
const FILES: Record<number, [string | null, number | null, string, number]> = {
  0: ['355c32eb', 76.3, 'b64d5a18', 5288548],
  1: ['f1951068', 78.8, '0f3ce85a', 7794184],
  2: ['8bb594d6', 79.8, '6e9d97e5', 9109994],
  3: ['5fb5a3c3', 81.1, 'cdd7c0f4', 12233232],
  4: ['6ed6700e', 82.6, '44fb3a87', 19341616],
  5: ['b6417697', 83.3, '86493f6b', 30389784],
  6: ['c76e70fd', 84.0, 'ac80338e', 43040704],
  7: ['dcc49843', 84.4, '4652b6dd', 66347960],
  8: [null, null, '22a8fe65', 87413142],
};

/** The package's evaluation preprocessing at `size`; AdvProp's x * 2 - 1 when `advprop`. */
export function efficientnetPyTorchPreprocess(size: number, advprop: boolean): PreprocessConfig {
  const p = imagenetPreprocess(size, size, 'bicubic');
  return advprop ? { ...p, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } : p;
}

function rows(n: number): PretrainedWeights[] {
  const architecture = `efficientnet-b${n}` as EfficientNetPyTorchName;
  const [hash, top1, advHash, numParams] = FILES[n];
  const size = EFFICIENTNET_PYTORCH_VARIANTS[architecture].resolution;
  const common = { architecture, labels: 'imagenet-1k' as const, numParams, licence: 'Apache-2.0', keyFormat: 'efficientnet_pytorch' };
  const out: PretrainedWeights[] = [];
  if (hash !== null) {
    const file = `${architecture}-${hash}.pth`;
    out.push({
      name: `${architecture}.autoaugment`,
      aliases: [`${architecture}.imagenet`],
      file,
      url: RELEASE + file,
      preprocess: efficientnetPyTorchPreprocess(size, false),
      ...(top1 !== null && { accuracy: { dataset: 'ImageNet-1k val', top1 } }),
      ...common,
    });
  }
  const advFile = `adv-${architecture}-${advHash}.pth`;
  out.push({ name: `${architecture}.advprop`, file: advFile, url: RELEASE + advFile, preprocess: efficientnetPyTorchPreprocess(size, true), ...common });
  return out;
}

export const EFFICIENTNET_PYTORCH_WEIGHTS: PretrainedWeights[] = Object.keys(FILES).flatMap((n) => rows(Number(n)));
