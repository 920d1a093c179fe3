/**
 * Grad-CAM (Selvaraju et al., 2017): where in a picture the evidence for a class lies.
 *
 *   A = the activations of the network's last convolutional stage   [N, K, h, w]
 *   g = d(score of class c) / dA                                      (the logit, before softmax)
 *   α_k = mean over (h, w) of g_k                                     (one weight per channel)
 *   cam = ReLU(Σ_k α_k · A_k)                                         [N, h, w]
 *
 * then upsampled to the input (bilinear, as F.interpolate with align_corners=False) and
 * divided by its maximum, so 1 is the most important place and 0 none.
 *
 * The stage is the last of the classifier contract's `featureInfo` (every registered model
 * with a convolution names its stages). A forward hook on it swaps its output for a leaf
 * tensor that records gradients, so the backward pass stops there; the parameters stop
 * requiring gradients for the call, so nothing before the stage is taped and no
 * parameter's `.grad` changes. The network runs in evaluation mode.
 */
import type { ImageClassifier } from '../models/classifier.js';
import type { AnyModule } from '../nn/module.js';
import { inEvalMode } from '../nn/utils.js';
import { backward, noGrad } from '../tensor/autograd.js';
import { fmtShape } from '../tensor/errors.js';
import { mul } from '../tensor/ops/elementwise.js';
import { softmax, sum } from '../tensor/ops/reduce.js';
import { Tensor } from '../tensor/tensor.js';

export class GradCamError extends Error {
  override name = 'GradCamError';
}

/** What Grad-CAM needs of a network: a module, and the classifier contract's stages when it has them. */
export type CamNetwork = AnyModule & Partial<Pick<ImageClassifier, 'featureInfo'>>;

/** The dotted name of the network's last convolutional stage (its last `featureInfo` entry). */
export function gradCamLayer(net: CamNetwork): string {
  const stage = net.featureInfo?.at(-1);
  if (!stage) throw new GradCamError(`Grad-CAM: ${net.constructor.name} names no convolutional stage (featureInfo is empty), so it has no map to explain`);
  return stage.module;
}

export interface GradCamOptions {
  /** the class of each picture (one number for all); default: each picture's predicted class */
  classIndex?: number | readonly number[];
  /** the module whose activations are weighted (default: gradCamLayer(net)) */
  layer?: string;
}

export interface GradCamResult {
  /** ReLU(Σ α_k A_k) at the stage's resolution, [N, height, width] row-major, not normalised */
  maps: Float32Array;
  height: number;
  width: number;
  /** the class explained, per picture */
  classIndex: number[];
  /** every class's probability, per picture ([N, C] row-major) */
  probs: Float32Array;
  numClasses: number;
  layer: string;
}

/** Grad-CAM of a preprocessed batch [N, C, H, W]. */
export function gradCam(net: CamNetwork, x: Tensor, { classIndex, layer = gradCamLayer(net) }: GradCamOptions = {}): GradCamResult {
  let target: AnyModule;
  try {
    target = net.getSubmodule(layer);
  } catch {
    throw new GradCamError(`Grad-CAM: ${net.constructor.name} has no module '${layer}'`);
  }
  let activations: Tensor | null = null;
  const handle = target.registerForwardHook((_m: AnyModule, _inputs: unknown[], output: unknown) => {
    if (!(output instanceof Tensor) || output.ndim !== 4) {
      const shape = output instanceof Tensor ? fmtShape(output.shape) : typeof output;
      throw new GradCamError(`Grad-CAM: the output of '${layer}' is ${shape}, not a feature map [N, C, H, W]`);
    }
    const leaf = output.detach();
    leaf.requiresGrad = true;
    activations = leaf;
    return leaf;
  });
  const params = net.parameters();
  const flags = params.map((p) => p.requiresGrad);
  for (const p of params) p.requiresGrad = false;
  let logits: Tensor;
  let chosen: number[];
  try {
    [logits, chosen] = inEvalMode(net, (): [Tensor, number[]] => {
      const y = net.call(x) as Tensor;
      const a = activations as Tensor | null;
      if (a === null) throw new GradCamError(`Grad-CAM: '${layer}' did not run in the forward pass`);
      if (!(y instanceof Tensor) || y.ndim !== 2) throw new GradCamError(`Grad-CAM: the network's output is not logits [N, classes]`);
      const [n, c] = y.shape;
      const classes = Array.from({ length: n }, (_, i) => {
        const k = typeof classIndex === 'number' ? classIndex : classIndex?.[i];
        return k ?? argmaxRow(y.data as Float32Array, i, c);
      });
      for (const k of classes) if (!(Number.isInteger(k) && k >= 0 && k < c)) throw new GradCamError(`Grad-CAM: class ${k} is not one of the ${c} classes`);
      // one backward for the batch: each picture's score depends on its own activations only
      const mask = new Float32Array(n * c);
      classes.forEach((k, i) => (mask[i * c + k] = 1));
      backward(sum(mul(y, new Tensor(mask, [n, c]))));
      return [y, classes];
    });
  } finally {
    handle.remove();
    params.forEach((p, i) => (p.requiresGrad = flags[i]));
  }
  const a = activations as unknown as Tensor;
  const g = a.grad;
  if (!g) throw new GradCamError(`Grad-CAM: the class score does not depend on '${layer}'`);
  const [n, k, h, w] = a.shape;
  const A = a.data as Float32Array;
  const G = g.data as Float32Array;
  const hw = h * w;
  const maps = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    const out = maps.subarray(i * hw, (i + 1) * hw);
    for (let ch = 0; ch < k; ch++) {
      const base = (i * k + ch) * hw;
      let alpha = 0;
      for (let j = 0; j < hw; j++) alpha += G[base + j];
      alpha /= hw;
      if (alpha === 0) continue;
      for (let j = 0; j < hw; j++) out[j] += alpha * A[base + j];
    }
    for (let j = 0; j < hw; j++) if (!(out[j] > 0)) out[j] = 0;
  }
  const probs = noGrad(() => softmax(logits.detach(), 1)).data as Float32Array;
  return { maps, height: h, width: w, classIndex: chosen, probs, numClasses: logits.shape[1], layer };
}
function argmaxRow(d: Float32Array, row: number, c: number): number {
  let best = 0;
  for (let j = 1; j < c; j++) if (d[row * c + j] > d[row * c + best]) best = j;
  return best;
}

/** A [h, w] map resized to [H, W] bilinearly with half-pixel centres (PyTorch's interpolate, align_corners=False). */
export function upsampleBilinear(map: Float32Array, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  const source = (o: number, scale: number, size: number): [number, number, number] => {
    const s = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(s), size - 1);
    const i1 = Math.min(i0 + 1, size - 1);
    return [i0, i1, s - i0];
  };
  for (let y = 0; y < H; y++) {
    const [y0, y1, fy] = source(y, h / H, h);
    for (let x = 0; x < W; x++) {
      const [x0, x1, fx] = source(x, w / W, w);
      const top = map[y0 * w + x0] * (1 - fx) + map[y0 * w + x1] * fx;
      const bottom = map[y1 * w + x0] * (1 - fx) + map[y1 * w + x1] * fx;
      out[y * W + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** Picture i's map upsampled to [H, W] and divided by its maximum (all zeros when nothing speaks for the class). */
export function camAt(result: GradCamResult, i: number, H: number, W: number): Float32Array {
  const hw = result.height * result.width;
  const cam = upsampleBilinear(result.maps.subarray(i * hw, (i + 1) * hw), result.height, result.width, H, W);
  let max = 0;
  for (const v of cam) if (v > max) max = v;
  if (max > 0) for (let j = 0; j < cam.length; j++) cam[j] /= max;
  return cam;
}
