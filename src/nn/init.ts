/**
 * Weight initialisation, as torch.nn.init: each function fills a float32 tensor
 * in place (writing its storage directly, so nothing is recorded on the tape) from
 * the global seeded generator (or `options.generator`) and returns the tensor.
 * Names are camelCase: kaimingNormal is kaiming_normal_, mode 'fanIn' is 'fan_in',
 * nonlinearity 'leakyRelu' is 'leaky_relu'.
 */
import { DTypeError, fmtShape } from '../tensor/errors.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { normalCdf, normalPpf } from './special.js';

export type Nonlinearity =
  'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu';

export type FanMode = 'fanIn' | 'fanOut';

export interface InitOptions {
  /** Draw from this generator instead of the global one. */
  generator?: Generator;
}

/**
 * The recommended gain for a nonlinearity (PyTorch's table): 1 for linear, conv
 * and sigmoid, 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leakyRelu
 * (`param` is the slope, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'convTranspose1d':
    case 'convTranspose2d':
    case 'convTranspose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) throw new RangeError(`calculateGain: negative slope ${slope} is not a finite number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new RangeError(`calculateGain: unsupported nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

/** [fanIn, fanOut] of a weight [out, in, ...kernel]: in·∏kernel and out·∏kernel. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) {
    throw new RangeError(`init: fan in and fan out need a tensor with at least 2 dimensions, got shape ${fmtShape(t.shape)}`);
  }
  const receptive = t.shape.slice(2).reduce((a, d) => a * d, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

let skipping = 0;

/**
 * Runs fn with every initialiser of this module doing nothing: the networks built
 * inside keep whatever their fresh buffers hold, so fn must load every parameter
 * (a checkpoint, pretrained weights) before using them. Building a large network to
 * load weights into is then several times faster.
 */
export function skipInit<T>(fn: () => T): T {
  skipping++;
  try {
    return fn();
  } finally {
    skipping--;
  }
}

function checkFloat(op: string, t: Tensor): void {
  if (t.dtype !== 'float32') throw new DTypeError(`${op}: expected a float32 tensor, got ${t.dtype}`);
}

function fill<T extends Tensor>(op: string, t: T, sample: () => number): T {
  checkFloat(op, t);
  if (skipping) return t;
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) d[i] = sample();
  return t;
}

/** U(a, b). */
export function uniform<T extends Tensor>(t: T, { a = 0, b = 1, generator }: InitOptions & { a?: number; b?: number } = {}): T {
  if (!(a <= b)) throw new RangeError(`uniform: a (${a}) must not exceed b (${b})`);
  checkFloat('uniform', t);
  if (skipping) return t;
  (generator ?? defaultGenerator()).fill(t.data as Float32Array, 'uniform', a, b);
  return t;
}

/** N(mean, std²). */
export function normal<T extends Tensor>(t: T, { mean = 0, std = 1, generator }: InitOptions & { mean?: number; std?: number } = {}): T {
  if (!(std >= 0)) throw new RangeError(`normal: std must be non-negative, got ${std}`);
  checkFloat('normal', t);
  if (skipping) return t;
  (generator ?? defaultGenerator()).fill(t.data as Float32Array, 'normal', mean, std);
  return t;
}

/**
 * N(mean, std²) conditioned on [a, b] (bounds in absolute values, as PyTorch):
 * inverse-CDF sampling in float64, on the lower tail by symmetry so intervals far
 * out on either side keep their precision.
 */
export function truncNormal<T extends Tensor>(
  t: T,
  { mean = 0, std = 1, a = -2, b = 2, generator }: InitOptions & { mean?: number; std?: number; a?: number; b?: number } = {},
): T {
  if (!(std > 0)) throw new RangeError(`truncNormal: std must be positive, got ${std}`);
  if (!(a < b)) throw new RangeError(`truncNormal: a (${a}) must be less than b (${b})`);
  const g = generator ?? defaultGenerator();
  let lo = (a - mean) / std;
  let hi = (b - mean) / std;
  const flip = lo > 0; // sample -z on [-hi, -lo], where the CDF is small and exact
  if (flip) [lo, hi] = [-hi, -lo];
  const pLo = normalCdf(lo);
  const pHi = normalCdf(hi);
  return fill('truncNormal', t, () => {
    let z = normalPpf(pLo + (pHi - pLo) * g.random());
    if (flip) z = -z;
    return Math.min(Math.max(mean + std * z, a), b);
  });
}

export function constant<T extends Tensor>(t: T, value: number): T {
  return fill('constant', t, () => value);
}

export function zeros<T extends Tensor>(t: T): T {
  return constant(t, 0);
}

export function ones<T extends Tensor>(t: T): T {
  return constant(t, 1);
}

/** U(-r, r) with r = gain·√(6 / (fanIn + fanOut)) (Glorot and Bengio, 2010). */
export function xavierUniform<T extends Tensor>(t: T, { gain = 1, generator }: InitOptions & { gain?: number } = {}): T {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const r = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, { a: -r, b: r, generator });
}

/** N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal<T extends Tensor>(t: T, { gain = 1, generator }: InitOptions & { gain?: number } = {}): T {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return normal(t, { std: gain * Math.sqrt(2 / (fanIn + fanOut)), generator });
}

export interface KaimingOptions extends InitOptions {
  /** The negative slope of the leakyRelu that follows (used only for nonlinearity 'leakyRelu'); default 0. */
  a?: number;
  /** 'fanIn' (default) keeps the forward variance, 'fanOut' the backward one. */
  mode?: FanMode;
  /** Default 'leakyRelu', as PyTorch (with a = 0 that is relu's gain √2). */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(op: string, t: Tensor, { a = 0, mode = 'fanIn', nonlinearity = 'leakyRelu' }: KaimingOptions): number {
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new RangeError(`${op}: mode must be 'fanIn' or 'fanOut', got ${JSON.stringify(mode)}`);
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut);
}

/** U(-r, r) with r = gain·√(3 / fan) (He et al., 2015). */
export function kaimingUniform<T extends Tensor>(t: T, options: KaimingOptions = {}): T {
  if (t.size === 0) return t;
  const r = Math.sqrt(3) * kaimingStd('kaimingUniform', t, options);
  return uniform(t, { a: -r, b: r, generator: options.generator });
}

/** N(0, std²) with std = gain / √fan (He et al., 2015). */
export function kaimingNormal<T extends Tensor>(t: T, options: KaimingOptions = {}): T {
  if (t.size === 0) return t;
  return normal(t, { std: kaimingStd('kaimingNormal', t, options), generator: options.generator });
}
