/**
 * The training loop as docs/optim.md writes it (zeroGrad, forward through an
 * nn.Sequential MLP, nn.CrossEntropyLoss, backward, clip, step, scheduler step) on a
 * tiny separable problem: the loss must fall far and every point end up classified.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as optim from '../src/optim/index.js';

const { nn } = tv;

/** Two Gaussian blobs around (-1, -1) (class 0) and (1, 1) (class 1), in batches of 16. */
function blobs(n: number): { x: tv.Tensor; y: tv.Tensor<'int32'>; batches: [tv.Tensor, tv.Tensor<'int32'>][] } {
  const gen = new tv.Generator(7);
  const noise = tv.randn([n, 2], { generator: gen });
  const xs = new Float32Array(n * 2);
  const ys = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    ys[i] = i % 2;
    const c = ys[i] === 0 ? -1 : 1;
    xs[2 * i] = c + 0.3 * noise.data[2 * i];
    xs[2 * i + 1] = c + 0.3 * noise.data[2 * i + 1];
  }
  const x = tv.tensor(xs, { shape: [n, 2] });
  const y = tv.tensor(ys, { dtype: 'int32' }) as tv.Tensor<'int32'>;
  const batches: [tv.Tensor, tv.Tensor<'int32'>][] = [];
  for (let s = 0; s < n; s += 16) {
    batches.push([tv.tensor(xs.slice(2 * s, 2 * (s + 16)), { shape: [16, 2] }), tv.tensor(ys.slice(s, s + 16), { dtype: 'int32' }) as tv.Tensor<'int32'>]);
  }
  return { x, y, batches };
}

type Setup = (model: tv.nn.Module, stepsPerEpoch: number) => { optimizer: optim.AnyOptimizer; scheduler: optim.LRScheduler; perBatch: boolean };

const SETUPS: [string, Setup][] = [
  [
    'SGD with momentum and StepLR',
    (m) => {
      const optimizer = new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
      return { optimizer, scheduler: new optim.StepLR(optimizer, { stepSize: 10, gamma: 0.5 }), perBatch: false };
    },
  ],
  [
    'Adam with CosineAnnealingLR',
    (m) => {
      const optimizer = new optim.Adam(m.parameters(), { lr: 0.02 });
      return { optimizer, scheduler: new optim.CosineAnnealingLR(optimizer, { tMax: 30 }), perBatch: false };
    },
  ],
  [
    'AdamW with a LinearLR warm-up',
    (m) => {
      const optimizer = new optim.AdamW(m.parameters(), { lr: 0.02 });
      return { optimizer, scheduler: new optim.LinearLR(optimizer, { startFactor: 0.2, totalIters: 5 }), perBatch: false };
    },
  ],
  [
    'RMSprop with ExponentialLR',
    (m) => {
      const optimizer = new optim.RMSprop(m.parameters(), { lr: 0.01 });
      return { optimizer, scheduler: new optim.ExponentialLR(optimizer, { gamma: 0.95 }), perBatch: false };
    },
  ],
  [
    'SGD with OneCycleLR stepped per batch',
    (m, stepsPerEpoch) => {
      const optimizer = new optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
      return { optimizer, scheduler: new optim.OneCycleLR(optimizer, { maxLr: 0.3, epochs: 30, stepsPerEpoch }), perBatch: true };
    },
  ],
];

describe('training a small MLP', () => {
  const { x, y, batches } = blobs(64);

  for (const [name, setup] of SETUPS) {
    test(`${name}: the loss falls and every point is classified`, () => {
      tv.manualSeed(3);
      const model = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 2));
      const lossFn = new nn.CrossEntropyLoss();
      const { optimizer, scheduler, perBatch } = setup(model, batches.length);
      const weight = (model.at(0) as tv.nn.Linear).weight;
      const fullLoss = () => tv.noGrad(() => lossFn.call(model.call(x), y).item());
      const initialLoss = fullLoss();

      for (let epoch = 0; epoch < 30; epoch++) {
        for (const [xb, yb] of batches) {
          optimizer.zeroGrad();
          const loss = lossFn.call(model.call(xb), yb);
          loss.backward();
          optim.clipGradNorm(model.parameters(), 5.0);
          optimizer.step();
          if (perBatch) scheduler.step();
        }
        if (!perBatch) scheduler.step();
      }

      const finalLoss = fullLoss();
      assert.ok(finalLoss < 0.1 * initialLoss && finalLoss < 0.05, `loss ${initialLoss} -> ${finalLoss}`);
      const predicted = tv.noGrad(() => model.call(x).argmax(1));
      assert.deepEqual(Array.from(predicted.data), Array.from(y.data), 'predictions');
      assert.equal((model.at(0) as tv.nn.Linear).weight, weight, 'the model keeps its parameter objects');
      assert.ok(optimizer.state.size === 4, 'state for each of the 4 parameters');
    });
  }

  test('without optimizer.step() nothing is learned (the check above can fail)', () => {
    tv.manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Linear(16, 2));
    const lossFn = new nn.CrossEntropyLoss();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
    const before = tv.noGrad(() => lossFn.call(model.call(x), y).item());
    for (const [xb, yb] of batches) {
      optimizer.zeroGrad();
      lossFn.call(model.call(xb), yb).backward();
    }
    assert.equal(
      tv.noGrad(() => lossFn.call(model.call(x), y).item()),
      before,
    );
  });
});
