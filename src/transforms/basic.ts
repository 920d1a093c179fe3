/**
 * Composition and conversion transforms: Compose, Lambda, ToTensor, Normalize.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import { normalize, toTensor } from './convert.js';
import type { Transform, TransformSpec } from './image.js';
import { registerTransform, transformFromSpec } from './spec.js';

/** A transform or a plain function of the input (and the generator random transforms should draw from). */
export type TransformLike<I = any, O = any> = Transform<I, O> | ((input: I, generator?: Generator) => O);

/** Runs a transform or a function. */
export function applyTransform<I, O>(t: TransformLike<I, O>, input: I, generator?: Generator): O {
  return typeof t === 'function' ? t(input, generator) : t.apply(input, generator);
}

/**
 * A transform's spec, or why it has none (for the DataLoader's warning when it
 * falls back to the main thread): plain functions and Lambda carry code, which
 * cannot be sent to a worker; a Compose is portable when all its parts are.
 */
export function portableTransform(t: TransformLike): { spec: TransformSpec } | { reason: string } {
  if (typeof t === 'function') return { reason: `transform ${t.name ? `function ${t.name}` : '(an anonymous function)'} cannot be rebuilt in a worker` };
  if (t instanceof Compose) {
    for (const part of t.transforms) {
      const p = portableTransform(part);
      if ('reason' in p) return p;
    }
  }
  const spec = typeof t.spec === 'function' ? t.spec() : null;
  // a subclass inheriting spec() would come back as its base class: not the same transform
  if (spec && spec.name !== t.constructor?.name)
    return { reason: `transform ${t.constructor?.name} (a ${spec.name}) has no spec() of its own, so it cannot be rebuilt in a worker` };
  return spec ? { spec } : { reason: `transform ${t.constructor?.name ?? 'object'} cannot be rebuilt in a worker` };
}

type InputOf<T> = T extends Transform<infer I, any> ? I : T extends (input: infer I, ...rest: any[]) => any ? I : any;
type OutputOf<T> = T extends Transform<any, infer O> ? O : T extends (...args: any[]) => infer O ? O : any;
type First<T extends readonly unknown[]> = T extends readonly [infer F, ...unknown[]] ? F : any;
type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : any;

/**
 * Applies transforms in order; the generator given to apply() is handed to
 * each. Its input type is the first transform's, its output type the last's.
 */
export class Compose<const Ts extends readonly TransformLike[] = readonly TransformLike[]> implements Transform<InputOf<First<Ts>>, OutputOf<Last<Ts>>> {
  readonly transforms: Ts;

  constructor(transforms: Ts) {
    if (!Array.isArray(transforms)) throw new TypeError('Compose: expected an array of transforms');
    transforms.forEach((t, i) => {
      if (typeof t !== 'function' && typeof (t as Transform)?.apply !== 'function') {
        throw new TypeError(`Compose: element ${i} is neither a transform (an object with apply) nor a function`);
      }
    });
    this.transforms = transforms;
  }

  apply(input: InputOf<First<Ts>>, generator?: Generator): OutputOf<Last<Ts>> {
    let x: unknown = input;
    for (const t of this.transforms) x = applyTransform(t, x, generator);
    return x as OutputOf<Last<Ts>>;
  }

  spec(): TransformSpec | null {
    const parts: TransformSpec[] = [];
    for (const t of this.transforms) {
      const p = portableTransform(t);
      if ('reason' in p) return null;
      parts.push(p.spec);
    }
    return { name: 'Compose', args: [parts] };
  }
}
registerTransform('Compose', (parts: TransformSpec[]) => new Compose(parts.map(transformFromSpec)));

/** Wraps a function as a transform. */
export class Lambda<I = any, O = any> implements Transform<I, O> {
  constructor(readonly fn: (input: I, generator?: Generator) => O) {
    if (typeof fn !== 'function') throw new TypeError(`Lambda: expected a function but received ${typeof fn}`);
  }

  apply(input: I, generator?: Generator): O {
    return this.fn(input, generator);
  }

  /** null: a function cannot be sent to a worker thread. */
  spec(): null {
    return null;
  }
}

/** uint8 [H, W, C] bytes to float32 [C, H, W] in [0, 1] (float images pass through). */
export class ToTensor implements Transform<Tensor, Tensor<'float32'>> {
  apply(img: Tensor): Tensor<'float32'> {
    return toTensor(img);
  }

  spec(): TransformSpec {
    return { name: 'ToTensor', args: [] };
  }
}
registerTransform('ToTensor', () => new ToTensor());

/** Per-channel (x - mean) / std on float32 [C, H, W] images (after ToTensor). */
export class Normalize implements Transform<Tensor, Tensor<'float32'>> {
  readonly mean: readonly number[];
  readonly std: readonly number[];

  constructor(mean: readonly number[], std: readonly number[]) {
    if (!Array.isArray(mean) || !Array.isArray(std) || mean.length === 0 || mean.length !== std.length) {
      throw new RangeError(`Normalize: mean and std must be lists of the same length, received ${JSON.stringify(mean)} and ${JSON.stringify(std)}`);
    }
    if (std.some((s) => s === 0)) throw new RangeError('Normalize: std must not contain 0');
    this.mean = [...mean];
    this.std = [...std];
  }

  apply(img: Tensor): Tensor<'float32'> {
    return normalize(img, this.mean, this.std);
  }

  spec(): TransformSpec {
    return { name: 'Normalize', args: [[...this.mean], [...this.std]] };
  }
}
registerTransform('Normalize', (mean, std) => new Normalize(mean, std));
