/**
 * Model: progress output (format, TTY redraw, verbose levels), callbacks (hook
 * order, EarlyStopping, TerminateOnNaN, CSVLogger, ModelCheckpoint, LR schedules),
 * evaluate / predict, and resuming from a checkpoint bit for bit like an
 * uninterrupted run, on small synthetic data.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DataLoader, type Dataset } from '../src/data/index.js';
import { getModel, mlp } from '../src/models/index.js';
import { CrossEntropyLoss } from '../src/nn/index.js';
import { Adam, OneCycleLR, ReduceLROnPlateau, SGD, StepLR } from '../src/optim/index.js';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import {
  Accuracy,
  Callback,
  CSVLogger,
  EarlyStopping,
  loadCheckpoint,
  Model,
  ModelCheckpoint,
  TerminateOnNaN,
  type Logs,
  type Mode,
} from '../src/train/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsv-model-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** n points in 2-D around three centres, labelled by centre. */
function blobs(n: number, seed = 3): Dataset<[Tensor<'float32'>, number]> & { classes: string[] } {
  const g = new Generator(seed);
  const centres = [
    [2, 0],
    [-2, 1],
    [0, -2],
  ];
  const items = Array.from({ length: n }, (_, i) => {
    const c = i % 3;
    return [new Tensor(Float32Array.from([centres[c][0] + g.random() - 0.5, centres[c][1] + g.random() - 0.5]), [2]), c] as [Tensor<'float32'>, number];
  });
  return { length: n, getItem: (i: number) => items[i], classes: ['a', 'b', 'c'] };
}

class Capture {
  text = '';
  constructor(readonly isTTY = false) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

function prepared(lr = 0.05, seed = 0): Model {
  manualSeed(seed);
  const net = getModel('mlp', { inputSize: 2, hidden: [16], numClasses: 3 });
  return new Model(net).prepare({ optimizer: new Adam(net.parameters(), { lr }), loss: new CrossEntropyLoss(), metrics: [new Accuracy()] });
}

describe('progress output', () => {
  test('verbose 1, not a TTY: Epoch lines, then one bar line per log step', async () => {
    const out = new Capture();
    await prepared().fit(blobs(96), { epochs: 2, batchSize: 8, verbose: 1, logFreq: 5, out });
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines[0], 'Epoch 1/2');
    // 12 steps: lines at 5, 10 and 12
    assert.match(lines[1], /^step {2}5\/12 \[============>\.{17}\] - loss: \d+\.\d{4} - acc: \d\.\d{4} - \d+(ms|us)\/step$/);
    assert.match(lines[3], /^step 12\/12 \[={30}\] - loss: \d+\.\d{4} - acc: \d\.\d{4} - \d+(ms|us)\/step$/);
    assert.equal(lines[4], 'Epoch 2/2');
    assert.equal(lines.length, 8);
    assert.ok(!out.text.includes('\r'));
  });

  test('verbose 1 on a TTY redraws in place; verbose 2 has no bar; verbose 0 prints nothing', async () => {
    const tty = new Capture(true);
    await prepared().fit(blobs(24), { epochs: 1, batchSize: 8, verbose: 1, out: tty });
    assert.match(
      tty.text,
      /^Epoch 1\/1\n\rstep 1\/3 \[==========>\.{19}\] - loss: .*\rstep 2\/3 .*\rstep 3\/3 \[={30}\] - loss: [\d.]+ - acc: [\d.]+ - \d+(ms|us)\/step\n$/s,
    );
    const two = new Capture(true);
    await prepared().fit(blobs(24), { epochs: 1, batchSize: 8, verbose: 2, logFreq: 1, out: two, evalData: blobs(9, 4) });
    const lines = two.text.trimEnd().split('\n');
    assert.equal(lines[0], 'Epoch 1/1');
    assert.match(lines[1], /^step 1\/3 - loss: \d+\.\d{4} - acc: \d\.\d{4} - \d+(ms|us)\/step$/);
    assert.equal(lines[4], 'Eval begin...');
    assert.match(lines[5], /^step 1\/2 - loss: /);
    assert.equal(lines.at(-1), 'Eval samples: 9');
    const none = new Capture();
    await prepared().fit(blobs(24), { epochs: 1, batchSize: 8, verbose: 0, out: none });
    assert.equal(none.text, '');
  });
});

describe('fit, evaluate, predict', () => {
  test('learns the blobs; logs hold loss, acc, eval_ values, lr; a DataLoader or iterable works too', async () => {
    const model = prepared();
    const history = await model.fit(new DataLoader(blobs(150), { batchSize: 16, shuffle: true, seed: 2 }), { epochs: 4, verbose: 0, evalData: blobs(60, 9) });
    const last = history.at(-1)!;
    assert.deepEqual(Object.keys(last).sort(), ['acc', 'eval_acc', 'eval_loss', 'eval_samples', 'loss', 'lr', 'samples']);
    assert.ok(last.eval_acc > 0.95, `eval acc ${last.eval_acc}`);
    assert.equal(model.epoch, 4);
    assert.equal(model.step, 40);
    assert.deepEqual(model.classes, ['a', 'b', 'c']);
    const x = new Tensor(Float32Array.from([2, 0, -2, 1, 0, -2]), [3, 2]);
    const p = await model.predict(x, { softmax: true });
    assert.deepEqual(Array.from(p.argmax(1).data), [0, 1, 2]);
    const batches = [[x, new Tensor(Int32Array.from([0, 1, 2]), [3])]];
    const ev = await model.evaluate(batches, { verbose: 0 });
    assert.equal(ev.acc, 1);
    assert.equal(ev.samples, 3);
    const top2 = new Accuracy({ topk: [1, 2] });
    top2.update(new Tensor(Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.3, 0.2]), [2, 3]), new Tensor(Int32Array.from([2, 2]), [2]));
    assert.deepEqual(top2.names(), ['acc_top1', 'acc_top2']);
    assert.deepEqual(top2.accumulate(), [0, 0.5]);
  });

  test('errors: fit without prepare, batches without targets', async () => {
    const net = mlp({ inputSize: 2, numClasses: 3 });
    await assert.rejects(new Model(net).fit(blobs(6)), /no optimizer; call prepare/);
    const m = prepared();
    await assert.rejects(m.fit([new Tensor(new Float32Array(4), [2, 2])], { verbose: 0 }), /training batches need targets/);
  });
});

describe('callbacks', () => {
  test('hook order', async () => {
    const calls: string[] = [];
    class Recorder extends Callback {
      override onTrainBegin(): void {
        calls.push('trainBegin');
      }
      override onTrainEnd(): void {
        calls.push('trainEnd');
      }
      override onEpochBegin(e: number): void {
        calls.push(`epochBegin ${e}`);
      }
      override onEpochEnd(e: number, logs: Logs): void {
        calls.push(`epochEnd ${e} ${'eval_loss' in logs}`);
      }
      override onBatchBegin(mode: Mode, s: number): void {
        calls.push(`${mode} begin ${s}`);
      }
      override onBatchEnd(mode: Mode, s: number, logs: Logs): void {
        calls.push(`${mode} end ${s} ${typeof logs.loss}`);
      }
      override onEvalBegin(): void {
        calls.push('evalBegin');
      }
      override onEvalEnd(logs: Logs): void {
        calls.push(`evalEnd ${logs.samples}`);
      }
    }
    await prepared().fit(blobs(4), { epochs: 2, batchSize: 2, verbose: 0, callbacks: [new Recorder()], evalData: blobs(3), evalFreq: 2 });
    assert.deepEqual(calls, [
      'trainBegin',
      'epochBegin 0',
      'train begin 0',
      'train end 0 number',
      'train begin 1',
      'train end 1 number',
      'epochEnd 0 false',
      'epochBegin 1',
      'train begin 0',
      'train end 0 number',
      'train begin 1',
      'train end 1 number',
      'evalBegin',
      'eval begin 0',
      'eval end 0 number',
      'eval begin 1',
      'eval end 1 number',
      'evalEnd 3',
      'epochEnd 1 true',
      'trainEnd',
    ]);
  });

  test('EarlyStopping stops when the monitored value stops improving', async () => {
    const stop = new EarlyStopping({ monitor: 'loss', patience: 1 });
    const model = prepared(0); // lr 0: the loss never changes
    const history = await model.fit(blobs(12), { epochs: 10, batchSize: 4, verbose: 0, callbacks: [stop] });
    assert.equal(history.length, 3);
    assert.equal(stop.stoppedEpoch, 2);
  });

  test('TerminateOnNaN stops at the first non-finite loss', async () => {
    const net = mlp({ inputSize: 2, numClasses: 3 });
    const model = new Model(net).prepare({ optimizer: new SGD(net.parameters(), { lr: 0.1 }), loss: (out) => out.sum().mul(NaN) });
    const t = new TerminateOnNaN();
    const history = await model.fit(blobs(12), { epochs: 5, batchSize: 4, verbose: 0, callbacks: [t], stopOnDivergence: false });
    assert.deepEqual(t.terminatedAt, { epoch: 0, step: 0 });
    assert.equal(history.length, 1);
    assert.equal(model.step, 1);
  });

  test('CSVLogger and JSONL history', async () => {
    const csv = join(dir, 'log', 'history.csv');
    const jsonl = join(dir, 'log', 'history.jsonl');
    await prepared().fit(blobs(12), { epochs: 3, batchSize: 4, verbose: 0, callbacks: [new CSVLogger(csv), new CSVLogger(jsonl)] });
    const rows = readFileSync(csv, 'utf8').trimEnd().split('\n');
    assert.equal(rows[0], 'epoch,loss,acc,samples,lr');
    assert.equal(rows.length, 4);
    assert.match(rows[3], /^3,[\d.e-]+,[\d.]+,12,0\.05$/);
    const objs = readFileSync(jsonl, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      objs.map((o) => o.epoch),
      [1, 2, 3],
    );
  });

  test('ModelCheckpoint: every N epochs, last, best by a monitored metric, final', async () => {
    const ckdir = join(dir, 'mc');
    const mc = new ModelCheckpoint({ dir: ckdir, saveFreq: 2, monitor: 'eval_acc' });
    await prepared().fit(blobs(30), { epochs: 4, batchSize: 10, verbose: 0, evalData: blobs(9, 5), callbacks: [mc] });
    for (const d of ['epoch-2', 'epoch-4', 'last', 'best', 'final']) assert.ok(existsSync(join(ckdir, d, 'checkpoint.json')), d);
    assert.ok(!existsSync(join(ckdir, 'epoch-1')));
    const best = loadCheckpoint(join(ckdir, 'best'));
    assert.equal(best.info.epoch, mc.bestEpoch + 1);
    assert.equal(best.info.metrics!.eval_acc, mc.best);
    assert.deepEqual(best.info.architecture, { name: 'mlp', config: { inputSize: 2, hidden: [16], numClasses: 3 } });
  });

  test('schedulers: StepLR per epoch, OneCycleLR per batch', async () => {
    const model = prepared(0.1);
    const sched = new StepLR(model.optimizer!, { stepSize: 1, gamma: 0.5 });
    const h = await model.fit(blobs(12), { epochs: 3, batchSize: 4, verbose: 0, scheduler: sched });
    assert.deepEqual(
      h.map((l) => l.lr),
      [0.1, 0.05, 0.025],
    ); // the lr each epoch ran with
    const m2 = prepared(0.1);
    const one = new OneCycleLR(m2.optimizer!, { maxLr: 0.1, totalSteps: 6 });
    await m2.fit(blobs(12), { epochs: 2, batchSize: 4, verbose: 0, scheduler: one });
    assert.equal(one.lastEpoch, 6);
    // ReduceLROnPlateau gets the monitored value ('eval_loss', else 'loss'): a constant loss halves the lr each epoch after the first
    const net3 = mlp({ inputSize: 2, numClasses: 3 });
    const opt3 = new SGD(net3.parameters(), { lr: 0.1 });
    const m3 = new Model(net3).prepare({ optimizer: opt3, loss: (out) => out.sum().mul(0) });
    const h3 = await m3.fit(blobs(12), { epochs: 3, batchSize: 4, verbose: 0, scheduler: new ReduceLROnPlateau(opt3, { patience: 0, factor: 0.5 }) });
    assert.deepEqual(
      h3.map((l) => l.lr),
      [0.1, 0.1, 0.05],
    );
    assert.equal(opt3.paramGroups[0].lr, 0.025);
  });
});

describe('resume', () => {
  test('fit({ resume }) continues with the same optimizer and scheduler state, bit for bit like an uninterrupted run', async () => {
    const make = () => {
      const model = prepared(0.05, 7);
      const sched = new StepLR(model.optimizer!, { stepSize: 2, gamma: 0.5 });
      return { model, sched };
    };
    const data = blobs(40);
    const opts = { batchSize: 8, verbose: 0 as const, seed: 11, evalData: blobs(9, 6) };

    const a = make();
    const full = await a.model.fit(data, { ...opts, epochs: 4, scheduler: a.sched });

    const b = make();
    await b.model.fit(data, { ...opts, epochs: 2, scheduler: b.sched, saveDir: join(dir, 'run') });
    const saved = loadCheckpoint(join(dir, 'run', 'last'));
    assert.equal(saved.info.epoch, 2);
    assert.equal(saved.info.step, 10);

    const c = make(); // a fresh process's view: new net, optimizer and scheduler
    const resumed = await c.model.fit(data, { ...opts, epochs: 4, scheduler: c.sched, saveDir: join(dir, 'run'), resume: true });
    assert.equal(c.model.epoch, 4);
    assert.equal(c.model.step, 20);
    assert.deepEqual(
      resumed.map((l) => l.loss),
      full.slice(2).map((l) => l.loss),
    );
    assert.deepEqual(
      resumed.map((l) => l.lr),
      [0.025, 0.025],
    );
    assert.deepEqual(c.sched.getLastLr(), a.sched.getLastLr());
    for (const [k, t] of a.model.net.stateDict()) assert.deepEqual(Array.from(c.model.net.stateDict().get(k)!.data), Array.from(t.data), k);
    const pa = a.model.net.parameters()[0];
    const pc = c.model.net.parameters()[0];
    const sa = (a.model.optimizer as Adam).state.get(pa)!;
    const sc = (c.model.optimizer as Adam).state.get(pc)!;
    assert.equal(sc.step!.item(), 20);
    assert.deepEqual(Array.from(sc.exp_avg!.data), Array.from(sa.exp_avg!.data));
  });

  test('a resumed run with dropout draws the same masks: the global generator is checkpointed', async () => {
    const make = () => {
      manualSeed(5);
      const net = getModel('mlp', { inputSize: 2, hidden: [16], numClasses: 3, dropout: 0.5 });
      return new Model(net).prepare({ optimizer: new Adam(net.parameters(), { lr: 0.05 }), loss: new CrossEntropyLoss() });
    };
    const data = blobs(24);
    const opts = { batchSize: 8, verbose: 0 as const, seed: 3 };
    const a = make();
    const full = await a.fit(data, { ...opts, epochs: 3 });
    const b = make();
    await b.fit(data, { ...opts, epochs: 1, saveDir: join(dir, 'drop') });
    const c = make();
    manualSeed(999); // a new process would start from another position
    const resumed = await c.fit(data, { ...opts, epochs: 3, saveDir: join(dir, 'drop'), resume: true });
    assert.deepEqual(
      resumed.map((l) => l.loss),
      full.slice(1).map((l) => l.loss),
    );
    for (const [k, t] of a.net.stateDict()) assert.deepEqual(Array.from(c.net.stateDict().get(k)!.data), Array.from(t.data), k);
  });
});
