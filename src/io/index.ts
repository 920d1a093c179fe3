/**
 * tsvision.io: file formats. safetensors for now.
 */
export {
  saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, halfToFloat, SafetensorsError, type SafetensorsFile,
} from './safetensors.js';
export {
  loadPth, decodePth, decodePthObject, extractStateDict, savePth, encodePth, PthError, type PthFile, type PthObject, type LoadPthOptions,
} from './pth.js';
export { writeFileAtomic, fsyncDir } from '../core/atomic.js';
