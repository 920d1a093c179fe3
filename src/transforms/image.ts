/**
 * The image type of the transforms, and the strided view every kernel works on.
 *
 * An image is a `Tensor` in one of two forms, told apart by its dtype:
 *   - bytes: uint8 `[H, W, C]` (channels last, C = 1, 3 or 4), what the decoders
 *     produce and what PIL holds; every transform accepts it and rounds as PIL does;
 *   - float: float32 `[C, H, W]` (channels first), what `ToTensor` makes; the
 *     geometric transforms accept it too (same filters, no rounding), the colour
 *     transforms do not.
 * A kernel reads pixel (y, x, c) at `y * sy + x * sx + c * sc` of `data`, so one
 * loop serves both layouts.
 */
import { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';

export type ImageTensor = Tensor<'uint8'> | Tensor<'float32'>;

export interface ImageView {
  readonly data: Uint8Array | Float32Array;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** true for uint8 [H, W, C], false for float32 [C, H, W] */
  readonly bytes: boolean;
  readonly sy: number;
  readonly sx: number;
  readonly sc: number;
}

/** A transform: `apply(input)` returns the transformed value. Random transforms draw from `generator` when given. */
export interface Transform<I = any, O = any> {
  apply(input: I, generator?: Generator): O;
  /** How to rebuild this transform elsewhere (a DataLoader worker), or null when it cannot be (see transformFromSpec). */
  spec?(): TransformSpec | null;
}

/**
 * A built-in transform described as data: its class name and constructor
 * arguments, structured-cloneable, so transformFromSpec can rebuild it in a
 * worker thread. A transform's own `generator` option is not part of it: the
 * DataLoader hands every sample a generator, which takes precedence anyway.
 */
export interface TransformSpec {
  name: string;
  args: unknown[];
}

/** The strided view of an image tensor; a TypeError naming `op` for anything else. */
export function imageView(img: Tensor, op: string): ImageView {
  if (!(img instanceof Tensor)) {
    throw new TypeError(`${op}: expected an image tensor (uint8 [H, W, C] or float32 [C, H, W]) but received ${describe(img)}`);
  }
  if (img.ndim === 3 && img.dtype === 'uint8') {
    const [height, width, channels] = img.shape;
    return { data: img.data as Uint8Array, height, width, channels, bytes: true, sy: width * channels, sx: channels, sc: 1 };
  }
  if (img.ndim === 3 && img.dtype === 'float32') {
    const [channels, height, width] = img.shape;
    return { data: img.data as Float32Array, height, width, channels, bytes: false, sy: width, sx: 1, sc: height * width };
  }
  throw new TypeError(`${op}: expected an image tensor (uint8 [H, W, C] or float32 [C, H, W]) but received ${img.dtype} [${img.shape.join(', ')}]`);
}

/** Like imageView, but only for uint8 [H, W, C] images (the colour transforms, which round as PIL does). */
export function bytesView(img: Tensor, op: string): ImageView {
  const v = imageView(img, op);
  if (!v.bytes) {
    throw new TypeError(`${op}: expected a uint8 image [H, W, C] but received float32 [${img.shape.join(', ')}]; apply ${op} before ToTensor`);
  }
  return v;
}

/** A new image of the same kind (bytes or float) with the given size, and its view. */
export function newImage(like: ImageView, height: number, width: number, channels = like.channels): { tensor: ImageTensor; view: ImageView } {
  if (like.bytes) {
    const tensor = new Tensor<'uint8'>(new Uint8Array(height * width * channels), [height, width, channels]);
    return { tensor, view: imageView(tensor, 'newImage') };
  }
  const tensor = new Tensor<'float32'>(new Float32Array(channels * height * width), [channels, height, width]);
  return { tensor, view: imageView(tensor, 'newImage') };
}

/** The tensor of a view made by newImage (same storage). */
export function toTensor(view: ImageView): ImageTensor {
  return view.bytes
    ? new Tensor<'uint8'>(view.data as Uint8Array, [view.height, view.width, view.channels])
    : new Tensor<'float32'>(view.data as Float32Array, [view.channels, view.height, view.width]);
}

/**
 * Per-channel fill values in the image's own units (0-255 for bytes, as PIL:
 * truncated to integers; any number for float images).
 */
export function fillValues(fill: number | readonly number[], view: ImageView, op: string): number[] {
  let values: number[];
  if (typeof fill === 'number') values = new Array<number>(view.channels).fill(fill);
  else if (fill.length === 1) values = new Array<number>(view.channels).fill(fill[0]);
  else values = [...fill];
  if (values.length !== view.channels) {
    throw new RangeError(`${op}: fill has ${values.length} values but the image has ${view.channels} channels`);
  }
  return view.bytes ? values.map((v) => Math.min(255, Math.max(0, Math.trunc(v)))) : values;
}

/** Writes the fill values into every pixel of a view. */
export function fillImage(view: ImageView, values: readonly number[]): void {
  if (values.every((v) => v === 0)) return; // new images start zeroed
  for (let y = 0; y < view.height; y++) {
    for (let x = 0; x < view.width; x++) {
      const o = y * view.sy + x * view.sx;
      for (let c = 0; c < view.channels; c++) view.data[o + c * view.sc] = values[c];
    }
  }
}

/** The generator a random transform draws from: the call's, then the transform's own, then the global one. */
export function pickGenerator(call: Generator | undefined, own: Generator | undefined): Generator {
  return call ?? own ?? defaultGenerator();
}

/** A uniform double in [lo, hi). */
export function uniform(g: Generator, lo: number, hi: number): number {
  return lo + (hi - lo) * g.random();
}

/** An output size as [height, width] from a number (square) or a pair. */
export function sizePair(size: number | readonly number[], op: string): [number, number] {
  const pair = typeof size === 'number' ? [size, size] : size.length === 1 ? [size[0], size[0]] : [...size];
  if (pair.length !== 2 || !pair.every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(`${op}: expected a positive integer size or [height, width] but received ${JSON.stringify(size)}`);
  }
  return pair as [number, number];
}

/** Padding as [left, top, right, bottom] from a number, [all], [left/right, top/bottom] or [l, t, r, b]. */
export function paddingLTRB(padding: number | readonly number[], op = 'pad'): [number, number, number, number] {
  const p = typeof padding === 'number' ? [padding] : [...padding];
  const ltrb = p.length === 1 ? [p[0], p[0], p[0], p[0]] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : p;
  if (ltrb.length !== 4 || !ltrb.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new RangeError(`${op}: padding must be a non-negative integer or a list of 1, 2 or 4 of them, but received ${JSON.stringify(padding)}`);
  }
  return ltrb as [number, number, number, number];
}

/** Python's round(): halves go to the even neighbour (torchvision's center crop and crop sizes use it). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function describe(v: unknown): string {
  if (v instanceof Tensor) return `a ${v.dtype} tensor of shape [${v.shape.join(', ')}]`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `${typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : String(v)} of type ${typeof v}`;
}

/** A transform's probability p, checked: in [0, 1]. */
export function checkProbability(p: number, op: string): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: p must be a probability in [0, 1] but received ${p}`);
  return p;
}
