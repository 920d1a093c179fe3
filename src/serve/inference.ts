/**
 * The main thread's side of the inference worker (./inference-worker.ts): starts
 * it, waits until it has loaded the checkpoint, and sends it batches of decoded
 * pictures, one batch at a time (the DynamicBatcher never has two in flight).
 *
 * A worker that dies fails the batch it held; the next batch starts a new one,
 * which loads the checkpoint again, so the server goes on serving.
 */
import { Worker } from 'node:worker_threads';
import { workerExecArgv } from '../core/worker-argv.js';
import type { BatchRequest, DecodedImage, ModelInfo, WorkerInit, WorkerMessage } from './protocol.js';

/** One picture's answer: its probabilities in class order, or why it could not be preprocessed. */
export type ImageOutcome = { probs: Float32Array } | { error: string };

export interface BatchTiming {
  preprocessMs: number;
  inferenceMs: number;
}

/** A checkpoint the worker could not load: the message is one line naming it. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

interface Pending {
  id: number;
  count: number;
  resolve: (r: ImageOutcome[]) => void;
  reject: (e: Error) => void;
}

function spawn(init: WorkerInit): Worker {
  return new Worker(new URL('./inference-worker.js', import.meta.url), { workerData: init, execArgv: workerExecArgv(), name: 'tsvision serve inference' });
}

/** Starts a worker and resolves with it and its model once the checkpoint is loaded. */
function startWorker(init: WorkerInit): Promise<{ worker: Worker; info: ModelInfo }> {
  const { checkpoint } = init;
  return new Promise((resolve, reject) => {
    const worker = spawn(init);
    const fail = (e: Error) => {
      worker.off('message', onMessage);
      void worker.terminate();
      reject(e);
    };
    const onMessage = (m: WorkerMessage) => {
      if (m.type === 'ready') {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve({ worker, info: m.info });
      } else if (m.type === 'failed') {
        fail(new ModelLoadError(m.message));
      }
    };
    const onError = (e: Error) => fail(new ModelLoadError(`the inference thread failed while loading ${checkpoint}: ${e.message}`));
    const onExit = (code: number) => fail(new ModelLoadError(`the inference thread exited (code ${code}) while loading ${checkpoint}`));
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}

export class InferenceWorker {
  private worker: Worker | null;
  private starting: Promise<void> | null = null;
  private pending: Pending | null = null;
  private nextId = 1;
  private closed = false;
  /** called with each batch's timings */
  onTiming: ((t: BatchTiming) => void) | null = null;
  /** called when the worker died (it is restarted for the next batch) */
  onDeath: ((why: string) => void) | null = null;

  private constructor(
    private readonly init: WorkerInit,
    worker: Worker,
    readonly info: ModelInfo,
  ) {
    this.worker = null;
    this.attach(worker);
  }

  /** Loads the checkpoint in a new worker thread; rejects with a ModelLoadError naming the checkpoint. */
  static async start(init: WorkerInit): Promise<InferenceWorker> {
    const { worker, info } = await startWorker(init);
    return new InferenceWorker(init, worker, info);
  }

  /** Whether a worker is loaded and running (false while a replacement loads). */
  get ready(): boolean {
    return this.worker !== null;
  }

  /**
   * Preprocesses and classifies a batch. The pixel buffers are transferred to the worker (detached here) when each
   * picture is the whole of a plain ArrayBuffer; anything else (a view, a Node Buffer from a pool or an addon) is cloned.
   */
  async run(images: DecodedImage[]): Promise<ImageOutcome[]> {
    if (this.closed) throw new Error('the inference thread is closed');
    if (this.pending) throw new Error('InferenceWorker.run: a batch is already running');
    if (!this.worker) {
      this.starting ??= startWorker(this.init).then(
        ({ worker }) => {
          this.starting = null;
          if (this.closed) void worker.terminate();
          else this.attach(worker);
        },
        (e: unknown) => {
          this.starting = null;
          throw e;
        },
      );
      await this.starting;
      if (!this.worker) throw new Error('the inference thread is closed');
    }
    const worker = this.worker;
    const id = this.nextId++;
    const transfer: ArrayBuffer[] = [];
    const wire = images.map(({ data, shape }) => {
      if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
      return { data, shape };
    });
    return new Promise<ImageOutcome[]>((resolve, reject) => {
      this.pending = { id, count: images.length, resolve, reject };
      worker.postMessage({ id, images: wire } satisfies BatchRequest, transfer);
    });
  }

  /** Terminates the worker; a batch in flight fails. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.failPending(new Error('the server is shutting down'));
    if (w) await w.terminate();
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (e) => this.died(worker, `failed: ${e.message}`));
    worker.on('exit', (code) => this.died(worker, `exited with code ${code}`));
  }

  private onMessage(m: WorkerMessage): void {
    const p = this.pending;
    if (!p || (m.type !== 'result' && m.type !== 'error') || m.id !== p.id) return;
    this.pending = null;
    if (m.type === 'error') {
      p.reject(new Error(`inference failed: ${m.message}`));
      return;
    }
    this.onTiming?.({ preprocessMs: m.preprocessMs, inferenceMs: m.inferenceMs });
    const c = this.info.classes.length;
    let row = 0;
    p.resolve(m.errors.map((error) => (error !== null ? { error } : { probs: m.probs.subarray(c * row, c * ++row) })));
  }

  private died(worker: Worker, what: string): void {
    if (this.worker !== worker) return; // closed, or already reported ('error' is followed by 'exit')
    this.worker = null;
    this.onDeath?.(what);
    this.failPending(new Error(`the inference thread ${what}`));
  }

  private failPending(e: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }
}
