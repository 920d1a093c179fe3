/**
 * DataLoader: batching, shuffle, dropLast, determinism (of the order and of
 * random augmentation, whatever order async samples finish in), prefetching,
 * skipped samples, error propagation, and the default collate.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DataLoader, defaultCollate, SampleError, type Dataset, type GetItemOptions } from '../src/data/index.js';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** n tiny uint8 [2, 2, 3] images whose bytes are their index, labelled i % 5. */
function images(n: number): Dataset<[Tensor<'uint8'>, number]> {
  return {
    length: n,
    getItem: (i: number) => [new Tensor<'uint8'>(new Uint8Array(12).fill(i), [2, 2, 3]), i % 5],
  };
}

/** The dataset indices of a batch made from images(): pixel 0 of each sample times 255. */
function indices(x: Tensor): number[] {
  const per = x.size / x.shape[0];
  return Array.from({ length: x.shape[0] }, (_, k) => Math.round(x.data[k * per] * 255));
}

async function epoch<B>(loader: AsyncIterable<B>): Promise<B[]> {
  const out: B[] = [];
  for await (const b of loader) out.push(b);
  return out;
}

describe('batching', () => {
  test('in order, the last batch short; dropLast leaves it out; length counts batches', async () => {
    const loader = new DataLoader(images(10), { batchSize: 4 });
    assert.equal(loader.length, 3);
    const batches = await epoch(loader);
    assert.deepEqual(
      batches.map(([x]) => indices(x)),
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ],
    );
    const [x, y] = batches[0];
    assert.deepEqual([...x.shape], [4, 3, 2, 2]);
    assert.equal(x.dtype, 'float32');
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(Array.from(y.data), [0, 1, 2, 3]);
    const dropped = new DataLoader(images(10), { batchSize: 4, dropLast: true });
    assert.equal(dropped.length, 2);
    assert.deepEqual(
      (await epoch(dropped)).map(([b]) => indices(b)),
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
      ],
    );
    assert.equal(new DataLoader(images(8), { batchSize: 4, dropLast: true }).length, 2);
    assert.equal(new DataLoader(images(3), { batchSize: 4, dropLast: true }).length, 0);
    assert.deepEqual(await epoch(new DataLoader(images(3), { batchSize: 4, dropLast: true })), []);
    assert.equal(new DataLoader(images(0)).length, 0);
  });

  test('shuffle: every epoch is a permutation, epochs differ, a seed repeats them', async () => {
    const run = async (options: { seed?: number; generator?: Generator }) => {
      const loader = new DataLoader(images(20), { batchSize: 6, shuffle: true, ...options });
      const epochs: number[][] = [];
      for (let e = 0; e < 3; e++) epochs.push((await epoch(loader)).flatMap(([x]) => indices(x)));
      return epochs;
    };
    const a = await run({ seed: 1 });
    for (const e of a)
      assert.deepEqual(
        [...e].sort((p, q) => p - q),
        Array.from({ length: 20 }, (_, i) => i),
      );
    assert.notDeepEqual(a[0], a[1]);
    assert.notDeepEqual(
      a[0],
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.deepEqual(await run({ seed: 1 }), a, 'the same seed repeats every epoch');
    assert.deepEqual(await run({ generator: new Generator(1) }), a, 'seed n is new Generator(n)');
    assert.notDeepEqual(await run({ seed: 2 }), a);
    manualSeed(9);
    const g1 = await run({});
    manualSeed(9);
    assert.deepEqual(await run({}), g1, 'without a seed, manualSeed repeats the run');
  });
});

/**
 * A dataset whose samples finish in an order unrelated to their index (a
 * delay from a hash of the index and a salt) and that augments with
 * RandomCrop + RandomHorizontalFlip drawn from the generator it is given.
 * It records how many getItem calls are in flight and which indices were asked.
 */
class SlowAugmented implements Dataset<[Tensor, number]> {
  inflight = 0;
  maxInflight = 0;
  requested: number[] = [];
  private readonly transform = new T.Compose([new T.RandomCrop(3), new T.RandomHorizontalFlip(), new T.ToTensor()]);

  constructor(
    readonly length: number,
    private readonly salt: number,
    private readonly maxDelay = 4,
  ) {}

  async getItem(i: number, { generator }: GetItemOptions = {}): Promise<[Tensor, number]> {
    this.requested.push(i);
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    await sleep(((i * 2654435761 + this.salt * 40503) >>> 0) % (this.maxDelay + 1));
    const d = new Uint8Array(5 * 5 * 3);
    for (let k = 0; k < d.length; k++) d[k] = (i * 17 + k * 3) & 255;
    const x = this.transform.apply(new Tensor<'uint8'>(d, [5, 5, 3]), generator);
    this.inflight--;
    return [x, i % 2];
  }
}

describe('determinism and prefetch', () => {
  test('augmentation depends on the seed only, not on prefetch or on the order samples finish', async () => {
    const collect = async (salt: number, prefetch: number, seed = 5) =>
      (await epoch(new DataLoader(new SlowAugmented(12, salt), { batchSize: 4, shuffle: true, seed, prefetch }))).map(([x]) => Array.from(x.data));
    const a = await collect(1, 0);
    assert.deepEqual(await collect(2, 3), a, 'different finishing order and prefetch, same batches');
    assert.deepEqual(await collect(3, 1), a);
    assert.notDeepEqual(await collect(1, 0, 6), a, 'another seed, other crops and flips');
  });

  test('while the consumer holds batch b, batches b+1 .. b+prefetch are requested and no more', async () => {
    for (const prefetch of [0, 2]) {
      const ds = new SlowAugmented(16, 0, 0);
      const loader = new DataLoader(ds, { batchSize: 2, prefetch });
      let b = 0;
      for await (const _ of loader) {
        await sleep(5); // a training step: the loads in flight finish meanwhile
        const expected = Math.min(16, (b + 1 + prefetch) * 2);
        assert.equal(ds.requested.length, expected, `prefetch ${prefetch}, batch ${b}: samples requested`);
        b++;
      }
      assert.equal(b, 8);
      if (prefetch > 0) assert.ok(ds.maxInflight > 2, `samples of several batches should load together (max in flight ${ds.maxInflight})`);
    }
  });
});

describe('failures', () => {
  const flaky = (bad: Set<number>, kind: 'sample' | 'bug'): Dataset<[Tensor<'uint8'>, number]> => ({
    length: 9,
    async getItem(i: number) {
      await sleep(0);
      if (bad.has(i)) throw kind === 'sample' ? new SampleError(`sample ${i} is unreadable`, i) : new Error(`bug at ${i}`);
      return images(9).getItem(i) as [Tensor<'uint8'>, number];
    },
  });

  test('a SampleError leaves the sample out: its batch is shorter, an empty batch is not yielded', async () => {
    const loader = new DataLoader(flaky(new Set([1, 3, 4, 5]), 'sample'), { batchSize: 3 });
    const batches = (await epoch(loader)).map(([x]) => indices(x));
    assert.deepEqual(batches, [
      [0, 2],
      [6, 7, 8],
    ]);
    assert.equal(loader.skipped, 4);
  });

  test('any other error ends the iteration with that error, without unhandled rejections', async () => {
    let unhandled = 0;
    const onUnhandled = () => unhandled++;
    process.on('unhandledRejection', onUnhandled);
    try {
      const loader = new DataLoader(flaky(new Set([7]), 'bug'), { batchSize: 2, prefetch: 3 });
      const seen: number[][] = [];
      await assert.rejects(async () => {
        for await (const [x] of loader) seen.push(indices(x));
      }, /bug at 7/);
      assert.deepEqual(seen, [
        [0, 1],
        [2, 3],
        [4, 5],
      ]);
      // Leaving early while later batches are in flight, one of which fails.
      for await (const _ of new DataLoader(flaky(new Set([7]), 'bug'), { batchSize: 2, prefetch: 4 })) break;
      await sleep(20);
      assert.equal(unhandled, 0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('option errors', () => {
    assert.throws(() => new DataLoader(images(3), { batchSize: 0 }), /batchSize must be a positive integer but received 0/);
    assert.throws(() => new DataLoader(images(3), { prefetch: -1 }), /prefetch must be a non-negative integer/);
    assert.throws(() => new DataLoader(images(3), { seed: 1, generator: new Generator(1) }), /generator or seed, not both/);
    assert.throws(() => new DataLoader({} as Dataset<number>), /expected a dataset/);
  });
});

describe('defaultCollate', () => {
  test('uint8 [H, W, C] images become float32 [N, C, H, W] in [0, 1]; float images stack; labels int32', () => {
    const a = new Tensor<'uint8'>(Uint8Array.from([0, 51, 255, 10, 20, 30]), [1, 2, 3]);
    const b = new Tensor<'uint8'>(Uint8Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3]);
    const [x, y] = defaultCollate([
      [a, 3],
      [b, 1],
    ]);
    assert.deepEqual([...x.shape], [2, 3, 1, 2]);
    assert.deepEqual(
      Array.from(x.data),
      [0, 10, 51, 20, 255, 30, 1, 4, 2, 5, 3, 6].map((v) => Math.fround(v / 255)),
    );
    assert.deepEqual([y.dtype, ...y.data], ['int32', 3, 1]);
    const f = new T.ToTensor().apply(a);
    const [xf] = defaultCollate([
      [f, 0],
      [f, 0],
    ]);
    assert.deepEqual([...xf.shape], [2, 3, 1, 2]);
    assert.deepEqual(Array.from(xf.data.subarray(0, 6)), Array.from(f.data));
    const soft = defaultCollate([0.5, 1]);
    assert.equal(soft.dtype, 'float32');
  });

  test('images of different sizes: an error that says what to do', () => {
    const a = new Tensor<'uint8'>(new Uint8Array(12), [2, 2, 3]);
    const b = new Tensor<'uint8'>(new Uint8Array(18), [2, 3, 3]);
    assert.throws(
      () =>
        defaultCollate([
          [a, 0],
          [b, 1],
        ]),
      /sample 1 is uint8 \[2, 3, 3\] but sample 0 is uint8 \[2, 2, 3\]; images in a batch need one size \(e\.g\. transforms\.Resize \+ CenterCrop, or Letterbox\)/,
    );
    assert.throws(() => defaultCollate([{ a: 1 }]), /cannot batch values of type object; pass a collate function/);
  });

  test('a custom collate replaces it', async () => {
    const loader = new DataLoader(images(5), { batchSize: 2, collate: (s) => s.map(([, y]) => y) });
    assert.deepEqual(await epoch(loader), [[0, 1], [2, 3], [4]]);
  });
});
