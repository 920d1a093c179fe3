/**
 * WeightedRandomSampler (torch's semantics), balancedSampler and classWeights; the
 * DataLoader's sampler option; Model.fit({ balance: true }); tsvision train --balance on
 * an unbalanced folder.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DataLoader } from '../src/data/loader.js';
import { balancedSampler, classCounts, classWeights, WeightedRandomSampler } from '../src/data/sampler.js';
import { Linear } from '../src/nn/linear.js';
import { SGD } from '../src/optim/sgd.js';
import { CrossEntropyLoss } from '../src/nn/loss.js';
import { Generator } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Model } from '../src/train/model.js';
import { picture } from './audit-fixtures.js';
import { CLI_FLAGS } from './helpers.js';

/** |rate - p| within 4.5 standard deviations of a binomial proportion (a false alarm about once in 150,000 runs). */
function assertRate(hits: number, n: number, p: number, label: string): void {
  const sd = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(hits / n - p) <= 4.5 * sd + 1e-12, `${label}: rate ${hits / n} vs p = ${p} (n = ${n})`);
}

/** 10:1 skew: 100 samples of class 0, 10 of class 1. */
const SKEWED = Int32Array.from({ length: 110 }, (_, i) => (i < 100 ? 0 : 1));

describe('WeightedRandomSampler', () => {
  test('with replacement: each index drawn in proportion to its weight; a zero weight never', () => {
    const weights = [1, 0, 3, 6];
    const s = new WeightedRandomSampler(weights, { numSamples: 20000, generator: new Generator(3) });
    assert.equal(s.length, 20000);
    const idx = s.indices();
    assert.equal(idx.length, 20000);
    const counts = [0, 0, 0, 0];
    for (const i of idx) counts[i]++;
    assert.equal(counts[1], 0);
    weights.forEach((w, i) => assertRate(counts[i], idx.length, w / 10, `index ${i}`));
  });

  test('without replacement: distinct indices, the heavy ones first more often; all positive weights when numSamples is their count', () => {
    const s = new WeightedRandomSampler([1, 0, 1, 8], { numSamples: 3, replacement: false });
    let heavyFirst = 0;
    const g = new Generator(5);
    const n = 4000;
    for (let k = 0; k < n; k++) {
      const idx = s.indices(g);
      assert.deepEqual([...idx].sort(), [0, 2, 3], 'the three positive weights, once each');
      if (idx[0] === 3) heavyFirst++;
    }
    assertRate(heavyFirst, n, 0.8, 'the weight-8 index drawn first');
    const two = new WeightedRandomSampler([1, 1, 1, 1], { numSamples: 2, replacement: false });
    const seen = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const idx = two.indices(g);
      assert.notEqual(idx[0], idx[1]);
      seen.add([...idx].join());
    }
    assert.equal(seen.size, 12, 'every ordered pair appears');
  });

  test("seeded: the sampler's own generator, else the one given, else the global one; iterable as torch's", () => {
    const a = new WeightedRandomSampler([1, 2, 3], { numSamples: 50, generator: new Generator(9) });
    const b = new WeightedRandomSampler([1, 2, 3], { numSamples: 50, generator: new Generator(9) });
    assert.deepEqual([...a], [...b]);
    const c = new WeightedRandomSampler([1, 2, 3], { numSamples: 50 });
    assert.deepEqual(c.indices(new Generator(4)), c.indices(new Generator(4)));
    assert.notDeepEqual(c.indices(new Generator(4)), c.indices(new Generator(5)));
  });

  test('errors name the argument', () => {
    assert.throws(() => new WeightedRandomSampler([]), /weights is empty/);
    assert.throws(() => new WeightedRandomSampler([1, -1]), /weight 1 is -1; weights must be finite and >= 0/);
    assert.throws(() => new WeightedRandomSampler([1, NaN]), /weight 1 is NaN/);
    assert.throws(() => new WeightedRandomSampler([0, 0]), /every weight is 0/);
    assert.throws(() => new WeightedRandomSampler([1, 1], { numSamples: 0 }), /numSamples must be a positive integer but received 0/);
    assert.throws(
      () => new WeightedRandomSampler([1, 0, 1], { numSamples: 3, replacement: false }),
      /cannot draw 3 distinct indices without replacement from 2/,
    );
  });
});

describe('class balance', () => {
  test('classCounts and classWeights: N / (K n_c), every class weighing N / K', () => {
    const counts = classCounts(SKEWED);
    assert.deepEqual(counts, [100, 10]);
    assert.deepEqual(classWeights(counts), [110 / 200, 110 / 20]);
    assert.deepEqual(classWeights([4, 0, 2]), [6 / 8, 0, 6 / 4], 'an empty class weighs 0 and is not counted');
    assert.deepEqual(classCounts([0, 2], 4), [1, 0, 1, 0]);
  });

  test('balancedSampler on a 10:1 skew draws each class half the time', () => {
    const s = balancedSampler(SKEWED, { generator: new Generator(1) });
    assert.equal(s.length, 110, 'an epoch as long as the data');
    let minority = 0;
    let n = 0;
    for (let epoch = 0; epoch < 100; epoch++) {
      for (const i of s.indices()) {
        n++;
        if (SKEWED[i] === 1) minority++;
      }
    }
    assertRate(minority, n, 0.5, 'class 1');
  });

  test('DataLoader({ sampler }): epochs of sampler.length, drawn from the seeded loader, not with shuffle', async () => {
    const data = { length: 110, getItem: (i: number) => [new Tensor<'float32'>(new Float32Array([i]), [1]), SKEWED[i]] as [Tensor, number] };
    const loader = new DataLoader(data, { batchSize: 32, sampler: balancedSampler(SKEWED, { numSamples: 70 }), seed: 2 });
    assert.equal(loader.length, 3);
    const epoch = async (l: DataLoader) => {
      const xs: number[] = [];
      for await (const [x] of l as AsyncIterable<[Tensor, Tensor]>) xs.push(...x.data);
      return xs;
    };
    const first = await epoch(loader);
    assert.equal(first.length, 70);
    const again = new DataLoader(data, { batchSize: 32, sampler: balancedSampler(SKEWED, { numSamples: 70 }), seed: 2 });
    assert.deepEqual(await epoch(again), first, 'the same seed, the same epoch');
    assert.notDeepEqual(await epoch(loader), first, 'the next epoch draws again');
    assert.throws(() => new DataLoader(data, { sampler: balancedSampler(SKEWED), shuffle: true }), /sampler and shuffle exclude each other/);
    const wrong = new DataLoader(data, { sampler: new WeightedRandomSampler(new Array(200).fill(1)) });
    await assert.rejects(epoch(wrong), /the sampler gave index \d+, out of range for a dataset of length 110/);
  });

  test('Model.fit({ balance: true }) trains on each class half the time; refused where labels are unknown', async () => {
    const data = {
      length: 110,
      classes: ['many', 'few'],
      targets: SKEWED,
      getItem: (i: number) => [new Tensor<'float32'>(new Float32Array([SKEWED[i], 1]), [2]), SKEWED[i]] as [Tensor, number],
    };
    const net = new Linear(2, 2);
    const seen = [0, 0];
    const ce = new CrossEntropyLoss();
    const model = new Model(net).prepare({
      optimizer: new SGD(net.parameters(), { lr: 0.1 }),
      loss: (out: Tensor, y: Tensor) => {
        if (out.requiresGrad) for (const t of y.data) seen[t]++; // a training step (evaluation runs without gradients)
        return ce.call(out, y);
      },
    });
    await model.fit(data, { epochs: 20, batchSize: 22, balance: true, seed: 1, verbose: 0, evalData: data });
    assert.equal(seen[0] + seen[1], 20 * 110, 'epochs as long as the data; evaluation not balanced (not counted here)');
    assertRate(seen[1], seen[0] + seen[1], 0.5, 'the minority class');
    const unlabelled = { length: 110, getItem: data.getItem };
    await assert.rejects(model.fit(unlabelled, { balance: true, verbose: 0 }), /balance needs a Dataset whose targets are known.*this dataset has no targets/);
    await assert.rejects(model.fit(new DataLoader(data), { balance: true, verbose: 0 }), /not a DataLoader \(give the DataLoader a sampler/);
  });
});

describe('tsvision train --balance', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvision-balance-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('an unbalanced folder trains with a balanced sampler, recorded for --resume', async () => {
    const writes: Promise<unknown>[] = [];
    for (const [c, n] of [
      ['many', 30],
      ['few', 3],
    ] as const) {
      mkdirSync(join(root, 'data', c), { recursive: true });
      for (let i = 0; i < n; i++)
        writes.push(
          picture(1000 * n + i, 20, 16)
            .png()
            .toFile(join(root, 'data', c, `${i}.png`)),
        );
    }
    await Promise.all(writes);
    const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
    const args = [
      'train',
      '--data',
      'data',
      '--val-split',
      '0',
      '--model',
      'convnet',
      '--image-size',
      '16',
      '--epochs',
      '1',
      '--batch-size',
      '11',
      '--balance',
    ];
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [...CLI_FLAGS, bin, ...args, '--out', 'run'], { cwd: root, env: { ...process.env, TSVISION_DEBUG: '' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /33 training images in 2 classes \(few 3, many 30\)/);
    assert.match(r.stdout, /Sampling: balanced, each class drawn 1\/2 of the time/);
    assert.match(r.stdout, /1 epochs of 3 steps/);
    const run = JSON.parse(readFileSync(join(root, 'run', 'run.json'), 'utf8'));
    assert.equal(run.settings.balance, true);
  });
});
