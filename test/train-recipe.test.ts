/**
 * The training recipe's pieces against hand-worked values: MixUp and CutMix on a forced
 * λ, box and pairing; timm's box correction; the Beta draws; soft targets in the loss
 * and the accuracy; the weights' moving average (three steps, with and without warmup;
 * in fit: evaluated, checkpointed, chosen for `best`, resumed bit for bit); gradient
 * accumulation (4 batches of 8 give the gradient of one batch of 32); test-time
 * augmentation in Model and Predictor.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CutMix, cutmixBox, mixBatch, Mixup, MixUp, sampleBeta, softTargets, type Dataset } from '../src/data/index.js';
import { getModel } from '../src/models/index.js';
import { CrossEntropyLoss, Linear, Sequential, BatchNorm1d } from '../src/nn/index.js';
import { crossEntropy } from '../src/nn/loss.js';
import { Adam, SGD } from '../src/optim/index.js';
import { noGrad } from '../src/tensor/autograd.js';
import { softmax } from '../src/tensor/ops/reduce.js';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import {
  Accuracy,
  Callback,
  loadCheckpoint,
  Model,
  ModelEma,
  Predictor,
  saveCheckpoint,
  ttaProbabilities,
  ttaViews,
  type Logs,
  type SchedulerLike,
} from '../src/train/index.js';
import { resizedCrop } from '../src/transforms/functional.js';
import { assertClose } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tsv-recipe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const f32 = (data: number[], shape: number[]) => new Tensor<'float32'>(Float32Array.from(data), shape);
const i32 = (data: number[]) => new Tensor<'int32'>(Int32Array.from(data), [data.length]);

describe('MixUp and CutMix', () => {
  test('MixUp with λ 0.75 and the reversed batch: x and targets by hand, with and without label smoothing', () => {
    const x = f32([1, 2, 3, 5], [2, 1, 1, 2]);
    const [xm, ym] = mixBatch(x, i32([0, 2]), { lam: 0.75, box: null, numClasses: 3 });
    assertClose(xm, [1.5, 2.75, 2.5, 4.25], { label: 'x' });
    assertClose(ym, [0.75, 0, 0.25, 0.25, 0, 0.75], { label: 'y' });
    assert.deepEqual([...ym.shape], [2, 3]);
    // ε 0.3 over 3 classes: on 0.8, off 0.1
    const [, ys] = mixBatch(x, i32([0, 2]), { lam: 0.75, box: null, numClasses: 3, labelSmoothing: 0.3 });
    assertClose(ys, [0.625, 0.1, 0.275, 0.275, 0.1, 0.625], { label: 'smoothed y' });
    assertClose(x, [1, 2, 3, 5], { label: 'the input is left alone' });
  });

  test('a forced pairing: each sample mixed with the one it is given', () => {
    const x = f32([10, 20, 40], [3, 1, 1, 1]);
    const [xm, ym] = mixBatch(x, i32([0, 1, 1]), { lam: 0.5, box: null, numClasses: 2, partners: [2, 0, 1] });
    assertClose(xm, [25, 15, 30], { label: 'x' });
    // y0 with y2's class 1, y1 with y0's class 0, y2 with y1's class 1
    assertClose(ym, [0.5, 0.5, 0.5, 0.5, 0, 1], { label: 'y' });
  });

  test("CutMix pastes the partner's box (from the unmixed batch) and weighs targets by the box's share", () => {
    const x = f32(
      Array.from({ length: 32 }, (_, i) => (i < 16 ? i : 100 + i - 16)),
      [2, 1, 4, 4],
    );
    const [xm, ym] = mixBatch(x, i32([1, 0]), { lam: 0.75, box: [1, 3, 0, 2], numClasses: 2 });
    const expect0 = Array.from({ length: 16 }, (_, i) => i);
    const expect1 = Array.from({ length: 16 }, (_, i) => 100 + i);
    for (const i of [4, 5, 8, 9]) [expect0[i], expect1[i]] = [100 + i, i];
    assertClose(xm, [...expect0, ...expect1], { label: 'x' });
    assertClose(ym, [0.25, 0.75, 0.75, 0.25], { label: 'y' });
  });

  test("timm's box: √(1-λ) of each side around the drawn centre, clipped, and λ corrected to the box's true area", () => {
    const draws = [3, 0]; // row, then column
    const g = { int: () => draws.shift()! } as unknown as Generator;
    // 4x4, λ 0.75: a 2x2 box centred at (3, 0) keeps rows 2-3 and column 0 only: area 2 of 16
    const { box, lam } = cutmixBox(4, 4, 0.75, g);
    assert.deepEqual(box, [2, 4, 0, 1]);
    assert.equal(lam, 1 - 2 / 16);
  });

  test('Beta(α, α) draws have the right mean and variance; Beta(2, 5) its mean', () => {
    const g = new Generator(7);
    for (const a of [0.2, 1, 3]) {
      const xs = Array.from({ length: 20000 }, () => sampleBeta(a, a, g));
      const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
      const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length;
      assert.ok(xs.every((v) => v >= 0 && v <= 1));
      assert.ok(Math.abs(mean - 0.5) < 0.01, `Beta(${a}) mean ${mean}`);
      assert.ok(Math.abs(variance - 1 / (4 * (2 * a + 1))) < 0.006, `Beta(${a}) variance ${variance}`);
    }
    const m = Array.from({ length: 20000 }, () => sampleBeta(2, 5, g)).reduce((s, v) => s + v, 0) / 20000;
    assert.ok(Math.abs(m - 2 / 7) < 0.01, `Beta(2, 5) mean ${m}`);
  });

  test('Mixup chooses CutMix with switchProb, mixes with prob, and is repeatable from its generator', () => {
    const make = (seed: number, prob = 1) =>
      new Mixup({ numClasses: 2, mixupAlpha: 1, cutmixAlpha: 1, switchProb: 0.25, prob, generator: new Generator(seed) });
    const m = make(1);
    const draws = Array.from({ length: 4000 }, () => m.draw(8, 8));
    const cut = draws.filter((d) => d.box !== null).length / draws.length;
    assert.ok(Math.abs(cut - 0.25) < 0.03, `CutMix share ${cut}`);
    const again = make(1);
    assert.deepEqual(
      Array.from({ length: 20 }, () => again.draw(8, 8)),
      draws.slice(0, 20),
    );
    const half = make(2, 0.5);
    const unmixed = Array.from({ length: 4000 }, () => half.draw(8, 8)).filter((d) => d.lam === 1).length / 4000;
    assert.ok(Math.abs(unmixed - 0.5) < 0.03, `unmixed share ${unmixed}`);
    // an unmixed batch keeps its pictures and gets smoothed one-hot targets (timm's default ε 0.1)
    const never = new Mixup({ numClasses: 2, prob: 0 });
    const x = f32([1, 2], [2, 1, 1, 1]);
    const [xs, ys] = never.apply(x, i32([1, 0]));
    assert.equal(xs, x);
    assertClose(ys, [0.05, 0.95, 0.95, 0.05], { label: 'y' });
    assert.equal(new MixUp({ numClasses: 3 }).cutmixAlpha, 0);
    assert.equal(new CutMix({ numClasses: 3, alpha: 0.5 }).mixupAlpha, 0);
    assert.throws(() => new Mixup({ numClasses: 2, mixupAlpha: 0 }), /mixupAlpha or cutmixAlpha must be > 0/);
    assert.throws(() => softTargets(i32([3]), 3), /target 3 is out of bounds for 3 classes/);
  });
});

describe('soft targets', () => {
  test('CrossEntropyLoss of mixed targets is the λ-weighted cross-entropy of the two classes', () => {
    const logits = f32([2, -1, 0.5, 0, 1, -2], [2, 3]);
    const [, y] = mixBatch(f32([0, 0], [2, 1, 1, 1]), i32([0, 2]), { lam: 0.7, box: null, numClasses: 3 });
    const logp = (row: number, k: number) => {
      const r = [...logits.data.slice(row * 3, row * 3 + 3)];
      return r[k] - Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    };
    const expected = -(0.7 * logp(0, 0) + 0.3 * logp(0, 2) + 0.7 * logp(1, 2) + 0.3 * logp(1, 0)) / 2;
    assertClose(new CrossEntropyLoss().call(logits, y), [expected], { label: 'loss', rtol: 1e-6 });
    // smoothing on probabilities: (1-ε)·y + ε/K
    const eps = 0.1;
    const smoothed = f32(
      [...y.data].map((v) => (1 - eps) * v + eps / 3),
      [2, 3],
    );
    assertClose(crossEntropy(logits, y, { labelSmoothing: eps }), crossEntropy(logits, smoothed), { label: 'smoothing', rtol: 1e-6 });
  });

  test('Accuracy takes soft targets as their most probable class', () => {
    const acc = new Accuracy();
    acc.update(f32([0.1, 0.9, 0.8, 0.2, 0.3, 0.7], [3, 2]), f32([0.3, 0.7, 0.4, 0.6, 0.45, 0.55], [3, 2]));
    assert.deepEqual(acc.accumulate(), [2 / 3]);
  });
});

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
    return [f32([centres[c][0] + g.random() - 0.5, centres[c][1] + g.random() - 0.5], [2]), c] as [Tensor<'float32'>, number];
  });
  return { length: n, getItem: (i: number) => items[i], classes: ['a', 'b', 'c'] };
}

function mlpModel(seed = 0, lr = 0.05): Model {
  manualSeed(seed);
  const net = getModel('mlp', { inputSize: 2, hidden: [16], numClasses: 3 });
  return new Model(net).prepare({ optimizer: new Adam(net.parameters(), { lr }), loss: new CrossEntropyLoss(), metrics: [new Accuracy()] });
}

describe('ModelEma', () => {
  const net = () => {
    const lin = new Linear(2, 1);
    noGrad(() => {
      lin.weight.data.set([1, 2]);
      lin.bias!.data.set([0.5]);
    });
    return lin;
  };
  const set = (lin: Linear, w: number[], b: number) =>
    noGrad(() => {
      lin.weight.data.set(w);
      lin.bias!.data.set([b]);
    });
  const steps: [number[], number][] = [
    [[3, 4], 1.5],
    [[5, 0], -1],
    [[1, 1], 2],
  ];

  test('three updates with decay 0.5: ema = 0.5·ema + 0.5·w', () => {
    const lin = net();
    const ema = new ModelEma({ decay: 0.5 });
    ema.reset(lin);
    const expected = [
      [2, 3, 1],
      [3.5, 1.5, 0],
      [2.25, 1.25, 1],
    ];
    steps.forEach(([w, b], t) => {
      set(lin, w, b);
      ema.update(lin);
      const s = ema.stateDict();
      assertClose([...s.get('weight')!.data, ...s.get('bias')!.data], expected[t], { label: `update ${t + 1}` });
    });
    assert.equal(ema.updates, 3);
    assertClose(lin.weight.data, [1, 1], { label: 'the network keeps its own weights' });
  });

  test('with warmup the decay is min(decay, (1+t)/(10+t)): 0.1, 2/11, 0.25', () => {
    const lin = net();
    const ema = new ModelEma({ decay: 0.9, warmup: true });
    ema.reset(lin);
    assert.deepEqual(
      [0, 1, 2, 100].map((t) => ema.decayAt(t)),
      [0.1, 2 / 11, 0.25, 0.9],
    );
    // weight 1 -> 3 -> 5 -> 1 and 2 -> 4 -> 0 -> 1: 0.1·1 + 0.9·3 = 2.8; (2/11)·2.8 + (9/11)·5 = 4.6; 0.25·4.6 + 0.75·1 = 1.9
    const expected = [
      [2.8, 3.8],
      [4.6, 0.6909091],
      [1.9, 0.9227273],
    ];
    steps.forEach(([w, b], t) => {
      set(lin, w, b);
      ema.update(lin);
      assertClose(ema.stateDict().get('weight')!.data, expected[t], { label: `update ${t + 1}`, rtol: 1e-6 });
    });
  });

  test('buffers: running statistics are averaged, the integer count copied; withWeights swaps and restores', async () => {
    const seq = new Sequential(new Linear(2, 2), new BatchNorm1d(2));
    const ema = new ModelEma({ decay: 0.5 });
    ema.reset(seq);
    seq.train();
    seq.call(f32([1, 2, 3, 6], [2, 2]));
    ema.update(seq);
    const sd = seq.stateDict();
    const e = ema.stateDict();
    assert.deepEqual([...e.get('1.num_batches_tracked')!.data], [1]);
    assertClose(
      e.get('1.running_mean')!.data,
      [...sd.get('1.running_mean')!.data].map((v) => 0.5 * v),
      { label: 'running_mean' },
    );
    const before = [...sd.get('0.weight')!.data];
    const inside = await ema.withWeights(seq, () => [...seq.stateDict().get('1.running_mean')!.data]);
    assertClose(inside, e.get('1.running_mean')!.data, { label: 'inside' });
    assert.deepEqual([...seq.stateDict().get('0.weight')!.data], before);
  });

  test('in fit: eval_ema_* logs, the average in every checkpoint, best chosen by eval_ema_loss', async () => {
    const model = mlpModel();
    const ema = new ModelEma({ decay: 0.9, warmup: true });
    const saveDir = join(dir, 'ema-fit');
    const history = await model.fit(blobs(48), { epochs: 3, batchSize: 8, evalData: blobs(24, 9), verbose: 0, seed: 1, saveDir, callbacks: [ema] });
    assert.equal(ema.updates, 18);
    for (const logs of history) for (const k of ['eval_ema_loss', 'eval_ema_acc']) assert.equal(typeof logs[k], 'number', k);
    // the logged average's evaluation is the average's: evaluate it again
    const again = await ema.withWeights(model.net, () => model.evaluate(blobs(24, 9), { verbose: 0 }));
    assertClose([again.loss], [history[2].eval_ema_loss], { label: 'eval_ema_loss', rtol: 1e-6 });
    const last = loadCheckpoint(join(saveDir, 'last'));
    assert.deepEqual(last.info.ema, { decay: 0.9, warmup: true, updates: 18 });
    for (const [k, t] of ema.stateDict()) assert.deepEqual([...last.emaState!.get(k)!.data], [...t.data], k);
    const best = loadCheckpoint(join(saveDir, 'best'));
    const bestLoss = Math.min(...history.map((h) => h.eval_ema_loss));
    assert.equal(best.info.metrics.eval_ema_loss, bestLoss);
    // Model.load picks either set of weights
    const raw = await Model.load(join(saveDir, 'last'));
    const avg = await Model.load(join(saveDir, 'last'), { weights: 'ema' });
    const key = [...ema.stateDict().keys()][0];
    assert.deepEqual([...avg.net.stateDict().get(key)!.data], [...ema.stateDict().get(key)!.data]);
    assert.deepEqual([...raw.net.stateDict().get(key)!.data], [...model.net.stateDict().get(key)!.data]);
    assert.notDeepEqual([...raw.net.stateDict().get(key)!.data], [...ema.stateDict().get(key)!.data]);
  });

  test('best follows eval_ema_loss, not eval_loss, when there is an average', async () => {
    // a callback ahead of fit's checkpoints makes the two losses disagree: the raw loss best at epoch 1, the average's at 3
    class Disagree extends Callback {
      override onEpochEnd(epoch: number, logs: Logs): void {
        logs.eval_loss = epoch;
        logs.eval_ema_loss = 2 - epoch;
      }
    }
    const saveDir = join(dir, 'ema-best');
    await mlpModel().fit(blobs(24), { epochs: 3, batchSize: 8, evalData: blobs(12, 9), verbose: 0, saveDir, callbacks: [new Disagree(), new ModelEma()] });
    assert.equal(loadCheckpoint(join(saveDir, 'best')).info.epoch, 3);
    const plainDir = join(dir, 'plain-best');
    await mlpModel().fit(blobs(24), { epochs: 3, batchSize: 8, evalData: blobs(12, 9), verbose: 0, saveDir: plainDir, callbacks: [new Disagree()] });
    assert.equal(loadCheckpoint(join(plainDir, 'best')).info.epoch, 1);
  });

  test('resuming continues the average bit for bit', async () => {
    const run = async (saveDir: string, epochs: number, resume: boolean) => {
      const model = mlpModel(5);
      const ema = new ModelEma({ decay: 0.8, warmup: true });
      await model.fit(blobs(40), { epochs, batchSize: 8, verbose: 0, seed: 2, saveDir, resume, callbacks: [ema] });
      return ema;
    };
    const whole = await run(join(dir, 'ema-whole'), 3, false);
    await run(join(dir, 'ema-split'), 2, false);
    const resumed = await run(join(dir, 'ema-split'), 3, true);
    assert.equal(resumed.updates, whole.updates);
    for (const [k, t] of whole.stateDict()) assert.deepEqual([...resumed.stateDict().get(k)!.data], [...t.data], k);
  });
});

describe('gradient accumulation', () => {
  /** 40 fixed samples in 2-D, three classes. */
  const data = blobs(40, 11);
  const batchGrad = (model: Model, from: number, to: number) => {
    const xs = [];
    const ys = [];
    for (let i = from; i < to; i++) {
      const [x, y] = data.getItem(i) as [Tensor<'float32'>, number];
      xs.push(...x.data);
      ys.push(y);
    }
    model.optimizer!.zeroGrad();
    new CrossEntropyLoss().call(model.net.call(f32(xs, [to - from, 2])), i32(ys)).backward();
    return model.net.parameters().map((p) => [...p.grad!.data]);
  };
  const sgd = (seed: number) => {
    manualSeed(seed);
    const net = getModel('mlp', { inputSize: 2, hidden: [8], numClasses: 3 });
    // lr 0: the step leaves the weights and the accumulated gradients in place to be read
    return new Model(net).prepare({ optimizer: new SGD(net.parameters(), { lr: 0 }), loss: new CrossEntropyLoss() });
  };
  const first32: Dataset<[Tensor<'float32'>, number]> = { length: 32, getItem: (i) => data.getItem(i) };

  test('4 batches of 8 accumulated give the gradient of one batch of 32 (to 1e-6), in one optimizer step', async () => {
    const reference = batchGrad(sgd(0), 0, 32);
    const model = sgd(0);
    await model.fit(first32, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0, accumulateSteps: 4 });
    assert.equal(model.step, 1);
    model.net.parameters().forEach((p, i) => assertClose(p.grad!.data, reference[i], { atol: 1e-6, rtol: 0, label: `parameter ${i}` }));
    // without accumulation the last step holds the last batch's gradient alone: the comparison can fail
    const plain = sgd(0);
    await plain.fit(first32, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0 });
    assert.equal(plain.step, 4);
    assert.ok(plain.net.parameters().some((p, i) => p.grad!.data.some((v, j) => Math.abs(v - reference[i][j]) > 1e-4)));
  });

  test("the epoch's last partial group is stepped with its own mean gradient; schedulers and the average count optimizer steps", async () => {
    const reference = batchGrad(sgd(0), 32, 40);
    const model = sgd(0);
    let schedulerSteps = 0;
    const scheduler: SchedulerLike = { step: () => void schedulerSteps++, stateDict: () => ({}), loadStateDict: () => {} };
    const ema = new ModelEma({ decay: 0.5 });
    await model.fit(data, { epochs: 1, batchSize: 8, shuffle: false, verbose: 0, accumulateSteps: 4, scheduler, schedulerByStep: true, callbacks: [ema] });
    assert.equal(model.step, 2);
    assert.equal(schedulerSteps, 2);
    assert.equal(ema.updates, 2);
    model.net.parameters().forEach((p, i) => assertClose(p.grad!.data, reference[i], { atol: 1e-6, rtol: 0, label: `parameter ${i}` }));
    // an iterable of unknown length: the partial group is stepped after the loop, scaled the same way
    const batches = [0, 8, 16, 24, 32].map((s) => {
      const items = Array.from({ length: 8 }, (_, k) => data.getItem(s + k) as [Tensor<'float32'>, number]);
      return [
        f32(
          items.flatMap(([x]) => [...x.data]),
          [8, 2],
        ),
        i32(items.map(([, y]) => y)),
      ];
    });
    const iterModel = sgd(0);
    const iterEma = new ModelEma({ decay: 0.5 });
    await iterModel.fit(batches, { epochs: 1, verbose: 0, accumulateSteps: 4, callbacks: [iterEma] });
    assert.equal(iterModel.step, 2);
    assert.equal(iterEma.updates, 2);
    iterModel.net.parameters().forEach((p, i) => assertClose(p.grad!.data, reference[i], { atol: 1e-6, rtol: 0, label: `iterable, parameter ${i}` }));
  });

  test('fit with MixUp trains on soft targets (the accuracy is of their most probable class)', async () => {
    const model = mlpModel();
    const history = await model.fit(blobs(48), {
      epochs: 2,
      batchSize: 8,
      verbose: 0,
      mixing: new MixUp({ numClasses: 3, alpha: 0.4, generator: new Generator(3) }),
    });
    assert.ok(history[1].loss > 0 && history[1].acc > 0.5, JSON.stringify(history[1]));
    await assert.rejects(model.fit(blobs(48), { epochs: 1, accumulateSteps: 0, verbose: 0 }), /accumulateSteps must be a positive integer, got 0/);
  });
});

describe('test-time augmentation', () => {
  manualSeed(4);
  const net = getModel('convnet', { numClasses: 3, inChannels: 3, widths: [4, 8] });
  const x = new Tensor<'float32'>(
    Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37) + ((i * 7) % 5) / 5),
    [2, 3, 16, 16],
  );
  /** x mirrored left-right, by index arithmetic. */
  const mirror = (t: Tensor) => {
    const [n, c, h, w] = t.shape;
    const out = new Float32Array(t.size);
    for (let p = 0; p < n * c * h; p++) for (let j = 0; j < w; j++) out[p * w + j] = t.data[p * w + (w - 1 - j)];
    return new Tensor<'float32'>(out, [n, c, h, w]);
  };
  const probs = (t: Tensor) => noGrad(() => softmax(net.eval().call(t), 1)).data;

  test("flip: the mean of the network's probabilities on x and on hflip(x)", async () => {
    const expected = Array.from(probs(x), (v, i) => (v + probs(mirror(x))[i]) / 2);
    assert.ok(
      expected.some((v, i) => Math.abs(v - probs(x)[i]) > 1e-4),
      'the mirror changes the answer',
    );
    assertClose(
      ttaProbabilities((v) => net.eval().call(v), x, 'flip'),
      expected,
      { label: 'ttaProbabilities' },
    );
    const model = new Model(net);
    assertClose(await model.predict(x, { tta: 'flip', softmax: true }), expected, { label: 'Model.predict' });
    const logs = await new Model(net)
      .prepare({ loss: new CrossEntropyLoss(), metrics: [new Accuracy()] })
      .evaluate([[x, i32([0, 2])]], { tta: 'flip', verbose: 0 });
    assertClose([logs.loss], [-(Math.log(expected[0]) + Math.log(expected[5])) / 2], { label: 'evaluate loss', rtol: 1e-5 });
  });

  test('flip+crops: the picture and its four corner crops of 7/8 resized back, each mirrored', () => {
    const views = ttaViews(x, 'flip+crops');
    assert.equal(views.length, 10);
    assertClose(views[1], mirror(x), { label: 'view 1' });
    // view 6: the bottom-left crop (14 of 16 px), per picture as the image function does it
    const one = new Tensor<'float32'>(x.data.slice(3 * 256, 6 * 256), [3, 16, 16]);
    assertClose(views[6].data.slice(3 * 256), resizedCrop(one, 2, 0, 14, 14, [16, 16], 'bilinear'), { label: 'view 6' });
    assertClose(views[7], mirror(views[6]), { label: 'view 7' });
  });

  test('Predictor: tta and the checkpoint weights it serves (the average by default)', async () => {
    const ckDir = join(dir, 'predictor');
    const ema = new Map([...net.stateDict()].map(([k, t]) => [k, new Tensor(t.dtype === 'float32' ? t.data.map((v) => v * 0.5) : t.data.slice(), t.shape)]));
    const preprocessing = {
      resizeSize: 16,
      cropSize: 16,
      interpolation: 'bilinear',
      channels: 3,
      resizeMode: 'crop',
      augment: 'none',
      mean: [0, 0, 0],
      std: [1, 1, 1],
    };
    saveCheckpoint(ckDir, {
      modelState: net.stateDict(),
      emaState: ema,
      info: {
        architecture: { name: 'convnet', config: { numClasses: 3, inChannels: 3, widths: [4, 8] } },
        classes: ['a', 'b', 'c'],
        preprocessing,
        ema: { decay: 0.9, warmup: false, updates: 1 },
      },
    });
    const raw = Predictor.fromCheckpoint(ckDir, { weights: 'raw', tta: 'flip' });
    assert.equal(raw.weights, 'raw');
    assertClose(
      raw.probabilities(x),
      ttaProbabilities((v) => net.eval().call(v), x, 'flip'),
      { label: 'raw, flip', atol: 1e-5 },
    );
    const avg = Predictor.fromCheckpoint(ckDir);
    assert.equal(avg.weights, 'ema');
    assertClose(avg.net.stateDict().get('0.weight')!, ema.get('0.weight')!, { label: 'average' });
    assert.throws(
      () => new Predictor(net, { preprocess: raw.preprocess, classes: ['a', 'b', 'c'], tta: 'twice' as 'flip' }),
      /tta must be one of none, flip, flip\+crops/,
    );
    assert.ok(existsSync(join(ckDir, 'ema.safetensors')));
  });
});
