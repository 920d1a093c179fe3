/**
 * tsvision: image classification for TypeScript. This entry point exports the
 * tensor library: Tensor with autograd, the ops, creation and random functions,
 * and the backend controls; each area as a namespace (nn, data, models, ...); and
 * ONNX export (exportOnnx, exportOnnxBytes).
 */
import './tensor/methods.js';

export { Tensor, empty, fromTypedArray, type GradNode, type NestedArray } from './tensor/tensor.js';
export type { DType, TypedArray } from './core/dtype.js';
export { ShapeError, DTypeError } from './tensor/errors.js';
export { noGrad, isGradEnabled, backward } from './tensor/autograd.js';
export * from './tensor/creation.js';
export * from './tensor/random.js';
export * from './tensor/ops/index.js';
export { backendName, setBackend, getNumThreads, setNumThreads, emptyCache, memoryStats } from './backend/index.js';
export * as nn from './nn/index.js';
export * as data from './data/index.js';
export * as transforms from './transforms/index.js';
export * as optim from './optim/index.js';
export * as train from './train-api.js';
export * as models from './models/index.js';
export * as io from './io/index.js';
export * as metrics from './metrics/index.js';
export { exportOnnx, exportOnnxBytes, OnnxExportError, ONNX_OPSET, ONNX_METADATA_KEYS, type OnnxExportOptions } from './export/index.js';
