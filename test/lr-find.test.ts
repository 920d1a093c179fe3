/**
 * The learning-rate finder: a geometric sweep, the network and optimizer put back bit for
 * bit, a sane suggestion on a simple task that then trains; `tsvision lr-find` and
 * `train --lr auto` end to end on a tiny folder.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { getModel } from '../src/models/index.js';
import { CrossEntropyLoss } from '../src/nn/loss.js';
import { Adam } from '../src/optim/adam.js';
import { SGD } from '../src/optim/sgd.js';
import { defaultGenerator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { steepestDescent } from '../src/train/lr-find.js';
import { lrFindAscii, lrFindSvg } from '../src/train/lr-find-plot.js';
import { Model } from '../src/train/model.js';
import { gen, tsvision } from './helpers.js';

/** A two-class task on 8x8 grey pictures: class 1 is brighter on the left half. 16 batches of 16. */
function task(): [Tensor, Tensor][] {
  const batches: [Tensor, Tensor][] = [];
  for (let b = 0; b < 16; b++) {
    const x = new Float32Array(16 * 64);
    const y = new Int32Array(16);
    for (let i = 0; i < 16; i++) {
      y[i] = (b * 16 + i) % 2;
      for (let j = 0; j < 64; j++) x[i * 64 + j] = gen.random() - 0.5 + (y[i] === 1 && j % 8 < 4 ? 0.6 : 0);
    }
    batches.push([new Tensor(x, [16, 1, 8, 8]), new Tensor(y, [16])]);
  }
  return batches;
}

const snapshot = (m: Model) => [...m.net.stateDict()].map(([k, t]) => [k, Array.from(t.data)]);

describe('learning-rate finder', () => {
  test('the sweep is geometric from startLr and stops when the loss explodes; weights, buffers, optimizer state and generator come back bit for bit', async () => {
    manualSeed(1);
    const net = getModel('convnet', { numClasses: 2, inChannels: 1, widths: [4] });
    const model = new Model(net).prepare({ optimizer: new Adam(net.parameters(), { lr: 1e-3 }), loss: new CrossEntropyLoss() });
    const data = task();
    await model.fit(data.slice(0, 2), { epochs: 1, verbose: 0 }); // the optimizer has state to keep
    const before = snapshot(model);
    const opt = model.optimizer!.stateDict();
    const adamState = JSON.stringify(Object.values(opt.state).map((s) => Object.values(s).map((t) => Array.from((t as Tensor).data))));
    const rng = JSON.stringify(defaultGenerator().getState());
    const r = await model.lrFind(data, { startLr: 1e-5, endLr: 100, numIter: 40 });
    assert.ok(r.lrs.length >= 10 && r.lrs.length <= 40);
    assert.equal(r.lrs[0], 1e-5);
    const ratio = (100 / 1e-5) ** (1 / 39);
    for (let i = 1; i < r.lrs.length; i++) assert.ok(Math.abs(r.lrs[i] / r.lrs[i - 1] - ratio) < 1e-9, `step ${i}`);
    if (r.lrs.length < 40) assert.ok(r.diverged, 'a sweep cut short has diverged');
    assert.deepEqual(snapshot(model), before, 'weights and batch-norm buffers restored');
    const after = model.optimizer!.stateDict();
    assert.equal(JSON.stringify(Object.values(after.state).map((s) => Object.values(s).map((t) => Array.from((t as Tensor).data)))), adamState);
    assert.equal(after.param_groups[0].lr, 1e-3, "the optimizer's learning rate restored");
    assert.equal(JSON.stringify(defaultGenerator().getState()), rng);
    assert.ok(net.parameters().every((p) => p.grad === null));
  });

  test('the suggestion on a simple task lies in a sane range, and training with it converges', async () => {
    manualSeed(2);
    const net = getModel('convnet', { numClasses: 2, inChannels: 1, widths: [4] });
    const model = new Model(net).prepare({ optimizer: new SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }), loss: new CrossEntropyLoss() });
    const data = task();
    const r = await model.lrFind(data, { numIter: 60, startLr: 1e-6, endLr: 10 });
    assert.ok(r.suggestion !== null && r.suggestion > 1e-4 && r.suggestion < 1, `suggested ${r.suggestion}`);
    assert.ok(r.smoothed[r.suggestionIndex!] < r.smoothed[0], 'the loss is falling there');
    model.optimizer!.paramGroups[0].lr = r.suggestion;
    const history = await model.fit(data, { epochs: 4, verbose: 0 });
    assert.ok(history.at(-1)!.loss < 0.3, `loss ${history.map((h) => h.loss.toFixed(3)).join(' ')}`);
    // drawn: the terminal plot marks the suggestion, the SVG has both curves and the point
    assert.match(lrFindAscii(r), /\^ \d\.\de-?\d/);
    const svg = lrFindSvg(r);
    for (const s of ['loss', 'smoothed', 'suggestion']) assert.ok(svg.includes(`data-series="${s}"`), s);
  });

  test('steepest descent: the most negative slope against log(lr), before the minimum; none on a rising curve', () => {
    const lrs = Array.from({ length: 20 }, (_, i) => 10 ** (-6 + i * 0.3));
    const losses = lrs.map((_, i) => (i < 8 ? 2 : i < 12 ? 2 - (i - 7) * 0.4 + (i === 10 ? -0.3 : 0) : 0.2 + (i - 12)));
    assert.equal(steepestDescent(lrs, losses), 10);
    assert.equal(
      steepestDescent(
        lrs,
        lrs.map((_, i) => i),
      ),
      null,
    );
  });
});

describe('tsvision lr-find and train --lr auto', () => {
  let dir = '';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsv-lrfind-'));
    // 24 pictures per class, 16 px: dark or bright, with noise
    for (const [k, name] of ['dark', 'bright'].entries()) {
      mkdirSync(join(dir, 'data', name), { recursive: true });
      for (let i = 0; i < 24; i++) {
        const px = Buffer.from(Array.from({ length: 16 * 16 * 3 }, () => Math.round(60 + 120 * k + 60 * gen.random())));
        await sharp(px, { raw: { width: 16, height: 16, channels: 3 } })
          .png()
          .toFile(join(dir, 'data', name, `${i}.png`));
      }
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('lr-find plots the sweep, writes lr-find.svg and suggests a rate; train --lr auto trains with it and records it', async () => {
    const common = ['--data', 'data', '--model', 'small_net', '--image-size', '16', '--batch-size', '8', '--augment', 'none'];
    const found = await tsvision(dir, 'lr-find', ...common, '--num-iter', '30', '--out', 'sweep');
    assert.equal(found.status, 0, found.stderr);
    const m = /Suggested learning rate: ([\d.e-]+) \(the steepest descent of the smoothed loss\)\. Plot: sweep\/lr-find\.svg/.exec(found.stdout);
    assert.ok(m, found.stdout);
    assert.ok(Number(m[1]) > 1e-5 && Number(m[1]) < 10, m[1]);
    assert.match(found.stdout, /Sweep: \d+ steps from 1\.0e-7 to/);
    assert.match(readFileSync(join(dir, 'sweep', 'lr-find.svg'), 'utf8'), /data-series="smoothed"/);

    const run = await tsvision(dir, 'train', ...common, '--epochs', '1', '--lr', 'auto', '--out', 'run');
    assert.equal(run.status, 0, run.stderr);
    const line = /Learning rate: ([\d.e-]+), found by the learning-rate finder \(the steepest descent of the loss; run\/lr-find\.svg\)\./.exec(run.stdout);
    assert.ok(line, run.stdout);
    const settings = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8')).settings;
    assert.equal(settings.lr, Number(line[1]));
    assert.equal(settings['lr-auto'], true);
    assert.match(run.stdout, new RegExp(`Optimizer: adamw lr ${line[1]} `));

    const bad = await tsvision(dir, 'train', ...common, '--lr', 'fast', '--out', 'run2');
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'tsvision train: --lr must be a positive number or auto, got fast\n');
  });
});
