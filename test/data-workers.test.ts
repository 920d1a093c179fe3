/**
 * DataLoader numWorkers: batches loaded in worker threads are the same bit for
 * bit as on the main thread (ImageFolder with random transforms, the
 * combinators, a user dataset from its own module), corrupt files are
 * reported once on the main thread and skipped, a dataset that cannot be
 * rebuilt in a worker falls back with one warning, errors and dying workers
 * end the iteration, idle workers never keep the process alive, every
 * transform's spec rebuilds it, and the native addon works in a worker while
 * the main thread runs its own kernels.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, threadId } from 'node:worker_threads';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { addon } from '../src/backend/index.js';
import {
  CIFAR10,
  ConcatDataset,
  DataLoader,
  filterClasses,
  ImageFolder,
  MNIST,
  portableDataset,
  SampleError,
  Subset,
  withTransform,
  type Dataset,
  type PortableDataset,
} from '../src/data/index.js';
import { conv, matmul, softmax, sum } from '../src/tensor/ops/index.js';
import { Generator, manualSeed, rand } from '../src/tensor/random.js';
import * as nn from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { Model } from '../src/train/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';

const LIB = new URL('../src/index.js', import.meta.url).href;

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsvision-workers-'));
  dirs.push(d);
  return d;
}

/** The random pipeline the determinism checks use. */
const pipeline = () =>
  new T.Compose([
    new T.RandomResizedCrop(12, { scale: [0.3, 1] }),
    new T.RandomHorizontalFlip(),
    new T.ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }),
    new T.ToTensor(),
    new T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3]),
  ]);

type Sample = [Tensor, number];

/** Every batch of `epochs` epochs, as [image bytes, labels] for exact comparison. */
async function run(loader: DataLoader<any, any>, epochs = 2): Promise<[Buffer, number[]][]> {
  const out: [Buffer, number[]][] = [];
  for (let e = 0; e < epochs; e++) {
    for await (const [x, y] of loader) {
      assert.ok(x instanceof Tensor && y instanceof Tensor);
      out.push([Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength), Array.from(y.data as Int32Array)]);
    }
  }
  return out;
}

/** Warnings with code TSVISION_NO_WORKERS emitted while fn runs. */
async function fallbackWarnings(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (w: Error & { code?: string }) => {
    if (w.code === 'TSVISION_NO_WORKERS') seen.push(w.message);
  };
  process.on('warning', listener);
  try {
    await fn();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', listener);
  }
  return seen;
}

let root = '';
let badPath = '';
let numbersUrl = '';

before(async () => {
  root = tempDir();
  let k = 0;
  for (const c of ['cat', 'dog', 'owl']) {
    for (let i = 0; i < 6; i++, k++) {
      const [h, w] = [16 + (k % 5) * 3, 18 + (k % 4) * 4];
      const raw = Buffer.alloc(h * w * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (j * 7 + k * 31 + ((j / 3) | 0) * 5) & 255;
      mkdirSync(join(root, c), { recursive: true });
      await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toFile(join(root, c, `${i}.png`));
    }
  }
  badPath = join(root, 'dog', '3_corrupt.png');
  writeFileSync(badPath, Buffer.from('not a PNG at all'));

  // A user's dataset in its own module, which imports tsvision like any user code.
  numbersUrl = pathToFileURL(join(tempDir(), 'numbers.mjs')).href;
  writeFileSync(
    new URL(numbersUrl),
    `
import { threadId } from 'node:worker_threads';
import * as tv from '${LIB}';
export class Numbers {
  constructor(args) { this.args = args; this.length = args.length; this.reported = 0; }
  async getItem(i, { generator } = {}) {
    const a = this.args;
    if (i === a.failAt) throw new RangeError('Numbers: sample ' + i + ' is broken');
    if (i === a.dieAt && threadId !== 0) process.exit(3);
    if (i === a.skipAt) { this.reported++; throw new tv.data.SampleError('Numbers: sample ' + i + ' skipped', i); }
    if (a.delay && i % 3 === 0) await new Promise((r) => setTimeout(r, a.delay));
    const x = new Float32Array(4);
    for (let k = 0; k < 4; k++) x[k] = i + generator.random();
    return [new tv.Tensor(x, [4]), a.tag ? threadId : i % 3];
  }
  portability() { return { spec: { module: import.meta.url, export: 'makeNumbers', args: this.args } }; }
}
export function makeNumbers(args) { return new Numbers(args); }
`,
  );
});

interface NumbersArgs {
  length: number;
  failAt?: number;
  dieAt?: number;
  skipAt?: number;
  delay?: number;
  tag?: boolean;
}
async function numbers(args: NumbersArgs): Promise<PortableDataset<Sample> & { reported: number }> {
  const { Numbers } = await import(numbersUrl);
  return new Numbers(args);
}

/** ImageFolder that counts the getItem calls made on the main thread. */
class CountingFolder extends ImageFolder<Tensor> {
  calls = 0;
  override getItem(index: number, options?: { generator?: Generator }): Promise<[Tensor, number]> {
    this.calls++;
    return super.getItem(index, options);
  }

  /** Workers may load a plain ImageFolder: only the counting differs. */
  override portability() {
    return super.portability();
  }
}

describe('DataLoader numWorkers', () => {
  test('ImageFolder with random transforms: 0, 1 and 2 workers give the same batches bit for bit; the corrupt file is reported once', async () => {
    const runs: [Buffer, number[]][][] = [];
    for (const numWorkers of [0, 1, 2]) {
      const reports: SampleError[] = [];
      const ds = new CountingFolder(root, { transform: pipeline(), onError: (e) => reports.push(e) });
      const loader = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 42, numWorkers });
      const warnings = await fallbackWarnings(async () => void runs.push(await run(loader, 2)));
      await loader.close();
      assert.deepEqual(warnings, [], `numWorkers ${numWorkers}: no fallback`);
      assert.deepEqual(
        reports.map((e) => e.path),
        [badPath],
        `numWorkers ${numWorkers}: reported once, by path`,
      );
      assert.ok(ds.badFiles.has(badPath));
      assert.equal(loader.skipped, 2, `numWorkers ${numWorkers}: skipped once per epoch`);
      // With workers, the main thread only loads the corrupt sample (to report it), once per epoch.
      assert.equal(ds.calls, numWorkers === 0 ? 2 * ds.length : 2, `numWorkers ${numWorkers}: getItem calls on the main thread`);
    }
    const [zero, one, two] = runs;
    // 19 files, 18 that decode: 4 batches per epoch, 18 samples in them
    assert.equal(zero.length, 8);
    assert.equal(
      zero.reduce((n, [, y]) => n + y.length, 0),
      36,
    );
    assert.notDeepEqual(zero[0][0], zero[4][0], 'the two epochs differ (the transforms are random)');
    assert.deepEqual(one, zero, '1 worker');
    assert.deepEqual(two, zero, '2 workers');
  });

  test('Model.fit and evaluate with numWorkers: the same history as on the main thread, and the workers end with the call', async () => {
    const histories: number[][] = [];
    for (const numWorkers of [0, 2]) {
      manualSeed(3);
      const net = new nn.Sequential(new nn.Flatten(), new nn.Linear(3 * 12 * 12, 3));
      const model = new Model(net).prepare({ optimizer: new SGD(net.parameters(), { lr: 0.1 }), loss: new nn.CrossEntropyLoss() });
      const ds = new ImageFolder(root, { transform: pipeline(), onError: () => {} });
      const history = await model.fit(ds, { epochs: 2, batchSize: 4, seed: 7, numWorkers, evalData: ds, verbose: 0 });
      const ev = await model.evaluate(ds, { batchSize: 4, numWorkers, verbose: 0 });
      histories.push([...history.flatMap((h) => [h.loss, h.eval_loss]), ev.loss]);
    }
    assert.deepEqual(histories[1], histories[0]);
    assert.ok(histories[0].every(Number.isFinite));
  });

  test('MNIST and CIFAR10 load in workers, identically; a subclass without its own spec falls back', async () => {
    const cifarRoot = join(tempDir(), 'cifar-10-batches-bin');
    mkdirSync(cifarRoot);
    const record = (label: number, seed: number) =>
      Buffer.concat([Buffer.from([label]), Buffer.from(Array.from({ length: 3072 }, (_, i) => (seed * 31 + i * 7) & 255))]);
    for (let b = 1; b <= 5; b++)
      writeFileSync(join(cifarRoot, `data_batch_${b}.bin`), Buffer.concat([0, 1, 2, 3].map((k) => record((b + k) % 10, 10 * b + k))));
    const augment = () => new T.Compose([new T.RandomCrop(24, { padding: 2 }), new T.ToTensor()]);
    const sets: [string, () => Dataset<any>][] = [
      [
        'MNIST',
        () =>
          new Subset(
            new MNIST({ train: false, transform: augment() }),
            Array.from({ length: 40 }, (_, i) => i * 7),
          ),
      ],
      ['CIFAR10', () => new CIFAR10({ root: cifarRoot, transform: augment() })],
    ];
    for (const [name, make] of sets) {
      const runs: [Buffer, number[]][][] = [];
      for (const numWorkers of [0, 2]) {
        const loader = new DataLoader(make(), { batchSize: 6, shuffle: true, seed: 9, numWorkers });
        const warnings = await fallbackWarnings(async () => void runs.push(await run(loader, 2)));
        await loader.close();
        assert.deepEqual(warnings, [], `${name} with ${numWorkers} workers: no fallback`);
      }
      assert.ok(runs[0].length > 0);
      assert.deepEqual(runs[1], runs[0], name);
    }
    const reason = (ds: Dataset<unknown>) => (portableDataset(ds) as { reason?: string }).reason;
    class Digits extends MNIST {}
    assert.match(reason(new Digits({ train: false }))!, /Digits extends MNIST without a portability\(\) of its own/);
    assert.match(reason(new MNIST({ train: false, targetTransform: (y) => y }))!, /MNIST: a targetTransform/);
  });

  test('Subset, withTransform, ConcatDataset and filterClasses load in workers, identically', async () => {
    const plain = new ImageFolder(root, { onError: () => {} });
    const folder = new ImageFolder(root, { transform: pipeline(), onError: () => {} });
    const datasets: Dataset<any>[] = [
      new Subset(folder, [17, 2, 9, 9, 0, 12, 5]),
      withTransform(new Subset(plain, [1, 4, 7, 10, 13, 16]), pipeline()),
      new ConcatDataset([new Subset(folder, [0, 1]), withTransform(new Subset(plain, [15, 16, 3]), pipeline())]),
      filterClasses(folder, ['owl', 'cat']),
    ];
    for (const ds of datasets) {
      assert.ok('spec' in portableDataset(ds), `${ds.constructor.name} is portable`);
      const reference = await run(new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5 }), 1);
      const loader = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 5, numWorkers: 2 });
      assert.deepEqual(await run(loader, 1), reference, ds.constructor.name);
      await loader.close();
    }
    // A collate of its own: the samples come back as tensors and are collated on the main thread.
    const collate = (samples: Sample[]) => samples;
    const samples = async (numWorkers: number) => {
      const loader = new DataLoader<Sample, Sample[]>(datasets[2], { batchSize: 4, seed: 2, numWorkers, collate });
      const out: Sample[] = [];
      for await (const batch of loader) out.push(...batch);
      await loader.close();
      return out;
    };
    const [here, there] = [await samples(0), await samples(1)];
    assert.equal(there.length, 5);
    there.forEach(([x, y], i) => {
      assert.ok(x instanceof Tensor, `sample ${i} is a Tensor`);
      assert.deepEqual([...x.shape], [...here[i][0].shape]);
      assert.deepEqual(x.data, here[i][0].data);
      assert.equal(y, here[i][1]);
    });
  });

  test('a transform or dataset that cannot be rebuilt in a worker: one warning that says why, then the main thread', async () => {
    const lambda = new ImageFolder(root, { transform: new T.Compose([new T.Lambda((x: Tensor) => x), new T.CenterCrop(8)]), onError: () => {} });
    const reference = await run(new DataLoader(lambda, { batchSize: 4, seed: 1 }), 2);
    const loader = new DataLoader(lambda, { batchSize: 4, seed: 1, numWorkers: 2 });
    let batches: [Buffer, number[]][] = [];
    const warnings = await fallbackWarnings(async () => void (batches = await run(loader, 2)));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /numWorkers 2 ignored, loading on the main thread: ImageFolder: transform Lambda cannot be rebuilt in a worker/);
    assert.deepEqual(batches, reference);
    await loader.close();

    const reason = (ds: Dataset<unknown>) => (portableDataset(ds) as { reason?: string }).reason;
    const fn = new ImageFolder(root, {
      transform: function crop(x: Tensor) {
        return x;
      },
    });
    assert.match(reason(withTransform(new Subset(fn, [0]), new T.ToTensor()))!, /ImageFolder: transform function crop cannot be rebuilt in a worker/);
    assert.match(reason(new ImageFolder(root, { targetTransform: (y) => y }))!, /targetTransform/);
    assert.match(reason({ length: 1, getItem: () => 0 })!, /dataset Object has no portability\(\)/);
    class Sharpen implements T.Transform {
      apply(x: Tensor) {
        return x;
      }
      spec() {
        return { name: 'Sharpen', args: [] };
      }
    }
    assert.match(
      reason(new ImageFolder(root, { transform: new T.Compose([new T.CenterCrop(8), new Sharpen()]) }))!,
      /ImageFolder: transform Sharpen is not built in/,
    );
    class BigCrop extends T.CenterCrop {}
    assert.match(reason(new ImageFolder(root, { transform: new BigCrop(8) }))!, /transform BigCrop \(a CenterCrop\) has no spec\(\) of its own/);
    class Flipped extends ImageFolder {}
    assert.match(reason(new Subset(new Flipped(root), [0]))!, /Flipped extends ImageFolder without a portability\(\) of its own/);
    assert.equal(reason(new ImageFolder(root, { transform: pipeline() })), undefined);
  });

  test('a user dataset from its own module: same batches, in order, over both workers; its SampleError is reported on the main thread', async () => {
    const args = { length: 23, skipAt: 8, delay: 4 };
    const reference = await numbers(args);
    const expected = await run(new DataLoader(reference, { batchSize: 2, shuffle: true, seed: 9 }), 1);
    const ds = await numbers(args);
    const loader = new DataLoader(ds, { batchSize: 2, shuffle: true, seed: 9, numWorkers: 2, prefetch: 0 });
    assert.deepEqual(await run(loader, 1), expected);
    assert.equal(ds.reported, 1, 'the main-thread dataset saw the failing sample once');
    assert.equal(loader.skipped, 1);
    await loader.close();

    const tagged = new DataLoader(await numbers({ length: 40, tag: true, delay: 4 }), { batchSize: 2, numWorkers: 2 });
    const threads = new Set((await run(tagged, 1)).flatMap(([, y]) => y));
    await tagged.close();
    assert.equal(threads.size, 2, `batches were loaded by two workers (threads ${[...threads]})`);
    assert.ok(!threads.has(threadId));
  });

  test("an error thrown in a worker ends the iteration with the worker's message; so does a worker that dies", async () => {
    const failing = new DataLoader(await numbers({ length: 12, failAt: 7 }), { batchSize: 2, numWorkers: 2 });
    await assert.rejects(run(failing, 1), /DataLoader: worker \d failed: RangeError: Numbers: sample 7 is broken/);
    // The workers are still there for the next epoch, which fails the same way (and does not hang).
    await assert.rejects(run(failing, 1), /sample 7 is broken/);
    await failing.close();

    const dying = new DataLoader(await numbers({ length: 12, dieAt: 5 }), { batchSize: 2, numWorkers: 2 });
    await assert.rejects(run(dying, 1), /DataLoader: worker \d exited with code 3 while loading a batch/);
    await dying.close();

    const noFactory: PortableDataset<number[]> = {
      length: 4,
      getItem: (i) => [i, i],
      portability: () => ({ spec: { module: numbersUrl, export: 'nothing', args: {} } }),
    };
    const missing = new DataLoader(noFactory, { numWorkers: 1 });
    await assert.rejects(run(missing, 1), /worker 1 failed: could not rebuild the dataset with nothing\(\).*does not export a function nothing/);
    await missing.close();
  });

  test('idle workers never keep the process alive; close() ends them and a later epoch starts new ones', () => {
    const script = `
      const { DataLoader } = await import('${new URL('../src/data/index.js', import.meta.url).href}');
      const { Numbers } = await import('${numbersUrl}');
      const loader = new DataLoader(new Numbers({ length: 10, delay: 20 }), { batchSize: 3, numWorkers: 2 });
      let n = 0;
      for await (const [x] of loader) n += x.shape[0];   // awaiting busy workers keeps the process up
      await loader.close();
      for await (const [x] of loader) n += x.shape[0];   // new workers
      console.log('samples', n);
      // no close(): the idle workers must not keep the process alive
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15000 });
    assert.equal(r.signal, null, `the process did not exit by itself: ${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'samples 20');
  });
});

describe('transform specs', () => {
  test('every built-in transform is rebuilt by transformFromSpec and gives the same output', () => {
    const img = new Tensor<'uint8'>(
      Uint8Array.from({ length: 20 * 24 * 3 }, (_, i) => (i * 37) & 255),
      [20, 24, 3],
    );
    const float = T.functional.toTensor(img);
    const cases: [T.Transform, Tensor][] = [
      [new T.Resize(10, { interpolation: 'bicubic', maxSize: 12 }), img],
      [new T.Resize([7, 9], { interpolation: 'lanczos' }), float],
      [new T.CenterCrop([11, 13]), img],
      [new T.Pad([1, 2, 3, 4], { fill: [10, 20, 30], mode: 'constant' }), img],
      [new T.Pad(2, { mode: 'reflect' }), float],
      [new T.RandomCrop(22, { padding: 2, padIfNeeded: true, fill: 7, paddingMode: 'edge' }), img],
      [new T.RandomResizedCrop([9, 11], { scale: [0.2, 0.9], ratio: [0.5, 2], interpolation: 'nearest' }), img],
      [new T.RandomHorizontalFlip(0.7), img],
      [new T.RandomVerticalFlip(0.3), img],
      [new T.RandomRotation([-40, 25], { interpolation: 'bilinear', expand: true, center: [3, 4], fill: [1, 2, 3] }), img],
      [new T.Letterbox([10, 16], { fill: 9, interpolation: 'box' }), img],
      [new T.ColorJitter({ brightness: 0.5, contrast: [0.8, 1.3], saturation: 0.2, hue: [-0.2, 0.1] }), img],
      [new T.Grayscale(3), img],
      [new T.RandomGrayscale(0.6), img],
      [new T.ToTensor(), img],
      [new T.Normalize([0.1, 0.2, 0.3], [0.5, 0.6, 0.7]), float],
      [new T.Compose([new T.RandomResizedCrop(8), new T.ColorJitter({ hue: 0.3 }), new T.ToTensor()]), img],
    ];
    for (const [t, input] of cases) {
      const spec = t.spec!();
      assert.ok(spec, `${t.constructor.name} has a spec`);
      const copy = T.transformFromSpec(structuredClone(spec));
      assert.equal(copy.constructor, t.constructor);
      assert.deepEqual(copy.spec!(), spec, `${spec.name}: the rebuilt transform describes itself the same way`);
      for (let seed = 0; seed < 5; seed++) {
        const a = t.apply(input, new Generator(seed));
        const b = copy.apply(input, new Generator(seed));
        assert.deepEqual([...b.shape], [...a.shape], `${spec.name}, seed ${seed}`);
        assert.deepEqual(b.data, a.data, `${spec.name}, seed ${seed}`);
      }
    }
    // A transform's own generator is not part of the spec (the loader's per-sample generator wins anyway).
    assert.deepEqual(new T.RandomHorizontalFlip(0.5, { generator: new Generator(1) }).spec(), { name: 'RandomHorizontalFlip', args: [0.5] });
    assert.equal(new T.Lambda((x) => x).spec(), null);
    assert.equal(new T.Compose([new T.ToTensor(), (x: Tensor) => x]).spec(), null);
    assert.throws(() => T.transformFromSpec({ name: 'Blur', args: [] }), /transformFromSpec: "Blur" is not a built-in transform/);
  });
});

describe('the native addon in a worker thread', () => {
  test("loads, and its ops give the main thread's results while the main thread runs matmuls", { skip: addon ? false : 'no native addon' }, async () => {
    // The same computation on both threads: GEMM, convolution, reductions, softmax.
    const compute = (ops: {
      rand: typeof rand;
      matmul: typeof matmul;
      conv: typeof conv;
      sum: typeof sum;
      softmax: typeof softmax;
      Generator: typeof Generator;
    }) => {
      const g = new ops.Generator(11);
      const a = ops.rand([300, 260], { generator: g });
      const b = ops.rand([260, 190], { generator: g });
      const x = ops.rand([4, 8, 40, 40], { generator: g });
      const w = ops.rand([16, 8, 3, 3], { generator: g });
      const m = ops.matmul(a, b);
      return [m, ops.conv(x, w, null, { padding: 1 }), ops.sum(m, 1), ops.softmax(m, 1)].map((t) => t.data);
    };
    const expected = compute({ rand, matmul, conv, sum, softmax, Generator });
    const code = `
      const { parentPort } = require('node:worker_threads');
      (async () => {
        const tv = await import('${LIB}');
        const compute = ${compute.toString()};
        const results = [];
        for (let i = 0; i < 6; i++) results.push(compute(tv));
        parentPort.postMessage({ backend: tv.backendName(), results });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack) }));`;
    const worker = new Worker(code, { eval: true });
    let reply: { backend?: string; results?: Float32Array[][]; error?: string } | null = null;
    worker.on('message', (m) => (reply = m));
    worker.on('error', (e) => (reply = { error: String(e) }));
    // Keep the pool busy from the main thread while the worker computes.
    const g = new Generator(3);
    const big = rand([384, 384], { generator: g });
    let mainOps = 0;
    while (reply === null) {
      matmul(big, big);
      mainOps++;
      await new Promise((r) => setImmediate(r));
    }
    await worker.terminate();
    const r = reply as { backend?: string; results?: Float32Array[][]; error?: string };
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.backend, 'native', 'the worker loaded the native addon');
    assert.ok(mainOps > 1, 'the main thread ran matmuls meanwhile');
    for (const [i, run] of r.results!.entries()) {
      run.forEach((data, k) => assert.deepEqual(data, expected[k], `run ${i}, result ${k}`));
    }
  });
});
