/**
 * A weights file whatever its format, told by its first bytes rather than its name
 * (a `.bin` may be either): a PyTorch file (zip or legacy pickle) or safetensors.
 */
import { readFileSync } from 'node:fs';
import type { Tensor } from '../tensor/tensor.js';
import { decodePth, PthError } from './pth.js';
import { decodeSafetensors } from './safetensors.js';

/** The state dict in a .pth / .pt / .bin / .ckpt (PyTorch) or .safetensors file; errors are one line naming the file. */
export function loadWeightsFile(path: string): Map<string, Tensor> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new PthError(`${path}: cannot read: ${(e as Error).message}`);
  }
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b;
  const pickle = bytes[0] === 0x80;
  return zip || pickle ? decodePth(bytes, path).tensors : decodeSafetensors(bytes, path).tensors;
}
