/**
 * Augmentation policies, as torchvision 0.14 defines them: AutoAugment (the ImageNet,
 * CIFAR-10 and SVHN policies), RandAugment, TrivialAugmentWide and AugMix, on byte
 * images (uint8 [H, W, C], before ToTensor).
 *
 * Each policy picks ops from a table (the op, its magnitudes, whether a random sign
 * applies) and runs them through applyOp, torchvision's _apply_op on PIL images. The
 * tables are torchvision's, computed as torch computes them (float32 linspace), and
 * every random choice goes through a PolicyDraws object, asked in torchvision's order
 * (which op, which magnitude, which sign): by default it draws from the transform's
 * generator, and a test can hand it a scripted sequence to force the same draws that
 * were forced on torchvision.
 */
import type { Generator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { adjustBrightness, adjustContrast, adjustSaturation } from './color.js';
import { adjustSharpness, autocontrast, equalize, invert, posterize, solarize } from './enhance.js';
import { affine, rotate, type Fill, type Interpolation } from './functional.js';
import { bytesView, pickGenerator, roundHalfEven, type Transform, type TransformSpec } from './image.js';
import { linspace32 } from './linspace.js';
import { registerTransform } from './spec.js';
import { tensorAffineMatrix, tensorContrast, tensorSaturation, tensorSharpness, tensorWarp } from './tensor-ops.js';

export { linspace32 };

const f32 = Math.fround;

export const POLICY_OPS = [
  'Identity',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Rotate',
  'Brightness',
  'Color',
  'Contrast',
  'Sharpness',
  'Posterize',
  'Solarize',
  'AutoContrast',
  'Equalize',
  'Invert',
] as const;
export type PolicyOp = (typeof POLICY_OPS)[number];

export interface OpOptions {
  /** for the geometric ops: 'nearest' (default), 'bilinear' or 'bicubic' ('nearest' or 'bilinear' with tensor kernels) */
  interpolation?: Interpolation;
  /** the area a geometric op uncovers; undefined or null is torchvision's None: 0 for the PIL ops, zeros without a mask for the tensor kernels */
  fill?: Fill | null;
  /**
   * 'pil' (default): the ops torchvision runs on PIL images; 'tensor': those it runs on uint8
   * tensors, which its AugMix uses even for PIL images (grid_sample warps, float32 blends)
   */
  kernels?: 'pil' | 'tensor';
}

/**
 * torchvision's _apply_op on a PIL image (or, with kernels 'tensor', on a uint8 tensor):
 * one op at a signed magnitude. Shears take the
 * shear factor (torchvision turns it into degrees by atan, about the top-left corner),
 * translations pixels (truncated to integers), Rotate degrees, the four enhancements
 * 1 + magnitude as their factor, Posterize bits, Solarize the threshold.
 */
export function applyOp(img: Tensor, op: PolicyOp, magnitude: number, { interpolation = 'nearest', fill, kernels = 'pil' }: OpOptions = {}): Tensor<'uint8'> {
  const v = bytesView(img, 'applyOp');
  const u8 = img as Tensor<'uint8'>;
  const geo = { interpolation, fill: fill ?? 0 };
  const degrees = (m: number) => Math.atan(m) * (180 / Math.PI);
  if (kernels === 'tensor') {
    if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
      throw new RangeError(`applyOp: tensor kernels take interpolation 'nearest' or 'bilinear' but received '${interpolation}'`);
    }
    const warp = (angle: number, translate: [number, number], shear: [number, number], center: [number, number] | null) =>
      tensorWarp(u8, tensorAffineMatrix(v.width, v.height, angle, translate, 1, shear, center), interpolation, fill ?? null);
    switch (op) {
      case 'ShearX':
        return warp(0, [0, 0], [degrees(magnitude), 0], [0, 0]);
      case 'ShearY':
        return warp(0, [0, 0], [0, degrees(magnitude)], [0, 0]);
      case 'TranslateX':
        return warp(0, [Math.trunc(magnitude), 0], [0, 0], null);
      case 'TranslateY':
        return warp(0, [0, Math.trunc(magnitude)], [0, 0], null);
      case 'Rotate':
        // torchvision's tensor rotate: the affine matrix of -angle about the centre
        return warp(-magnitude, [0, 0], [0, 0], null);
      case 'Color':
        return tensorSaturation(u8, 1 + magnitude);
      case 'Contrast':
        return tensorContrast(u8, 1 + magnitude);
      case 'Sharpness':
        return tensorSharpness(u8, 1 + magnitude);
      default:
      // the other ops compute the same bytes on tensors as on PIL images
    }
  }
  switch (op) {
    case 'Identity':
      return u8;
    case 'ShearX':
      return affine(u8, 0, [0, 0], 1, [degrees(magnitude), 0], { ...geo, center: [0, 0] }) as Tensor<'uint8'>;
    case 'ShearY':
      return affine(u8, 0, [0, 0], 1, [0, degrees(magnitude)], { ...geo, center: [0, 0] }) as Tensor<'uint8'>;
    case 'TranslateX':
      return affine(u8, 0, [Math.trunc(magnitude), 0], 1, [0, 0], geo) as Tensor<'uint8'>;
    case 'TranslateY':
      return affine(u8, 0, [0, Math.trunc(magnitude)], 1, [0, 0], geo) as Tensor<'uint8'>;
    case 'Rotate':
      return rotate(u8, magnitude, geo) as Tensor<'uint8'>;
    case 'Brightness':
      return adjustBrightness(u8, 1 + magnitude);
    case 'Color':
      return adjustSaturation(u8, 1 + magnitude);
    case 'Contrast':
      return adjustContrast(u8, 1 + magnitude);
    case 'Sharpness':
      return adjustSharpness(u8, 1 + magnitude) as Tensor<'uint8'>;
    case 'Posterize':
      return posterize(u8, Math.trunc(magnitude));
    case 'Solarize':
      return solarize(u8, magnitude) as Tensor<'uint8'>;
    case 'AutoContrast':
      return autocontrast(u8) as Tensor<'uint8'>;
    case 'Equalize':
      return equalize(u8);
    case 'Invert':
      return invert(u8) as Tensor<'uint8'>;
    default:
      throw new RangeError(`applyOp: unknown op ${JSON.stringify(op)} (known: ${POLICY_OPS.join(', ')})`);
  }
}

/** One op of a policy's table: its magnitudes (null: the op takes none) and whether a random sign applies. */
export interface OpRange {
  op: PolicyOp;
  magnitudes: number[] | null;
  signed: boolean;
}

export type PolicyName = 'auto' | 'rand' | 'trivial' | 'augmix';

/** 8 - round(i / ((bins - 1) / levels)) (or from 4 for AugMix): the Posterize bits, as torchvision computes them. */
function posterizeBits(bins: number, top: number, levels: number): number[] {
  const d = f32((bins - 1) / levels);
  return Array.from({ length: bins }, (_, i) => top - roundHalfEven(f32(i / d)));
}

/**
 * The ops and magnitude tables of a policy (torchvision's _augmentation_space, in its
 * order, which the op draw indexes): `size` is the image's [height, width] (the
 * translations scale with it; TrivialAugmentWide's do not), `bins` the number of
 * magnitude levels.
 */
export function augmentationSpace(policy: PolicyName, bins: number, size: readonly [number, number] = [0, 0], allOps = true): OpRange[] {
  const [h, w] = size;
  const r = (op: PolicyOp, magnitudes: number[] | null, signed: boolean): OpRange => ({ op, magnitudes, signed });
  const lin = (end: number) => linspace32(0, end, bins);
  if (policy === 'augmix') {
    const s = [
      r('ShearX', lin(0.3), true),
      r('ShearY', lin(0.3), true),
      r('TranslateX', lin(w / 3), true),
      r('TranslateY', lin(h / 3), true),
      r('Rotate', lin(30), true),
      r('Posterize', posterizeBits(bins, 4, 4), false),
      r('Solarize', linspace32(255, 0, bins), false),
      r('AutoContrast', null, false),
      r('Equalize', null, false),
    ];
    if (allOps) s.push(r('Brightness', lin(0.9), true), r('Color', lin(0.9), true), r('Contrast', lin(0.9), true), r('Sharpness', lin(0.9), true));
    return s;
  }
  if (policy === 'trivial') {
    return [
      r('Identity', null, false),
      r('ShearX', lin(0.99), true),
      r('ShearY', lin(0.99), true),
      r('TranslateX', lin(32), true),
      r('TranslateY', lin(32), true),
      r('Rotate', lin(135), true),
      r('Brightness', lin(0.99), true),
      r('Color', lin(0.99), true),
      r('Contrast', lin(0.99), true),
      r('Sharpness', lin(0.99), true),
      r('Posterize', posterizeBits(bins, 8, 6), false),
      r('Solarize', linspace32(255, 0, bins), false),
      r('AutoContrast', null, false),
      r('Equalize', null, false),
    ];
  }
  const s = [
    r('ShearX', lin(0.3), true),
    r('ShearY', lin(0.3), true),
    r('TranslateX', lin((150 / 331) * w), true),
    r('TranslateY', lin((150 / 331) * h), true),
    r('Rotate', lin(30), true),
    r('Brightness', lin(0.9), true),
    r('Color', lin(0.9), true),
    r('Contrast', lin(0.9), true),
    r('Sharpness', lin(0.9), true),
    r('Posterize', posterizeBits(bins, 8, 4), false),
    r('Solarize', linspace32(255, 0, bins), false),
    r('AutoContrast', null, false),
    r('Equalize', null, false),
  ];
  if (policy === 'auto') s.push(r('Invert', null, false));
  else s.unshift(r('Identity', null, false));
  return s;
}

/** The random choices of a policy, in the order torchvision makes them. */
export interface PolicyDraws {
  /** a uniform integer in [0, n) (torch.randint(n)) */
  int(n: number): number;
  /** a uniform number in [0, 1) (torch.rand) */
  uniform(): number;
  /** a sample of the symmetric Dirichlet distribution with k parts (torch._sample_dirichlet), as float32 */
  dirichlet(alpha: number, k: number): number[];
}

/** Where a policy gets its draws for one image: by default generatorDraws. */
export type DrawSource = (generator: Generator) => PolicyDraws;

/** Gamma(a, 1) by Marsaglia and Tsang's method (boosted below a = 1). */
function gamma(g: Generator, a: number): number {
  if (a < 1) return gamma(g, a + 1) * Math.pow(1 - g.random(), 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = g.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - g.random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Draws from a generator (the transform's, the DataLoader's per-sample one, or the global one). */
export function generatorDraws(g: Generator): PolicyDraws {
  return {
    int: (n) => g.int(0, n),
    uniform: () => g.random(),
    dirichlet: (alpha, k) => {
      const x = Array.from({ length: k }, () => gamma(g, alpha));
      const s = x.reduce((a, b) => a + b, 0);
      return x.map((v) => f32(v / s));
    },
  };
}

export interface PolicyOptions extends Omit<OpOptions, 'kernels'> {
  /** draw from this generator instead of the global one (a generator passed to apply() still wins) */
  generator?: Generator;
  /** where the random choices come from (default generatorDraws); a test passes scripted draws */
  draws?: DrawSource;
}

/** The checks and defaults every policy shares. */
abstract class Policy implements Transform<Tensor, Tensor<'uint8'>> {
  readonly interpolation: Interpolation;
  readonly fill: Fill | null;
  readonly generator?: Generator;
  readonly draws: DrawSource;

  constructor(name: string, { interpolation = 'nearest', fill = 0, generator, draws = generatorDraws }: PolicyOptions) {
    if (!['nearest', 'bilinear', 'bicubic'].includes(interpolation)) {
      throw new RangeError(`${name}: interpolation must be 'nearest', 'bilinear' or 'bicubic' but received '${interpolation}'`);
    }
    this.interpolation = interpolation;
    this.fill = fill;
    this.generator = generator;
    this.draws = draws;
  }

  protected start(img: Tensor, generator: Generator | undefined, name: string): { d: PolicyDraws; height: number; width: number } {
    const v = bytesView(img, name);
    if (v.channels !== 1 && v.channels !== 3) throw new RangeError(`${name}: expected a grey or RGB image (1 or 3 channels) but received ${v.channels}`);
    return { d: this.draws(pickGenerator(generator, this.generator)), height: v.height, width: v.width };
  }

  protected op(img: Tensor<'uint8'>, op: PolicyOp, magnitude: number, kernels: 'pil' | 'tensor' = 'pil'): Tensor<'uint8'> {
    return applyOp(img, op, magnitude, { interpolation: this.interpolation, fill: this.fill, kernels });
  }

  abstract apply(img: Tensor, generator?: Generator): Tensor<'uint8'>;
  abstract spec(): TransformSpec;
}

/** A sub-policy step: the op, the probability it runs, its magnitude's index in the table (null: none). */
type Step = readonly [PolicyOp, number, number | null];

// The learned policies, from torchvision 0.14 (AutoAugment paper, appendix).
const IMAGENET_POLICY: readonly (readonly [Step, Step])[] = [
  [
    ['Posterize', 0.4, 8],
    ['Rotate', 0.6, 9],
  ],
  [
    ['Solarize', 0.6, 5],
    ['AutoContrast', 0.6, null],
  ],
  [
    ['Equalize', 0.8, null],
    ['Equalize', 0.6, null],
  ],
  [
    ['Posterize', 0.6, 7],
    ['Posterize', 0.6, 6],
  ],
  [
    ['Equalize', 0.4, null],
    ['Solarize', 0.2, 4],
  ],
  [
    ['Equalize', 0.4, null],
    ['Rotate', 0.8, 8],
  ],
  [
    ['Solarize', 0.6, 3],
    ['Equalize', 0.6, null],
  ],
  [
    ['Posterize', 0.8, 5],
    ['Equalize', 1.0, null],
  ],
  [
    ['Rotate', 0.2, 3],
    ['Solarize', 0.6, 8],
  ],
  [
    ['Equalize', 0.6, null],
    ['Posterize', 0.4, 6],
  ],
  [
    ['Rotate', 0.8, 8],
    ['Color', 0.4, 0],
  ],
  [
    ['Rotate', 0.4, 9],
    ['Equalize', 0.6, null],
  ],
  [
    ['Equalize', 0.0, null],
    ['Equalize', 0.8, null],
  ],
  [
    ['Invert', 0.6, null],
    ['Equalize', 1.0, null],
  ],
  [
    ['Color', 0.6, 4],
    ['Contrast', 1.0, 8],
  ],
  [
    ['Rotate', 0.8, 8],
    ['Color', 1.0, 2],
  ],
  [
    ['Color', 0.8, 8],
    ['Solarize', 0.8, 7],
  ],
  [
    ['Sharpness', 0.4, 7],
    ['Invert', 0.6, null],
  ],
  [
    ['ShearX', 0.6, 5],
    ['Equalize', 1.0, null],
  ],
  [
    ['Color', 0.4, 0],
    ['Equalize', 0.6, null],
  ],
  [
    ['Equalize', 0.4, null],
    ['Solarize', 0.2, 4],
  ],
  [
    ['Solarize', 0.6, 5],
    ['AutoContrast', 0.6, null],
  ],
  [
    ['Invert', 0.6, null],
    ['Equalize', 1.0, null],
  ],
  [
    ['Color', 0.6, 4],
    ['Contrast', 1.0, 8],
  ],
  [
    ['Equalize', 0.8, null],
    ['Equalize', 0.6, null],
  ],
];

const CIFAR10_POLICY: readonly (readonly [Step, Step])[] = [
  [
    ['Invert', 0.1, null],
    ['Contrast', 0.2, 6],
  ],
  [
    ['Rotate', 0.7, 2],
    ['TranslateX', 0.3, 9],
  ],
  [
    ['Sharpness', 0.8, 1],
    ['Sharpness', 0.9, 3],
  ],
  [
    ['ShearY', 0.5, 8],
    ['TranslateY', 0.7, 9],
  ],
  [
    ['AutoContrast', 0.5, null],
    ['Equalize', 0.9, null],
  ],
  [
    ['ShearY', 0.2, 7],
    ['Posterize', 0.3, 7],
  ],
  [
    ['Color', 0.4, 3],
    ['Brightness', 0.6, 7],
  ],
  [
    ['Sharpness', 0.3, 9],
    ['Brightness', 0.7, 9],
  ],
  [
    ['Equalize', 0.6, null],
    ['Equalize', 0.5, null],
  ],
  [
    ['Contrast', 0.6, 7],
    ['Sharpness', 0.6, 5],
  ],
  [
    ['Color', 0.7, 7],
    ['TranslateX', 0.5, 8],
  ],
  [
    ['Equalize', 0.3, null],
    ['AutoContrast', 0.4, null],
  ],
  [
    ['TranslateY', 0.4, 3],
    ['Sharpness', 0.2, 6],
  ],
  [
    ['Brightness', 0.9, 6],
    ['Color', 0.2, 8],
  ],
  [
    ['Solarize', 0.5, 2],
    ['Invert', 0.0, null],
  ],
  [
    ['Equalize', 0.2, null],
    ['AutoContrast', 0.6, null],
  ],
  [
    ['Equalize', 0.2, null],
    ['Equalize', 0.6, null],
  ],
  [
    ['Color', 0.9, 9],
    ['Equalize', 0.6, null],
  ],
  [
    ['AutoContrast', 0.8, null],
    ['Solarize', 0.2, 8],
  ],
  [
    ['Brightness', 0.1, 3],
    ['Color', 0.7, 0],
  ],
  [
    ['Solarize', 0.4, 5],
    ['AutoContrast', 0.9, null],
  ],
  [
    ['TranslateY', 0.9, 9],
    ['TranslateY', 0.7, 9],
  ],
  [
    ['AutoContrast', 0.9, null],
    ['Solarize', 0.8, 3],
  ],
  [
    ['Equalize', 0.8, null],
    ['Invert', 0.1, null],
  ],
  [
    ['TranslateY', 0.7, 9],
    ['AutoContrast', 0.9, null],
  ],
];

const SVHN_POLICY: readonly (readonly [Step, Step])[] = [
  [
    ['ShearX', 0.9, 4],
    ['Invert', 0.2, null],
  ],
  [
    ['ShearY', 0.9, 8],
    ['Invert', 0.7, null],
  ],
  [
    ['Equalize', 0.6, null],
    ['Solarize', 0.6, 6],
  ],
  [
    ['Invert', 0.9, null],
    ['Equalize', 0.6, null],
  ],
  [
    ['Equalize', 0.6, null],
    ['Rotate', 0.9, 3],
  ],
  [
    ['ShearX', 0.9, 4],
    ['AutoContrast', 0.8, null],
  ],
  [
    ['ShearY', 0.9, 8],
    ['Invert', 0.4, null],
  ],
  [
    ['ShearY', 0.9, 5],
    ['Solarize', 0.2, 6],
  ],
  [
    ['Invert', 0.9, null],
    ['AutoContrast', 0.8, null],
  ],
  [
    ['Equalize', 0.6, null],
    ['Rotate', 0.9, 3],
  ],
  [
    ['ShearX', 0.9, 4],
    ['Solarize', 0.3, 3],
  ],
  [
    ['ShearY', 0.8, 8],
    ['Invert', 0.7, null],
  ],
  [
    ['Equalize', 0.9, null],
    ['TranslateY', 0.6, 6],
  ],
  [
    ['Invert', 0.9, null],
    ['Equalize', 0.6, null],
  ],
  [
    ['Contrast', 0.3, 3],
    ['Rotate', 0.8, 4],
  ],
  [
    ['Invert', 0.8, null],
    ['TranslateY', 0.0, 2],
  ],
  [
    ['ShearY', 0.7, 6],
    ['Solarize', 0.4, 8],
  ],
  [
    ['Invert', 0.6, null],
    ['Rotate', 0.8, 4],
  ],
  [
    ['ShearY', 0.3, 7],
    ['TranslateX', 0.9, 3],
  ],
  [
    ['ShearX', 0.1, 6],
    ['Invert', 0.6, null],
  ],
  [
    ['Solarize', 0.7, 2],
    ['TranslateY', 0.6, 7],
  ],
  [
    ['ShearY', 0.8, 4],
    ['Invert', 0.8, null],
  ],
  [
    ['ShearX', 0.7, 9],
    ['TranslateY', 0.8, 3],
  ],
  [
    ['ShearY', 0.8, 5],
    ['AutoContrast', 0.7, null],
  ],
  [
    ['ShearX', 0.7, 2],
    ['Invert', 0.1, null],
  ],
];

export type AutoAugmentPolicy = 'imagenet' | 'cifar10' | 'svhn';
export const AUTOAUGMENT_POLICIES: Readonly<Record<AutoAugmentPolicy, readonly (readonly [Step, Step])[]>> = {
  imagenet: IMAGENET_POLICY,
  cifar10: CIFAR10_POLICY,
  svhn: SVHN_POLICY,
};

const spaceOf = (space: OpRange[], op: PolicyOp): OpRange => space.find((s) => s.op === op)!;

/**
 * AutoAugment: one of the policy's 25 sub-policies at random, each of its two steps run
 * with its probability at its magnitude (10 levels), with a random sign where the op
 * has one. Policies 'imagenet' (default), 'cifar10', 'svhn'.
 */
export class AutoAugment extends Policy {
  readonly policy: AutoAugmentPolicy;

  constructor(policy: AutoAugmentPolicy = 'imagenet', options: PolicyOptions = {}) {
    super('AutoAugment', options);
    if (!(policy in AUTOAUGMENT_POLICIES))
      throw new RangeError(`AutoAugment: policy must be one of imagenet, cifar10, svhn but received ${JSON.stringify(policy)}`);
    this.policy = policy;
  }

  apply(img: Tensor, generator?: Generator): Tensor<'uint8'> {
    const { d, height, width } = this.start(img, generator, 'AutoAugment');
    const policies = AUTOAUGMENT_POLICIES[this.policy];
    // torchvision's get_params: the sub-policy, two probabilities, two signs
    const id = d.int(policies.length);
    const probs = [f32(d.uniform()), f32(d.uniform())]; // torch.rand's float32
    const signs = [d.int(2), d.int(2)];
    const space = augmentationSpace('auto', 10, [height, width]);
    let out = img as Tensor<'uint8'>;
    policies[id].forEach(([op, p, level], i) => {
      // torch compares its float32 draw with the probability as float32
      if (!(probs[i] <= f32(p))) return;
      const { magnitudes, signed } = spaceOf(space, op);
      let m = level !== null && magnitudes ? magnitudes[level] : 0;
      if (signed && signs[i] === 0) m = -m;
      out = this.op(out, op, m);
    });
    return out;
  }

  spec(): TransformSpec {
    return { name: 'AutoAugment', args: [this.policy, { interpolation: this.interpolation, fill: this.fill }] };
  }
}
registerTransform('AutoAugment', (policy, options) => new AutoAugment(policy, options));

export interface RandAugmentOptions extends PolicyOptions {
  /** ops applied one after the other (default 2) */
  numOps?: number;
  /** the magnitude level of every op, in [0, numMagnitudeBins) (default 9) */
  magnitude?: number;
  /** the number of magnitude levels (default 31) */
  numMagnitudeBins?: number;
}

/** RandAugment: numOps ops drawn uniformly (Identity among them), each at the one fixed magnitude, with a random sign. */
export class RandAugment extends Policy {
  readonly numOps: number;
  readonly magnitude: number;
  readonly numMagnitudeBins: number;

  constructor({ numOps = 2, magnitude = 9, numMagnitudeBins = 31, ...options }: RandAugmentOptions = {}) {
    super('RandAugment', options);
    if (!(Number.isInteger(numOps) && numOps >= 0)) throw new RangeError(`RandAugment: numOps must be a non-negative integer but received ${numOps}`);
    if (!(Number.isInteger(numMagnitudeBins) && numMagnitudeBins >= 2)) {
      throw new RangeError(`RandAugment: numMagnitudeBins must be an integer of at least 2 but received ${numMagnitudeBins}`);
    }
    if (!(Number.isInteger(magnitude) && magnitude >= 0 && magnitude < numMagnitudeBins)) {
      throw new RangeError(`RandAugment: magnitude must be an integer in [0, ${numMagnitudeBins - 1}] (numMagnitudeBins - 1) but received ${magnitude}`);
    }
    this.numOps = numOps;
    this.magnitude = magnitude;
    this.numMagnitudeBins = numMagnitudeBins;
  }

  apply(img: Tensor, generator?: Generator): Tensor<'uint8'> {
    const { d, height, width } = this.start(img, generator, 'RandAugment');
    const space = augmentationSpace('rand', this.numMagnitudeBins, [height, width]);
    let out = img as Tensor<'uint8'>;
    for (let k = 0; k < this.numOps; k++) {
      const { op, magnitudes, signed } = space[d.int(space.length)];
      let m = magnitudes ? magnitudes[this.magnitude] : 0;
      if (signed && d.int(2)) m = -m;
      out = this.op(out, op, m);
    }
    return out;
  }

  spec(): TransformSpec {
    const { numOps, magnitude, numMagnitudeBins, interpolation, fill } = this;
    return { name: 'RandAugment', args: [{ numOps, magnitude, numMagnitudeBins, interpolation, fill }] };
  }
}
registerTransform('RandAugment', (options) => new RandAugment(options));

/** TrivialAugmentWide: one op drawn uniformly (Identity among them) at a uniformly drawn magnitude, with a random sign. */
export class TrivialAugmentWide extends Policy {
  readonly numMagnitudeBins: number;

  constructor({ numMagnitudeBins = 31, ...options }: PolicyOptions & { numMagnitudeBins?: number } = {}) {
    super('TrivialAugmentWide', options);
    if (!(Number.isInteger(numMagnitudeBins) && numMagnitudeBins >= 2)) {
      throw new RangeError(`TrivialAugmentWide: numMagnitudeBins must be an integer of at least 2 but received ${numMagnitudeBins}`);
    }
    this.numMagnitudeBins = numMagnitudeBins;
  }

  apply(img: Tensor, generator?: Generator): Tensor<'uint8'> {
    const { d } = this.start(img, generator, 'TrivialAugmentWide');
    const space = augmentationSpace('trivial', this.numMagnitudeBins);
    const { op, magnitudes, signed } = space[d.int(space.length)];
    let m = magnitudes ? magnitudes[d.int(magnitudes.length)] : 0;
    if (signed && d.int(2)) m = -m;
    return this.op(img as Tensor<'uint8'>, op, m);
  }

  spec(): TransformSpec {
    return { name: 'TrivialAugmentWide', args: [{ numMagnitudeBins: this.numMagnitudeBins, interpolation: this.interpolation, fill: this.fill }] };
  }
}
registerTransform('TrivialAugmentWide', (options) => new TrivialAugmentWide(options));

export interface AugMixOptions extends PolicyOptions {
  /** the highest magnitude level drawn, 1-10 (default 3) */
  severity?: number;
  /** the number of augmentation chains (default 3) */
  mixtureWidth?: number;
  /** ops per chain; -1 (default): 1 to 3 at random */
  chainDepth?: number;
  /** the Dirichlet and Beta parameter of the mixing weights (default 1) */
  alpha?: number;
  /** with Brightness, Color, Contrast and Sharpness (default true) */
  allOps?: boolean;
}

/**
 * AugMix: mixtureWidth chains of 1-3 random ops, mixed with Dirichlet(alpha) weights,
 * then mixed with the original image by a Beta(alpha, alpha) weight; in float32, as
 * torchvision, truncated back to bytes. As torchvision's, it runs its ops with the
 * tensor kernels (applyOp's kernels 'tensor': grid_sample warps, float32 blends), even
 * on pictures the other policies treat as PIL images; interpolation defaults to
 * bilinear ('nearest' or 'bilinear'), fill to null (zeros, without torchvision's mask).
 */
export class AugMix extends Policy {
  readonly severity: number;
  readonly mixtureWidth: number;
  readonly chainDepth: number;
  readonly alpha: number;
  readonly allOps: boolean;

  constructor({
    severity = 3,
    mixtureWidth = 3,
    chainDepth = -1,
    alpha = 1,
    allOps = true,
    interpolation = 'bilinear',
    fill = null,
    ...options
  }: AugMixOptions = {}) {
    super('AugMix', { interpolation, fill, ...options });
    if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
      throw new RangeError(`AugMix: interpolation must be 'nearest' or 'bilinear' (torchvision's tensor kernels) but received '${interpolation}'`);
    }
    if (!(Number.isInteger(severity) && severity >= 1 && severity <= 10))
      throw new RangeError(`AugMix: severity must be an integer in [1, 10] but received ${severity}`);
    if (!(Number.isInteger(mixtureWidth) && mixtureWidth >= 1))
      throw new RangeError(`AugMix: mixtureWidth must be a positive integer but received ${mixtureWidth}`);
    if (!Number.isInteger(chainDepth)) throw new RangeError(`AugMix: chainDepth must be an integer (-1: 1 to 3 at random) but received ${chainDepth}`);
    if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`AugMix: alpha must be positive but received ${alpha}`);
    this.severity = severity;
    this.mixtureWidth = mixtureWidth;
    this.chainDepth = chainDepth;
    this.alpha = alpha;
    this.allOps = allOps;
  }

  apply(img: Tensor, generator?: Generator): Tensor<'uint8'> {
    const { d, height, width } = this.start(img, generator, 'AugMix');
    const space = augmentationSpace('augmix', 10, [height, width], this.allOps);
    const x = img.data as Uint8Array;
    // torch's weights are float32 tensors: a draws source giving doubles is taken at float32 too
    const m = d.dirichlet(this.alpha, 2).map(f32);
    const weights = d.dirichlet(this.alpha, this.mixtureWidth).map((w) => f32(f32(w) * m[1]));
    const mix = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) mix[i] = f32(m[0] * x[i]);
    for (let k = 0; k < this.mixtureWidth; k++) {
      let aug = img as Tensor<'uint8'>;
      const depth = this.chainDepth > 0 ? this.chainDepth : 1 + d.int(3);
      for (let s = 0; s < depth; s++) {
        const { op, magnitudes, signed } = space[d.int(space.length)];
        let mag = magnitudes ? magnitudes[d.int(this.severity)] : 0;
        if (signed && d.int(2)) mag = -mag;
        aug = this.op(aug, op, mag, 'tensor');
      }
      const a = aug.data as Uint8Array;
      const w = weights[k];
      for (let i = 0; i < x.length; i++) mix[i] = f32(mix[i] + f32(w * a[i]));
    }
    const out = new Uint8Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.min(255, Math.trunc(mix[i]));
    return new Tensor<'uint8'>(out, img.shape);
  }

  spec(): TransformSpec {
    const { severity, mixtureWidth, chainDepth, alpha, allOps, interpolation, fill } = this;
    return { name: 'AugMix', args: [{ severity, mixtureWidth, chainDepth, alpha, allOps, interpolation, fill }] };
  }
}
registerTransform('AugMix', (options) => new AugMix(options));
