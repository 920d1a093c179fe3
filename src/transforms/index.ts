/**
 * tsvision.transforms: torchvision's image transforms. An image is a uint8
 * [H, W, C] tensor (bytes, as decoded) or a float32 [C, H, W] tensor (after
 * ToTensor); see ./image.ts. The functions behind the classes are exported as
 * `functional`, for transforms with fixed parameters.
 */
export { Compose, Lambda, ToTensor, Normalize, applyTransform, portableTransform, type TransformLike } from './basic.js';
export {
  Resize,
  CenterCrop,
  Pad,
  RandomCrop,
  RandomResizedCrop,
  RandomHorizontalFlip,
  RandomVerticalFlip,
  RandomRotation,
  Letterbox,
  type RandomOptions,
  type RandomCropOptions,
  type RandomResizedCropOptions,
  type RandomRotationOptions,
} from './geometric.js';
export { ColorJitter, Grayscale, RandomGrayscale, type ColorJitterOptions, type ColorJitterParams } from './photometric.js';
export {
  RandomAffine,
  RandomPerspective,
  GaussianBlur,
  RandomAdjustSharpness,
  RandomAutocontrast,
  RandomEqualize,
  RandomPosterize,
  RandomSolarize,
  RandomInvert,
  RandomErasing,
  type RandomAffineOptions,
  type RandomPerspectiveOptions,
  type RandomErasingOptions,
  type AffineParams,
  type ErasingParams,
} from './augment.js';
export {
  AutoAugment,
  RandAugment,
  TrivialAugmentWide,
  AugMix,
  applyOp,
  augmentationSpace,
  generatorDraws,
  linspace32,
  POLICY_OPS,
  AUTOAUGMENT_POLICIES,
  type PolicyOp,
  type PolicyName,
  type OpRange,
  type OpOptions,
  type PolicyDraws,
  type DrawSource,
  type PolicyOptions,
  type RandAugmentOptions,
  type AugMixOptions,
  type AutoAugmentPolicy,
} from './policies.js';
export type { ImageTensor, Transform, TransformSpec } from './image.js';
export { transformFromSpec } from './spec.js';
export type { Interpolation, PaddingMode, Fill, RotateOptions, AffineOptions, PerspectiveOptions } from './functional.js';
export * as functional from './functional.js';
export {
  evalTransform,
  trainTransform,
  parsePreprocess,
  imagenetPreprocess,
  RESIZE_MODES,
  AUGMENTATIONS,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type PreprocessConfig,
  type ResizeMode,
  type Augmentation,
} from './presets.js';
