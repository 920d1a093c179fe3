/**
 * tsvision.train: Model (prepare / fit / evaluate / predict / save / load),
 * metrics, callbacks, checkpoints and progress output. See docs/training.md.
 */
import '../tensor/methods.js';

export {
  Model,
  type Data,
  type LossFn,
  type ModelOptions,
  type PrepareOptions,
  type FitOptions,
  type EvaluateOptions,
  type PredictOptions,
  type SaveOptions,
  type LoadOptions,
  type LoaderOptions,
} from './model.js';
export { Accuracy, type Metric, type AccuracyOptions } from './metrics.js';
export {
  Callback,
  CallbackList,
  ProgBarLogger,
  ModelCheckpoint,
  EarlyStopping,
  LRSchedulerCallback,
  TerminateOnNaN,
  CSVLogger,
  type Logs,
  type Mode,
  type FitParams,
  type CallbackHost,
  type SchedulerLike,
  type MonitorOptions,
  type ModelCheckpointOptions,
  type EarlyStoppingOptions,
  type LRSchedulerCallbackOptions,
  type CSVLoggerOptions,
  type ProgBarLoggerOptions,
} from './callbacks.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  resolveCheckpoint,
  tsvisionVersion,
  CheckpointError,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type Architecture,
  type CheckpointInfo,
  type CheckpointContents,
  type SaveCheckpointInput,
} from './checkpoint.js';
export { DivergenceError, describeDivergence, firstNonFinite, formatLr, type DivergenceInfo } from './divergence.js';
export {
  Predictor,
  PredictorError,
  topK,
  stateDictGist,
  type PredictorOptions,
  type FromCheckpointOptions,
  type TopClass,
  type FileResult,
  type ClassifyOptions,
} from './predictor.js';
export { ProgressBar, formatLogs, formatValue, formatStepTime, type ProgressOutput } from './progress.js';
export { StepMeter, StepLogger, curvesSvg, writeCurvesSvg, parseNumberCsv, readNumberCsv, stepX, smooth, type CurvesInput } from './curves.js';
export { operatingPointFor, defaultPredictionsFile, OperatingPointError, type OperatingPointRequest, type DeployedOperatingPoint } from './operating-point.js';
export { ModelEma, type ModelEmaOptions, type EmaInfo } from './ema.js';
export { TTA_MODES, ttaViews, ttaProbabilities, ttaLogits, type TTA } from './tta.js';
export { findLabelSuspects, withSuspects, type LabelSuspectOptions, type LabelSuspectResult } from './label-noise.js';
