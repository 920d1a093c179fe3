/**
 * The model zoo: every registered model gives [N, numClasses] finite outputs and a
 * gradient for every parameter; parameter counts and state-dict keys are those of
 * the same nn.Sequential in PyTorch; registry errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConvNd, countParameters, init, Linear } from '../src/nn/index.js';
import { loadFormulaWeights } from './formula-weights.js';
import { noGrad } from '../src/tensor/autograd.js';
import {
  architectureOf,
  getModel,
  isImageClassifier,
  MODEL_STATS,
  CifarCNN,
  LeNet5,
  listModels,
  mlp,
  modelEntry,
  modelForData,
  SmallNet,
  registerModel,
  setArchitecture,
} from '../src/models/index.js';
import { manualSeed, randn } from '../src/tensor/random.js';

import '../src/tensor/methods.js';

const CASES: { name: string; config: Record<string, any>; input: number[]; classes: number; params: number }[] = [
  {
    name: 'mlp',
    config: { inputSize: 784, hidden: [64, 32], numClasses: 10, dropout: 0.2 },
    input: [3, 1, 28, 28],
    classes: 10,
    params: 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10,
  },
  { name: 'lenet5', config: {}, input: [3, 1, 28, 28], classes: 10, params: 61706 },
  { name: 'lenet5', config: { inputSize: 32, activation: 'tanh', numClasses: 4 }, input: [2, 1, 32, 32], classes: 4, params: 61706 - 850 + 84 * 4 + 4 },
  { name: 'cifar_cnn', config: {}, input: [2, 3, 32, 32], classes: 10, params: 11585546 },
  { name: 'small_net', config: {}, input: [2, 3, 32, 32], classes: 2, params: 18090 },
  // the same nn.Sequential in PyTorch 1.13 has 288,746 parameters
  { name: 'convnet', config: {}, input: [2, 3, 32, 32], classes: 10, params: 288746 },
  {
    name: 'convnet',
    config: { inChannels: 1, numClasses: 3, widths: [8, 16] },
    input: [2, 1, 20, 20],
    classes: 3,
    params: 72 + 16 + 576 + 16 + 1152 + 32 + 2304 + 32 + 16 * 3 + 3,
  },
  // other sizes and channels: the first linear layer follows the feature map
  {
    name: 'cifar_cnn',
    config: { inChannels: 1, imageSize: 28, numClasses: 5 },
    input: [2, 1, 28, 28],
    classes: 5,
    params: 11585546 - 2 * 9 * 32 - (4608 - 3200) * 2048 - 1024 * 5 - 5,
  },
  { name: 'small_net', config: { imageSize: 64 }, input: [1, 3, 64, 64], classes: 2, params: 18090 + (2048 - 512) * 32 },
];

describe('models', () => {
  test('the registry lists the models', () => {
    const names = listModels();
    assert.deepEqual(names, [...names].sort());
    for (const n of [
      'cifar_cnn',
      'convnet',
      'lenet5',
      'mlp',
      'mnist_cnn',
      'small_net',
      'resnet18',
      'resnet50',
      'resnext50_32x4d',
      'wide_resnet50_2',
      'googlenet',
      'inception_v3',
      'shufflenet_v2_x0_5',
      'shufflenet_v2_x2_0',
      'vgg16_bn',
      'alexnet',
      'efficientnet-b0',
    ]) {
      assert.ok(names.includes(n), n);
    }
  });

  test('every model has a row in the stats table that tsvision models prints (tools/make-model-stats.ts), right for the small ones', () => {
    for (const name of listModels()) assert.ok(MODEL_STATS[name], `${name}: run node dist/tools/make-model-stats.js`);
    for (const name of ['convnet', 'lenet5', 'mnist_cnn', 'small_net']) {
      const e = modelEntry(name);
      const net = getModel(name, e.configFor({ channels: 3, imageSize: e.imageSize, numClasses: 1000 }));
      assert.equal(MODEL_STATS[name].params, countParameters(net), name);
    }
  });

  test('modelForData configures each model for a data set; a size a model cannot take is a RangeError', () => {
    const data = { channels: 1, imageSize: 28, numClasses: 3 };
    for (const name of listModels().filter((n) => modelEntry(n).imageSize <= 64)) {
      const net = modelForData(name, data);
      const y = net.call(randn([2, 1, 28, 28]));
      assert.deepEqual(y.shape, [2, 3], name);
      assert.equal(typeof modelEntry(name).imageSize, 'number');
    }
    assert.deepEqual(architectureOf(modelForData('lenet5', { channels: 3, imageSize: 32, numClasses: 4 })), {
      name: 'lenet5',
      config: { inputSize: 32, inChannels: 3, numClasses: 4 },
    });
    assert.throws(() => modelForData('lenet5', { channels: 1, imageSize: 64, numClasses: 2 }), /lenet5 takes 28x28 or 32x32 images, not 64x64/);
    assert.throws(() => modelForData('small_net', { channels: 3, imageSize: 3, numClasses: 2 }), /small_net: imageSize 3 is too small/);
    assert.throws(() => modelForData('convnet', { channels: 3, imageSize: 4, numClasses: 2 }), /at least 8x8/);
    assert.throws(() => modelEntry('resnet9000'), /no model named "resnet9000"; registered: (\w+, )*cifar_cnn, convnet, /);
  });

  test('convnet takes any image size: its head follows global pooling', () => {
    const net = getModel('convnet', { numClasses: 4 });
    for (const s of [8, 33, 96]) assert.deepEqual(net.call(randn([1, 3, s, s])).shape, [1, 4]);
    assert.equal(net.stateDict().size, 38); // as PyTorch: weight, and per BatchNorm2d 5 entries
    assert.deepEqual([...net.stateDict().keys()].slice(0, 6), ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
  });

  for (const c of CASES) {
    test(`${c.name}(${JSON.stringify(c.config)}): output [N, ${c.classes}], finite, every parameter gets a gradient, ${c.params} parameters`, () => {
      manualSeed(0);
      const net = getModel(c.name, c.config);
      assert.deepEqual(architectureOf(net), { name: c.name, config: c.config });
      assert.equal(countParameters(net), c.params);
      const y = net.call(randn(c.input));
      assert.deepEqual(y.shape, [c.input[0], c.classes]);
      assert.ok(y.data.every(Number.isFinite));
      y.sum().backward();
      for (const [name, p] of net.namedParameters()) assert.ok(p.grad !== null, `${name} has a gradient`);
    });
  }

  for (const name of listModels()) {
    test(`${name} keeps the classifier contract: features then head is forward, resetClassifier, named first conv, classifier and stages`, () => {
      const entry = modelEntry(name);
      const size = Math.max(Math.min(entry.imageSize, 64), entry.minImageSize);
      manualSeed(0);
      // formula weights instead of the random initialisation: the same test, a fraction of the time for big networks
      const net = init.skipInit(() => getModel(name, entry.configFor({ channels: 3, imageSize: size, numClasses: 5 })));
      loadFormulaWeights(net);
      assert.ok(isImageClassifier(net));
      net.eval();
      const x = randn([2, 3, size, size]);
      const y = noGrad(() => net.call(x));
      const f = noGrad(() => net.forwardFeatures(x));
      assert.deepEqual(noGrad(() => net.forwardHead(f)).data, y.data, 'forwardHead(forwardFeatures(x)) is forward(x)');
      const pre = noGrad(() => net.forwardHead(f, { preLogits: true }));
      assert.deepEqual(pre.shape, [2, net.numFeatures]);
      assert.equal(net.numClasses, 5);
      const head = net.getSubmodule(net.classifier);
      assert.ok(head instanceof Linear && head.outFeatures === 5 && head.inFeatures === net.numFeatures, `${net.classifier} is the classifier`);
      if (net.firstConv !== null) assert.ok(net.getSubmodule(net.firstConv) instanceof ConvNd, `${net.firstConv} is a convolution`);
      for (const stage of net.featureInfo) assert.ok(net.getSubmodule(stage.module), stage.module);
      const keys = [...net.stateDict().keys()];
      net.resetClassifier(7);
      assert.deepEqual([...net.stateDict().keys()], keys, 'a new classifier keeps the keys');
      assert.deepEqual(noGrad(() => net.call(x)).shape, [2, 7]);
      assert.equal(net.numClasses, 7);
      net.resetClassifier(0);
      assert.deepEqual(noGrad(() => net.call(x)).data, pre.data, 'without a classifier, forward gives the pre-logits');
    });
  }

  test("state-dict keys are PyTorch's for the same nn.Sequential", () => {
    assert.deepEqual(
      [...new LeNet5().stateDict().keys()],
      ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias'],
    );
    assert.deepEqual([...new SmallNet().stateDict().keys()], ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias']);
    assert.deepEqual(
      [...new CifarCNN().stateDict().keys()],
      ['0.weight', '0.bias', '4.weight', '4.bias', '9.weight', '9.bias', '12.weight', '12.bias', '15.weight', '15.bias'],
    );
  });

  test('registry errors; tagging a module built directly', () => {
    assert.throws(() => getModel('resnet9000'), /no model named "resnet9000"; registered: /);
    assert.throws(() => registerModel('mlp', () => mlp({ inputSize: 1, numClasses: 1 })), /already registered/);
    const net = mlp({ inputSize: 4, numClasses: 2 });
    assert.equal(architectureOf(net), null);
    setArchitecture(net, 'mlp', { inputSize: 4, numClasses: 2 });
    assert.deepEqual(architectureOf(net), { name: 'mlp', config: { inputSize: 4, numClasses: 2 } });
    assert.throws(() => new LeNet5({ inputSize: 30 as 28 }), /inputSize must be 28 or 32/);
  });
});
