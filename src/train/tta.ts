/**
 * Test-time augmentation: a preprocessed batch [N, C, H, W] is classified in several
 * views and the class probabilities averaged (probabilities, not logits: each view's
 * softmax counts equally, as timm's and torchvision's ten-crop evaluations average).
 *
 * - 'flip': the batch and its mirror image (left-right), 2 views;
 * - 'flip+crops': the whole picture and its four corner crops of 7/8 of the side
 *   (resized back, bilinear, to H x W), each also mirrored, 10 views.
 *
 * The views are made from the preprocessed tensor, so they work for any checkpoint's
 * preprocessing (including training's usual resize = crop size, where cropping the
 * decoded picture again would give the same view five times).
 */
import { log } from '../tensor/ops/elementwise.js';
import { softmax } from '../tensor/ops/reduce.js';
import { reshape } from '../tensor/ops/movement.js';
import { Tensor } from '../tensor/tensor.js';
import { hflip, resizedCrop } from '../transforms/functional.js';
import type { ImageTensor } from '../transforms/image.js';

export const TTA_MODES = ['none', 'flip', 'flip+crops'] as const;
export type TTA = (typeof TTA_MODES)[number];

/** Throws a RangeError naming `where` unless tta is one of TTA_MODES. */
export function checkTTA(tta: unknown, where: string): TTA {
  if (!TTA_MODES.includes(tta as TTA)) throw new RangeError(`${where}: tta must be one of ${TTA_MODES.join(', ')}, got ${JSON.stringify(tta)}`);
  return tta as TTA;
}

/** The views of a batch [N, C, H, W] for `tta`, in order (the batch itself first). */
export function ttaViews(x: Tensor, tta: TTA): Tensor[] {
  if (tta === 'none') return [x];
  if (x.dtype !== 'float32' || x.ndim !== 4) throw new TypeError(`tta: expected a float32 batch [N, C, H, W], got ${x.dtype} [${x.shape.join(', ')}]`);
  const [n, c, h, w] = x.shape;
  // the image functions take [C, H, W]: the batch as one picture of N·C planes
  const planes = reshape(x as Tensor<'float32'>, [n * c, h, w]);
  const back = (t: Tensor) => reshape(t, [n, c, h, w]);
  const mirrored = (t: Tensor<'float32'> | ImageTensor) => [back(t), back(hflip(t))];
  if (tta === 'flip') return mirrored(planes);
  const ch = Math.max(1, Math.round((7 * h) / 8));
  const cw = Math.max(1, Math.round((7 * w) / 8));
  const corners = [
    [0, 0],
    [0, w - cw],
    [h - ch, 0],
    [h - ch, w - cw],
  ];
  return [planes, ...corners.map(([top, left]) => resizedCrop(planes, top, left, ch, cw, [h, w], 'bilinear'))].flatMap(mirrored);
}

/** The mean over the views of softmax(forward(view)) (rows of class probabilities [N, K]); forward runs each view once. */
export function ttaProbabilities(forward: (x: Tensor) => Tensor, x: Tensor, tta: TTA): Tensor<'float32'> {
  const views = ttaViews(x, tta);
  let sum: Float64Array | null = null;
  let shape: readonly number[] = [];
  for (const v of views) {
    const p = softmax(forward(v), 1);
    if (sum === null) {
      sum = new Float64Array(p.size);
      shape = p.shape;
    }
    const d = p.data as Float32Array;
    for (let i = 0; i < d.length; i++) sum[i] += d[i];
  }
  return new Tensor<'float32'>(
    Float32Array.from(sum!, (s) => s / views.length),
    shape,
  );
}

/** Scores whose softmax is the averaged probabilities (their logarithm), for losses and metrics that take logits. */
export function ttaLogits(forward: (x: Tensor) => Tensor, x: Tensor, tta: TTA): Tensor<'float32'> {
  return log(ttaProbabilities(forward, x, tta));
}
