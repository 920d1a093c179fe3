/**
 * `tsvision train`'s defaults that fit the data: when the command line does not say, the
 * input size, the channels and the augmentation are chosen from a survey of the training
 * pictures (src/data/survey.ts), each with a one-line reason for the run's header.
 *
 *   size          the pictures' own (median short side; long side when letterboxed), never
 *                 above the model's default, so small pictures are not upscaled; at least
 *                 the model's smallest input; pretrained weights keep their own resolution
 *   channels      1 when every sampled picture is grey and the network is not pretrained, else 3
 *   augmentation  light (shifts, no flips) for small pictures (below 64 px), whose detail a
 *                 random-resized crop destroys; standard for photo-sized ones
 */
import type { ImageSurvey } from '../data/survey.js';
import type { ModelEntry } from '../models/index.js';
import type { Augmentation } from '../transforms/presets.js';

/** Pictures whose side is below this are "small": no random-resized crops or flips by default. */
export const SMALL_PICTURE = 64;

export interface InputDefaults {
  imageSize: number;
  channels: 1 | 3;
  augment: Augmentation;
  /** one line each, for the run's header */
  why: { imageSize: string; channels: string; augment: string };
}

export interface DefaultsContext {
  model: ModelEntry;
  /** pretrained weights: the resolution they were trained at and what to call them; null for a network trained from scratch */
  pretrained: { cropSize: number; name: string } | null;
  resizeMode: string;
  numClasses: number;
  /** the sizes and channels given on the command line, which the choices must fit */
  given: { imageSize?: number; channels?: 1 | 3 };
}

/** Why the model's registry entry refuses this input (lenet5 takes 28 or 32 alone, convnet at least 8), or null when it takes it. */
function refusal(model: ModelEntry, data: { channels: number; imageSize: number; numClasses: number }): string | null {
  try {
    model.configFor(data);
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** The input size, channels and augmentation for pictures like the surveyed ones, with the reasons. */
export function inputDefaults(survey: ImageSurvey, ctx: DefaultsContext): InputDefaults {
  const { model, pretrained, numClasses } = ctx;
  const seen = `${survey.read} sampled picture${survey.read === 1 ? '' : 's'}`;
  const dims = `median ${survey.medianWidth}x${survey.medianHeight} over ${seen}`;
  const side = ctx.resizeMode === 'letterbox' ? survey.medianLongSide : survey.medianShortSide;

  // channels first: the size check below builds the model's config with them
  let channels: 1 | 3;
  let whyChannels: string;
  if (pretrained) {
    channels = 3;
    whyChannels = `3 (RGB): the pretrained first convolution takes colour${survey.grey === survey.read && survey.read > 0 ? ' (grey pictures are given as three equal channels)' : ''}.`;
  } else if (survey.read === 0) {
    channels = 3;
    whyChannels = '3 (RGB): no sampled picture could be read to tell.';
  } else if (survey.grey === survey.read && !refusal(model, { channels: 1, imageSize: ctx.given.imageSize ?? model.imageSize, numClasses })) {
    channels = 1;
    whyChannels = `1 (grey): all ${seen} are grey.`;
  } else {
    channels = 3;
    whyChannels = `3 (RGB): ${survey.read - survey.grey} of ${seen} are in colour.`;
  }
  const fitChannels = ctx.given.channels ?? channels;

  let imageSize: number;
  let whySize: string;
  if (pretrained) {
    imageSize = pretrained.cropSize;
    whySize = `${imageSize} px, the resolution ${pretrained.name} were trained at (the pictures: ${dims}).`;
  } else if (survey.read === 0 || side <= 0) {
    imageSize = model.imageSize;
    whySize = `${imageSize} px, ${model.name}'s default: no sampled picture could be read.`;
  } else if (side < model.imageSize) {
    imageSize = Math.max(side, model.minImageSize);
    whySize =
      imageSize === side
        ? `${imageSize} px, the pictures' own (${dims}); small pictures are not upscaled to ${model.name}'s ${model.imageSize}.`
        : `${imageSize} px, ${model.name}'s smallest input (the pictures: ${dims}).`;
  } else if (side === model.imageSize) {
    imageSize = side;
    whySize = `${imageSize} px, both the pictures' own (${dims}) and ${model.name}'s default.`;
  } else {
    imageSize = model.imageSize;
    whySize = `${imageSize} px, ${model.name}'s default (the pictures, ${dims}, are scaled down to it).`;
  }
  const refused = pretrained ? null : refusal(model, { channels: fitChannels, imageSize, numClasses });
  if (refused && imageSize !== model.imageSize) {
    whySize = `${model.imageSize} px, ${model.name}'s default: ${refused} (the pictures: ${dims}).`;
    imageSize = model.imageSize;
  }

  const small = survey.read > 0 && side < SMALL_PICTURE;
  const shift = Math.max(1, Math.round((ctx.given.imageSize ?? imageSize) / 8));
  let augment: Augmentation;
  let whyAugment: string;
  if (small) {
    augment = 'light';
    whyAugment =
      survey.grey === survey.read
        ? `light (shifts of up to ${shift} px, no flips): small (${side} px) grey pictures, as digits and glyphs are: a random-resized crop keeps too little of them, and a mirror can change them.`
        : `light (shifts of up to ${shift} px, no flips): small (${side} px) pictures: a random-resized crop keeps too little of them.`;
  } else if (survey.read === 0) {
    augment = 'standard';
    whyAugment = 'standard (random-resized crops, flips, colour jitter): no sampled picture could be read to tell.';
  } else {
    augment = 'standard';
    whyAugment = `standard (random-resized crops, flips, colour jitter): the pictures are photo-sized (${dims}).`;
  }
  return { imageSize, channels, augment, why: { imageSize: whySize, channels: whyChannels, augment: whyAugment } };
}
