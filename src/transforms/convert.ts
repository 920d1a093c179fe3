/**
 * From bytes to the network's input: toTensor (uint8 [H, W, C] to float32
 * [C, H, W] in [0, 1]) and normalize (per-channel (x - mean) / std), with
 * torchvision's float32 arithmetic.
 */
import { Tensor } from '../tensor/tensor.js';
import { describe, imageView } from './image.js';

/** uint8 [H, W, C] to float32 [C, H, W] divided by 255; a float32 [C, H, W] image is returned as it is. */
export function toTensor(img: Tensor): Tensor<'float32'> {
  const v = imageView(img, 'toTensor');
  if (!v.bytes) return img as Tensor<'float32'>;
  const { height: h, width: w, channels: c } = v;
  const out = new Float32Array(c * h * w);
  const d = v.data;
  for (let ch = 0; ch < c; ch++) {
    const o = ch * h * w;
    for (let i = 0; i < h * w; i++) out[o + i] = d[i * c + ch] / 255;
  }
  return new Tensor<'float32'>(out, [c, h, w]);
}

/** (x - mean[c]) / std[c] for each channel of a float32 [C, H, W] image (or [N, C, H, W] batch). */
export function normalize(img: Tensor, mean: readonly number[], std: readonly number[]): Tensor<'float32'> {
  if (!(img instanceof Tensor) || img.dtype !== 'float32' || (img.ndim !== 3 && img.ndim !== 4)) {
    throw new TypeError(`normalize: expected a float32 image [C, H, W] or batch [N, C, H, W] (apply ToTensor first) but received ${describe(img)}`);
  }
  const c = img.shape[img.ndim - 3];
  const m = broadcastStats(mean, c, 'mean');
  const s = broadcastStats(std, c, 'std');
  s.forEach((v) => {
    if (v === 0) throw new RangeError('normalize: std evaluated to zero, leading to division by zero');
  });
  const plane = img.shape[img.ndim - 1] * img.shape[img.ndim - 2];
  const src = img.data as Float32Array;
  const out = new Float32Array(src.length);
  for (let base = 0; base < src.length; base += c * plane) {
    for (let ch = 0; ch < c; ch++) {
      const o = base + ch * plane;
      const mc = m[ch];
      const sc = s[ch];
      for (let i = o; i < o + plane; i++) out[i] = Math.fround(src[i] - mc) / sc;
    }
  }
  return new Tensor<'float32'>(out, img.shape);
}

function broadcastStats(values: readonly number[], channels: number, name: string): number[] {
  const v = values.length === 1 ? new Array<number>(channels).fill(values[0]) : [...values];
  if (v.length !== channels) {
    throw new RangeError(`normalize: ${name} has ${values.length} values but the image has ${channels} channels`);
  }
  return v.map(Math.fround);
}
