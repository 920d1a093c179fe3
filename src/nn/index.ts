/**
 * tsvision.nn: Module and Parameter, containers, layers (linear, convolution,
 * pooling, normalisation, dropout, activations), losses, summary, weight
 * initialisation (nn.init) and the stateless forms (nn.functional).
 */
import '../tensor/methods.js';

export {
  Module,
  Parameter,
  StateDictError,
  HookHandle,
  type AnyModule,
  type ForwardHook,
  type ForwardPreHook,
  type StateDict,
  type LoadStateDictOptions,
  type LoadStateDictResult,
} from './module.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export { Linear, Identity, Flatten, type LinearOptions } from './linear.js';
export { Dropout, Dropout1d, Dropout2d, Dropout3d, StochasticDepth } from './dropout.js';
export {
  ElementwiseActivation,
  ReLU,
  ReLU6,
  LeakyReLU,
  Tanh,
  Sigmoid,
  SiLU,
  GELU,
  Hardswish,
  Hardsigmoid,
  Softmax,
  LogSoftmax,
  type GELUOptions,
} from './activation.js';
export { fuseForInference, type InferenceFusion } from './fuse.js';
export { LayerNorm, type LayerNormOptions } from './layernorm.js';
export {
  ConvBase,
  ConvNd,
  Conv1d,
  Conv2d,
  Conv3d,
  ConvTransposeNd,
  ConvTranspose1d,
  ConvTranspose2d,
  ConvTranspose3d,
  type ConvLayerOptions,
  type ConvTransposeLayerOptions,
  type InferenceConv,
} from './conv.js';
export {
  PoolNd,
  MaxPoolNd,
  AvgPoolNd,
  MaxPool1d,
  MaxPool2d,
  MaxPool3d,
  AvgPool1d,
  AvgPool2d,
  AvgPool3d,
  AdaptivePoolNd,
  AdaptiveAvgPoolNd,
  AdaptiveMaxPoolNd,
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
  AdaptiveAvgPool3d,
  AdaptiveMaxPool1d,
  AdaptiveMaxPool2d,
  AdaptiveMaxPool3d,
  type MaxPoolLayerOptions,
  type AvgPoolLayerOptions,
  type AdaptiveSize,
} from './pooling.js';
export { BatchNormNd, BatchNorm1d, BatchNorm2d, BatchNorm3d, type BatchNormLayerOptions } from './batchnorm.js';
export { GroupNorm, type GroupNormOptions } from './groupnorm.js';
export { ChannelShuffle } from './channelshuffle.js';
export { type PerAxis } from './args.js';
export {
  CrossEntropyLoss,
  NLLLoss,
  BCELoss,
  BCEWithLogitsLoss,
  MSELoss,
  L1Loss,
  type Reduction,
  type CrossEntropyOptions,
  type NLLLossOptions,
  type BCELossOptions,
  type BCEWithLogitsLossOptions,
} from './loss.js';
export { countParameters, inEvalMode, type CountParametersOptions } from './utils.js';
export { summary, type ModelSummary, type SummaryRow, type SummaryOptions } from './summary.js';
export * as init from './init.js';
export * as functional from './functional.js';
