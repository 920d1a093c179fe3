/**
 * Divergence: a NaN or infinite loss stops Model.fit at once with a DivergenceError
 * (epoch, step, learning rate), no checkpoint ever holds it, a NaN or infinite value is
 * never the best, and `tsvision train --lr 1e9` ends with one line and exit status 1,
 * `best` a finite epoch or absent, and nothing partial left in --out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Dataset } from '../src/data/index.js';
import { getModel } from '../src/models/index.js';
import { CrossEntropyLoss } from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { Callback, DivergenceError, loadCheckpoint, Model, ModelCheckpoint, resolveCheckpoint, type CallbackHost } from '../src/train/index.js';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsv-diverge-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** n points in 2-D around two centres, labelled by centre. */
function points(n: number): Dataset<[Tensor<'float32'>, number]> & { classes: string[] } {
  const g = new Generator(5);
  const items = Array.from({ length: n }, (_, i) => {
    const c = i % 2;
    return [new Tensor(Float32Array.from([c * 2 - 1 + g.random() - 0.5, g.random()]), [2]), c] as [Tensor<'float32'>, number];
  });
  return { length: n, getItem: (i: number) => items[i], classes: ['a', 'b'] };
}

/** Names left in a run folder that only an interrupted or failed write leaves. */
const partial = (d: string) => readdirSync(d).filter((n) => /\.tmp-|\.old$|^\.|\.lock$/.test(n));

describe('Model.fit', () => {
  test('a NaN loss stops fit at that step; best and last hold the last good epoch; no final', async () => {
    manualSeed(0);
    const net = getModel('mlp', { inputSize: 2, hidden: [8], numClasses: 2 });
    const ce = new CrossEntropyLoss();
    let calls = 0;
    // 4 steps per epoch (and 1 evaluation batch): the loss turns NaN at epoch 3, step 2
    const loss = (out: Tensor, y: Tensor) => {
      calls++;
      const l = ce.call(out, y);
      return out.requiresGrad && calls === 4 * 2 + 2 + 2 ? l.mul(NaN) : l;
    };
    const model = new Model(net).prepare({ optimizer: new SGD(net.parameters(), { lr: 0.1 }), loss });
    const saveDir = join(dir, 'fit');
    await assert.rejects(model.fit(points(16), { epochs: 5, batchSize: 4, verbose: 0, saveDir, saveFreq: 0, evalData: points(4) }), (e: Error) => {
      assert.ok(e instanceof DivergenceError, String(e));
      assert.deepEqual({ ...e.info, value: String(e.info.value) }, { what: 'loss', value: 'NaN', epoch: 3, step: 2, lr: 0.1 });
      assert.equal(e.message, 'Model.fit: the loss became NaN at epoch 3, step 2 (learning rate 0.1): training diverged; lower the learning rate');
      return true;
    });
    // the NaN never reached the weights: the step was not taken
    assert.equal(model.step, 9);
    for (const p of net.parameters()) assert.ok((p.data as Float32Array).every(Number.isFinite));
    assert.equal(loadCheckpoint(join(saveDir, 'last')).info.epoch, 2);
    const best = loadCheckpoint(join(saveDir, 'best'));
    assert.ok(Number.isFinite(best.info.metrics.eval_loss) && best.info.epoch >= 1 && best.info.epoch <= 2);
    assert.ok(!existsSync(join(saveDir, 'final')), 'no final checkpoint after a divergence');
    assert.deepEqual(partial(saveDir), []);
  });

  test('infinite weights after an epoch stop fit before a checkpoint holds them', async () => {
    manualSeed(0);
    const net = getModel('mlp', { inputSize: 2, hidden: [8], numClasses: 2 });
    const opt = new SGD(net.parameters(), { lr: 0.1 });
    const model = new Model(net).prepare({ optimizer: opt, loss: new CrossEntropyLoss() });
    const saveDir = join(dir, 'weights');
    let steps = 0;
    // the second epoch's last step leaves an infinite weight (as a huge learning rate would)
    class Poison extends Callback {
      override onBatchEnd(): void {
        if (++steps === 8) (net.parameters()[0].data as Float32Array)[0] = Infinity;
      }
    }
    await assert.rejects(model.fit(points(16), { epochs: 3, batchSize: 4, verbose: 0, saveDir, saveFreq: 0, callbacks: [new Poison()] }), (e: Error) => {
      assert.ok(e instanceof DivergenceError);
      assert.match(e.message, /^Model\.fit: the weight [\w.]+ became infinite after epoch 2 \(learning rate 0\.1\): training diverged/);
      return true;
    });
    assert.equal(loadCheckpoint(join(saveDir, 'last')).info.epoch, 1);
  });

  test('ModelCheckpoint never ranks a NaN or infinite value as the best', async () => {
    const saved: string[] = [];
    const host: CallbackHost = { stopTraining: false, scheduler: null, save: (d: string) => void saved.push(d.split('/').at(-1)!) };
    const cb = new ModelCheckpoint({ dir: join(dir, 'rank'), saveFreq: 0, saveLast: false });
    cb.setModel(host);
    for (const [epoch, v] of [Infinity, NaN, 2, -Infinity, NaN, 1].entries()) await cb.onEpochEnd(epoch, { eval_loss: v });
    assert.deepEqual(saved, ['best', 'best']);
    assert.equal(cb.best, 1);
    assert.equal(cb.bestEpoch, 5);
  });
});

describe('tsvision train --lr 1e9', () => {
  const root = () => join(dir, 'cli');
  before(async () => {
    const writes: Promise<unknown>[] = [];
    for (const c of ['a', 'b']) {
      mkdirSync(join(root(), 'data', c), { recursive: true });
      for (let i = 0; i < 8; i++) {
        const px = Buffer.alloc(16 * 16);
        for (let k = 0; k < px.length; k++) px[k] = (c === 'a' ? k * 7 + i * 13 : 255 - k * 5 - i * 11) & 255;
        writes.push(
          sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
            .png()
            .toFile(join(root(), 'data', c, `${i}.png`)),
        );
      }
    }
    await Promise.all(writes);
  });

  test('stops with one line (epoch, step, learning rate, advice), exit 1; best finite or absent; nothing partial', async () => {
    const out = join(root(), 'run');
    const args = ['train', '--data', 'data', '--model', 'convnet', '--image-size', '16', '--channels', '1', '--epochs', '3', '--batch-size', '4'];
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [...CLI_FLAGS, bin, ...args, '--lr', '1e9', '--out', out], {
        cwd: root(),
        env: { ...process.env, TSVISION_DEBUG: '', TSVISION_NUM_THREADS: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /^tsvision train: the (loss|validation loss|weight [\w.]+) became (NaN|infinite|-infinite) (at epoch \d+, step \d+|after epoch \d+) \(learning rate [\d.e+]+\): training diverged; lower --lr and train again.*\n$/,
    );
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
    const best = resolveCheckpoint(join(out, 'best'));
    if (best !== null) {
      const ck = loadCheckpoint(best);
      assert.ok(Number.isFinite(ck.info.metrics.eval_loss), 'the best epoch has a finite validation loss');
      for (const t of ck.modelState.values()) assert.ok((t.data as Float32Array).every(Number.isFinite));
      assert.match(r.stderr, /best holds the best epoch before it/);
    } else assert.match(r.stderr, /no epoch finished, so no checkpoint was kept/);
    assert.ok(!existsSync(join(out, 'final')) && !existsSync(join(out, 'evaluation')), 'no final checkpoint, no evaluation');
    assert.deepEqual(partial(out), [], 'no temporary files or lock left');
    assert.doesNotMatch(readFileSync(join(out, 'history.csv'), 'utf8'), /NaN|Infinity/);
  });
});
