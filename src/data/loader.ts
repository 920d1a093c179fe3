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
 * Prefetch: while the consumer works on batch b, batches b+1 .. b+prefetch are
 * loading. Decoding (sharp) runs on libuv's threads meanwhile; the transforms
 * are JavaScript and run on the main thread whenever it is free (between
 * training steps, and while the loop awaits the next batch). There are no
 * worker processes: `prefetch` is what PyTorch's num_workers buys here.
 *
 * A sample whose getItem throws a SampleError (an image that does not decode,
 * already reported by the dataset) is left out: its batch is one shorter
 * (an empty batch is not yielded). Any other error ends the iteration.
 */
import { defaultGenerator, Generator, permutation } from '../tensor/random.js';
import { defaultCollate, type Batch } from './collate.js';
import type { Dataset } from './dataset.js';
import { SampleError } from './errors.js';

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
  /** batches loading ahead of the one in use (default 2; 0 loads each batch when asked) */
  prefetch?: number;
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
  readonly collate: (samples: T[]) => B;
  /** epochs started so far */
  epoch = 0;
  /** samples left out so far because they could not be loaded */
  skipped = 0;
  private readonly generator?: Generator;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    const { batchSize = 1, shuffle = false, dropLast = false, prefetch = 2, generator, seed, collate } = options;
    if (!dataset || typeof dataset.getItem !== 'function' || !Number.isInteger(dataset.length)) {
      throw new TypeError('DataLoader: expected a dataset (an object with length and getItem)');
    }
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`DataLoader: batchSize must be a positive integer but received ${batchSize}`);
    if (!(Number.isInteger(prefetch) && prefetch >= 0)) throw new RangeError(`DataLoader: prefetch must be a non-negative integer but received ${prefetch}`);
    if (generator !== undefined && seed !== undefined) throw new TypeError('DataLoader: pass generator or seed, not both');
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.prefetch = prefetch;
    this.collate = collate ?? (defaultCollate as (samples: T[]) => B);
    this.generator = generator ?? (seed !== undefined ? new Generator(seed) : undefined);
  }

  /** The number of batches in an epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<B, void, undefined> {
    const g = this.generator ?? defaultGenerator();
    const n = this.dataset.length;
    const order = this.shuffle ? permutation(n, { generator: g }).data : null;
    const epochSeed = g.nextUint32();
    this.epoch++;
    const batches = this.length;
    const inflight: Promise<B | null>[] = [];
    let next = 0;
    const launch = (limit: number) => {
      while (next < batches && inflight.length < limit) {
        const p = this.loadBatch(next++, order, epochSeed);
        p.catch(() => {}); // awaited below in order; this only keeps an early failure from being "unhandled"
        inflight.push(p);
      }
    };
    for (;;) {
      launch(this.prefetch + 1); // the batch to hand out next, and `prefetch` after it
      const pending = inflight.shift();
      if (pending === undefined) return;
      const batch = await pending;
      launch(this.prefetch); // while the consumer holds this batch, the next `prefetch` load
      if (batch !== null) yield batch;
    }
  }

  private async loadBatch(b: number, order: Int32Array | null, epochSeed: number): Promise<B | null> {
    const start = b * this.batchSize;
    const end = Math.min(start + this.batchSize, this.dataset.length);
    const pending: Promise<T | typeof SKIP>[] = [];
    for (let p = start; p < end; p++) pending.push(this.loadSample(order ? order[p] : p, p, epochSeed));
    const samples = (await Promise.all(pending)).filter((s) => s !== SKIP) as T[];
    return samples.length === 0 ? null : this.collate(samples);
  }

  private async loadSample(index: number, position: number, epochSeed: number): Promise<T | typeof SKIP> {
    try {
      return await this.dataset.getItem(index, { generator: new Generator(sampleSeed(epochSeed, position)) });
    } catch (e) {
      if (e instanceof SampleError) {
        this.skipped++;
        return SKIP;
      }
      throw e;
    }
  }
}
