/**
 * tsvision.io: file formats. safetensors for now.
 */
export {
  saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, halfToFloat, SafetensorsError, type SafetensorsFile,
} from './safetensors.js';
export { writeFileAtomic, fsyncDir } from '../core/atomic.js';
