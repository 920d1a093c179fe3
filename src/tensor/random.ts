/**
 * Seeded random numbers. One global generator (xoshiro128**, seeded through
 * splitmix32) serves every random op, so `manualSeed(n)` makes a whole run
 * repeatable; a `Generator` can also be passed explicitly.
 */
import { backend } from '../backend/index.js';
import { checkShape, numel, type Shape } from './shape.js';
import { Tensor } from './tensor.js';

export interface GeneratorState {
  s: number[];
  spare: number | null;
}

export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  constructor(seed = 0) {
    this.seed(seed);
  }

  seed(seed: number): void {
    // splitmix32 expands the seed into the 128-bit state (never all zeros).
    let x = (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
  }

  /** The generator's position, as plain JSON (checkpoints save it so a resumed run draws the same numbers). */
  getState(): GeneratorState {
    return { s: Array.from(this.s), spare: this.spare };
  }

  setState(state: GeneratorState): void {
    if (!Array.isArray(state?.s) || state.s.length !== 4) throw new TypeError('Generator.setState: expected { s: [4 integers], spare }');
    this.s.set(state.s);
    this.spare = state.spare ?? null;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal sample (Box-Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in [low, high). */
  int(low: number, high: number): number {
    return low + Math.floor(this.random() * (high - low));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

const globalGenerator = new Generator(0x5eed);

/** Reseeds the global generator (in place, so references to it stay valid): every later random op repeats. */
export function manualSeed(seed: number): void {
  globalGenerator.seed(seed);
}

export function defaultGenerator(): Generator {
  return globalGenerator;
}

export interface RandomOptions {
  generator?: Generator;
  requiresGrad?: boolean;
}

function filled(shape: Shape, options: RandomOptions, sample: (g: Generator) => number): Tensor<'float32'> {
  checkShape('random', shape);
  const g = options.generator ?? globalGenerator;
  const data = backend().alloc('float32', numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = sample(g);
  const t = new Tensor<'float32'>(data, shape);
  if (options.requiresGrad) t.requiresGrad_();
  return t;
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor<'float32'> {
  return filled(shape, options, (g) => g.random());
}

/** Standard normal samples. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor<'float32'> {
  return filled(shape, options, (g) => g.normal());
}

/** Uniform integers in [low, high) as int32. */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions = {}): Tensor<'int32'> {
  if (!(high > low)) throw new RangeError(`randint: high (${high}) must be greater than low (${low})`);
  checkShape('randint', shape);
  const g = options.generator ?? globalGenerator;
  const data = backend().alloc('int32', numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = g.int(low, high);
  return new Tensor(data, shape);
}

/** 1 with probability p (a number or a float32 tensor of probabilities), else 0. */
export function bernoulli(p: number | Tensor, shape?: Shape, options: RandomOptions = {}): Tensor<'float32'> {
  const g = options.generator ?? globalGenerator;
  if (typeof p === 'number') {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulli: p must be in [0, 1], got ${p}`);
    return filled(shape ?? [], options, (gen) => (gen.random() < p ? 1 : 0));
  }
  const probs = p.data;
  const data = backend().alloc('float32', probs.length);
  for (let i = 0; i < data.length; i++) data[i] = g.random() < probs[i] ? 1 : 0;
  return new Tensor(data, p.shape);
}

/** A random permutation of 0..n-1 as int32 (Fisher-Yates). */
export function permutation(n: number, options: RandomOptions = {}): Tensor<'int32'> {
  const g = options.generator ?? globalGenerator;
  const data = backend().alloc('int32', n);
  for (let i = 0; i < n; i++) data[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.int(0, i + 1);
    const t = data[i];
    data[i] = data[j];
    data[j] = t;
  }
  return new Tensor(data, [n]);
}
