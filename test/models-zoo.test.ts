/**
 * The model zoo: every registered model gives [N, numClasses] finite outputs and a
 * gradient for every parameter; parameter counts and state-dict keys are those of
 * the same nn.Sequential in PyTorch; registry errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countParameters } from '../src/nn/index.js';
import {
  architectureOf, getModel, ImageClassification, LeNet5, listModels, mlp, Net, registerModel, setArchitecture,
} from '../src/models/index.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import '../src/tensor/methods.js';

const CASES: { name: string; config: Record<string, any>; input: number[]; classes: number; params: number }[] = [
  { name: 'mlp', config: { inputSize: 784, hidden: [64, 32], numClasses: 10, dropout: 0.2 }, input: [3, 1, 28, 28], classes: 10, params: 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10 },
  { name: 'lenet5', config: {}, input: [3, 1, 28, 28], classes: 10, params: 61706 },
  { name: 'lenet5', config: { inputSize: 32, activation: 'tanh', numClasses: 4 }, input: [2, 1, 32, 32], classes: 4, params: 61706 - 850 + 84 * 4 + 4 },
  { name: 'image_classification', config: {}, input: [2, 3, 32, 32], classes: 10, params: 11585546 },
  { name: 'small_net', config: {}, input: [2, 3, 32, 32], classes: 2, params: 18090 },
];

describe('models', () => {
  test('the registry lists the models', () => {
    assert.deepEqual(listModels(), ['image_classification', 'lenet5', 'mlp', 'small_net']);
  });

  for (const c of CASES) {
    test(`${c.name}(${JSON.stringify(c.config)}): output [N, ${c.classes}], finite, every parameter gets a gradient, ${c.params} parameters`, () => {
      manualSeed(0);
      const net = getModel(c.name, c.config);
      assert.deepEqual(architectureOf(net), { name: c.name, config: c.config });
      assert.equal(countParameters(net), c.params);
      const y = net.call(randn(c.input)) as Tensor;
      assert.deepEqual(y.shape, [c.input[0], c.classes]);
      assert.ok(y.data.every(Number.isFinite));
      y.sum().backward();
      for (const [name, p] of net.namedParameters()) assert.ok(p.grad !== null, `${name} has a gradient`);
    });
  }

  test("state-dict keys are PyTorch's for the same nn.Sequential", () => {
    assert.deepEqual([...new LeNet5().stateDict().keys()], ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias']);
    assert.deepEqual([...new Net().stateDict().keys()], ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias']);
    assert.deepEqual([...new ImageClassification().stateDict().keys()], ['0.weight', '0.bias', '4.weight', '4.bias', '9.weight', '9.bias', '12.weight', '12.bias', '15.weight', '15.bias']);
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
