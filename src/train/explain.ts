/**
 * Grad-CAM through the one inference path: a picture file (or its bytes) decoded and
 * preprocessed by a Predictor, its class activation map (src/metrics/gradcam.ts), and
 * the map drawn over the picture as the network saw it (after the checkpoint's resize
 * and crop), as PNG bytes. `tsvision explain` and the evaluation report use it.
 */
import { camAt, gradCam } from '../metrics/gradcam.js';
import { blendHeatmap, encodePng } from '../metrics/overlay.js';
import { loadSharp } from '../data/decode.js';
import { Tensor } from '../tensor/tensor.js';
import { evalTransform } from '../transforms/presets.js';
import type { Predictor } from './predictor.js';

export interface ExplainOptions {
  /** the class to explain (default: the predicted one) */
  classIndex?: number;
  /** the overlay's smallest side in pixels: a smaller network input is scaled up to it (default 224) */
  minSize?: number;
}

export interface Explanation {
  /** every class's probability */
  probs: number[];
  /** the class explained */
  classIndex: number;
  /** the normalised map at the network's input size, [height, width] row-major, in [0, 1] */
  cam: Float32Array;
  width: number;
  height: number;
  /** the stage whose activations were weighted */
  layer: string;
  /** the overlay: the map blended over the preprocessed picture, PNG */
  png: Buffer;
  overlayWidth: number;
  overlayHeight: number;
}

/** The picture as the network sees it (resize and crop, no normalisation) as RGB bytes [H, W, 3]. */
function viewOf(predictor: Predictor, image: Tensor<'uint8'>): { rgb: Uint8Array; width: number; height: number } {
  const c = predictor.preprocess.channels;
  const view = evalTransform({ ...predictor.preprocess, mean: new Array<number>(c).fill(0), std: new Array<number>(c).fill(1) }).apply(image) as Tensor;
  const [, height, width] = view.shape;
  const plane = height * width;
  const d = view.data as Float32Array;
  const rgb = new Uint8Array(plane * 3);
  for (let j = 0; j < plane; j++)
    for (let ch = 0; ch < 3; ch++) rgb[j * 3 + ch] = Math.round(Math.min(Math.max(d[(c === 1 ? 0 : ch) * plane + j], 0), 1) * 255);
  return { rgb, width, height };
}

/** Grad-CAM of one picture with the predictor's network, and its overlay. */
export async function explainImage(predictor: Predictor, input: string | Uint8Array, { classIndex, minSize = 224 }: ExplainOptions = {}): Promise<Explanation> {
  const image = await predictor.decode(input);
  const x = predictor.preprocessImage(image);
  const batch = new Tensor(x.data as Float32Array, [1, ...x.shape]);
  const result = gradCam(predictor.net, batch, classIndex === undefined ? {} : { classIndex });
  const [, , height, width] = batch.shape;
  const view = viewOf(predictor, image);
  const scale = Math.max(1, Math.ceil(minSize / Math.min(width, height)));
  const ow = view.width * scale;
  const oh = view.height * scale;
  let picture = view.rgb;
  if (scale > 1) {
    const sharp = await loadSharp();
    const raw = await sharp(Buffer.from(view.rgb), { raw: { width: view.width, height: view.height, channels: 3 } })
      .resize(ow, oh, { kernel: 'nearest' })
      .raw()
      .toBuffer();
    picture = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  }
  const png = await encodePng(blendHeatmap(picture, camAt(result, 0, oh, ow)), ow, oh);
  return {
    probs: Array.from(result.probs.subarray(0, result.numClasses)),
    classIndex: result.classIndex[0],
    cam: camAt(result, 0, height, width),
    width,
    height,
    layer: result.layer,
    png,
    overlayWidth: ow,
    overlayHeight: oh,
  };
}
