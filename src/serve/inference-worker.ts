/**
 * The server's inference thread: it owns the Predictor (the checkpoint is loaded
 * here, not on the main thread), preprocesses each decoded picture with the
 * predictor's own transform, and runs each batch through the network. Both are
 * CPU-bound and synchronous (the PIL-exact resize is JavaScript: a 12-megapixel
 * photo takes about a quarter of a second), so doing them here keeps the main
 * thread's event loop free for HTTP. Started by ./inference.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { backendName, getNumThreads, setNumThreads } from '../backend/index.js';
import { architectureOf } from '../models/index.js';
import { Tensor } from '../tensor/tensor.js';
import { Predictor } from '../train/predictor.js';
import type { BatchRequest, WorkerInit, WorkerMessage } from './protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const send = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let predictor: Predictor;
try {
  setNumThreads(init.threads);
  predictor = Predictor.fromCheckpoint(init.checkpoint);
} catch (e) {
  send({ type: 'failed', message: (e as Error).message.split('\n')[0] });
  process.exit(0);
}

send({
  type: 'ready',
  info: {
    architecture: architectureOf(predictor.net),
    classes: predictor.classes,
    preprocessing: predictor.preprocess,
    epoch: predictor.epoch,
    checkpoint: predictor.source,
    backend: backendName(),
    threads: getNumThreads(),
  },
});

function classify({ id, images }: BatchRequest): void {
  const t0 = performance.now();
  const errors: (string | null)[] = [];
  const inputs: Tensor[] = [];
  for (const { data, shape } of images) {
    try {
      inputs.push(predictor.preprocessImage(new Tensor<'uint8'>(data, shape)));
      errors.push(null);
    } catch (e) {
      errors.push((e as Error).message.split('\n')[0]);
    }
  }
  const t1 = performance.now();
  const c = predictor.classes.length;
  const probs = new Float32Array(inputs.length * c);
  if (inputs.length > 0) {
    const size = inputs[0].size;
    const x = new Float32Array(inputs.length * size);
    inputs.forEach((t, i) => x.set(t.data as Float32Array, i * size));
    const p = predictor.probabilities(new Tensor(x, [inputs.length, ...inputs[0].shape]));
    probs.set(p.data as Float32Array);
  }
  send({ type: 'result', id, probs, errors, preprocessMs: t1 - t0, inferenceMs: performance.now() - t1 }, [probs.buffer]);
}

port.on('message', (m: BatchRequest) => {
  try {
    classify(m);
  } catch (e) {
    send({ type: 'error', id: m.id, message: (e as Error).message.split('\n')[0] });
  }
});
