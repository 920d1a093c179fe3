/**
 * Classification presets: the preprocessing a trained classifier needs, as plain
 * JSON that a checkpoint records (checkpoint.json "preprocessing"), and the
 * transforms built from it, so evaluation and prediction see pictures exactly as
 * training did.
 *
 *   resize 'crop'       Resize(short side = imageSize), CenterCrop(imageSize)   (torchvision's usual)
 *          'letterbox'  the whole picture scaled to fit, padded with black     (keeps a wide poster's edges)
 *          'stretch'    Resize([imageSize, imageSize])                         (aspect ratio lost)
 *
 *   training augmentation
 *          'standard'   RandomResizedCrop(scale 0.25-1) after a letterbox or as the crop itself,
 *                       RandomHorizontalFlip, ColorJitter(0.2, 0.2, 0.2 on colour)
 *          'light'      the evaluation resize, then RandomCrop with imageSize/8 padding
 *                       (no flips: for digits, text and other pictures a mirror changes)
 *          'none'       the evaluation transform
 *
 * then ToTensor and Normalize(mean, std).
 */
import { Compose, Normalize, ToTensor } from './basic.js';
import { CenterCrop, Letterbox, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, Resize } from './geometric.js';
import { ColorJitter } from './photometric.js';
import type { Transform } from './image.js';

export type ResizeMode = 'crop' | 'letterbox' | 'stretch';
export type Augmentation = 'standard' | 'light' | 'none';

export interface ClassificationPreset {
  imageSize: number;
  /** 1 (grey) or 3 (RGB): what images are decoded to */
  channels: 1 | 3;
  resize: ResizeMode;
  augment: Augmentation;
  mean: number[];
  std: number[];
}

export const RESIZE_MODES: readonly ResizeMode[] = ['crop', 'letterbox', 'stretch'];
export const AUGMENTATIONS: readonly Augmentation[] = ['standard', 'light', 'none'];

/** The resize part of the evaluation transform. */
function resizeSteps({ imageSize: s, resize }: ClassificationPreset): Transform[] {
  if (resize === 'letterbox') return [new Letterbox(s)];
  if (resize === 'stretch') return [new Resize([s, s])];
  return [new Resize(s), new CenterCrop(s)];
}

const tensorSteps = (p: ClassificationPreset): Transform[] => [new ToTensor(), new Normalize(p.mean, p.std)];

/** Decoded uint8 [H, W, C] image to the normalised float32 [C, s, s] the network takes. */
export function evalTransform(p: ClassificationPreset): Compose {
  return new Compose([...resizeSteps(p), ...tensorSteps(p)]);
}

/** The same, with the preset's random augmentation. */
export function trainTransform(p: ClassificationPreset): Compose {
  const s = p.imageSize;
  if (p.augment === 'none') return evalTransform(p);
  if (p.augment === 'light') return new Compose([...resizeSteps(p), new RandomCrop(s, { padding: Math.max(1, Math.round(s / 8)) }), ...tensorSteps(p)]);
  const crop = p.resize === 'crop' ? [new RandomResizedCrop(s, { scale: [0.25, 1] })] : [...resizeSteps(p), new RandomResizedCrop(s, { scale: [0.25, 1] })];
  const jitter = p.channels === 3 ? new ColorJitter({ brightness: 0.2, contrast: 0.2, saturation: 0.2 }) : new ColorJitter({ brightness: 0.2, contrast: 0.2 });
  return new Compose([...crop, new RandomHorizontalFlip(), jitter, ...tensorSteps(p)]);
}

/** Checks JSON read from a checkpoint; a one-line error naming `where` when it is not a preset. */
export function parsePreset(json: unknown, where: string): ClassificationPreset {
  const p = json as Partial<ClassificationPreset> | null;
  const fail = (what: string): never => { throw new Error(`${where}: the recorded preprocessing ${what}`); };
  if (!p || typeof p !== 'object') return fail('is missing (the checkpoint was not written by tsvision train)');
  if (!(Number.isInteger(p.imageSize) && p.imageSize! > 0)) fail(`has no valid imageSize (${JSON.stringify(p.imageSize)})`);
  if (p.channels !== 1 && p.channels !== 3) fail(`has channels ${JSON.stringify(p.channels)}, not 1 or 3`);
  if (!RESIZE_MODES.includes(p.resize as ResizeMode)) fail(`has resize ${JSON.stringify(p.resize)}, not one of ${RESIZE_MODES.join(', ')}`);
  const augment = AUGMENTATIONS.includes(p.augment as Augmentation) ? p.augment! : 'none';
  const ok = (a: unknown) => Array.isArray(a) && a.length === p.channels && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (!ok(p.mean) || !ok(p.std) || p.std!.some((x) => x <= 0)) fail(`has no valid mean and std for ${p.channels} channels`);
  return { imageSize: p.imageSize!, channels: p.channels!, resize: p.resize!, augment, mean: [...p.mean!], std: [...p.std!] };
}
