/**
 * The preprocessing a classifier needs, as one typed config (PreprocessConfig): what a
 * checkpoint records (checkpoint.json "preprocessing"), what a pretrained weights row
 * carries, and what the transforms are built from, so evaluation and prediction see
 * pictures exactly as training did.
 *
 *   resizeMode 'crop'       Resize(short side = resizeSize), CenterCrop(cropSize)   (torchvision's usual)
 *              'letterbox'  the whole picture scaled to fit cropSize, padded with black (keeps a wide poster's edges)
 *              'stretch'    Resize([cropSize, cropSize])                            (aspect ratio lost)
 *
 *   training augmentation
 *              'standard'   RandomResizedCrop(cropSize, scale 0.25-1) after a letterbox or as the crop itself,
 *                           RandomHorizontalFlip, ColorJitter(0.2, 0.2, 0.2 on colour)
 *              'light'      the evaluation resize, then RandomCrop with cropSize/8 padding
 *                           (no flips: for digits, text and other pictures a mirror changes)
 *              'trivial'    standard's crop and flip, then TrivialAugmentWide (one op of 14 at a random strength)
 *              'rand'       standard's crop and flip, then RandAugment(2 ops, magnitude 9 of 31)
 *              'auto'       standard's crop and flip, then AutoAugment's ImageNet policy
 *                           (the three policies replace the colour jitter, as in torchvision's recipes)
 *              'none'       the evaluation transform
 *
 * then ToTensor and Normalize(mean, std).
 */
import { Compose, Normalize, ToTensor } from './basic.js';
import { CenterCrop, Letterbox, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, Resize } from './geometric.js';
import { ColorJitter } from './photometric.js';
import { AutoAugment, RandAugment, TrivialAugmentWide } from './policies.js';
import type { Transform } from './image.js';
import { INTERPOLATIONS, type Interpolation } from './resample.js';

export type ResizeMode = 'crop' | 'letterbox' | 'stretch';
export type Augmentation = 'standard' | 'light' | 'trivial' | 'rand' | 'auto' | 'none';

export interface PreprocessConfig {
  /** the short side pictures are resized to before the centre crop ('crop' mode) */
  resizeSize: number;
  /** the square side the network sees */
  cropSize: number;
  interpolation: Interpolation;
  resizeMode: ResizeMode;
  /** 1 (grey) or 3 (RGB): what images are decoded to */
  channels: 1 | 3;
  mean: number[];
  std: number[];
  /** training augmentation ('none' for weights that only record evaluation) */
  augment: Augmentation;
}

export const RESIZE_MODES: readonly ResizeMode[] = ['crop', 'letterbox', 'stretch'];
export const AUGMENTATIONS: readonly Augmentation[] = ['standard', 'light', 'trivial', 'rand', 'auto', 'none'];
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** ImageNet evaluation preprocessing: resize the short side to resizeSize, centre-crop cropSize, ImageNet mean and std. */
export function imagenetPreprocess(resizeSize: number, cropSize: number, interpolation: Interpolation = 'bilinear'): PreprocessConfig {
  return { resizeSize, cropSize, interpolation, resizeMode: 'crop', channels: 3, mean: IMAGENET_MEAN, std: IMAGENET_STD, augment: 'none' };
}

/** The resize part of the evaluation transform. */
function resizeSteps({ resizeSize, cropSize: s, resizeMode, interpolation }: PreprocessConfig): Transform[] {
  if (resizeMode === 'letterbox') return [new Letterbox(s, { interpolation })];
  if (resizeMode === 'stretch') return [new Resize([s, s], { interpolation })];
  return [new Resize(resizeSize, { interpolation }), new CenterCrop(s)];
}

const tensorSteps = (p: PreprocessConfig): Transform[] => [new ToTensor(), new Normalize(p.mean, p.std)];

/** Decoded uint8 [H, W, C] image to the normalised float32 [C, s, s] the network takes. */
export function evalTransform(p: PreprocessConfig): Compose {
  return new Compose([...resizeSteps(p), ...tensorSteps(p)]);
}

/** The same, with the config's random augmentation. */
export function trainTransform(p: PreprocessConfig): Compose {
  const s = p.cropSize;
  if (p.augment === 'none') return evalTransform(p);
  if (p.augment === 'light') return new Compose([...resizeSteps(p), new RandomCrop(s, { padding: Math.max(1, Math.round(s / 8)) }), ...tensorSteps(p)]);
  const rrc = new RandomResizedCrop(s, { scale: [0.25, 1], interpolation: p.interpolation });
  const crop = p.resizeMode === 'crop' ? [rrc] : [...resizeSteps(p), rrc];
  const jitter = p.channels === 3 ? new ColorJitter({ brightness: 0.2, contrast: 0.2, saturation: 0.2 }) : new ColorJitter({ brightness: 0.2, contrast: 0.2 });
  const policy =
    p.augment === 'trivial' ? new TrivialAugmentWide() : p.augment === 'rand' ? new RandAugment() : p.augment === 'auto' ? new AutoAugment('imagenet') : jitter;
  return new Compose([...crop, new RandomHorizontalFlip(), policy, ...tensorSteps(p)]);
}

/**
 * Checks preprocessing JSON read from a checkpoint or a file; a one-line error naming
 * `where` when it is not a PreprocessConfig. Also reads the earlier form
 * { imageSize, resize, ... } (resize and crop both imageSize, bilinear).
 */
export function parsePreprocess(json: unknown, where: string): PreprocessConfig {
  const fail = (what: string): never => {
    throw new Error(`${where}: the recorded preprocessing ${what}`);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json))
    return fail('is missing (the checkpoint was not written by tsvision train or Model.save with preprocessing)');
  const p = json as Record<string, unknown>;
  const size = (k: string, v: unknown): number => (Number.isInteger(v) && (v as number) > 0 ? (v as number) : fail(`has no valid ${k} (${JSON.stringify(v)})`));
  const cropSize = size('cropSize', p.cropSize ?? p.imageSize);
  const resizeSize = size('resizeSize', p.resizeSize ?? cropSize);
  const channels = p.channels === 1 || p.channels === 3 ? p.channels : fail(`has channels ${JSON.stringify(p.channels)}, not 1 or 3`);
  const resizeMode = p.resizeMode ?? p.resize;
  if (!RESIZE_MODES.includes(resizeMode as ResizeMode)) fail(`has resizeMode ${JSON.stringify(resizeMode)}, not one of ${RESIZE_MODES.join(', ')}`);
  const interpolation = p.interpolation ?? 'bilinear';
  if (!INTERPOLATIONS.includes(interpolation as Interpolation))
    fail(`has interpolation ${JSON.stringify(interpolation)}, not one of ${INTERPOLATIONS.join(', ')}`);
  const augment = AUGMENTATIONS.includes(p.augment as Augmentation) ? (p.augment as Augmentation) : 'none';
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length === channels && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!ok(p.mean) || !ok(p.std) || p.std.some((x) => x <= 0)) fail(`has no valid mean and std for ${channels} channels`);
  return {
    resizeSize,
    cropSize,
    interpolation: interpolation as Interpolation,
    resizeMode: resizeMode as ResizeMode,
    channels,
    mean: [...(p.mean as number[])],
    std: [...(p.std as number[])],
    augment,
  };
}
