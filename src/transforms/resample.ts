/**
 * Resizing as PIL does it (Pillow's libImaging/Resample.c), which is what
 * torchvision's transforms do to PIL images:
 *
 * - every filter but nearest is a separable convolution whose support grows
 *   with the downscale factor (so downscaling is antialiased): a horizontal
 *   pass over the rows the vertical pass needs, then a vertical pass;
 * - for bytes, the coefficients are fixed point with 22 fractional bits, each
 *   pass rounds (adds half, shifts) and clamps to 0..255, so the results are
 *   PIL's to the byte;
 * - for float images (PIL's mode "F") the sums stay in doubles and are stored as
 *   float32, without rounding or clamping;
 * - nearest is PIL's scaling affine transform: source index
 *   floor((x + 0.5) * in / out), accumulated in doubles exactly as PIL does.
 *
 * sharp's kernels (libvips' reduce/shrink) give different numbers, which is why
 * this is written out here.
 */
import type { ImageView } from './image.js';

export type Interpolation = 'nearest' | 'bilinear' | 'bicubic' | 'box' | 'hamming' | 'lanczos';
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear', 'bicubic', 'box', 'hamming', 'lanczos'];

interface Filter {
  support: number;
  fn: (x: number) => number;
}

const F054 = Math.fround(0.54);
const F046 = Math.fround(0.46);

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

const FILTERS: Record<Exclude<Interpolation, 'nearest'>, Filter> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: {
    support: 1,
    fn: (x) => {
      x = Math.abs(x);
      return x < 1 ? 1 - x : 0;
    },
  },
  hamming: {
    support: 1,
    fn: (x) => {
      x = Math.abs(x);
      if (x === 0) return 1;
      if (x >= 1) return 0;
      x *= Math.PI;
      return (Math.sin(x) / x) * (F054 + F046 * Math.cos(x));
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

interface Coeffs {
  ksize: number;
  /** per output index: first input index, number of taps */
  bounds: Int32Array;
  /** ksize weights per output index, normalised to sum 1 */
  weights: Float64Array;
}

/** PIL's precompute_coeffs for the full input range [0, inSize). */
function precomputeCoeffs(inSize: number, outSize: number, filter: Filter): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Float64Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    const k = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      weights[k + x] = w;
      ww += w;
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) weights[k + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

/** PIL's normalize_coeffs_8bpc: weights as fixed point with 22 fractional bits, rounded half away from zero. */
function fixedPoint(weights: Float64Array): Int32Array {
  const out = new Int32Array(weights.length);
  const one = 1 << PRECISION_BITS;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i];
    out[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one);
  }
  return out;
}

function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** A strided plane set: pixel (y, x, c) at y * sy + x * sx + c * sc. */
interface Strided {
  data: Uint8Array | Float32Array;
  sy: number;
  sx: number;
  sc: number;
}

/**
 * The horizontal pass: `rows` rows of src starting at row `rowOffset`, each
 * resampled to out.width columns (taps in order, so float sums equal PIL's).
 */
function horizontalPass(src: Strided, dst: Strided, coeffs: Coeffs, outWidth: number, rows: number, rowOffset: number, channels: number, bytes: boolean): void {
  const { ksize, bounds, weights } = coeffs;
  const kk = bytes ? fixedPoint(weights) : weights;
  const s = src.data;
  const d = dst.data;
  const { sx, sc } = src;
  const init = bytes ? HALF : 0;
  for (let y = 0; y < rows; y++) {
    const srow = (y + rowOffset) * src.sy;
    const drow = y * dst.sy;
    for (let xx = 0; xx < outWidth; xx++) {
      const taps = bounds[xx * 2 + 1];
      const k0 = xx * ksize;
      const first = srow + bounds[xx * 2] * sx;
      const q = drow + xx * dst.sx;
      if (channels <= 4) {
        // All channels of a tap at once (the common case: 1, 3 or 4 channels).
        let s0 = init,
          s1 = init,
          s2 = init,
          s3 = init;
        let p = first;
        for (let t = 0; t < taps; t++, p += sx) {
          const w = kk[k0 + t];
          s0 += s[p] * w;
          if (channels > 1) {
            s1 += s[p + sc] * w;
            s2 += s[p + 2 * sc] * w;
            if (channels > 3) s3 += s[p + 3 * sc] * w;
          }
        }
        d[q] = bytes ? clip8(s0) : s0;
        if (channels > 1) d[q + dst.sc] = bytes ? clip8(s1) : s1;
        if (channels > 2) d[q + 2 * dst.sc] = bytes ? clip8(s2) : s2;
        if (channels > 3) d[q + 3 * dst.sc] = bytes ? clip8(s3) : s3;
        continue;
      }
      for (let c = 0; c < channels; c++) {
        let ss = init;
        let p = first + c * sc;
        for (let t = 0; t < taps; t++, p += sx) ss += s[p] * kk[k0 + t];
        d[q + c * dst.sc] = bytes ? clip8(ss) : ss;
      }
    }
  }
}

/**
 * The vertical pass, a row at a time: each output row accumulates whole
 * source rows times their weight (per pixel the taps still add in order).
 * `rowOffset` is subtracted from the bounds (src may hold only the rows used).
 */
function verticalPass(src: Strided, dst: Strided, coeffs: Coeffs, outHeight: number, width: number, rowOffset: number, channels: number, bytes: boolean): void {
  const { ksize, bounds, weights } = coeffs;
  const kk = bytes ? fixedPoint(weights) : weights;
  const s = src.data;
  const d = dst.data;
  const { sx, sc } = src;
  const acc = new Float64Array(width * channels);
  const interleaved = sc === 1 && sx === channels;
  for (let yy = 0; yy < outHeight; yy++) {
    acc.fill(bytes ? HALF : 0);
    const taps = bounds[yy * 2 + 1];
    const k0 = yy * ksize;
    for (let t = 0; t < taps; t++) {
      const w = kk[k0 + t];
      const row = (bounds[yy * 2] - rowOffset + t) * src.sy;
      if (interleaved) {
        // Interleaved rows (HWC): one contiguous run of width * channels values.
        for (let i = 0, n = width * channels; i < n; i++) acc[i] += s[row + i] * w;
        continue;
      }
      for (let c = 0; c < channels; c++) {
        const a0 = c * width;
        let p = row + c * sc;
        for (let x = 0; x < width; x++, p += sx) acc[a0 + x] += s[p] * w;
      }
    }
    const drow = yy * dst.sy;
    if (interleaved && dst.sc === 1 && dst.sx === channels) {
      for (let i = 0, n = width * channels; i < n; i++) d[drow + i] = bytes ? clip8(acc[i]) : acc[i];
      continue;
    }
    // acc holds pixel (x, c) at x * channels + c when interleaved, else at c * width + x.
    const ax = interleaved ? channels : 1;
    const ac = interleaved ? 1 : width;
    for (let c = 0; c < channels; c++) {
      let q = drow + c * dst.sc;
      for (let x = 0; x < width; x++, q += dst.sx) {
        const v = acc[x * ax + c * ac];
        d[q] = bytes ? clip8(v) : v;
      }
    }
  }
}

/** Resizes a whole image to width x height into `out` (a view of that size, same kind). */
export function resampleInto(src: ImageView, out: ImageView, interpolation: Interpolation): void {
  if (interpolation === 'nearest') return nearest(src, out);
  const filter = FILTERS[interpolation];
  if (!filter) throw new RangeError(`resize: unknown interpolation '${interpolation}' (expected one of ${INTERPOLATIONS.join(', ')})`);
  const { width, height, channels, bytes } = out;
  const needH = width !== src.width;
  const needV = height !== src.height;
  const vert = precomputeCoeffs(src.height, height, filter);
  let stage: Strided = src;
  let offset = 0;
  if (needH) {
    // Only the rows the vertical pass reads: [first, last).
    const first = needV ? vert.bounds[0] : 0;
    const last = needV ? vert.bounds[(height - 1) * 2] + vert.bounds[(height - 1) * 2 + 1] : src.height;
    const rows = last - first;
    const horiz = precomputeCoeffs(src.width, width, filter);
    const target: Strided = needV
      ? { data: bytes ? new Uint8Array(rows * width * channels) : new Float32Array(rows * width * channels), sy: width * channels, sx: channels, sc: 1 }
      : out;
    horizontalPass(src, target, horiz, width, rows, first, channels, bytes);
    stage = target;
    offset = first;
  }
  if (needV) {
    verticalPass(stage, out, vert, height, width, offset, channels, bytes);
  } else if (!needH) {
    copyPixels(src, out);
  }
}

function nearest(src: ImageView, out: ImageView): void {
  scaleAffine(src, out, src.width / out.width, 0, src.height / out.height, 0);
}

/**
 * PIL's ImagingScaleAffine (nearest neighbour for an affine map without
 * rotation): output pixel (x, y) reads input (floor(a2 + a0 (x + 1/2)),
 * floor(a5 + a4 (y + 1/2))), the positions accumulated in doubles as PIL does;
 * pixels that fall outside are left as they are.
 */
export function scaleAffine(src: ImageView, out: ImageView, a0: number, a2: number, a4: number, a5: number): void {
  const coord = (t: number) => (t < 0 ? -1 : Math.trunc(t));
  const xin = new Int32Array(out.width);
  let xo = a2 + a0 * 0.5;
  for (let x = 0; x < out.width; x++) {
    xin[x] = coord(xo);
    xo += a0;
  }
  let yo = a5 + a4 * 0.5;
  for (let y = 0; y < out.height; y++) {
    const yi = coord(yo);
    yo += a4;
    if (yi < 0 || yi >= src.height) continue;
    for (let x = 0; x < out.width; x++) {
      const xi = xin[x];
      if (xi < 0 || xi >= src.width) continue;
      const si = yi * src.sy + xi * src.sx;
      const di = y * out.sy + x * out.sx;
      for (let c = 0; c < out.channels; c++) out.data[di + c * out.sc] = src.data[si + c * src.sc];
    }
  }
}

export function copyPixels(src: ImageView, out: ImageView): void {
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const si = y * src.sy + x * src.sx;
      const di = y * out.sy + x * out.sx;
      for (let c = 0; c < out.channels; c++) out.data[di + c * out.sc] = src.data[si + c * src.sc];
    }
  }
}
