/**
 * The training recipe on the command line, on a folder of tiny coloured PNGs: train with
 * MixUp / CutMix, label smoothing, the weights' moving average and gradient accumulation;
 * resume it; evaluate and predict with test-time augmentation; the one-line errors.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { Generator } from '../src/tensor/random.js';
import { tsvision } from './helpers.js';

let root = '';
const COLOURS = { red: 0, green: 1, blue: 2 } as const;

/** n 16x16 pictures per class, noisy, with the class's channel bright. */
async function writeColours(dir: string, n: number, seed: number): Promise<void> {
  const g = new Generator(seed);
  const writes: Promise<unknown>[] = [];
  for (const [name, ch] of Object.entries(COLOURS)) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(16 * 16 * 3);
      for (let p = 0; p < px.length; p++) px[p] = Math.floor(g.random() * 120) + (p % 3 === ch ? 120 : 0);
      writes.push(
        sharp(px, { raw: { width: 16, height: 16, channels: 3 } })
          .png()
          .toFile(join(dir, name, `${i}.png`)),
      );
    }
  }
  await Promise.all(writes);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-recipe-'));
  await writeColours(join(root, 'train'), 12, 1);
  await writeColours(join(root, 'val'), 4, 2);
});
after(() => rmSync(root, { recursive: true, force: true }));

const TRAIN = [
  'train',
  '--data',
  'train',
  '--val-split',
  '0.25',
  '--model',
  'convnet',
  '--image-size',
  '16',
  '--batch-size',
  '8',
  '--schedule',
  'none',
  '--out',
  'runs/r',
];
const RECIPE = ['--mixup', '0.2', '--cutmix', '1', '--label-smoothing', '0.1', '--ema', '0.9', '--accumulate', '2'];

describe('tsvision train with the recipe', () => {
  test('train: the recipe in the header, run.json and history; the average evaluated, saved and served', async () => {
    const r = await tsvision(root, ...TRAIN, ...RECIPE, '--epochs', '2');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /27 training images in 3 classes/);
    assert.match(
      r.stdout,
      /Recipe: MixUp \(alpha 0\.2\) or CutMix \(alpha 1\) per batch, label smoothing 0\.1, moving average of the weights \(decay 0\.9, with warmup\), gradients of 2 batches per step \(16 images\)\./,
    );
    assert.match(r.stdout, /Eval of the weights' moving average: - loss: \d\.\d{4} - acc: \d\.\d{4}/);
    assert.match(r.stdout, /The best checkpoint \(epoch \d, lowest validation loss of the weights' moving average, which it serves\)/);
    const run = JSON.parse(readFileSync(join(root, 'runs/r/run.json'), 'utf8')).settings;
    assert.deepEqual([run.mixup, run.cutmix, run['label-smoothing'], run.ema, run.accumulate], [0.2, 1, 0.1, 0.9, 2]);
    const header = readFileSync(join(root, 'runs/r/history.csv'), 'utf8').split('\n')[0];
    assert.match(header, /eval_loss,eval_acc,eval_samples,eval_ema_loss,eval_ema_acc/);
    for (const d of ['best', 'last', 'final']) assert.ok(existsSync(join(root, 'runs/r', d, 'ema.safetensors')), d);
    // 4 batches a epoch, a step every 2: 2 optimizer steps, 2 updates of the average per epoch
    const last = JSON.parse(readFileSync(join(root, 'runs/r/last/checkpoint.json'), 'utf8'));
    assert.deepEqual([last.step, last.ema], [4, { decay: 0.9, warmup: true, updates: 4 }]);
    const metrics = JSON.parse(readFileSync(join(root, 'runs/r/evaluation/metrics.json'), 'utf8'));
    assert.equal(metrics.weights, 'ema');
  });

  test('resume continues the recipe and the average; a changed recipe is refused', async () => {
    const refused = await tsvision(root, ...TRAIN, '--resume', '--epochs', '3', '--mixup', '0.5');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^tsvision train: --mixup 0\.5 differs from the run in runs\/r \(0\.2\): a resumed run keeps its settings/);
    const r = await tsvision(root, ...TRAIN, '--resume', '--epochs', '3');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Recipe: MixUp/);
    const last = JSON.parse(readFileSync(join(root, 'runs/r/last/checkpoint.json'), 'utf8'));
    assert.deepEqual([last.epoch, last.step, last.ema.updates], [3, 6, 6]);
  });

  test('evaluate and predict with --tta; --raw-weights', async () => {
    const ev = await tsvision(root, 'evaluate', '--checkpoint', 'runs/r/best', '--data', 'val', '--tta', 'flip', '--out', 'ev');
    assert.equal(ev.status, 0, ev.stderr);
    assert.match(ev.stdout, /^Evaluation of .*best \(the weights' moving average, flip test-time augmentation\) on 12 images\./);
    const m = JSON.parse(readFileSync(join(root, 'ev/metrics.json'), 'utf8'));
    assert.deepEqual([m.weights, m.tta, m.images], ['ema', 'flip', 12]);
    const raw = await tsvision(root, 'evaluate', '--checkpoint', 'runs/r/best', '--data', 'val', '--raw-weights', '--out', 'ev-raw');
    assert.equal(raw.status, 0, raw.stderr);
    assert.match(raw.stdout, /^Evaluation of \S+ on 12 images\./);
    const p = await tsvision(root, 'predict', '--checkpoint', 'runs/r/best', 'val/red', '--tta', 'flip+crops', '--json', '--topk', '3');
    assert.equal(p.status, 0, p.stderr);
    const rows = JSON.parse(p.stdout) as { top: { probability: number }[] }[];
    assert.equal(rows.length, 4);
    for (const row of rows) assert.ok(Math.abs(row.top.reduce((s, t) => s + t.probability, 0) - 1) < 1e-4);
  });

  test('errors are one line naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['predict', '--checkpoint', 'runs/r/best', 'val', '--tta', 'twice'], /^tsvision predict: --tta must be one of none, flip, flip\+crops, got 'twice'\n$/],
      [[...TRAIN, '--out', 'runs/x', '--accumulate', '0'], /^tsvision train: --accumulate must be a positive integer, got 0\n$/],
      [[...TRAIN, '--out', 'runs/x', '--label-smoothing', '2'], /^tsvision train: --label-smoothing must be a probability in \[0, 1\], got 2\n$/],
      [[...TRAIN, '--out', 'runs/x', '--ema', '1'], /^tsvision train: --ema must be a number in \[0, 0\.99999\], got 1\n$/],
    ];
    for (const [args, re] of cases) {
      const r = await tsvision(root, ...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, re);
    }
  });
});
