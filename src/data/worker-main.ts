/**
 * A DataLoader worker thread (started by ./workers.ts): rebuilds the dataset
 * from its WorkerSpec, then answers each task (dataset indices and per-sample
 * seeds) with the loaded batch. Samples load concurrently, each with
 * `new Generator(seed)` exactly as on the main thread, so the batch is the
 * same bit for bit. A SampleError leaves the sample out and is listed in the
 * reply (the main thread has its dataset report it); any other error fails the
 * task and is sent back as such.
 */
import { parentPort, workerData } from 'node:worker_threads';
import '../transforms/index.js'; // every built-in transform registered, for the factories' transformFromSpec
import { Generator } from '../tensor/random.js';
import { defaultCollate } from './collate.js';
import { datasetFromSpec } from './dataset.js';
import { configureDecoding } from './decode.js';
import { SampleError } from './errors.js';
import { errorToWire, toWire, type ReplyMessage, type TaskMessage, type WorkerInit } from './workers.js';

const init = workerData as WorkerInit;
const port = parentPort!;
if (init.decoding) configureDecoding(init.decoding);

const ready = datasetFromSpec(init.dataset).catch((e: unknown) => {
  const why = errorToWire(e).message;
  throw new Error(`could not rebuild the dataset with ${init.dataset.export}() from ${init.dataset.module}: ${why}`, { cause: e });
});
ready.catch(() => {}); // reported with each task instead

const SKIP = Symbol('skip');

async function load(task: TaskMessage): Promise<ReplyMessage & { transfer?: ArrayBuffer[] }> {
  const dataset = await ready;
  const failed: number[] = [];
  const loaded = await Promise.all(
    Array.from(task.indices, async (index, k) => {
      try {
        return await dataset.getItem(index, { generator: new Generator(task.seeds[k]) });
      } catch (e) {
        if (!(e instanceof SampleError)) throw e;
        failed.push(k);
        return SKIP;
      }
    }),
  );
  const samples = loaded.filter((s) => s !== SKIP);
  const transfer: ArrayBuffer[] = [];
  const payload = init.collate ? (samples.length === 0 ? null : toWire(defaultCollate(samples), transfer)) : toWire(samples, transfer);
  return { id: task.id, ok: true, failed: failed.sort((a, b) => a - b), payload, transfer };
}

port.on('message', (task: TaskMessage) => {
  load(task).then(
    ({ transfer, ...reply }) => {
      try {
        port.postMessage(reply, transfer);
      } catch (e) {
        // e.g. a sample holding a function: say so rather than leave the main thread waiting
        const error = errorToWire(e);
        port.postMessage({ id: task.id, ok: false, error: { ...error, message: `the samples cannot be sent to the main thread: ${error.message}` } });
      }
    },
    (e: unknown) => port.postMessage({ id: task.id, ok: false, error: errorToWire(e) } satisfies ReplyMessage),
  );
});
