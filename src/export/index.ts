/** tsvision.export: writing a network for other runtimes (ONNX). */
export { exportOnnx, exportOnnxBytes, OnnxExportError, ONNX_OPSET, ONNX_METADATA_KEYS, type OnnxExportOptions } from './onnx.js';
