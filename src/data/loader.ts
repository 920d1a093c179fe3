/**
 * DataLoader: batches of a dataset, shuffled or not, loaded ahead of use.
 *
 *     for await (const [x, y] of new DataLoader(ds, { batchSize: 32, shuffle: true })) { ... }
 *
 * Each epoch (one pass of `for await`) draws from the loader's generator (the
 * `generator` or `seed` option, else the global one, so `manualSeed` repeats a
 * run): first the order (when shuffling), then one 32-bit epoch seed. Sample p
 * of the epoch gets its own Generator seeded from (epoch seed, p), handed to
 * getItem and so to the random transforms: augmentation is the same whatever
 * order the decodes finish in, and whatever `prefetch` is.
 *
 * A `sampler` (./sampler.ts, e.g. WeightedRandomSampler) gives each epoch's
 * indices instead of 0..n-1 or a shuffle (torch's rule: not with shuffle); it
 * draws from the loader's generator unless it has its own, so a seeded loader
 * repeats its epochs, and the epoch is sampler.length samples long.
 *
 * Prefetch: while the consumer works on batch b, batches b+1 .. b+prefetch are
 * loading. With numWorkers 0 (the default) getItem runs on the main thread:
 * decoding (sharp) on libuv's threads, the transforms (JavaScript) on the main
 * thread whenever it is free.
 *
 * numWorkers > 0 loads batches in that many worker threads (./workers.ts), so
 * that decoding, the transforms and, with the default collate, collation run
 * off the main thread, as PyTorch's num_workers. The dataset must be portable
 * (portability(), see ./dataset.ts); if it is not, the loader says why in one
 * process warning and stays on the main thread. Workers start on the first
 * iteration, serve every later epoch, never keep the process alive, and end
 * with close(). Each batch goes to an idle worker with its indices and its
 * samples' seeds, computed here exactly as without workers, so batches are the
 * same bit for bit whatever numWorkers is; they are yielded in order, with
 * max(prefetch, numWorkers) in flight.
 *
 * A sample whose getItem throws a SampleError (an image that does not decode,
 * already reported by the dataset) is left out: its batch is one shorter
 * (an empty batch is not yielded). In a worker, the sample is then loaded
 * again here so that the main thread's dataset reports it as it would have
 * (ImageFolder: once per file). Any other error, also from a worker, or a
 * worker dying, ends the iteration.
 */
import { defaultGenerator, Generator, permutation } from '../tensor/random.js';
import { defaultCollate, type Batch } from './collate.js';
import { portableDataset, type Dataset } from './dataset.js';
import type { Sampler } from './sampler.js';
import { SampleError } from './errors.js';
import { decodingSettings, WorkerPool, type TaskResult } from './workers.js';

export interface DataLoaderOptions<T, B> {
  /** samples per batch (default 1) */
  batchSize?: number;
  /** a new random order every epoch (default false) */
  shuffle?: boolean;
  /** leave out the last batch when it is smaller than batchSize (default false) */
  dropLast?: boolean;
  /** the generator for order and per-sample seeds (default: the global generator) */
  generator?: Generator;
  /** shorthand for generator: new Generator(seed) */
  seed?: number;
  /** samples to a batch (default defaultCollate: images to float32 [N, C, H, W], labels to int32 [N]) */
  collate?: (samples: T[]) => B;
  /** batches loading ahead of the one in use (default 2; 0 loads each batch when asked; at least numWorkers with workers) */
  prefetch?: number;
  /** worker threads that load batches (default 0: the main thread); needs a portable dataset (portability()) */
  numWorkers?: number;
  /** each epoch's indices (e.g. a WeightedRandomSampler), instead of 0..n-1 or a shuffle; not with shuffle */
  sampler?: Sampler;
}

const SKIP = Symbol('skip');

/** A 32-bit seed for sample `position` of an epoch (murmur3's finaliser over both). */
function sampleSeed(epochSeed: number, position: number): number {
  let h = (epochSeed ^ Math.imul(position + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class DataLoader<T = any, B = Batch> implements AsyncIterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly numWorkers: number;
  readonly collate: (samples: T[]) => B;
  readonly sampler: Sampler | null;
  /** epochs started so far */
  epoch = 0;
  /** samples left out so far because they could not be loaded */
  skipped = 0;
  private generator?: Generator;
  /** the workers, once the first iteration started them (resolving to null when the dataset is not portable) */
  private pool: Promise<WorkerPool | null> | null = null;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    const { batchSize = 1, shuffle = false, dropLast = false, prefetch = 2, numWorkers = 0, generator, seed, collate, sampler } = options;
    if (!dataset || typeof dataset.getItem !== 'function' || !Number.isInteger(dataset.length)) {
      throw new TypeError('DataLoader: expected a dataset (an object with length and getItem)');
    }
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`DataLoader: batchSize must be a positive integer but received ${batchSize}`);
    if (!(Number.isInteger(prefetch) && prefetch >= 0)) throw new RangeError(`DataLoader: prefetch must be a non-negative integer but received ${prefetch}`);
    if (!(Number.isInteger(numWorkers) && numWorkers >= 0))
      throw new RangeError(`DataLoader: numWorkers must be a non-negative integer but received ${numWorkers}`);
    if (generator !== undefined && seed !== undefined) throw new TypeError('DataLoader: pass generator or seed, not both');
    if (sampler !== undefined) {
      if (shuffle) throw new TypeError('DataLoader: sampler and shuffle exclude each other (the sampler decides the order)');
      if (typeof sampler?.indices !== 'function' || !(Number.isInteger(sampler.length) && sampler.length > 0))
        throw new TypeError('DataLoader: sampler must have a positive integer length and indices(generator)');
    }
    this.sampler = sampler ?? null;
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.prefetch = prefetch;
    this.numWorkers = numWorkers;
    this.collate = collate ?? (defaultCollate as (samples: T[]) => B);
    this.generator = generator ?? (seed !== undefined ? new Generator(seed) : undefined);
  }

  /** The number of batches in an epoch. */
  get length(): number {
    const n = this.sampler?.length ?? this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<B, void, undefined> {
    const g = this.generator ?? defaultGenerator();
    const n = this.dataset.length;
    const order = this.sampler ? this.epochIndices(g) : this.shuffle ? permutation(n, { generator: g }).data : null;
    const epochSeed = g.nextUint32();
    this.epoch++;
    const pool = this.numWorkers > 0 ? await this.workers() : null;
    const depth = pool ? Math.max(this.prefetch, this.numWorkers) : this.prefetch;
    const owner = {}; // this iteration, for cancelling its queued batches
    const batches = this.length;
    const inflight: Promise<B | null>[] = [];
    let next = 0;
    const launch = (limit: number) => {
      while (next < batches && inflight.length < limit) {
        const b = next++;
        const p = pool ? this.loadBatchInWorker(pool, owner, b, order, epochSeed) : this.loadBatch(b, order, epochSeed);
        p.catch(() => {}); // awaited below in order; this only keeps an early failure from being "unhandled"
        inflight.push(p);
      }
    };
    try {
      for (;;) {
        launch(depth + 1); // the batch to hand out next, and `depth` after it
        const pending = inflight.shift();
        if (pending === undefined) return;
        const batch = await pending;
        launch(depth); // while the consumer holds this batch, the next `depth` load
        if (batch !== null) yield batch;
      }
    } finally {
      pool?.cancel(owner); // left early (break, or an error): workers need not load the rest
    }
  }

  /** From the next epoch on, order and sample seeds come from new Generator(seed) (Model.fit seeds each epoch so). */
  reseed(seed: number): void {
    this.generator = new Generator(seed);
  }

  /** Terminates the worker threads, if any (a later iteration starts new ones). */
  async close(): Promise<void> {
    const pending = this.pool;
    const pool = await pending?.catch(() => null);
    if (!pool) return; // never started, or on the main thread after the warning (which need not be repeated)
    if (this.pool === pending) this.pool = null;
    await pool.close();
  }

  /** The worker pool, started on first use; null (after one warning) when the dataset is not portable. */
  private workers(): Promise<WorkerPool | null> {
    this.pool ??= (async () => {
      const plan = portableDataset(this.dataset);
      if ('reason' in plan) {
        process.emitWarning(`DataLoader: numWorkers ${this.numWorkers} ignored, loading on the main thread: ${plan.reason}`, { code: 'TSVISION_NO_WORKERS' });
        return null;
      }
      const collate = this.collate === (defaultCollate as unknown);
      return new WorkerPool({ dataset: plan.spec, collate, decoding: await decodingSettings() }, this.numWorkers);
    })();
    return this.pool;
  }

  /** The sampler's indices for an epoch, checked against the dataset. */
  private epochIndices(g: Generator): Int32Array {
    const order = this.sampler!.indices(g);
    const n = this.dataset.length;
    if (order.length !== this.sampler!.length)
      throw new RangeError(`DataLoader: the sampler gave ${order.length} indices, but its length is ${this.sampler!.length}`);
    for (const i of order) if (!(i >= 0 && i < n)) throw new RangeError(`DataLoader: the sampler gave index ${i}, out of range for a dataset of length ${n}`);
    return order;
  }

  /** Dataset indices and sample seeds of batch b. */
  private batchPlan(b: number, order: Int32Array | null, epochSeed: number): { indices: Int32Array; seeds: Uint32Array } {
    const start = b * this.batchSize;
    const end = Math.min(start + this.batchSize, order ? order.length : this.dataset.length);
    const indices = new Int32Array(end - start);
    const seeds = new Uint32Array(end - start);
    for (let p = start; p < end; p++) {
      indices[p - start] = order ? order[p] : p;
      seeds[p - start] = sampleSeed(epochSeed, p);
    }
    return { indices, seeds };
  }

  private async loadBatch(b: number, order: Int32Array | null, epochSeed: number): Promise<B | null> {
    const { indices, seeds } = this.batchPlan(b, order, epochSeed);
    const samples = (await Promise.all(Array.from(indices, (index, k) => this.loadSample(index, seeds[k])))).filter((s) => s !== SKIP) as T[];
    return samples.length === 0 ? null : this.collate(samples);
  }

  private async loadBatchInWorker(pool: WorkerPool, owner: object, b: number, order: Int32Array | null, epochSeed: number): Promise<B | null> {
    const { indices, seeds } = this.batchPlan(b, order, epochSeed);
    const { failed, value }: TaskResult = await pool.run(indices, seeds, owner);
    // A sample the worker could not load is loaded again here, where the
    // dataset reports it as it would without workers (ImageFolder: once per
    // file); it stays out of the batch even if it loads this time.
    for (const k of failed) {
      this.skipped++;
      try {
        await this.dataset.getItem(indices[k], { generator: new Generator(seeds[k]) });
      } catch (e) {
        if (!(e instanceof SampleError)) throw e;
      }
    }
    if (value === null) return null;
    if (this.collate === (defaultCollate as unknown)) return value as B;
    const samples = value as T[];
    return samples.length === 0 ? null : this.collate(samples);
  }

  private async loadSample(index: number, seed: number): Promise<T | typeof SKIP> {
    try {
      return await this.dataset.getItem(index, { generator: new Generator(seed) });
    } catch (e) {
      if (e instanceof SampleError) {
        this.skipped++;
        return SKIP;
      }
      throw e;
    }
  }
}
