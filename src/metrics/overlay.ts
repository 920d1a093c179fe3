/**
 * A Grad-CAM map drawn on its picture: the map coloured with the turbo colour map
 * (blue: nothing, red: the most evidence) and blended over the picture where the map
 * speaks, then encoded as PNG by sharp.
 */
import { rgb } from 'd3-color';
import { interpolateTurbo } from 'd3-scale-chromatic';
import { loadSharp } from '../data/decode.js';

let lut: Uint8Array | null = null;

/** The colour map as 256 RGB triples. */
function colours(): Uint8Array {
  if (lut) return lut;
  lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const c = rgb(interpolateTurbo(i / 255));
    lut.set([c.r, c.g, c.b], i * 3);
  }
  return lut;
}

/**
 * The picture (RGB bytes, [H, W, 3]) with the map (H·W values in [0, 1]) blended over it:
 * each pixel is (1 − a·m')·picture + a·m'·colour(m), with m' = 0.3 + 0.7·m so that the
 * cold places stay tinted and the picture still shows through the hot ones.
 */
export function blendHeatmap(picture: Uint8Array, cam: Float32Array, alpha = 0.6): Uint8Array {
  if (picture.length !== cam.length * 3) throw new RangeError(`blendHeatmap: a picture of ${picture.length} bytes is not 3 x ${cam.length} (the map's pixels)`);
  const table = colours();
  const out = new Uint8Array(picture.length);
  for (let j = 0; j < cam.length; j++) {
    const m = Math.min(Math.max(cam[j], 0), 1);
    const k = Math.round(m * 255) * 3;
    const a = alpha * (0.3 + 0.7 * m);
    for (let ch = 0; ch < 3; ch++) out[j * 3 + ch] = Math.round((1 - a) * picture[j * 3 + ch] + a * table[k + ch]);
  }
  return out;
}

/** RGB bytes [height, width, 3] as a PNG file's bytes. */
export async function encodePng(rgbBytes: Uint8Array, width: number, height: number): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(Buffer.from(rgbBytes.buffer, rgbBytes.byteOffset, rgbBytes.byteLength), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
