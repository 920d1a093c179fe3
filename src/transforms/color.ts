/**
 * Colour functions on byte images (uint8 [H, W, C], C = 1, 3, or 4 with the
 * alpha channel left as it is), with PIL's arithmetic as torchvision uses it:
 * ImageEnhance's blends (float32 maths, truncated to bytes), ITU-R 601-2 luma
 * in 16-bit fixed point, and PIL's RGB <-> HSV conversion for the hue shift.
 */
import { Tensor } from '../tensor/tensor.js';
import { bytesView, type ImageView } from './image.js';

const f32 = Math.fround;

/** PIL's "L" conversion of one RGB pixel: (19595 R + 38470 G + 7471 B + 2^15) >> 16. */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

function colorChannels(v: ImageView, op: string): number {
  if (v.channels !== 1 && v.channels !== 3 && v.channels !== 4) {
    throw new RangeError(`${op}: expected an image with 1, 3 or 4 channels but received ${v.channels}`);
  }
  return v.channels === 4 ? 3 : v.channels;
}

/** The luma plane (one byte per pixel) of a 1-, 3- or 4-channel byte image. */
function lumaPlane(v: ImageView): Uint8Array {
  const n = v.height * v.width;
  const out = new Uint8Array(n);
  const d = v.data;
  if (v.channels === 1) out.set(d as Uint8Array);
  else for (let i = 0, p = 0; i < n; i++, p += v.channels) out[i] = luma(d[p], d[p + 1], d[p + 2]);
  return out;
}

/**
 * PIL's ImagingBlend(degenerate, image, factor) on the colour channels: in
 * float32, deg + factor * (img - deg), truncated; clamped to 0..255 when the
 * factor is outside [0, 1]. `deg(i, c)` gives the degenerate value of pixel i.
 */
export function blend(img: Tensor, v: ImageView, factor: number, deg: (i: number, c: number) => number): Tensor<'uint8'> {
  const colors = colorChannels(v, 'blend');
  const a = f32(factor);
  const inRange = a >= 0 && a <= 1;
  const out = new Uint8Array(v.data as Uint8Array);
  const n = v.height * v.width;
  for (let i = 0; i < n; i++) {
    const p = i * v.channels;
    for (let c = 0; c < colors; c++) {
      const d = deg(i, c);
      const t = f32(d + f32(a * (out[p + c] - d)));
      out[p + c] = inRange ? Math.trunc(t) : t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
    }
  }
  return new Tensor<'uint8'>(out, img.shape);
}

/** Multiplies by `factor` (0 gives black), as ImageEnhance.Brightness. */
export function adjustBrightness(img: Tensor, factor: number): Tensor<'uint8'> {
  checkFactor(factor, 'adjustBrightness');
  return blend(img, bytesView(img, 'adjustBrightness'), factor, () => 0);
}

/** Blends with the mean grey level (0 gives flat grey), as ImageEnhance.Contrast. */
export function adjustContrast(img: Tensor, factor: number): Tensor<'uint8'> {
  checkFactor(factor, 'adjustContrast');
  const v = bytesView(img, 'adjustContrast');
  colorChannels(v, 'adjustContrast');
  const l = lumaPlane(v);
  let sum = 0;
  for (let i = 0; i < l.length; i++) sum += l[i];
  const mean = Math.trunc(sum / l.length + 0.5);
  return blend(img, v, factor, () => mean);
}

/** Blends with the greyscale picture (0 gives grey, 2 doubles the saturation), as ImageEnhance.Color. */
export function adjustSaturation(img: Tensor, factor: number): Tensor<'uint8'> {
  checkFactor(factor, 'adjustSaturation');
  const v = bytesView(img, 'adjustSaturation');
  colorChannels(v, 'adjustSaturation');
  const l = lumaPlane(v);
  return blend(img, v, factor, (i) => l[i]);
}

function checkFactor(factor: number, op: string): void {
  if (!(factor >= 0 && Number.isFinite(factor))) throw new RangeError(`${op}: factor must be a non-negative number but received ${factor}`);
}

/** The image's luma as 1 or 3 (equal) channels; alpha is dropped. */
export function rgbToGrayscale(img: Tensor, numOutputChannels: 1 | 3 = 1): Tensor<'uint8'> {
  if (numOutputChannels !== 1 && numOutputChannels !== 3) {
    throw new RangeError(`rgbToGrayscale: numOutputChannels must be 1 or 3 but received ${numOutputChannels}`);
  }
  const v = bytesView(img, 'rgbToGrayscale');
  colorChannels(v, 'rgbToGrayscale');
  const l = lumaPlane(v);
  if (numOutputChannels === 1) return new Tensor<'uint8'>(l, [v.height, v.width, 1]);
  const out = new Uint8Array(l.length * 3);
  for (let i = 0; i < l.length; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = l[i];
  return new Tensor<'uint8'>(out, [v.height, v.width, 3]);
}

/**
 * Shifts the hue by `factor` of a full turn (in [-0.5, 0.5]), as torchvision
 * does to PIL images: convert to PIL's 8-bit HSV, add uint8(factor * 255) to H
 * with wrap-around, convert back. Greyscale images are returned unchanged.
 */
export function adjustHue(img: Tensor, factor: number): Tensor<'uint8'> {
  if (!(factor >= -0.5 && factor <= 0.5)) throw new RangeError(`adjustHue: factor must be in [-0.5, 0.5] but received ${factor}`);
  const v = bytesView(img, 'adjustHue');
  const colors = colorChannels(v, 'adjustHue');
  const out = new Uint8Array(v.data as Uint8Array);
  if (colors === 1) return new Tensor<'uint8'>(out, img.shape);
  const shift = ((Math.trunc(factor * 255) % 256) + 256) % 256;
  const hsv = [0, 0, 0];
  const n = v.height * v.width;
  for (let i = 0; i < n; i++) {
    const p = i * v.channels;
    rgbToHsv(out[p], out[p + 1], out[p + 2], hsv);
    hsvToRgb((hsv[0] + shift) & 255, hsv[1], hsv[2], out, p);
  }
  return new Tensor<'uint8'>(out, img.shape);
}

function clip8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/** PIL's rgb2hsv_row (colorsys' formulas in C floats, truncated to bytes). */
function rgbToHsv(r: number, g: number, b: number, out: number[]): void {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  out[2] = maxc;
  if (minc === maxc) {
    out[0] = 0;
    out[1] = 0;
    return;
  }
  const cr = maxc - minc;
  const s = f32(cr / maxc);
  const rc = f32((maxc - r) / cr);
  const gc = f32((maxc - g) / cr);
  const bc = f32((maxc - b) / cr);
  let h: number;
  if (r === maxc) h = f32(bc - gc);
  else if (g === maxc) h = f32(2.0 + rc - bc);
  else h = f32(4.0 + gc - rc);
  h = f32((h / 6.0 + 1.0) % 1.0);
  out[0] = clip8(Math.trunc(h * 255.0));
  out[1] = clip8(Math.trunc(s * 255.0));
}

/** C's round(): halves away from zero. */
function roundC(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** PIL's hsv2rgb. */
function hsvToRgb(h: number, s: number, v: number, out: Uint8Array, p: number): void {
  if (s === 0) {
    out[p] = out[p + 1] = out[p + 2] = v;
    return;
  }
  const i = Math.floor((f32(h) * 6.0) / 255.0);
  const f = f32((h * 6.0) / 255.0 - i);
  const fs = f32(s / 255.0);
  const up = clip8(roundC(v * (1.0 - fs)));
  const uq = clip8(roundC(v * (1.0 - f32(fs * f))));
  const ut = clip8(roundC(v * (1.0 - fs * (1.0 - f))));
  let r: number, g: number, b: number;
  switch (i % 6) {
    case 0:
      [r, g, b] = [v, ut, up];
      break;
    case 1:
      [r, g, b] = [uq, v, up];
      break;
    case 2:
      [r, g, b] = [up, v, ut];
      break;
    case 3:
      [r, g, b] = [up, uq, v];
      break;
    case 4:
      [r, g, b] = [ut, up, v];
      break;
    default:
      [r, g, b] = [v, up, uq];
      break;
  }
  out[p] = r;
  out[p + 1] = g;
  out[p + 2] = b;
}
