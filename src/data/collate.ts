/**
 * defaultCollate: a list of samples to a batch.
 *
 * - tuples (arrays) are collated position by position: [x, y] samples give
 *   [X, Y];
 * - uint8 [H, W, C] tensors are images as decoded: they become float32
 *   [N, C, H, W] in [0, 1] (what ToTensor would give, stacked);
 * - other tensors are stacked along a new first axis, keeping their dtype
 *   (float32 [C, H, W] images give [N, C, H, W]);
 * - numbers become an int32 [N] tensor when all are integers (class labels),
 *   else float32.
 */
import { empty, Tensor } from '../tensor/tensor.js';
import type { DType } from '../core/dtype.js';

export type Batch = [Tensor<'float32'>, Tensor<'int32'>];

export function defaultCollate(samples: readonly unknown[]): any {
  if (samples.length === 0) throw new RangeError('collate: no samples');
  const first = samples[0];
  if (Array.isArray(first)) {
    for (const [i, s] of samples.entries()) {
      if (!Array.isArray(s) || s.length !== first.length) {
        throw new TypeError(`collate: sample ${i} is not a tuple of ${first.length} like sample 0`);
      }
    }
    return first.map((_, k) => defaultCollate(samples.map((s) => (s as unknown[])[k])));
  }
  if (first instanceof Tensor) return stackTensors(samples);
  if (typeof first === 'number') {
    const nums = samples as number[];
    if (nums.some((v) => typeof v !== 'number')) throw new TypeError('collate: samples mix numbers and other values');
    return nums.every(Number.isInteger)
      ? new Tensor<'int32'>(Int32Array.from(nums), [nums.length])
      : new Tensor<'float32'>(Float32Array.from(nums), [nums.length]);
  }
  throw new TypeError(`collate: cannot batch values of type ${first === null ? 'null' : typeof first}; pass a collate function`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function stackTensors(samples: readonly unknown[]): Tensor {
  const first = samples[0] as Tensor;
  for (const [i, s] of samples.entries()) {
    if (!(s instanceof Tensor) || s.dtype !== first.dtype || !sameShape(s.shape, first.shape)) {
      const what = s instanceof Tensor ? `${s.dtype} [${s.shape.join(', ')}]` : typeof s;
      throw new TypeError(
        `collate: sample ${i} is ${what} but sample 0 is ${first.dtype} [${first.shape.join(', ')}]; ` +
          'images in a batch need one size (e.g. transforms.Resize + CenterCrop, or Letterbox)',
      );
    }
  }
  const n = samples.length;
  if (first.dtype === 'uint8' && first.ndim === 3) {
    // Images as decoded: HWC bytes to CHW floats in [0, 1].
    const [h, w, c] = first.shape;
    const out = empty([n, c, h, w], 'float32');
    const d = out.data;
    const plane = h * w;
    samples.forEach((s, k) => {
      const src = (s as Tensor).data;
      for (let ch = 0; ch < c; ch++) {
        const o = (k * c + ch) * plane;
        for (let i = 0; i < plane; i++) d[o + i] = src[i * c + ch] / 255;
      }
    });
    return out;
  }
  const size = first.size;
  const out = empty([n, ...first.shape], first.dtype as DType);
  samples.forEach((s, k) => out.data.set((s as Tensor).data, k * size));
  return out;
}
