/**
 * The policy ops as torchvision 0.14 computes them on uint8 tensors, which is how its
 * AugMix runs them even on PIL images (it converts the picture to a tensor first). Only
 * the ops whose tensor code differs from Pillow's live here: the warps (an affine grid
 * and grid_sample, nearest or bilinear, zeros outside), and the Color, Contrast and
 * Sharpness blends (float32 arithmetic, truncated). Images are uint8 [H, W, C] as
 * everywhere in src/transforms; the arithmetic is torch 1.13's float32 as its x86-64 CPU
 * kernels round it (the grid's products term by term, grid_sample's fused multiply-adds),
 * so a result equals torchvision's, up to the order in which torch's convolution sums the
 * sharpness kernel's nine terms (within one grey level where that order matters).
 */
import { Tensor } from '../tensor/tensor.js';
import { inverseAffineMatrix, type Fill } from './functional.js';
import { bytesView, fillValues, roundHalfEven, type ImageView } from './image.js';
import { linspace32 } from './linspace.js';

const f32 = Math.fround;

/** torchvision's tensor rgb_to_grayscale on uint8: (0.2989 R + 0.587 G + 0.114 B) in float32, truncated. */
function grayPlane(v: ImageView): Uint8Array {
  const n = v.height * v.width;
  const out = new Uint8Array(n);
  const d = v.data;
  if (v.channels === 1) {
    out.set(d as Uint8Array);
    return out;
  }
  const [wr, wg, wb] = [f32(0.2989), f32(0.587), f32(0.114)];
  for (let i = 0, p = 0; i < n; i++, p += v.channels) out[i] = Math.trunc(f32(f32(f32(wr * d[p]) + f32(wg * d[p + 1])) + f32(wb * d[p + 2])));
  return out;
}

/** torchvision's _blend on uint8: (ratio x + (1 - ratio) deg) in float32, clamped to [0, 255], truncated. */
function blendTensor(v: ImageView, ratio: number, deg: (i: number, c: number) => number): Tensor<'uint8'> {
  const a = f32(ratio);
  const b = f32(1 - ratio);
  const d = v.data as Uint8Array;
  const out = new Uint8Array(d.length);
  const n = v.height * v.width;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < v.channels; c++) {
      const p = i * v.channels + c;
      const t = f32(f32(a * d[p]) + f32(b * deg(i, c)));
      out[p] = t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
    }
  }
  return new Tensor<'uint8'>(out, [v.height, v.width, v.channels]);
}

/** torchvision's tensor adjust_saturation (grey images unchanged, as PIL). */
export function tensorSaturation(img: Tensor, factor: number): Tensor<'uint8'> {
  const v = bytesView(img, 'adjustSaturation');
  if (v.channels === 1) return img as Tensor<'uint8'>;
  const g = grayPlane(v);
  return blendTensor(v, factor, (i) => g[i]);
}

/** torchvision's tensor adjust_contrast: blends with the float32 mean of the truncated grey plane. */
export function tensorContrast(img: Tensor, factor: number): Tensor<'uint8'> {
  const v = bytesView(img, 'adjustContrast');
  const g = grayPlane(v);
  let sum = 0;
  for (let i = 0; i < g.length; i++) sum += g[i];
  const mean = f32(f32(sum) / g.length);
  return blendTensor(v, factor, () => mean);
}

/** torchvision's tensor adjust_sharpness: the 3x3 smoothing in float32, rounded, on the interior; then _blend. */
export function tensorSharpness(img: Tensor, factor: number): Tensor<'uint8'> {
  const v = bytesView(img, 'adjustSharpness');
  const { height: h, width: w, channels } = v;
  if (h <= 2 || w <= 2) return img as Tensor<'uint8'>;
  const d = v.data as Uint8Array;
  const k1 = f32(1 / 13);
  const k5 = f32(5 / 13);
  const deg = new Uint8Array(d);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let c = 0; c < channels; c++) {
        const p = (y * w + x) * channels + c;
        const up = p - w * channels;
        const dn = p + w * channels;
        const ring = d[up - channels] + d[up] + d[up + channels] + d[p - channels] + d[p + channels] + d[dn - channels] + d[dn] + d[dn + channels];
        deg[p] = Math.min(255, roundHalfEven(f32(ring * k1 + d[p] * k5)));
      }
    }
  }
  return blendTensor(v, factor, (i, c) => deg[i * channels + c]);
}

/**
 * torchvision's tensor affine / rotate: `matrix` (inverse, centred coordinates, as
 * _get_inverse_affine_matrix gives it for tensors) becomes an affine grid over
 * normalised coordinates, sampled by grid_sample (align_corners false, zeros outside;
 * nearest rounds half to even), rounded back to bytes. With a fill, torchvision samples a
 * channel of ones alongside and uses it as the mask: nearest puts the fill where the
 * mask is below 1/2, bilinear blends x mask + fill (1 - mask).
 */
export function tensorWarp(img: Tensor, matrix: readonly number[], interpolation: 'nearest' | 'bilinear', fill: Fill | null): Tensor<'uint8'> {
  const v = bytesView(img, 'affine');
  const { height: h, width: w, channels } = v;
  const d = v.data as Uint8Array;
  const xs = linspace32(-w * 0.5 + 0.5, w * 0.5 + 0.5 - 1, w);
  const ys = linspace32(-h * 0.5 + 0.5, h * 0.5 + 0.5 - 1, h);
  const t = matrix.map(f32);
  const sw = f32(0.5 * w);
  const sh = f32(0.5 * h);
  // rescaled_theta = theta^T / [w / 2, h / 2]
  const r = [f32(t[0] / sw), f32(t[3] / sh), f32(t[1] / sw), f32(t[4] / sh), f32(t[2] / sw), f32(t[5] / sh)];
  const scaleX = f32(w / 2);
  const scaleY = f32(h / 2);
  const fillv = fill === null ? null : fillValues(fill, v, 'affine');
  const out = new Uint8Array(d.length);
  const acc = new Float64Array(channels);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      // the grid: base [x, y, 1] times rescaled_theta, in float32 term by term (what torch's bmm gives here)
      const gx = f32(f32(f32(xs[j] * r[0]) + f32(ys[i] * r[2])) + r[4]);
      const gy = f32(f32(f32(xs[j] * r[1]) + f32(ys[i] * r[3])) + r[5]);
      // grid_sample's unnormalize, (g + 1) * size / 2 - 1/2, the last two as one fused multiply-add
      const ix = f32(f32(gx + 1) * scaleX - 0.5);
      const iy = f32(f32(gy + 1) * scaleY - 0.5);
      const o = (i * w + j) * channels;
      let mask = 0;
      if (interpolation === 'nearest') {
        const xn = roundHalfEven(ix);
        const yn = roundHalfEven(iy);
        const inside = xn > -1 && xn < w && yn > -1 && yn < h;
        mask = inside ? 1 : 0;
        for (let c = 0; c < channels; c++) acc[c] = inside ? d[(yn * w + xn) * channels + c] : 0;
      } else {
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const we = f32(ix - x0);
        const ea = f32(1 - we);
        const n = f32(iy - y0);
        const s = f32(1 - n);
        const inX0 = x0 >= 0 && x0 < w;
        const inX1 = x0 + 1 >= 0 && x0 + 1 < w;
        const inY0 = y0 >= 0 && y0 < h;
        const inY1 = y0 + 1 >= 0 && y0 + 1 < h;
        // nw, ne, sw, se; outside corners read 0 (zeros padding)
        const wnw = f32(s * ea);
        const wne = f32(s * we);
        const wsw = f32(n * ea);
        const wse = f32(n * we);
        const pnw = inX0 && inY0 ? (y0 * w + x0) * channels : -1;
        const pne = inX1 && inY0 ? (y0 * w + x0 + 1) * channels : -1;
        const psw = inX0 && inY1 ? ((y0 + 1) * w + x0) * channels : -1;
        const pse = inX1 && inY1 ? ((y0 + 1) * w + x0 + 1) * channels : -1;
        // (v_nw nw) + (v_ne ne) + (v_sw sw) + (v_se se): the first a product, each later term a fused multiply-add
        for (let c = 0; c < channels; c++) {
          let a = f32(wnw * (pnw >= 0 ? d[pnw + c] : 0));
          a = f32(a + wne * (pne >= 0 ? d[pne + c] : 0));
          a = f32(a + wsw * (psw >= 0 ? d[psw + c] : 0));
          acc[c] = f32(a + wse * (pse >= 0 ? d[pse + c] : 0));
        }
        if (fillv) {
          mask = f32(pnw >= 0 ? wnw : 0);
          mask = f32(mask + (pne >= 0 ? wne : 0));
          mask = f32(mask + (psw >= 0 ? wsw : 0));
          mask = f32(mask + (pse >= 0 ? wse : 0));
        }
      }
      for (let c = 0; c < channels; c++) {
        let val = acc[c];
        if (fillv) {
          if (interpolation === 'nearest') val = mask < 0.5 ? fillv[c] : val;
          else val = f32(f32(val * mask) + f32(f32(1 - mask) * fillv[c]));
        }
        out[o + c] = Math.min(255, Math.max(0, roundHalfEven(val)));
      }
    }
  }
  return new Tensor<'uint8'>(out, [h, w, channels]);
}

/** The centred inverse matrix torchvision's tensor affine builds from its arguments (center [x, y] from the top-left, or null). */
export function tensorAffineMatrix(
  width: number,
  height: number,
  angle: number,
  translate: readonly [number, number],
  scale: number,
  shear: readonly [number, number],
  center: readonly [number, number] | null,
): number[] {
  const c: [number, number] = center === null ? [0, 0] : [center[0] - width * 0.5, center[1] - height * 0.5];
  return inverseAffineMatrix(c, angle, translate, scale, shear);
}
