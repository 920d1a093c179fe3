/**
 * The DataLoader's worker threads (numWorkers > 0), main-thread side: a pool
 * of Node worker_threads, each of which rebuilds the dataset from its
 * WorkerSpec (./worker-main.ts) and then loads one batch at a time: decoding,
 * transforms and (with the default collate) collation all happen there.
 *
 * - Workers are unref()'d while idle, so they never keep the process alive,
 *   and ref()'d while they hold a batch, so a script awaiting that batch does
 *   not exit under it. close() terminates them.
 * - A worker that dies fails the batch it held (the iteration ends with an
 *   error naming it); the next batch given to that slot starts a new worker.
 * - Tensors cross as typed arrays. The worker copies each one into a fresh
 *   ArrayBuffer and transfers that copy: tensor storage may be an external
 *   buffer of the native allocator (or a view of a dataset's cache), which
 *   must not be detached, and a copy made in the worker keeps the main thread
 *   from paying structured clone's copy on receipt.
 */
import { Worker } from 'node:worker_threads';
import { Tensor } from '../tensor/tensor.js';
import { newTypedArray, type TypedArray } from '../core/dtype.js';
import type { WorkerSpec } from './dataset.js';
import { loadSharp } from './decode.js';
import { workerExecArgv } from '../core/worker-argv.js';

/** What a worker is started with. */
export interface WorkerInit {
  dataset: WorkerSpec;
  /** collate with defaultCollate in the worker (else send the samples) */
  collate: boolean;
  /** sharp's settings on the main thread, so that a worker loading sharp does not reset them (libvips is one per process) */
  decoding: { concurrency: number; cache: boolean } | null;
}

/** A batch to load: dataset indices and each sample's generator seed. */
export interface TaskMessage {
  id: number;
  indices: Int32Array;
  seeds: Uint32Array;
}

export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

export type ReplyMessage = { id: number; ok: true; failed: number[]; payload: unknown } | { id: number; ok: false; error: WireError };

/** A loaded batch: positions (in the task) of samples that threw a SampleError, and the batch or samples. */
export interface TaskResult {
  failed: number[];
  value: unknown;
}

const TENSOR = '__tsvisionTensor';

/** A value with its tensors replaced by copies of their data (listed in `transfer`) and their shapes. */
export function toWire(value: unknown, transfer: ArrayBuffer[]): unknown {
  if (value instanceof Tensor) {
    // A plain typed array of its own (not slice(): a Node Buffer's slice is a view of its pool), safe to transfer.
    const data = newTypedArray(value.dtype, value.size);
    data.set(value.data as never);
    transfer.push(data.buffer);
    return { [TENSOR]: true, data, shape: [...value.shape] };
  }
  if (Array.isArray(value)) return value.map((v) => toWire(v, transfer));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v, transfer)]));
  return value; // numbers, strings, typed arrays...: structured clone copies them
}

/** The inverse of toWire. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (isPlainObject(value)) {
    if (value[TENSOR] === true) return new Tensor(value.data as TypedArray, value.shape as number[]);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromWire(v)]));
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function errorToWire(e: unknown): WireError {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** sharp's current settings (loading it on the main thread, which decodes too when a sample fails); null without sharp. */
export async function decodingSettings(): Promise<WorkerInit['decoding']> {
  try {
    const sharp = await loadSharp();
    return { concurrency: sharp.concurrency(), cache: sharp.cache().items.max > 0 };
  } catch {
    return null; // a dataset that decodes nothing needs no sharp; one that does reports the failure itself
  }
}

interface Task {
  id: number;
  indices: Int32Array;
  seeds: Uint32Array;
  owner: object;
  resolve: (r: TaskResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  /** 1-based, for messages */
  n: number;
  worker: Worker | null;
  task: Task | null;
}

export class WorkerPool {
  private readonly slots: Slot[];
  private queue: Task[] = [];
  private nextId = 1;

  constructor(
    private readonly init: WorkerInit,
    size: number,
  ) {
    this.slots = Array.from({ length: size }, (_, k) => ({ n: k + 1, worker: null, task: null }));
    // Start them all now: each takes a while to import the library and rebuild the dataset.
    for (const slot of this.slots) this.trySpawn(slot);
  }

  /** Loads one batch in the first idle worker; `owner` (the iteration) can cancel it while it waits. */
  run(indices: Int32Array, seeds: Uint32Array, owner: object): Promise<TaskResult> {
    return new Promise<TaskResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, indices, seeds, owner, resolve, reject });
      this.dispatch();
    });
  }

  /** Drops the batches `owner` queued that no worker has started (an iteration left early). */
  cancel(owner: object): void {
    const dropped = this.queue.filter((t) => t.owner === owner);
    this.queue = this.queue.filter((t) => t.owner !== owner);
    for (const t of dropped) t.reject(new Error('DataLoader: the iteration ended before this batch was loaded'));
  }

  /** Terminates the workers; batches still loading fail. */
  async close(): Promise<void> {
    const err = new Error('DataLoader: close() was called while batches were loading');
    for (const t of this.queue) t.reject(err);
    this.queue = [];
    await Promise.all(
      this.slots.map(async (slot) => {
        const { worker, task } = slot;
        slot.worker = null; // first, so that its 'exit' is not reported as a death
        slot.task = null;
        task?.reject(err);
        if (worker) await worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.task) continue;
      if (!slot.worker && !this.trySpawn(slot, this.queue[0])) {
        this.queue.shift();
        continue;
      }
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker!.ref();
      const message: TaskMessage = { id: task.id, indices: task.indices, seeds: task.seeds };
      slot.worker!.postMessage(message);
    }
  }

  /** Starts the slot's worker; on failure rejects `task` (without one, the failure recurs when a task comes). */
  private trySpawn(slot: Slot, task?: Task): boolean {
    let worker: Worker;
    try {
      const execArgv = workerExecArgv();
      worker = new Worker(new URL('./worker-main.js', import.meta.url), { workerData: this.init, execArgv, name: `tsvision DataLoader worker ${slot.n}` });
    } catch (e) {
      // e.g. WorkerSpec args that are not structured-cloneable
      task?.reject(new Error(`DataLoader: could not start worker ${slot.n}: ${(e as Error).message}`, { cause: e }));
      return false;
    }
    worker.unref();
    slot.worker = worker;
    worker.on('message', (m: ReplyMessage) => this.onReply(slot, worker, m));
    worker.on('messageerror', (e) => this.onReply(slot, worker, { id: slot.task?.id ?? 0, ok: false, error: errorToWire(e) }));
    worker.on('error', (e) => this.onDeath(slot, worker, `died: ${errorToWire(e).message}`, e));
    worker.on('exit', (code) => this.onDeath(slot, worker, `exited with code ${code}`));
    return true;
  }

  private onReply(slot: Slot, worker: Worker, m: ReplyMessage): void {
    const task = slot.task;
    if (slot.worker !== worker || !task || task.id !== m.id) return;
    slot.task = null;
    worker.unref();
    if (m.ok) {
      task.resolve({ failed: m.failed, value: fromWire(m.payload) });
    } else {
      const cause = Object.assign(new Error(m.error.message), { name: m.error.name, stack: m.error.stack });
      const what = m.error.name && m.error.name !== 'Error' ? `${m.error.name}: ${m.error.message}` : m.error.message;
      task.reject(new Error(`DataLoader: worker ${slot.n} failed: ${what}`, { cause }));
    }
    this.dispatch();
  }

  private onDeath(slot: Slot, worker: Worker, what: string, cause?: Error): void {
    if (slot.worker !== worker) return; // closed, or already reported (an 'error' is followed by 'exit')
    slot.worker = null;
    const task = slot.task;
    slot.task = null;
    task?.reject(new Error(`DataLoader: worker ${slot.n} ${what}${task ? ' while loading a batch' : ''}`, { cause }));
    this.dispatch();
  }
}
