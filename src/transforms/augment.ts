/**
 * Random augmentations with torchvision's names, parameters and sampling:
 * RandomAffine, RandomPerspective, GaussianBlur, RandomAdjustSharpness,
 * RandomAutocontrast, RandomEqualize, RandomPosterize, RandomSolarize, RandomInvert
 * (byte images, before ToTensor; the geometric ones, the blur, sharpness, autocontrast,
 * solarize and invert take float images too) and RandomErasing (on the float tensor
 * after Normalize, as torchvision). They draw from the generator passed to apply(),
 * else their own `generator` option, else the global generator.
 */
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { adjustSharpness, autocontrast, equalize, erase, gaussianBlur, invert, posterize, solarize } from './enhance.js';
import { affine, perspective, type Fill, type Interpolation } from './functional.js';
import { checkProbability, imageView, pickGenerator, roundHalfEven, uniform, type ImageTensor, type Transform, type TransformSpec } from './image.js';
import type { RandomOptions } from './geometric.js';
import { registerTransform } from './spec.js';

function checkWarp(interpolation: Interpolation, op: string): Interpolation {
  if (!['nearest', 'bilinear', 'bicubic'].includes(interpolation)) {
    throw new RangeError(`${op}: interpolation must be 'nearest', 'bilinear' or 'bicubic' but received '${interpolation}'`);
  }
  return interpolation;
}

/** [min, max] from a number d (as [-d, d]) or a pair; torchvision's _setup_angle. */
function angleRange(x: number | readonly number[], name: string, op: string, lengths: number[] = [2]): number[] {
  if (typeof x === 'number') {
    if (!(x >= 0)) throw new RangeError(`${op}: ${name} must be non-negative when a single number but received ${x}`);
    return [-x, x];
  }
  if (!Array.isArray(x) || !lengths.includes(x.length) || !x.every(Number.isFinite)) {
    throw new RangeError(`${op}: ${name} must be a number or a list of ${lengths.join(' or ')} numbers but received ${JSON.stringify(x)}`);
  }
  return [...x];
}

export interface RandomAffineOptions extends RandomOptions {
  /** largest shift as fractions [a, b] of the width and height: dx in [-a W, a W], dy in [-b H, b H] */
  translate?: readonly [number, number];
  /** scale drawn from [min, max] */
  scale?: readonly [number, number];
  /** shear in degrees parallel to x from [-s, s], [min, max], or also parallel to y from [xmin, xmax, ymin, ymax] */
  shear?: number | readonly number[];
  /** 'nearest' (default), 'bilinear' or 'bicubic' */
  interpolation?: Interpolation;
  fill?: Fill;
  center?: readonly [number, number];
}

export interface AffineParams {
  angle: number;
  translate: [number, number];
  scale: number;
  shear: [number, number];
}

/** An affine map drawn at random (degrees clockwise, as torchvision's affine), keeping the image size. */
export class RandomAffine implements Transform<ImageTensor, ImageTensor> {
  readonly degrees: number[];
  readonly translate?: readonly [number, number];
  readonly scale?: readonly [number, number];
  readonly shear?: number[];
  readonly interpolation: Interpolation;
  readonly fill: Fill;
  readonly center?: readonly [number, number];
  readonly generator?: Generator;

  constructor(degrees: number | readonly [number, number], options: RandomAffineOptions = {}) {
    const { translate, scale, shear, interpolation = 'nearest', fill = 0, center, generator } = options;
    this.degrees = angleRange(degrees, 'degrees', 'RandomAffine');
    if (translate !== undefined && !(translate.length === 2 && translate.every((t) => t >= 0 && t <= 1))) {
      throw new RangeError(`RandomAffine: translate must be [a, b] with values in [0, 1] but received ${JSON.stringify(translate)}`);
    }
    if (scale !== undefined && !(scale.length === 2 && scale.every((s) => s > 0))) {
      throw new RangeError(`RandomAffine: scale must be [min, max] with positive values but received ${JSON.stringify(scale)}`);
    }
    this.translate = translate && [translate[0], translate[1]];
    this.scale = scale && [scale[0], scale[1]];
    this.shear = shear === undefined ? undefined : angleRange(shear, 'shear', 'RandomAffine', [2, 4]);
    this.interpolation = checkWarp(interpolation, 'RandomAffine');
    this.fill = fill;
    this.center = center;
    this.generator = generator;
  }

  /** torchvision's get_params: angle, then the shift (rounded half to even), the scale and the shears, each uniform. */
  static getParams(
    degrees: readonly number[],
    translate: readonly number[] | undefined,
    scale: readonly number[] | undefined,
    shear: readonly number[] | undefined,
    [width, height]: readonly [number, number],
    g: Generator,
  ): AffineParams {
    const angle = uniform(g, degrees[0], degrees[1]);
    let t: [number, number] = [0, 0];
    if (translate) {
      const dx = translate[0] * width;
      const dy = translate[1] * height;
      t = [roundHalfEven(uniform(g, -dx, dx)), roundHalfEven(uniform(g, -dy, dy))];
    }
    const s = scale ? uniform(g, scale[0], scale[1]) : 1;
    let sh: [number, number] = [0, 0];
    if (shear) sh = [uniform(g, shear[0], shear[1]), shear.length === 4 ? uniform(g, shear[2], shear[3]) : 0];
    return { angle, translate: t, scale: s, shear: sh };
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    const v = imageView(img, 'RandomAffine');
    const p = RandomAffine.getParams(this.degrees, this.translate, this.scale, this.shear, [v.width, v.height], pickGenerator(generator, this.generator));
    return affine(img, p.angle, p.translate, p.scale, p.shear, { interpolation: this.interpolation, fill: this.fill, center: this.center });
  }

  spec(): TransformSpec {
    const { translate, scale, shear, interpolation, fill, center } = this;
    return { name: 'RandomAffine', args: [this.degrees, { translate, scale, shear, interpolation, fill, center }] };
  }
}
registerTransform('RandomAffine', (degrees, options) => new RandomAffine(degrees, options));

export interface RandomPerspectiveOptions extends RandomOptions {
  /** how far the corners may move, as a fraction of half the size (default 0.5) */
  distortionScale?: number;
  /** probability of applying it (default 0.5) */
  p?: number;
  /** 'bilinear' (default), 'nearest' or 'bicubic' */
  interpolation?: Interpolation;
  fill?: Fill;
}

/** With probability p, moves each corner inwards by a random amount and warps the image to match. */
export class RandomPerspective implements Transform<ImageTensor, ImageTensor> {
  readonly distortionScale: number;
  readonly p: number;
  readonly interpolation: Interpolation;
  readonly fill: Fill;
  readonly generator?: Generator;

  constructor({ distortionScale = 0.5, p = 0.5, interpolation = 'bilinear', fill = 0, generator }: RandomPerspectiveOptions = {}) {
    if (!(distortionScale >= 0 && distortionScale <= 1))
      throw new RangeError(`RandomPerspective: distortionScale must be in [0, 1] but received ${distortionScale}`);
    this.distortionScale = distortionScale;
    this.p = checkProbability(p, 'RandomPerspective');
    this.interpolation = checkWarp(interpolation, 'RandomPerspective');
    this.fill = fill;
    this.generator = generator;
  }

  /** torchvision's get_params: [startpoints, endpoints], the corners top-left, top-right, bottom-right, bottom-left. */
  static getParams(width: number, height: number, distortionScale: number, g: Generator): [number[][], number[][]] {
    const hw = Math.trunc(distortionScale * Math.floor(width / 2));
    const hh = Math.trunc(distortionScale * Math.floor(height / 2));
    const topleft = [g.int(0, hw + 1), g.int(0, hh + 1)];
    const topright = [g.int(width - hw - 1, width), g.int(0, hh + 1)];
    const botright = [g.int(width - hw - 1, width), g.int(height - hh - 1, height)];
    const botleft = [g.int(0, hw + 1), g.int(height - hh - 1, height)];
    const start = [
      [0, 0],
      [width - 1, 0],
      [width - 1, height - 1],
      [0, height - 1],
    ];
    return [start, [topleft, topright, botright, botleft]];
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    const v = imageView(img, 'RandomPerspective');
    const g = pickGenerator(generator, this.generator);
    if (!(g.random() < this.p)) return img;
    const [start, end] = RandomPerspective.getParams(v.width, v.height, this.distortionScale, g);
    return perspective(img, start, end, { interpolation: this.interpolation, fill: this.fill });
  }

  spec(): TransformSpec {
    const { distortionScale, p, interpolation, fill } = this;
    return { name: 'RandomPerspective', args: [{ distortionScale, p, interpolation, fill }] };
  }
}
registerTransform('RandomPerspective', (options) => new RandomPerspective(options));

/** Gaussian blur with sigma drawn uniformly from [min, max] (default [0.1, 2]) for each image. */
export class GaussianBlur implements Transform<ImageTensor, ImageTensor> {
  readonly kernelSize: [number, number];
  readonly sigma: [number, number];

  constructor(
    kernelSize: number | readonly number[],
    sigma: number | readonly [number, number] = [0.1, 2],
    readonly options: RandomOptions = {},
  ) {
    const ks = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize.length === 1 ? [kernelSize[0], kernelSize[0]] : [...kernelSize];
    if (ks.length !== 2 || !ks.every((k) => Number.isInteger(k) && k > 0 && k % 2 === 1)) {
      throw new RangeError(`GaussianBlur: kernelSize must be an odd positive integer or [x, y] of them but received ${JSON.stringify(kernelSize)}`);
    }
    this.kernelSize = ks as [number, number];
    if (typeof sigma === 'number') {
      if (!(sigma > 0)) throw new RangeError(`GaussianBlur: sigma must be positive when a single number but received ${sigma}`);
      this.sigma = [sigma, sigma];
    } else {
      if (!(sigma.length === 2 && sigma[0] > 0 && sigma[0] <= sigma[1])) {
        throw new RangeError(`GaussianBlur: sigma must be a positive number or [min, max] with 0 < min <= max but received ${JSON.stringify(sigma)}`);
      }
      this.sigma = [sigma[0], sigma[1]];
    }
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'GaussianBlur');
    const s = uniform(pickGenerator(generator, this.options.generator), this.sigma[0], this.sigma[1]);
    return gaussianBlur(img, this.kernelSize, [s, s]);
  }

  spec(): TransformSpec {
    return { name: 'GaussianBlur', args: [this.kernelSize, this.sigma] };
  }
}
registerTransform('GaussianBlur', (kernelSize, sigma) => new GaussianBlur(kernelSize, sigma));

/** The shape of the simple random transforms: apply `fn` with probability p. */
function applyWithP(p: number, g: Generator, img: ImageTensor, fn: (x: ImageTensor) => ImageTensor): ImageTensor {
  return g.random() < p ? fn(img) : img;
}

/** adjustSharpness(factor) with probability p (default 0.5). */
export class RandomAdjustSharpness implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly sharpnessFactor: number,
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    if (!(sharpnessFactor >= 0)) throw new RangeError(`RandomAdjustSharpness: sharpnessFactor must be non-negative but received ${sharpnessFactor}`);
    checkProbability(p, 'RandomAdjustSharpness');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomAdjustSharpness');
    return applyWithP(this.p, pickGenerator(generator, this.options.generator), img, (x) => adjustSharpness(x, this.sharpnessFactor));
  }

  spec(): TransformSpec {
    return { name: 'RandomAdjustSharpness', args: [this.sharpnessFactor, this.p] };
  }
}
registerTransform('RandomAdjustSharpness', (factor, p) => new RandomAdjustSharpness(factor, p));

/** autocontrast with probability p (default 0.5). */
export class RandomAutocontrast implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    checkProbability(p, 'RandomAutocontrast');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomAutocontrast');
    return applyWithP(this.p, pickGenerator(generator, this.options.generator), img, autocontrast);
  }

  spec(): TransformSpec {
    return { name: 'RandomAutocontrast', args: [this.p] };
  }
}
registerTransform('RandomAutocontrast', (p) => new RandomAutocontrast(p));

/** equalize with probability p (default 0.5); byte images. */
export class RandomEqualize implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    checkProbability(p, 'RandomEqualize');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomEqualize');
    return applyWithP(this.p, pickGenerator(generator, this.options.generator), img, equalize);
  }

  spec(): TransformSpec {
    return { name: 'RandomEqualize', args: [this.p] };
  }
}
registerTransform('RandomEqualize', (p) => new RandomEqualize(p));

/** posterize(bits) with probability p (default 0.5); byte images. */
export class RandomPosterize implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly bits: number,
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    if (!(Number.isInteger(bits) && bits >= 0 && bits <= 8)) throw new RangeError(`RandomPosterize: bits must be an integer in [0, 8] but received ${bits}`);
    checkProbability(p, 'RandomPosterize');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomPosterize');
    return applyWithP(this.p, pickGenerator(generator, this.options.generator), img, (x) => posterize(x, this.bits));
  }

  spec(): TransformSpec {
    return { name: 'RandomPosterize', args: [this.bits, this.p] };
  }
}
registerTransform('RandomPosterize', (bits, p) => new RandomPosterize(bits, p));

/** solarize(threshold) with probability p (default 0.5). */
export class RandomSolarize implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly threshold: number,
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    if (!Number.isFinite(threshold)) throw new RangeError(`RandomSolarize: threshold must be a number but received ${threshold}`);
    checkProbability(p, 'RandomSolarize');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomSolarize');
    return applyWithP(this.p, pickGenerator(generator, this.options.generator), img, (x) => solarize(x, this.threshold));
  }

  spec(): TransformSpec {
    return { name: 'RandomSolarize', args: [this.threshold, this.p] };
  }
}
registerTransform('RandomSolarize', (threshold, p) => new RandomSolarize(threshold, p));

/** invert with probability p (default 0.5). */
export class RandomInvert implements Transform<ImageTensor, ImageTensor> {
  constructor(
    readonly p = 0.5,
    readonly options: RandomOptions = {},
  ) {
    checkProbability(p, 'RandomInvert');
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    imageView(img, 'RandomInvert');
    return applyWithP(this.p, pickGenerator(generator, this.options.generator), img, invert);
  }

  spec(): TransformSpec {
    return { name: 'RandomInvert', args: [this.p] };
  }
}
registerTransform('RandomInvert', (p) => new RandomInvert(p));

export interface RandomErasingOptions extends RandomOptions {
  /** probability of erasing (default 0.5) */
  p?: number;
  /** range of the erased area as a fraction of the image's (default [0.02, 0.33]) */
  scale?: readonly [number, number];
  /** range of the box's aspect ratio, sampled log-uniformly (default [0.3, 3.3]) */
  ratio?: readonly [number, number];
  /** what the box is filled with: a number (default 0), one per channel, or 'random' (standard normal values) */
  value?: number | readonly number[] | 'random';
}

/** [top, left, height, width, value] of an erasing box; value null leaves the image as it is. */
export type ErasingParams = [number, number, number, number, number[] | Tensor<'float32'> | null];

/**
 * With probability p, sets a random box of the float image (after Normalize, as
 * torchvision) to `value`: the box's area and aspect ratio drawn as torchvision does
 * (10 attempts at a box that fits, else nothing erased).
 */
export class RandomErasing implements Transform<ImageTensor, ImageTensor> {
  readonly p: number;
  readonly scale: readonly [number, number];
  readonly ratio: readonly [number, number];
  readonly value: number | readonly number[] | 'random';
  readonly generator?: Generator;

  constructor({ p = 0.5, scale = [0.02, 0.33], ratio = [0.3, 3.3], value = 0, generator }: RandomErasingOptions = {}) {
    this.p = checkProbability(p, 'RandomErasing');
    if (!(scale.length === 2 && scale[0] >= 0 && scale[1] <= 1 && scale[0] <= scale[1])) {
      throw new RangeError(`RandomErasing: scale must be [min, max] within [0, 1] but received ${JSON.stringify(scale)}`);
    }
    if (!(ratio.length === 2 && ratio[0] > 0 && ratio[0] <= ratio[1])) {
      throw new RangeError(`RandomErasing: ratio must be [min, max] with 0 < min <= max but received ${JSON.stringify(ratio)}`);
    }
    if (!(value === 'random' || typeof value === 'number' || (Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'number')))) {
      throw new RangeError(`RandomErasing: value must be a number, a list of numbers or 'random' but received ${JSON.stringify(value)}`);
    }
    this.scale = [scale[0], scale[1]];
    this.ratio = [ratio[0], ratio[1]];
    this.value = typeof value === 'number' || value === 'random' ? value : [...value];
    this.generator = generator;
  }

  /** torchvision's get_params for an image of channels x height x width. */
  static getParams(
    channels: number,
    height: number,
    width: number,
    scale: readonly [number, number],
    ratio: readonly [number, number],
    value: readonly number[] | null,
    g: Generator,
  ): ErasingParams {
    const area = height * width;
    const logLo = Math.log(ratio[0]);
    const logHi = Math.log(ratio[1]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const eraseArea = area * uniform(g, scale[0], scale[1]);
      const aspect = Math.exp(uniform(g, logLo, logHi));
      const h = roundHalfEven(Math.sqrt(eraseArea * aspect));
      const w = roundHalfEven(Math.sqrt(eraseArea / aspect));
      if (!(h < height && w < width)) continue;
      let v: number[] | Tensor<'float32'>;
      if (value === null) {
        const d = new Float32Array(channels * h * w);
        for (let i = 0; i < d.length; i++) d[i] = g.normal();
        v = new Tensor<'float32'>(d, [channels, h, w]);
      } else v = [...value];
      return [g.int(0, height - h + 1), g.int(0, width - w + 1), h, w, v];
    }
    return [0, 0, height, width, null];
  }

  apply(img: ImageTensor, generator?: Generator): ImageTensor {
    const v = imageView(img, 'RandomErasing');
    const g = pickGenerator(generator, this.generator);
    if (!(g.random() < this.p)) return img;
    const value = this.value === 'random' ? null : typeof this.value === 'number' ? [this.value] : [...this.value];
    if (value && value.length !== 1 && value.length !== v.channels) {
      throw new RangeError(`RandomErasing: value has ${value.length} numbers but the image has ${v.channels} channels`);
    }
    const [i, j, h, w, fill] = RandomErasing.getParams(v.channels, v.height, v.width, this.scale, this.ratio, value, g);
    return fill === null ? img : erase(img, i, j, h, w, fill);
  }

  spec(): TransformSpec {
    const { p, scale, ratio, value } = this;
    return { name: 'RandomErasing', args: [{ p, scale, ratio, value }] };
  }
}
registerTransform('RandomErasing', (options) => new RandomErasing(options));
