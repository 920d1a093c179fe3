/**
 * The pixel operations of the augmentation policies, as torchvision 0.14 computes them:
 * invert, posterize, solarize, autocontrast, equalize and sharpness on byte images with
 * PIL's arithmetic (ImageOps' lookup tables, ImageFilter.SMOOTH and ImageEnhance's
 * blend), Gaussian blur as torchvision's own convolution (which it runs on PIL images
 * too), and erase. Where torchvision also takes float tensors (invert, solarize,
 * autocontrast, sharpness, blur, erase) float32 [C, H, W] images follow its tensor
 * code, with 1.0 as white.
 */
import { Tensor } from '../tensor/tensor.js';
import { blend } from './color.js';
import { bytesView, fillValues, imageView, newImage, roundHalfEven, type ImageTensor, type ImageView } from './image.js';

const f32 = Math.fround;

/** A copy of a byte image with each channel's bytes mapped through its 256-entry table. */
function lookup(v: ImageView, tables: (c: number) => ArrayLike<number>): Tensor<'uint8'> {
  const src = v.data as Uint8Array;
  const out = new Uint8Array(src.length);
  for (let c = 0; c < v.channels; c++) {
    const t = tables(c);
    for (let i = c; i < src.length; i += v.channels) out[i] = t[src[i]];
  }
  return new Tensor<'uint8'>(out, [v.height, v.width, v.channels]);
}

/** A copy of a float image with f applied to each value of channel c. */
function mapFloat(v: ImageView, f: (x: number, c: number) => number): Tensor<'float32'> {
  const src = v.data as Float32Array;
  const out = new Float32Array(src.length);
  const plane = v.height * v.width;
  for (let c = 0; c < v.channels; c++) for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = f(src[i], c);
  return new Tensor<'float32'>(out, [v.channels, v.height, v.width]);
}

/** The table of one function of a byte. */
function table(f: (i: number) => number): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => f(i));
}

/** 255 - x on bytes (ImageOps.invert), 1 - x on floats. */
export function invert(img: ImageTensor): ImageTensor {
  const v = imageView(img, 'invert');
  if (v.bytes) {
    const t = table((i) => 255 - i);
    return lookup(v, () => t);
  }
  return mapFloat(v, (x) => f32(1 - x));
}

/** Keeps the `bits` (0-8) highest bits of every byte (ImageOps.posterize); byte images only, as torchvision. */
export function posterize(img: ImageTensor, bits: number): Tensor<'uint8'> {
  const v = bytesView(img, 'posterize');
  if (!(Number.isInteger(bits) && bits >= 0 && bits <= 8)) throw new RangeError(`posterize: bits must be an integer in [0, 8] but received ${bits}`);
  const mask = ~((1 << (8 - bits)) - 1) & 255;
  const t = table((i) => i & mask);
  return lookup(v, () => t);
}

/** Inverts every value at or above `threshold` (ImageOps.solarize on bytes: below it stays; on floats threshold <= 1). */
export function solarize(img: ImageTensor, threshold: number): ImageTensor {
  const v = imageView(img, 'solarize');
  if (!Number.isFinite(threshold)) throw new RangeError(`solarize: threshold must be a number but received ${threshold}`);
  if (v.bytes) {
    const t = table((i) => (i < threshold ? i : 255 - i));
    return lookup(v, () => t);
  }
  if (threshold > 1) throw new RangeError(`solarize: threshold must be at most 1 for a float image but received ${threshold}`);
  return mapFloat(v, (x) => (x >= threshold ? f32(1 - x) : x));
}

/**
 * Stretches each channel to the full range: its darkest value to black, its brightest
 * to white. Bytes: ImageOps.autocontrast's table (int(i * scale + offset) in doubles);
 * floats: torchvision's (x - min) * (1 / (max - min)) in float32, clamped to [0, 1].
 */
export function autocontrast(img: ImageTensor): ImageTensor {
  const v = imageView(img, 'autocontrast');
  const plane = v.height * v.width;
  if (v.bytes) {
    const hist = histograms(v);
    return lookup(v, (c) => {
      const h = hist[c];
      let lo = 0;
      while (lo < 256 && !h[lo]) lo++;
      let hi = 255;
      while (hi >= 0 && !h[hi]) hi--;
      if (hi <= lo) return table((i) => i);
      const scale = 255 / (hi - lo);
      const offset = -lo * scale;
      return table((i) => Math.min(255, Math.max(0, Math.trunc(i * scale + offset))));
    });
  }
  const d = v.data as Float32Array;
  const lo: number[] = [];
  const sc: number[] = [];
  for (let c = 0; c < v.channels; c++) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = c * plane; i < (c + 1) * plane; i++) {
      min = Math.min(min, d[i]);
      max = Math.max(max, d[i]);
    }
    const scale = f32(1 / f32(max - min));
    // a flat channel: torchvision's scale is infinite, and it takes min 0, scale 1 instead
    lo.push(Number.isFinite(scale) ? min : 0);
    sc.push(Number.isFinite(scale) ? scale : 1);
  }
  return mapFloat(v, (x, c) => Math.min(1, Math.max(0, f32(f32(x - lo[c]) * sc[c]))));
}

/** Per-channel histograms of a byte image. */
function histograms(v: ImageView): Uint32Array[] {
  const hist = Array.from({ length: v.channels }, () => new Uint32Array(256));
  const d = v.data as Uint8Array;
  for (let i = 0; i < d.length; i++) hist[i % v.channels][d[i]]++;
  return hist;
}

/** Equalizes each channel's histogram (ImageOps.equalize's table); byte images only, as torchvision. */
export function equalize(img: ImageTensor): Tensor<'uint8'> {
  const v = bytesView(img, 'equalize');
  const hist = histograms(v);
  return lookup(v, (c) => {
    const h = hist[c];
    const used: number[] = [];
    for (let i = 0; i < 256; i++) if (h[i]) used.push(h[i]);
    if (used.length <= 1) return table((i) => i);
    const step = Math.floor((used.reduce((a, b) => a + b, 0) - used[used.length - 1]) / 256);
    if (!step) return table((i) => i);
    const t = new Uint8Array(256);
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      t[i] = Math.min(255, Math.floor(n / step));
      n += h[i];
    }
    return t;
  });
}

/**
 * Sharpens (factor > 1) or softens (factor < 1) by blending with a smoothed copy:
 * the 3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13 on the interior, the border kept. Bytes:
 * ImageEnhance.Sharpness (ImageFilter.SMOOTH in float32, rounded; PIL's blend);
 * floats: torchvision's _blend, clamped to [0, 1].
 */
export function adjustSharpness(img: ImageTensor, factor: number): ImageTensor {
  const v = imageView(img, 'adjustSharpness');
  if (!(factor >= 0 && Number.isFinite(factor))) throw new RangeError(`adjustSharpness: factor must be a non-negative number but received ${factor}`);
  const { height: h, width: w, channels } = v;
  const d = v.data;
  if (v.bytes) {
    if (channels !== 1 && channels !== 3 && channels !== 4) {
      throw new RangeError(`adjustSharpness: expected an image with 1, 3 or 4 channels but received ${channels}`);
    }
    // ImageFilter.SMOOTH: float32 weights 1/13 and 5/13, each row's three products summed, rows added
    // bottom to top (PIL's kernel walk), +0.5 and truncated; the first and last rows and columns copied.
    const k1 = f32(1 / 13);
    const k5 = f32(5 / 13);
    const smooth = new Uint8Array(d as Uint8Array);
    if (h >= 3 && w >= 3) {
      const { sx, sy } = v;
      const row = (p: number, kc: number) => f32(f32(f32(d[p - sx] * k1) + f32(d[p] * kc)) + f32(d[p + sx] * k1));
      for (let y = 1; y < h - 1; y++) {
        for (let x = 1; x < w - 1; x++) {
          for (let c = 0; c < channels; c++) {
            const p = y * sy + x * sx + c;
            const ss = f32(f32(row(p + sy, k1) + row(p, k5)) + row(p - sy, k1));
            smooth[p] = ss <= 0 ? 0 : ss >= 255 ? 255 : Math.trunc(f32(ss + 0.5));
          }
        }
      }
    }
    return blend(img, v, factor, (i, c) => smooth[i * channels + c]);
  }
  if (h <= 2 || w <= 2) return mapFloat(v, (x) => x);
  const k1 = f32(1 / 13);
  const k5 = f32(5 / 13);
  const ratio = f32(factor);
  const rest = f32(1 - factor);
  const src = d as Float32Array;
  const out = new Float32Array(src.length);
  for (let c = 0; c < channels; c++) {
    const o = c * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = o + y * w + x;
        // the border: torchvision blends the image with itself there
        let deg = src[i];
        if (y > 0 && y < h - 1 && x > 0 && x < w - 1) {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += src[i + dy * w + dx] * (dy === 0 && dx === 0 ? k5 : k1);
          deg = f32(s);
        }
        out[i] = Math.min(1, Math.max(0, f32(f32(ratio * src[i]) + f32(rest * deg))));
      }
    }
  }
  return new Tensor<'float32'>(out, [channels, h, w]);
}

/** torchvision's _get_gaussian_kernel1d in float32: exp(-x^2 / (2 sigma^2)) at -k/2..k/2, normalised. */
function gaussianKernel1d(size: number, sigma: number): Float32Array {
  const half = (size - 1) * 0.5;
  const s = f32(sigma);
  const pdf = new Float32Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const t = f32(f32(-half + i) / s);
    pdf[i] = f32(Math.exp(f32(-0.5 * f32(t * t))));
    sum = f32(sum + pdf[i]);
  }
  return pdf.map((p) => f32(p / sum));
}

/**
 * Gaussian blur as torchvision computes it on tensors and on PIL images alike: its
 * float32 1D kernels (kernelSize [x, y], odd; torchvision convolves with their outer
 * product) over the image padded by reflection; bytes are rounded half to even. sigma defaults to
 * 0.3 ((k - 1) / 2 - 1) + 0.8 per axis, torchvision's 0.15 k + 0.35.
 */
export function gaussianBlur(img: ImageTensor, kernelSize: number | readonly number[], sigma?: number | readonly number[]): ImageTensor {
  const v = imageView(img, 'gaussianBlur');
  const ks = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize.length === 1 ? [kernelSize[0], kernelSize[0]] : [...kernelSize];
  if (ks.length !== 2 || !ks.every((k) => Number.isInteger(k) && k > 0 && k % 2 === 1)) {
    throw new RangeError(`gaussianBlur: kernelSize must be an odd positive integer or [x, y] of them but received ${JSON.stringify(kernelSize)}`);
  }
  const sg =
    sigma === undefined ? ks.map((k) => k * 0.15 + 0.35) : typeof sigma === 'number' ? [sigma, sigma] : sigma.length === 1 ? [sigma[0], sigma[0]] : [...sigma];
  if (sg.length !== 2 || !sg.every((s) => s > 0 && Number.isFinite(s))) {
    throw new RangeError(`gaussianBlur: sigma must be a positive number or [x, y] of them but received ${JSON.stringify(sigma)}`);
  }
  const kx = gaussianKernel1d(ks[0], sg[0]);
  const ky = gaussianKernel1d(ks[1], sg[1]);
  const rx = (ks[0] - 1) / 2;
  const ry = (ks[1] - 1) / 2;
  const { height: h, width: w } = v;
  const reflect = (i: number, n: number) => {
    if (n === 1) return 0;
    const period = 2 * (n - 1);
    const m = ((i % period) + period) % period;
    return m < n ? m : period - m;
  };
  const xs = Int32Array.from({ length: w + 2 * rx }, (_, i) => reflect(i - rx, w));
  const ys = Int32Array.from({ length: h + 2 * ry }, (_, i) => reflect(i - ry, h));
  const out = newImage(v, h, w);
  const o = out.view;
  // Separable, in doubles: the same sum as torchvision's 2D kernel (the outer product of the two) up to
  // float32 rounding, which moves a byte only when the exact value lies within about 1e-5 of x.5.
  const plane = new Float64Array(h * w);
  const rows = new Float64Array(h * w);
  for (let c = 0; c < v.channels; c++) {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) plane[y * w + x] = v.data[y * v.sy + x * v.sx + c * v.sc];
    for (let y = 0; y < h; y++) {
      const r = y * w;
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let j = 0; j < ks[0]; j++) acc += plane[r + xs[x + j]] * kx[j];
        rows[r + x] = acc;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let acc = 0;
        for (let i = 0; i < ks[1]; i++) acc += rows[ys[y + i] * w + x] * ky[i];
        const val = f32(acc);
        o.data[y * o.sy + x * o.sx + c * o.sc] = v.bytes ? Math.min(255, Math.max(0, roundHalfEven(val))) : val;
      }
    }
  }
  return out.tensor;
}

/** What erase writes: one value, a value per channel, or a float32 [C, h, w] (or [1, h, w]) patch. */
export type EraseValue = number | readonly number[] | Tensor;

/**
 * A copy of the image with the box [i, i + h) x [j, j + w) (rows, columns) set to `value`
 * (torchvision's erase, which RandomErasing applies). Byte values are truncated to 0-255.
 */
export function erase(img: ImageTensor, i: number, j: number, h: number, w: number, value: EraseValue): ImageTensor {
  const v = imageView(img, 'erase');
  if (![i, j, h, w].every(Number.isInteger) || i < 0 || j < 0 || h < 0 || w < 0 || i + h > v.height || j + w > v.width) {
    throw new RangeError(`erase: the box (top ${i}, left ${j}, height ${h}, width ${w}) must lie inside the ${v.height}x${v.width} image`);
  }
  const out = newImage(v, v.height, v.width);
  const o = out.view;
  o.data.set(v.data);
  let at: (c: number, y: number, x: number) => number;
  if (value instanceof Tensor) {
    const [pc, ph, pw] = value.shape;
    if (value.ndim !== 3 || (pc !== 1 && pc !== v.channels) || ph !== h || pw !== w) {
      throw new RangeError(`erase: a value tensor must be [${v.channels} or 1, ${h}, ${w}] but received [${value.shape.join(', ')}]`);
    }
    const pd = value.data;
    at = (c, y, x) => pd[((pc === 1 ? 0 : c) * h + y) * w + x];
  } else {
    const fill = typeof value === 'number' ? [value] : [...value];
    if (fill.length !== 1 && fill.length !== v.channels)
      throw new RangeError(`erase: value has ${fill.length} numbers but the image has ${v.channels} channels`);
    const per = fill.length === 1 ? new Array<number>(v.channels).fill(fill[0]) : fill;
    const vals = v.bytes ? fillValues(per, v, 'erase') : per;
    at = (c) => vals[c];
  }
  for (let y = i; y < i + h; y++) {
    for (let x = j; x < j + w; x++) {
      for (let c = 0; c < v.channels; c++) {
        const val = at(c, y - i, x - j);
        o.data[y * o.sy + x * o.sx + c * o.sc] = v.bytes ? Math.min(255, Math.max(0, Math.trunc(val))) : val;
      }
    }
  }
  return out.tensor;
}
