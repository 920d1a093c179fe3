/**
 * The transforms as functions with explicit parameters (torchvision.transforms.functional).
 * The geometric ones are here, on images (uint8 [H, W, C] or float32 [C, H, W]): resize,
 * crop, pad, flips, rotation, affine and perspective warps, and letterboxing. Each follows
 * what torchvision's functional API does to a PIL image, including PIL's arithmetic, so
 * the results on bytes equal torchvision's. The colour and conversion functions are
 * ./color.ts's and ./convert.ts's, the augmentation ones (sharpness, autocontrast,
 * equalize, posterize, solarize, invert, blur, erase) ./enhance.ts's.
 */
import { fillImage, fillValues, imageView, newImage, paddingLTRB, roundHalfEven, sizePair, type ImageTensor, type ImageView } from './image.js';
import { resampleInto, scaleAffine, type Interpolation } from './resample.js';

export type { Interpolation } from './resample.js';
export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';
export type Fill = number | readonly number[];

export { adjustBrightness, adjustContrast, adjustSaturation, adjustHue, rgbToGrayscale } from './color.js';
export { toTensor, normalize } from './convert.js';
export { invert, posterize, solarize, autocontrast, equalize, adjustSharpness, gaussianBlur, erase, type EraseValue } from './enhance.js';

/**
 * torchvision's output size: a number (or [n]) sets the shorter side and keeps
 * the aspect ratio (the longer side truncated, as int() does), optionally
 * capped by maxSize; [h, w] is exact.
 */
export function resizeOutputSize(height: number, width: number, size: number | readonly number[], maxSize?: number): [number, number] {
  if (typeof size !== 'number' && size.length === 2) return sizePair(size, 'resize');
  const requested = typeof size === 'number' ? size : size[0];
  if (!(Number.isInteger(requested) && requested > 0)) {
    throw new RangeError(`resize: expected a positive integer size or [height, width] but received ${JSON.stringify(size)}`);
  }
  const wShort = width <= height;
  const [short, long] = wShort ? [width, height] : [height, width];
  let newShort = requested;
  let newLong = Math.trunc((requested * long) / short);
  if (maxSize !== undefined) {
    if (maxSize <= requested) {
      throw new RangeError(`resize: maxSize (${maxSize}) must be greater than the requested size (${requested})`);
    }
    if (newLong > maxSize) {
      newShort = Math.trunc((maxSize * newShort) / newLong);
      newLong = maxSize;
    }
  }
  return wShort ? [newLong, newShort] : [newShort, newLong];
}

/** Resizes an image (see resizeOutputSize for `size`) with PIL's filters. */
export function resize(
  img: ImageTensor,
  size: number | readonly number[],
  { interpolation = 'bilinear', maxSize }: { interpolation?: Interpolation; maxSize?: number } = {},
): ImageTensor {
  const v = imageView(img, 'resize');
  const [h, w] = resizeOutputSize(v.height, v.width, size, maxSize);
  const out = newImage(v, h, w);
  resampleInto(v, out.view, interpolation);
  return out.tensor;
}

/** The region [top, top + height) x [left, left + width); parts outside the image are 0, as PIL's crop. */
export function crop(img: ImageTensor, top: number, left: number, height: number, width: number): ImageTensor {
  const v = imageView(img, 'crop');
  if (!(Number.isInteger(top) && Number.isInteger(left) && Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new RangeError(`crop: expected integers and a positive size but received top ${top}, left ${left}, height ${height}, width ${width}`);
  }
  const out = newImage(v, height, width);
  const o = out.view;
  const y0 = Math.max(0, -top);
  const y1 = Math.min(height, v.height - top);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, v.width - left);
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const si = (y + top) * v.sy + (x + left) * v.sx;
      const di = y * o.sy + x * o.sx;
      for (let c = 0; c < v.channels; c++) o.data[di + c * o.sc] = v.data[si + c * v.sc];
    }
  }
  return out.tensor;
}

/** torchvision's center_crop: pads with 0 when the crop is larger, rounds the offsets half to even. */
export function centerCrop(img: ImageTensor, size: number | readonly number[]): ImageTensor {
  const [ch, cw] = sizePair(size, 'centerCrop');
  let v = imageView(img, 'centerCrop');
  if (cw > v.width || ch > v.height) {
    const l = cw > v.width ? Math.floor((cw - v.width) / 2) : 0;
    const t = ch > v.height ? Math.floor((ch - v.height) / 2) : 0;
    const r = cw > v.width ? Math.floor((cw - v.width + 1) / 2) : 0;
    const b = ch > v.height ? Math.floor((ch - v.height + 1) / 2) : 0;
    img = pad(img, [l, t, r, b]);
    v = imageView(img, 'centerCrop');
    if (cw === v.width && ch === v.height) return img;
  }
  return crop(img, roundHalfEven((v.height - ch) / 2), roundHalfEven((v.width - cw) / 2), ch, cw);
}

/** Source index for a padded position i (may be outside [0, n)). */
function padIndex(i: number, n: number, mode: PaddingMode): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case 'edge':
      return i < 0 ? 0 : n - 1;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      const m = ((i % period) + period) % period;
      return m < n ? m : period - m;
    }
    case 'symmetric': {
      const period = 2 * n;
      const m = ((i % period) + period) % period;
      return m < n ? m : period - 1 - m;
    }
    default:
      return -1;
  }
}

/** Pads with a constant fill (default 0), the edge pixels, or a reflection (without or with the edge repeated). */
export function pad(
  img: ImageTensor,
  padding: number | readonly number[],
  { fill = 0, mode = 'constant' }: { fill?: Fill; mode?: PaddingMode } = {},
): ImageTensor {
  const v = imageView(img, 'pad');
  if (!['constant', 'edge', 'reflect', 'symmetric'].includes(mode)) {
    throw new RangeError(`pad: mode must be 'constant', 'edge', 'reflect' or 'symmetric' but received '${mode}'`);
  }
  const [l, t, r, b] = paddingLTRB(padding);
  const out = newImage(v, v.height + t + b, v.width + l + r);
  const o = out.view;
  if (mode === 'constant') fillImage(o, fillValues(fill, v, 'pad'));
  for (let y = 0; y < o.height; y++) {
    const sy = padIndex(y - t, v.height, mode);
    if (sy < 0) continue;
    for (let x = 0; x < o.width; x++) {
      const sx = padIndex(x - l, v.width, mode);
      if (sx < 0) continue;
      const si = sy * v.sy + sx * v.sx;
      const di = y * o.sy + x * o.sx;
      for (let c = 0; c < v.channels; c++) o.data[di + c * o.sc] = v.data[si + c * v.sc];
    }
  }
  return out.tensor;
}

/** Mirrors left-right. */
export function hflip(img: ImageTensor): ImageTensor {
  const v = imageView(img, 'hflip');
  return remap(v, v.height, v.width, (x, y) => y * v.sy + (v.width - 1 - x) * v.sx);
}

/** Mirrors top-bottom. */
export function vflip(img: ImageTensor): ImageTensor {
  const v = imageView(img, 'vflip');
  return remap(v, v.height, v.width, (x, y) => (v.height - 1 - y) * v.sy + x * v.sx);
}

/** A new height x width image whose pixel (x, y) is v's pixel at offset from(x, y). */
function remap(v: ImageView, height: number, width: number, from: (x: number, y: number) => number): ImageTensor {
  const out = newImage(v, height, width);
  const o = out.view;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const si = from(x, y);
      const di = y * o.sy + x * o.sx;
      for (let c = 0; c < v.channels; c++) o.data[di + c * o.sc] = v.data[si + c * v.sc];
    }
  }
  return out.tensor;
}

/** torchvision's resized_crop: crop (zeros outside), then resize to `size`. */
export function resizedCrop(
  img: ImageTensor,
  top: number,
  left: number,
  height: number,
  width: number,
  size: number | readonly number[],
  interpolation: Interpolation = 'bilinear',
): ImageTensor {
  return resize(crop(img, top, left, height, width), size, { interpolation });
}

/**
 * Resizes the whole picture to fit inside size (a number for a square, or
 * [height, width]) keeping its aspect ratio, then pads the rest with `fill`,
 * centred. Nothing is cut away, unlike Resize + CenterCrop.
 */
export function letterbox(
  img: ImageTensor,
  size: number | readonly number[],
  { fill = 0, interpolation = 'bilinear' }: { fill?: Fill; interpolation?: Interpolation } = {},
): ImageTensor {
  const [th, tw] = sizePair(size, 'letterbox');
  const v = imageView(img, 'letterbox');
  const scale = Math.min(th / v.height, tw / v.width);
  const nh = Math.min(th, Math.max(1, Math.round(v.height * scale)));
  const nw = Math.min(tw, Math.max(1, Math.round(v.width * scale)));
  const resized = nh === v.height && nw === v.width ? img : resize(img, [nh, nw], { interpolation });
  const top = Math.floor((th - nh) / 2);
  const left = Math.floor((tw - nw) / 2);
  return pad(resized, [left, top, tw - nw - left, th - nh - top], { fill });
}

export interface RotateOptions {
  /** 'nearest' (default, as torchvision), 'bilinear' or 'bicubic' */
  interpolation?: Interpolation;
  /** grow the output to hold the whole rotated picture */
  expand?: boolean;
  /** centre of rotation [x, y] in pixels from the top-left corner; default the image centre */
  center?: readonly [number, number];
  /** value of the area outside the rotated picture */
  fill?: Fill;
}

/** Python's round(x, 15) for the rotation matrix, as PIL computes it. */
function round15(x: number): number {
  return Number(x.toFixed(15));
}

/** Rotates counter-clockwise by `angle` degrees, as PIL's Image.rotate (which torchvision calls). */
export function rotate(img: ImageTensor, angle: number, { interpolation = 'nearest', expand = false, center, fill = 0 }: RotateOptions = {}): ImageTensor {
  const v = imageView(img, 'rotate');
  if (!['nearest', 'bilinear', 'bicubic'].includes(interpolation)) {
    throw new RangeError(`rotate: interpolation must be 'nearest', 'bilinear' or 'bicubic' but received '${interpolation}'`);
  }
  const fillv = fillValues(fill, v, 'rotate');
  const a = ((angle % 360) + 360) % 360;
  let w = v.width;
  let h = v.height;
  if (center === undefined) {
    if (a === 0) return crop(img, 0, 0, h, w);
    if (a === 180) return remap(v, h, w, (x, y) => (h - 1 - y) * v.sy + (w - 1 - x) * v.sx);
    if ((a === 90 || a === 270) && (expand || w === h)) {
      return a === 90 ? remap(v, w, h, (x, y) => x * v.sy + (w - 1 - y) * v.sx) : remap(v, w, h, (x, y) => (h - 1 - x) * v.sy + y * v.sx);
    }
  }
  const [cx, cy] = center ?? [w / 2, h / 2];
  const rad = -(a * Math.PI) / 180;
  const m = [round15(Math.cos(rad)), round15(Math.sin(rad)), 0, round15(-Math.sin(rad)), round15(Math.cos(rad)), 0];
  const apply = (x: number, y: number): [number, number] => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
  [m[2], m[5]] = apply(-cx, -cy);
  m[2] += cx;
  m[5] += cy;
  if (expand) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const [x, y] of [
      [0, 0],
      [w, 0],
      [w, h],
      [0, h],
    ]) {
      const [tx, ty] = apply(x, y);
      xs.push(tx);
      ys.push(ty);
    }
    const nw = Math.ceil(Math.max(...xs)) - Math.floor(Math.min(...xs));
    const nh = Math.ceil(Math.max(...ys)) - Math.floor(Math.min(...ys));
    [m[2], m[5]] = apply(-(nw - w) / 2, -(nh - h) / 2);
    w = nw;
    h = nh;
  }
  const out = newImage(v, h, w);
  fillImage(out.view, fillv);
  transformAffine(v, out.view, m, interpolation);
  return out.tensor;
}

/**
 * PIL's ImagingTransformAffine into a pre-filled output: `m` maps output pixel
 * centres to input coordinates. Nearest uses PIL's 16.16 fixed-point walk (or
 * its scaling path); bilinear and bicubic PIL's generic filters, which
 * truncate to bytes.
 */
function transformAffine(src: ImageView, out: ImageView, m: number[], interpolation: Interpolation): void {
  if (interpolation === 'nearest') {
    if (m[1] === 0 && m[3] === 0) {
      scaleAffine(src, out, m[0], m[2], m[4], m[5]);
      return;
    }
    affineNearest(src, out, m);
    return;
  }
  const bytes = src.bytes;
  const sample = interpolation === 'bilinear' ? bilinearAt : bicubicAt;
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const xin = m[0] * (x + 0.5) + m[1] * (y + 0.5) + m[2];
      const yin = m[3] * (x + 0.5) + m[4] * (y + 0.5) + m[5];
      if (xin < 0 || xin >= src.width || yin < 0 || yin >= src.height) continue;
      const di = y * out.sy + x * out.sx;
      for (let c = 0; c < src.channels; c++) {
        const val = sample(src, c, xin - 0.5, yin - 0.5);
        out.data[di + c * out.sc] = bytes ? (val <= 0 ? 0 : val >= 255 ? 255 : Math.trunc(val)) : val;
      }
    }
  }
}

function affineNearest(src: ImageView, out: ImageView, m: number[]): void {
  const fits = (x: number, y: number) => Math.abs(x * m[0] + y * m[1] + m[2]) < 32768 && Math.abs(x * m[3] + y * m[4] + m[5]) < 32768;
  const W = out.width;
  const H = out.height;
  const put = (x: number, y: number, xi: number, yi: number) => {
    const si = yi * src.sy + xi * src.sx;
    const di = y * out.sy + x * out.sx;
    for (let c = 0; c < src.channels; c++) out.data[di + c * out.sc] = src.data[si + c * src.sc];
  };
  if (fits(0, 0) && fits(W, H) && fits(0, H) && fits(W, 0)) {
    const fix = (x: number) => Math.floor(x * 65536 + 0.5);
    const a0 = fix(m[0]);
    const a1 = fix(m[1]);
    const a3 = fix(m[3]);
    const a4 = fix(m[4]);
    let a2 = fix(m[2] + m[0] * 0.5 + m[1] * 0.5);
    let a5 = fix(m[5] + m[3] * 0.5 + m[4] * 0.5);
    for (let y = 0; y < H; y++) {
      let xx = a2;
      let yy = a5;
      for (let x = 0; x < W; x++) {
        const xi = xx >> 16;
        const yi = yy >> 16;
        if (xi >= 0 && xi < src.width && yi >= 0 && yi < src.height) put(x, y, xi, yi);
        xx = (xx + a0) | 0;
        yy = (yy + a3) | 0;
      }
      a2 = (a2 + a1) | 0;
      a5 = (a5 + a4) | 0;
    }
    return;
  }
  let xo = m[2] + m[1] * 0.5 + m[0] * 0.5;
  let yo = m[5] + m[4] * 0.5 + m[3] * 0.5;
  const coord = (t: number) => (t < 0 ? -1 : Math.trunc(t));
  for (let y = 0; y < H; y++) {
    let xx = xo;
    let yy = yo;
    for (let x = 0; x < W; x++) {
      const xi = coord(xx);
      const yi = coord(yy);
      if (xi >= 0 && xi < src.width && yi >= 0 && yi < src.height) put(x, y, xi, yi);
      xx += m[0];
      yy += m[3];
    }
    xo += m[1];
    yo += m[4];
  }
}

function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i < n ? i : n - 1;
}

/** PIL's bilinear filter at (xin, yin), already shifted by half a pixel. */
function bilinearAt(v: ImageView, c: number, xin: number, yin: number): number {
  const x = Math.floor(xin);
  const y = Math.floor(yin);
  const dx = xin - x;
  const dy = yin - y;
  const x0 = clampIndex(x, v.width) * v.sx + c * v.sc;
  const x1 = clampIndex(x + 1, v.width) * v.sx + c * v.sc;
  let row = clampIndex(y, v.height) * v.sy;
  const d = v.data;
  const v1 = d[row + x0] + (d[row + x1] - d[row + x0]) * dx;
  let v2 = v1;
  if (y + 1 >= 0 && y + 1 < v.height) {
    row = (y + 1) * v.sy;
    v2 = d[row + x0] + (d[row + x1] - d[row + x0]) * dx;
  }
  return v1 + (v2 - v1) * dy;
}

function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p1 = v2;
  const p2 = -v1 + v3;
  const p3 = 2 * (v1 - v2) + v3 - v4;
  const p4 = -v1 + v2 - v3 + v4;
  return p1 + d * (p2 + d * (p3 + d * p4));
}

/** PIL's bicubic (a = -1/2 written as PIL's polynomial) at (xin, yin), already shifted by half a pixel. */
function bicubicAt(v: ImageView, c: number, xin: number, yin: number): number {
  const x = Math.floor(xin) - 1;
  const y = Math.floor(yin) - 1;
  const dx = xin - (x + 1);
  const dy = yin - (y + 1);
  const d = v.data;
  const c0 = c * v.sc;
  const x0 = clampIndex(x, v.width) * v.sx + c0;
  const x1 = clampIndex(x + 1, v.width) * v.sx + c0;
  const x2 = clampIndex(x + 2, v.width) * v.sx + c0;
  const x3 = clampIndex(x + 3, v.width) * v.sx + c0;
  const rowAt = (r: number) => cubic(d[r + x0], d[r + x1], d[r + x2], d[r + x3], dx);
  const r1 = rowAt(clampIndex(y, v.height) * v.sy);
  const r2 = y + 1 >= 0 && y + 1 < v.height ? rowAt((y + 1) * v.sy) : r1;
  const r3 = y + 2 >= 0 && y + 2 < v.height ? rowAt((y + 2) * v.sy) : r2;
  const r4 = y + 3 >= 0 && y + 3 < v.height ? rowAt((y + 3) * v.sy) : r3;
  return cubic(r1, r2, r3, r4, dy);
}

/** The interpolations PIL's transform() takes (rotate, affine, perspective). */
function checkWarpInterpolation(interpolation: Interpolation, op: string): void {
  if (!['nearest', 'bilinear', 'bicubic'].includes(interpolation)) {
    throw new RangeError(`${op}: interpolation must be 'nearest', 'bilinear' or 'bicubic' but received '${interpolation}'`);
  }
}

const RADIANS = Math.PI / 180;

/**
 * torchvision's _get_inverse_affine_matrix (inverted): the 2x3 matrix taking output
 * pixel coordinates to input coordinates, which PIL's transform() walks. The map is
 * T * C * R(angle) * S(scale) * SHy * SHx * C^-1, angle and shears in degrees, clockwise.
 */
export function inverseAffineMatrix(
  center: readonly [number, number],
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: readonly [number, number],
): number[] {
  const rot = angle * RADIANS;
  const sx = shear[0] * RADIANS;
  const sy = shear[1] * RADIANS;
  const [cx, cy] = center;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0].map((x) => x / scale);
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty);
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty);
  m[2] += cx;
  m[5] += cy;
  return m;
}

export interface AffineOptions {
  /** 'nearest' (default, as torchvision), 'bilinear' or 'bicubic' */
  interpolation?: Interpolation;
  /** value of the area outside the transformed picture */
  fill?: Fill;
  /** [x, y] in pixels from the top-left corner; default the image centre */
  center?: readonly [number, number];
}

/**
 * torchvision's affine on a PIL image: rotation by `angle` degrees (clockwise), then
 * `translate` [dx, dy] pixels, `scale`, and `shear` (degrees parallel to x, or [x, y]),
 * about the centre; the output keeps the input's size. PIL's affine transform does the
 * sampling (see rotate).
 */
export function affine(
  img: ImageTensor,
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: number | readonly number[],
  { interpolation = 'nearest', fill = 0, center }: AffineOptions = {},
): ImageTensor {
  const v = imageView(img, 'affine');
  checkWarpInterpolation(interpolation, 'affine');
  if (!(scale > 0)) throw new RangeError(`affine: scale must be positive but received ${scale}`);
  if (!Array.isArray(translate) || translate.length !== 2) throw new RangeError(`affine: translate must be [dx, dy] but received ${JSON.stringify(translate)}`);
  const sh = typeof shear === 'number' ? [shear, 0] : shear.length === 1 ? [shear[0], shear[0]] : [...shear];
  if (sh.length !== 2) throw new RangeError(`affine: shear must be a number or [x, y] but received ${JSON.stringify(shear)}`);
  const m = inverseAffineMatrix(center ?? [v.width * 0.5, v.height * 0.5], angle, translate, scale, sh as [number, number]);
  const out = newImage(v, v.height, v.width);
  fillImage(out.view, fillValues(fill, v, 'affine'));
  transformAffine(v, out.view, m, interpolation);
  return out.tensor;
}

/**
 * The coefficients [a, b, c, d, e, f, g, h] mapping output (x, y) to input
 * ((ax + by + c) / (gx + hy + 1), (dx + ey + f) / (gx + hy + 1)), from the four corners
 * `startpoints` (in the input) and where they land, `endpoints`: torchvision's
 * _get_perspective_coeffs, which solves the same 8 equations (in float32, by least
 * squares; here exactly in doubles, then rounded to float32 as torchvision returns them).
 */
export function perspectiveCoeffs(startpoints: readonly (readonly number[])[], endpoints: readonly (readonly number[])[]): number[] {
  if (startpoints.length !== 4 || endpoints.length !== 4 || ![...startpoints, ...endpoints].every((p) => p.length === 2)) {
    throw new RangeError('perspective: startpoints and endpoints must each be four [x, y] corners (top-left, top-right, bottom-right, bottom-left)');
  }
  const a: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = endpoints[i];
    const [u, w] = startpoints[i];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    a.push([0, 0, 0, x, y, 1, -w * x, -w * y]);
    b.push(u, w);
  }
  // Gaussian elimination with partial pivoting on the 8 x 8 system
  for (let col = 0; col < 8; col++) {
    let piv = col;
    for (let r = col + 1; r < 8; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    if (Math.abs(a[piv][col]) < 1e-12) throw new RangeError('perspective: the corners are degenerate (three of them on a line)');
    [a[col], a[piv]] = [a[piv], a[col]];
    [b[col], b[piv]] = [b[piv], b[col]];
    for (let r = col + 1; r < 8; r++) {
      const f = a[r][col] / a[col][col];
      for (let k = col; k < 8; k++) a[r][k] -= f * a[col][k];
      b[r] -= f * b[col];
    }
  }
  const x = new Array<number>(8).fill(0);
  for (let r = 7; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < 8; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x.map(Math.fround);
}

export interface PerspectiveOptions {
  /** 'bilinear' (default, as torchvision), 'nearest' or 'bicubic' */
  interpolation?: Interpolation;
  fill?: Fill;
}

/**
 * torchvision's perspective on a PIL image: the input corners `startpoints` move to
 * `endpoints` (each [top-left, top-right, bottom-right, bottom-left] as [x, y]). Pass
 * `coeffs` (perspectiveCoeffs' eight numbers) instead of the corners to use given ones.
 */
export function perspective(
  img: ImageTensor,
  startpoints: readonly (readonly number[])[] | null,
  endpoints: readonly (readonly number[])[] | null,
  { interpolation = 'bilinear', fill = 0, coeffs }: PerspectiveOptions & { coeffs?: readonly number[] } = {},
): ImageTensor {
  const v = imageView(img, 'perspective');
  checkWarpInterpolation(interpolation, 'perspective');
  const c = coeffs ?? perspectiveCoeffs(startpoints ?? [], endpoints ?? []);
  if (c.length !== 8) throw new RangeError(`perspective: expected 8 coefficients but received ${c.length}`);
  const out = newImage(v, v.height, v.width);
  fillImage(out.view, fillValues(fill, v, 'perspective'));
  genericTransform(v, out.view, interpolation, (x, y, p) => {
    const den = c[6] * x + c[7] * y + 1;
    p[0] = (c[0] * x + c[1] * y + c[2]) / den;
    p[1] = (c[3] * x + c[4] * y + c[5]) / den;
  });
  return out.tensor;
}

/**
 * PIL's ImagingGenericTransform: each output pixel centre (x + 0.5, y + 0.5) mapped to
 * input coordinates by `map`, sampled with PIL's nearest (truncation), bilinear or
 * bicubic filter; pixels that fall outside keep the fill.
 */
function genericTransform(src: ImageView, out: ImageView, interpolation: Interpolation, map: (x: number, y: number, p: number[]) => void): void {
  const p = [0, 0];
  const bytes = src.bytes;
  const sample = interpolation === 'bilinear' ? bilinearAt : bicubicAt;
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      map(x + 0.5, y + 0.5, p);
      const [xin, yin] = p;
      const di = y * out.sy + x * out.sx;
      if (interpolation === 'nearest') {
        const xi = xin < 0 ? -1 : Math.trunc(xin);
        const yi = yin < 0 ? -1 : Math.trunc(yin);
        if (xi < 0 || xi >= src.width || yi < 0 || yi >= src.height) continue;
        const si = yi * src.sy + xi * src.sx;
        for (let c = 0; c < src.channels; c++) out.data[di + c * out.sc] = src.data[si + c * src.sc];
        continue;
      }
      if (!(xin >= 0 && xin < src.width && yin >= 0 && yin < src.height)) continue;
      for (let c = 0; c < src.channels; c++) {
        const val = sample(src, c, xin - 0.5, yin - 0.5);
        out.data[di + c * out.sc] = bytes ? (val <= 0 ? 0 : val >= 255 ? 255 : Math.trunc(val)) : val;
      }
    }
  }
}
