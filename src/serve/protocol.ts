/**
 * The messages between the server's main thread and its inference worker
 * (./inference-worker.ts). Pixels and probabilities cross as typed arrays whose
 * buffers are transferred, not copied.
 */
import type { JsonValue } from '../core/json.js';
import type { PreprocessConfig } from '../transforms/presets.js';

/** What the worker is started with. */
export interface WorkerInit {
  checkpoint: string;
  /** the native kernels' threads (process-wide; the main thread runs no kernels) */
  threads: number;
}

/** The model the worker serves, as /v1/model reports it. */
export interface ModelInfo {
  architecture: { name: string; config: { [key: string]: JsonValue } } | null;
  classes: string[];
  preprocessing: PreprocessConfig;
  epoch: number | null;
  /** the checkpoint directory read */
  checkpoint: string;
  /** the kernels the worker runs on ('native' or 'reference') and their threads */
  backend: string;
  threads: number;
}

/** A decoded picture: uint8 [height, width, channels], row-major. */
export interface DecodedImage {
  data: Uint8Array;
  shape: [number, number, number];
}

export interface BatchRequest {
  id: number;
  images: DecodedImage[];
}

export type WorkerMessage =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'failed'; message: string }
  | {
      type: 'result';
      id: number;
      /** [rows, classes] probabilities of the pictures that preprocessed, in order */
      probs: Float32Array;
      /** per picture: null, or why it could not be preprocessed (it has no row then) */
      errors: (string | null)[];
      preprocessMs: number;
      inferenceMs: number;
    }
  | { type: 'error'; id: number; message: string };
