/**
 * Geometric transforms as classes with torchvision's names, parameters and
 * random sampling, over the functions of ./functional.ts. Random ones draw from
 * the generator passed to apply() (the DataLoader passes one per sample), else
 * their own `generator` option, else the global generator (`manualSeed`).
 */
import type { Generator } from '../tensor/random.js';
import { centerCrop, crop, hflip, letterbox, pad, resize, resizedCrop, rotate, vflip, type Fill, type Interpolation, type PaddingMode } from './functional.js';
import {
  checkProbability,
  imageView,
  paddingLTRB,
  pickGenerator,
  roundHalfEven,
  sizePair,
  uniform,
  type ImageTensor,
  type Transform,
  type TransformSpec,
} from './image.js';
import { INTERPOLATIONS } from './resample.js';
import { registerTransform } from './spec.js';

export interface RandomOptions {
  /** draw from this generator instead of the global one (a generator passed to apply() still wins) */
  generator?: Generator;
}

function checkInterpolation(interpolation: Interpolation, op: string): Interpolation {
  if (!INTERPOLATIONS.includes(interpolation)) {
    throw new RangeError(`${op}: interpolation must be one of ${INTERPOLATIONS.join(', ')} but received '${interpolation}'`);
  }
  return interpolation;
}

function checkSize(size: number | readonly number[], op: string): number | readonly number[] {
  sizePair(size, op);
  return size;
}

/**
 * Resize: a number sets the shorter side (the aspect ratio is kept), [h, w]
 * is exact. PIL's filters: 'bilinear' (default), 'bicubic', 'nearest', 'box',
 * 'hamming', 'lanczos', antialiased when downscaling.
 */
export class Resize implements Transform<ImageTensor, ImageTensor> {
  readonly interpolation: Interpolation;
  readonly maxSize?: number;

  constructor(
    readonly size: number | readonly number[],
    { interpolation = 'bilinear', maxSize }: { interpolation?: Interpolation; maxSize?: number } = {},
  ) {
    checkSize(size, 'Resize');
    this.interpolation = checkInterpolation(interpolation, 'Resize');
    this.maxSize = maxSize;
  }

  apply(img: ImageTensor): ImageTensor {
    return resize(img, this.size, { interpolation: this.interpolation, maxSize: this.maxSize });
  }

  spec(): TransformSpec {
    return { name: 'Resize', args: [this.size, { interpolation: this.interpolation, maxSize: this.maxSize }] };
  }
}
registerTransform('Resize', (size, options) => new Resize(size, options));

/** The central size x size (or [h, w]) region; padded with 0 where the image is smaller. */
export class CenterCrop implements Transform<ImageTensor, ImageTensor> {
  constructor(readonly size: number | readonly number[]) {
    checkSize(size, 'CenterCrop');
  }

  apply(img: ImageTensor): ImageTensor {
    return centerCrop(img, this.size);
  }

  spec(): TransformSpec {
    return { name: 'CenterCrop', args: [this.size] };
  }
}
registerTransform('CenterCrop', (size) => new CenterCrop(size));

/** Pads by a number, [left/right, top/bottom] or [left, top, right, bottom]. */
export class Pad implements Transform<ImageTensor, ImageTensor> {
  readonly fill: Fill;
  readonly mode: PaddingMode;

  constructor(
    readonly padding: number | readonly number[],
    { fill = 0, mode = 'constant' }: { fill?: Fill; mode?: PaddingMode } = {},
  ) {
    paddingLTRB(padding, 'Pad');
    this.fill = fill;
    this.mode = mode;
  }

  apply(img: ImageTensor): ImageTensor {
    return pad(img, this.padding, { fill: this.fill, mode: this.mode });
  }

  spec(): TransformSpec {
    return { name: 'Pad', args: [this.padding, { fill: this.fill, mode: this.mode }] };
  }
}
registerTransform('Pad', (padding, options) => new Pad(padding, options));

export interface RandomCropOptions extends RandomOptions {
  /** padding applied first (as Pad) */
  padding?: number | readonly number[];
  /** pad an image smaller than the crop (torchvision pads the deficit on both sides) */
  padIfNeeded?: boolean;
  fill?: Fill;
  paddingMode?: PaddingMode;
}

/** A crop at a uniformly random position, optionally after padding. */
export class RandomCrop implements Transform<ImageTensor, ImageTensor> {
  readonly size: [number, number];

  constructor(
    size: number | readonly number[],
    readonly options: RandomCropOptions = {},
  ) {
    this.size = sizePair(size, 'RandomCrop');
    if (options.padding !== undefined) paddingLTRB(options.padding, 'RandomCrop');
  }

  /** [top, left, height, width] of a random crop of `size` from an image of height x width. */
  static getParams(height: number, width: number, size: readonly [number, number], g: Generator): [number, number, number, number] {
    const [th, tw] = size;
    if (height < th || width < tw) {
      throw new RangeError(`RandomCrop: the crop ${th}x${tw} is larger than the image ${height}x${width} (use padIfNeeded)`);
    }
    if (height === th && width === tw) return [0, 0, height, width];
    return [g.int(0, height - th + 1), g.int(0, width - tw + 1), th, tw];
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    const { padding, padIfNeeded = false, fill = 0, paddingMode: mode = 'constant' } = this.options;
    if (padding !== undefined) img = pad(img, padding, { fill, mode });
    const [th, tw] = this.size;
    let v = imageView(img, 'RandomCrop');
    if (padIfNeeded && v.width < tw) img = pad(img, [tw - v.width, 0], { fill, mode });
    v = imageView(img, 'RandomCrop');
    if (padIfNeeded && v.height < th) img = pad(img, [0, th - v.height], { fill, mode });
    v = imageView(img, 'RandomCrop');
    const [i, j, h, w] = RandomCrop.getParams(v.height, v.width, this.size, pickGenerator(generator, this.options.generator));
    return crop(img, i, j, h, w);
  }

  spec(): TransformSpec {
    const { padding, padIfNeeded, fill, paddingMode } = this.options;
    return { name: 'RandomCrop', args: [this.size, { padding, padIfNeeded, fill, paddingMode }] };
  }
}
registerTransform('RandomCrop', (size, options) => new RandomCrop(size, options));

export interface RandomResizedCropOptions extends RandomOptions {
  /** range of the crop's area as a fraction of the image's (default [0.08, 1]) */
  scale?: readonly [number, number];
  /** range of the crop's aspect ratio w/h, sampled log-uniformly (default [3/4, 4/3]) */
  ratio?: readonly [number, number];
  interpolation?: Interpolation;
}

/** A crop of random area and aspect ratio, resized to size (torchvision's Inception-style crop). */
export class RandomResizedCrop implements Transform<ImageTensor, ImageTensor> {
  readonly size: [number, number];
  readonly scale: readonly [number, number];
  readonly ratio: readonly [number, number];
  readonly interpolation: Interpolation;
  readonly generator?: Generator;

  constructor(
    size: number | readonly number[],
    { scale = [0.08, 1], ratio = [3 / 4, 4 / 3], interpolation = 'bilinear', generator }: RandomResizedCropOptions = {},
  ) {
    this.size = sizePair(size, 'RandomResizedCrop');
    if (!(scale.length === 2 && scale[0] > 0 && scale[0] <= scale[1])) {
      throw new RangeError(`RandomResizedCrop: scale must be [min, max] with 0 < min <= max but received ${JSON.stringify(scale)}`);
    }
    if (!(ratio.length === 2 && ratio[0] > 0 && ratio[0] <= ratio[1])) {
      throw new RangeError(`RandomResizedCrop: ratio must be [min, max] with 0 < min <= max but received ${JSON.stringify(ratio)}`);
    }
    this.scale = [scale[0], scale[1]];
    this.ratio = [ratio[0], ratio[1]];
    this.interpolation = checkInterpolation(interpolation, 'RandomResizedCrop');
    this.generator = generator;
  }

  /**
   * torchvision's sampling: up to 10 attempts at a crop of area
   * U(scale) * H * W and ratio exp(U(log ratio)) that fits, at a uniform
   * position; else a central crop of the whole image clamped to the ratio range.
   * Returns [top, left, height, width].
   */
  static getParams(
    height: number,
    width: number,
    scale: readonly [number, number],
    ratio: readonly [number, number],
    g: Generator,
  ): [number, number, number, number] {
    const area = height * width;
    const logLo = Math.log(ratio[0]);
    const logHi = Math.log(ratio[1]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * uniform(g, scale[0], scale[1]);
      const aspect = Math.exp(uniform(g, logLo, logHi));
      const w = roundHalfEven(Math.sqrt(targetArea * aspect));
      const h = roundHalfEven(Math.sqrt(targetArea / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        return [g.int(0, height - h + 1), g.int(0, width - w + 1), h, w];
      }
    }
    const inRatio = width / height;
    let w = width;
    let h = height;
    if (inRatio < Math.min(ratio[0], ratio[1])) h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
    else if (inRatio > Math.max(ratio[0], ratio[1])) w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
    return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    const v = imageView(img, 'RandomResizedCrop');
    const [i, j, h, w] = RandomResizedCrop.getParams(v.height, v.width, this.scale, this.ratio, pickGenerator(generator, this.generator));
    return resizedCrop(img, i, j, h, w, this.size, this.interpolation);
  }

  spec(): TransformSpec {
    return { name: 'RandomResizedCrop', args: [this.size, { scale: this.scale, ratio: this.ratio, interpolation: this.interpolation }] };
  }
}
registerTransform('RandomResizedCrop', (size, options) => new RandomResizedCrop(size, options));

/** Mirrors left-right with probability p (default 0.5). */
export class RandomHorizontalFlip implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    checkProbability(p, 'RandomHorizontalFlip');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomHorizontalFlip');
    return pickGenerator(generator, this.options.generator).random() < this.p ? hflip(img) : img;
  }

  spec(): TransformSpec {
    return { name: 'RandomHorizontalFlip', args: [this.p] };
  }
}
registerTransform('RandomHorizontalFlip', (p) => new RandomHorizontalFlip(p));

/** Mirrors top-bottom with probability p (default 0.5). */
export class RandomVerticalFlip implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    checkProbability(p, 'RandomVerticalFlip');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomVerticalFlip');
    return pickGenerator(generator, this.options.generator).random() < this.p ? vflip(img) : img;
  }

  spec(): TransformSpec {
    return { name: 'RandomVerticalFlip', args: [this.p] };
  }
}
registerTransform('RandomVerticalFlip', (p) => new RandomVerticalFlip(p));

export interface RandomRotationOptions extends RandomOptions {
  /** 'nearest' (default, as torchvision), 'bilinear' or 'bicubic' */
  interpolation?: Interpolation;
  expand?: boolean;
  center?: readonly [number, number];
  fill?: Fill;
}

/** Rotates by an angle drawn uniformly from [-degrees, degrees] (or [min, max]), counter-clockwise. */
export class RandomRotation implements Transform<ImageTensor, ImageTensor> {
  readonly degrees: readonly [number, number];

  constructor(
    degrees: number | readonly [number, number],
    readonly options: RandomRotationOptions = {},
  ) {
    if (typeof degrees === 'number') {
      if (!(degrees >= 0)) throw new RangeError(`RandomRotation: degrees must be non-negative when a single number but received ${degrees}`);
      this.degrees = [-degrees, degrees];
    } else {
      if (!(degrees.length === 2 && degrees[0] <= degrees[1])) {
        throw new RangeError(`RandomRotation: degrees must be a number or [min, max] but received ${JSON.stringify(degrees)}`);
      }
      this.degrees = [degrees[0], degrees[1]];
    }
    const interpolation = options.interpolation ?? 'nearest';
    if (!['nearest', 'bilinear', 'bicubic'].includes(interpolation)) {
      throw new RangeError(`RandomRotation: interpolation must be 'nearest', 'bilinear' or 'bicubic' but received '${interpolation}'`);
    }
  }

  static getParams(degrees: readonly [number, number], g: Generator): number {
    return uniform(g, degrees[0], degrees[1]);
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    const angle = RandomRotation.getParams(this.degrees, pickGenerator(generator, this.options.generator));
    const { interpolation = 'nearest', expand = false, center, fill = 0 } = this.options;
    return rotate(img, angle, { interpolation, expand, center, fill });
  }

  spec(): TransformSpec {
    const { interpolation, expand, center, fill } = this.options;
    return { name: 'RandomRotation', args: [this.degrees, { interpolation, expand, center, fill }] };
  }
}
registerTransform('RandomRotation', (degrees, options) => new RandomRotation(degrees, options));

/**
 * Fits the whole picture inside size x size (or [h, w]) keeping its aspect
 * ratio and pads the rest with `fill`, centred: a wide poster keeps its edges,
 * where Resize + CenterCrop would cut them away.
 */
export class Letterbox implements Transform<ImageTensor, ImageTensor> {
  readonly fill: Fill;
  readonly interpolation: Interpolation;

  constructor(
    readonly size: number | readonly number[],
    { fill = 0, interpolation = 'bilinear' }: { fill?: Fill; interpolation?: Interpolation } = {},
  ) {
    sizePair(size, 'Letterbox');
    this.fill = fill;
    this.interpolation = checkInterpolation(interpolation, 'Letterbox');
  }

  apply(img: ImageTensor): ImageTensor {
    return letterbox(img, this.size, { fill: this.fill, interpolation: this.interpolation });
  }

  spec(): TransformSpec {
    return { name: 'Letterbox', args: [this.size, { fill: this.fill, interpolation: this.interpolation }] };
  }
}
registerTransform('Letterbox', (size, options) => new Letterbox(size, options));
