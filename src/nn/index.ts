/**
 * tsvision.nn: Module and Parameter, containers, layers, losses, weight
 * initialisation (nn.init) and the stateless forms (nn.functional).
 */
import '../tensor/methods.js';

export {
  Module, Parameter, StateDictError,
  type StateDict, type LoadStateDictOptions, type LoadStateDictResult,
} from './module.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export { Linear, Identity, Flatten, type LinearOptions } from './linear.js';
export { Dropout } from './dropout.js';
export {
  ReLU, ReLU6, LeakyReLU, Tanh, Sigmoid, SiLU, GELU, Hardswish, Hardsigmoid, Softmax, LogSoftmax, type GELUOptions,
} from './activation.js';
export { LayerNorm, type LayerNormOptions } from './layernorm.js';
export {
  CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, MSELoss, L1Loss,
  type Reduction, type CrossEntropyOptions, type NLLLossOptions, type BCELossOptions, type BCEWithLogitsLossOptions,
} from './loss.js';
export { countParameters, type CountParametersOptions } from './utils.js';
export * as init from './init.js';
export * as functional from './functional.js';
