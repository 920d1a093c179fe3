/** The transforms as functions with explicit parameters (torchvision.transforms.functional). */
export { resize, resizeOutputSize, crop, centerCrop, pad, hflip, vflip, resizedCrop, rotate, letterbox } from './geometry.js';
export { adjustBrightness, adjustContrast, adjustSaturation, adjustHue, rgbToGrayscale } from './color.js';
export { toTensor, normalize } from './convert.js';
