/**
 * tsvision.io: file formats: safetensors, PyTorch's .pth (zip and legacy, read through a
 * restricted unpickler), and loadWeightsFile for either.
 */
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, halfToFloat, SafetensorsError, type SafetensorsFile } from './safetensors.js';
export {
  loadPth,
  decodePth,
  decodePthObject,
  extractStateDict,
  savePth,
  encodePth,
  PthError,
  type PthFile,
  type PthObject,
  type LoadPthOptions,
} from './pth.js';
export { loadWeightsFile } from './weights-file.js';
export { writeFileAtomic, fsyncDir } from '../core/atomic.js';
