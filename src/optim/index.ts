/**
 * optim: optimizers (SGD, Adam, AdamW, RMSprop), gradient clipping and learning-rate
 * schedulers, as torch.optim with PyTorch's numerics and state-dict format.
 */
export {
  Optimizer,
  type BaseOptions,
  type OptimizerStateDict,
  type OptionValue,
  type ParamGroup,
  type ParamGroupInit,
  type ParamGroupState,
  type ParamsInit,
  type ParamState,
  type ScheduleFields,
  type ZeroGradOptions,
} from './optimizer.js';
export { SGD, type SGDOptions, type SGDState } from './sgd.js';
export { Adam, AdamW, type AdamOptions, type AdamState } from './adam.js';
export { RMSprop, type RMSpropOptions, type RMSpropState } from './rmsprop.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
export {
  LRScheduler,
  StepLR,
  MultiStepLR,
  ExponentialLR,
  CosineAnnealingLR,
  LinearLR,
  type AnyOptimizer,
  type SchedulerStateDict,
  type SchedulerValue,
  type StepLROptions,
  type MultiStepLROptions,
  type ExponentialLROptions,
  type CosineAnnealingLROptions,
  type LinearLROptions,
} from './lr_scheduler.js';
export { SequentialLR, ChainedScheduler } from './sequential.js';
export { OneCycleLR, type OneCycleLROptions, type OneCyclePhase } from './one_cycle.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './plateau.js';
export { stateToJSON, stateFromJSON, type StateJSONOptions } from './serialize.js';
export type { JsonValue } from '../core/json.js';
