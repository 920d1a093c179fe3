/**
 * tsvision.io: file formats. safetensors for now.
 */
export {
  saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, writeFileAtomic, fsyncDir, halfToFloat,
  SafetensorsError, type SafetensorsFile,
} from './safetensors.js';
