/**
 * Colour transforms (byte images only: put them before ToTensor): ColorJitter,
 * Grayscale, RandomGrayscale.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation, rgbToGrayscale } from './color.js';
import type { RandomOptions } from './geometric.js';
import { bytesView, checkProbability, pickGenerator, uniform, type Transform, type TransformSpec } from './image.js';
import { registerTransform } from './spec.js';

type Range = number | readonly [number, number];

export interface ColorJitterOptions extends RandomOptions {
  /** factor drawn from [max(0, 1 - b), 1 + b] for a number b, or from [min, max] */
  brightness?: Range;
  contrast?: Range;
  saturation?: Range;
  /** shift drawn from [-h, h] for a number h <= 0.5, or from [min, max] within [-0.5, 0.5] */
  hue?: Range;
}

export interface ColorJitterParams {
  /** the order of the four adjustments: 0 brightness, 1 contrast, 2 saturation, 3 hue */
  order: number[];
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

/** [min, max] of a factor range, or null where the range is the identity (torchvision's _check_input). */
function factorRange(value: Range | undefined, name: string, center: number, bound: readonly [number, number], clipFirst: boolean): [number, number] | null {
  if (value === undefined) return null;
  let r: [number, number];
  if (typeof value === 'number') {
    if (!(value >= 0)) throw new RangeError(`ColorJitter: ${name} must be non-negative when a single number but received ${value}`);
    r = [center - value, center + value];
    if (clipFirst) r[0] = Math.max(r[0], 0);
  } else {
    if (!(value.length === 2)) throw new RangeError(`ColorJitter: ${name} must be a number or [min, max] but received ${JSON.stringify(value)}`);
    r = [value[0], value[1]];
  }
  if (!(bound[0] <= r[0] && r[0] <= r[1] && r[1] <= bound[1])) {
    throw new RangeError(`ColorJitter: ${name} values must be within [${bound[0]}, ${bound[1]}] and ordered, but received ${JSON.stringify(value)}`);
  }
  return r[0] === center && r[1] === center ? null : r;
}

/**
 * Random brightness, contrast, saturation and hue, applied in a random order
 * (as torchvision: a random permutation, then one factor per enabled
 * adjustment, in the order brightness, contrast, saturation, hue).
 */
export class ColorJitter implements Transform<Tensor, Tensor> {
  readonly brightness: [number, number] | null;
  readonly contrast: [number, number] | null;
  readonly saturation: [number, number] | null;
  readonly hue: [number, number] | null;
  readonly generator?: Generator;

  constructor({ brightness, contrast, saturation, hue, generator }: ColorJitterOptions = {}) {
    this.brightness = factorRange(brightness, 'brightness', 1, [0, Infinity], true);
    this.contrast = factorRange(contrast, 'contrast', 1, [0, Infinity], true);
    this.saturation = factorRange(saturation, 'saturation', 1, [0, Infinity], true);
    this.hue = factorRange(hue, 'hue', 0, [-0.5, 0.5], false);
    this.generator = generator;
  }

  getParams(g: Generator): ColorJitterParams {
    const order = [0, 1, 2, 3];
    for (let i = 3; i > 0; i--) {
      const j = g.int(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const draw = (r: [number, number] | null) => (r === null ? null : uniform(g, r[0], r[1]));
    return { order, brightness: draw(this.brightness), contrast: draw(this.contrast), saturation: draw(this.saturation), hue: draw(this.hue) };
  }

  apply(img: Tensor, generator?: Generator): Tensor {
    bytesView(img, 'ColorJitter');
    const p = this.getParams(pickGenerator(generator, this.generator));
    return ColorJitter.applyParams(img, p);
  }

  spec(): TransformSpec {
    // The ranges as [min, max], which the constructor takes back unchanged.
    const r = (v: [number, number] | null) => v ?? undefined;
    return { name: 'ColorJitter', args: [{ brightness: r(this.brightness), contrast: r(this.contrast), saturation: r(this.saturation), hue: r(this.hue) }] };
  }

  /** Applies drawn parameters (deterministic; what apply() does after getParams). */
  static applyParams(img: Tensor, p: ColorJitterParams): Tensor {
    let x = img;
    for (const id of p.order) {
      if (id === 0 && p.brightness !== null) x = adjustBrightness(x, p.brightness);
      else if (id === 1 && p.contrast !== null) x = adjustContrast(x, p.contrast);
      else if (id === 2 && p.saturation !== null) x = adjustSaturation(x, p.saturation);
      else if (id === 3 && p.hue !== null) x = adjustHue(x, p.hue);
    }
    return x;
  }
}
registerTransform('ColorJitter', (options) => new ColorJitter(options));

/** Converts to greyscale (ITU-R 601-2 luma, as PIL) with 1 or 3 output channels. */
export class Grayscale implements Transform<Tensor, Tensor> {
  constructor(readonly numOutputChannels: 1 | 3 = 1) {
    if (numOutputChannels !== 1 && numOutputChannels !== 3) {
      throw new RangeError(`Grayscale: numOutputChannels must be 1 or 3 but received ${numOutputChannels}`);
    }
  }

  apply(img: Tensor): Tensor {
    return rgbToGrayscale(img, this.numOutputChannels);
  }

  spec(): TransformSpec {
    return { name: 'Grayscale', args: [this.numOutputChannels] };
  }
}
registerTransform('Grayscale', (channels) => new Grayscale(channels));

/** Converts to greyscale with probability p (default 0.1), keeping the number of channels. */
export class RandomGrayscale implements Transform<Tensor, Tensor> {
  constructor(
    readonly p = 0.1,
    readonly options: RandomOptions = {},
  ) {
    checkProbability(p, 'RandomGrayscale');
  }

  apply(img: Tensor, generator?: Generator): Tensor {
    const v = bytesView(img, 'RandomGrayscale');
    if (pickGenerator(generator, this.options.generator).random() >= this.p) return img;
    return v.channels === 1 ? img : rgbToGrayscale(img, 3);
  }

  spec(): TransformSpec {
    return { name: 'RandomGrayscale', args: [this.p] };
  }
}
registerTransform('RandomGrayscale', (p) => new RandomGrayscale(p));
