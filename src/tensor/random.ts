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

  /**
   * Fills `out` with a + (b - a)·random() or mean + std·normal(), element by element:
   * the same numbers as calling those methods in a loop, with the state held in
   * locals (large weight tensors initialise several times faster).
   */
  fill(out: Float32Array, kind: 'uniform' | 'normal', p0: number, p1: number): void {
    // 53-bit doubles into a scratch buffer in blocks (a plain loop over the state in locals), then the map
    const st = this.s;
    let s0 = st[0] | 0,
      s1 = st[1] | 0,
      s2 = st[2] | 0,
      s3 = st[3] | 0;
    const block = new Float64Array(Math.min(4096, out.length + 2));
    let i = 0;
    let spare = this.spare;
    if (kind === 'normal' && spare !== null && out.length > 0) {
      out[i++] = p0 + p1 * spare;
      spare = null;
    }
    while (i < out.length) {
      const n = kind === 'uniform' ? Math.min(block.length, out.length - i) : Math.min(block.length, 2 * Math.ceil((out.length - i) / 2));
      for (let k = 0; k < n; k++) {
        let hi = 0;
        let lo = 0;
        for (let half = 0; half < 2; half++) {
          const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
          const t = s1 << 9;
          s2 ^= s0;
          s3 ^= s1;
          s1 ^= s2;
          s0 ^= s3;
          s2 ^= t;
          s3 = (s3 << 11) | (s3 >>> 21);
          if (half === 0) hi = result >>> 5;
          else lo = result >>> 6;
        }
        block[k] = (hi * 67108864 + lo) / 9007199254740992;
      }
      if (kind === 'uniform') {
        for (let k = 0; k < n; k++) out[i++] = p0 + (p1 - p0) * block[k];
        continue;
      }
      // Box-Muller on pairs; a u of exactly 0 (odds 2^-53) is taken as 2^-53 rather than redrawn
      for (let k = 0; k + 1 < n && i < out.length; k += 2) {
        const u = block[k] || 2 ** -53;
        const v = block[k + 1];
        const r = Math.sqrt(-2 * Math.log(u));
        out[i++] = p0 + p1 * (r * Math.cos(2 * Math.PI * v));
        const second = r * Math.sin(2 * Math.PI * v);
        if (i < out.length) out[i++] = p0 + p1 * second;
        else spare = second;
      }
    }
    st[0] = s0 >>> 0;
    st[1] = s1 >>> 0;
    st[2] = s2 >>> 0;
    st[3] = s3 >>> 0;
    this.spare = spare;
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
