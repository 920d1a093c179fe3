/**
 * tsvision.data: datasets (ImageFolder, MNIST, FashionMNIST, CIFAR10, CIFAR100),
 * combinators (Subset, ConcatDataset, randomSplit, withTransform, filterClasses)
 * and the DataLoader. See docs/data.md.
 */
export {
  Subset,
  ConcatDataset,
  randomSplit,
  TransformedDataset,
  withTransform,
  ClassFilter,
  filterClasses,
  portableDataset,
  datasetFromSpec,
  type Dataset,
  type ClassificationDataset,
  type GetItemOptions,
  type MaybeLabeled,
  type WorkerSpec,
  type Portability,
  type PortableDataset,
} from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './loader.js';
export { WeightedRandomSampler, balancedSampler, classCounts, classWeights, type Sampler, type WeightedRandomSamplerOptions } from './sampler.js';
export { defaultCollate, type Batch } from './collate.js';
export { SampleError } from './errors.js';
export { loadImage, configureDecoding, ImageTooLargeError, type LoadImageOptions } from './decode.js';
export { ImageFolder, IMAGE_EXTENSIONS, findImages, type ImageFolderOptions } from './image-folder.js';
export { MNIST, FashionMNIST, readIdx, type MNISTOptions } from './mnist.js';
export { CIFAR10, CIFAR100, type CIFAROptions, type CIFAR100Options } from './cifar.js';
export { stratifiedSplit, type StratifiedSplit } from './split.js';
export {
  Mixup,
  MixUp,
  CutMix,
  mixBatch,
  softTargets,
  cutmixBox,
  flipPartners,
  sampleBeta,
  sampleGamma,
  type MixupOptions,
  type MixUpOptions,
  type MixParams,
  type MixBatchOptions,
  type BatchMixer,
  type Box,
} from './mixing.js';
export {
  auditFolder,
  classImageFiles,
  perceptualHash,
  hammingDistance,
  thumbnailDifference,
  AuditError,
  DEFAULT_AUDIT_SETTINGS,
  ASPECT_BINS,
  type AuditReport,
  type AuditOptions,
  type AuditSettings,
  type Finding,
  type FindingKind,
  type FileRef,
  type ClassSizes,
  type DuplicateScope,
  type LabelSuspect,
} from './audit.js';
export { surveyImages, type ImageSurvey } from './survey.js';
