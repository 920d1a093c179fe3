/**
 * Layers beyond the PyTorch fixtures: Linear's default initialisation and
 * shapes, Dropout in training (which PyTorch's generator cannot reproduce),
 * LayerNorm's gradient check and statistics, Flatten, Identity and the
 * activation modules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { assertClose, gradcheck, uniform } from './helpers.js';

function stats(data: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    s += data[i];
    s2 += data[i] * data[i];
    min = Math.min(min, data[i]);
    max = Math.max(max, data[i]);
  }
  const mean = s / data.length;
  return { mean, std: Math.sqrt(s2 / data.length - mean * mean), min, max };
}

describe('Linear', () => {
  test('default init: weight and bias in ±1/√in, uniform', () => {
    const lin = new nn.Linear(400, 300);
    const bound = 1 / Math.sqrt(400);
    const w = stats(lin.weight.data);
    assert.ok(w.min >= -bound && w.max <= bound, `weight range [${w.min}, ${w.max}] outside ±${bound}`);
    assert.ok(w.max > 0.99 * bound && w.min < -0.99 * bound, 'weight does not fill its range');
    assertClose([w.std], [bound / Math.sqrt(3)], { rtol: 0.01, label: 'weight std' });
    const b = stats(lin.bias!.data);
    assert.ok(b.min >= -bound && b.max <= bound, 'bias range');
    assert.ok(b.max - b.min > bound, 'bias spread');
  });

  test('the same seed gives the same weights', () => {
    tv.manualSeed(7);
    const a = new nn.Linear(5, 3);
    tv.manualSeed(7);
    const b = new nn.Linear(5, 3);
    assert.deepEqual(Array.from(a.weight.data), Array.from(b.weight.data));
    assert.deepEqual(Array.from(a.bias!.data), Array.from(b.bias!.data));
    b.resetParameters();
    assert.notDeepEqual(Array.from(a.weight.data), Array.from(b.weight.data));
  });

  test('shapes: [N, in], [B, T, in], [in]; errors name the shapes', () => {
    const lin = new nn.Linear(4, 3);
    assert.deepEqual([...lin.call(tv.zeros([2, 4])).shape], [2, 3]);
    assert.deepEqual([...lin.call(tv.zeros([2, 5, 4])).shape], [2, 5, 3]);
    assert.deepEqual([...lin.call(tv.zeros([4])).shape], [3]);
    assert.throws(() => lin.call(tv.zeros([2, 5])), /linear: input shape \[2, 5\] does not end in the weight's 4 input features/);
    assert.throws(() => new nn.Linear(2.5, 3), /inFeatures must be a non-negative integer/);
  });

  test('y = x·Wᵀ + b by hand, and its gradients', () => {
    const lin = new nn.Linear(2, 2);
    lin.loadStateDict({
      weight: tv.tensor([
        [1, 2],
        [3, 4],
      ]),
      bias: tv.tensor([0.5, -1]),
    });
    const x = tv.tensor([[1, -1]], { requiresGrad: true });
    const y = lin.call(x);
    assert.deepEqual(y.toArray(), [[-0.5, -2]]);
    y.sum().backward();
    assert.deepEqual(x.grad!.toArray(), [[4, 6]]);
    assert.deepEqual(lin.weight.grad!.toArray(), [
      [1, -1],
      [1, -1],
    ]);
    assert.deepEqual(lin.bias!.grad!.toArray(), [1, 1]);
  });
});

describe('Dropout', () => {
  test('training: zeroes about p of the elements and scales the rest by 1/(1-p)', () => {
    const p = 0.3;
    const x = uniform([200, 500], 1, 2, true);
    const y = new nn.Dropout(p).call(x);
    let zeros = 0;
    for (let i = 0; i < y.size; i++) {
      if (y.data[i] === 0) zeros++;
      else assertClose([y.data[i]], [x.data[i] / (1 - p)], { rtol: 1e-6, label: `element ${i}` });
    }
    // 100 000 Bernoulli(0.3) draws: the standard deviation of the fraction is 0.0014
    assert.ok(Math.abs(zeros / y.size - p) < 0.006, `zeroed fraction ${zeros / y.size}`);
    y.sum().backward();
    for (let i = 0; i < y.size; i += 97) assertClose([x.grad!.data[i]], [y.data[i] === 0 ? 0 : 1 / (1 - p)], { rtol: 1e-6 });
  });

  test('the mask repeats under manualSeed and differs otherwise', () => {
    const x = tv.ones([1000]);
    const d = new nn.Dropout(0.5);
    tv.manualSeed(3);
    const a = Array.from(d.call(x).data);
    const b = Array.from(d.call(x).data);
    tv.manualSeed(3);
    assert.deepEqual(Array.from(d.call(x).data), a);
    assert.notDeepEqual(a, b);
  });

  test('eval, p = 0 and p = 1', () => {
    const x = uniform([3, 4]);
    const d = new nn.Dropout(0.9).eval();
    assert.equal(d.call(x), x);
    assert.equal(new nn.Dropout(0).call(x), x);
    assert.ok(new nn.Dropout(1).call(x).data.every((v) => v === 0));
    assert.throws(() => new nn.Dropout(1.2), /p must be in \[0, 1\], got 1.2/);
  });
});

describe('LayerNorm', () => {
  test('gradient check over one and two normalized dimensions, with affine parameters', () => {
    gradcheck((x, w, b) => nn.functional.layerNorm(x, [5], w, b), [uniform([3, 5], -2, 2), uniform([5], 0.5, 1.5), uniform([5])], { label: 'layerNorm [5]' });
    gradcheck((x, w, b) => nn.functional.layerNorm(x, [2, 3], w, b, 1e-3), [uniform([2, 2, 3], -2, 2), uniform([2, 3], 0.5, 1.5), uniform([2, 3])], {
      label: 'layerNorm [2, 3]',
    });
    gradcheck((x) => nn.functional.layerNorm(x, [4]), [uniform([3, 4], -2, 2)], { label: 'layerNorm no affine' });
  });

  test('normalises each row to mean 0 and variance 1 (biased), then applies weight and bias', () => {
    const ln = new nn.LayerNorm(64);
    const x = uniform([4, 64], 5, 15);
    const y = ln.call(x);
    for (let r = 0; r < 4; r++) {
      const s = stats(y.data.subarray(r * 64, (r + 1) * 64));
      assert.ok(Math.abs(s.mean) < 1e-5, `row ${r} mean ${s.mean}`);
      assertClose([s.std * s.std], [1], { rtol: 1e-3, label: `row ${r} variance` });
    }
    nn.init.constant(ln.weight!, 2);
    nn.init.constant(ln.bias!, 3);
    assertClose(ln.call(x), y.mul(2).add(3), { rtol: 1e-5, atol: 1e-5 });
    assert.deepEqual([...ln.stateDict().keys()], ['weight', 'bias']);
    assert.deepEqual([...new nn.LayerNorm([2, 3], { elementwiseAffine: false }).stateDict().keys()], []);
  });

  test('the input must end in normalizedShape', () => {
    assert.throws(() => new nn.LayerNorm([3, 4]).call(tv.zeros([2, 4, 3])), /layerNorm: input shape \[2, 4, 3\] does not end in the normalized shape \[3, 4\]/);
    assert.throws(() => new nn.LayerNorm([]), /normalizedShape must be positive integers/);
  });
});

describe('shape layers and activations', () => {
  test('Flatten and Identity', () => {
    const x = tv.zeros([2, 3, 4, 5]);
    assert.deepEqual([...new nn.Flatten().call(x).shape], [2, 60]);
    assert.deepEqual([...new nn.Flatten(0, 2).call(x).shape], [24, 5]);
    assert.deepEqual([...new nn.Flatten(-2).call(x).shape], [2, 3, 20]);
    assert.equal(new nn.Identity().call(x), x);
  });

  test('each activation module computes its op', () => {
    const x = uniform([3, 5], -4, 4);
    const pairs: [nn.Module, tv.Tensor][] = [
      [new nn.ReLU(), tv.relu(x)],
      [new nn.ReLU6(), tv.relu6(x)],
      [new nn.LeakyReLU(0.3), tv.leakyRelu(x, 0.3)],
      [new nn.LeakyReLU(), tv.leakyRelu(x, 0.01)],
      [new nn.Tanh(), tv.tanh(x)],
      [new nn.Sigmoid(), tv.sigmoid(x)],
      [new nn.SiLU(), tv.silu(x)],
      [new nn.GELU(), tv.gelu(x)],
      [new nn.GELU({ approximate: 'tanh' }), tv.gelu(x, 'tanh')],
      [new nn.Hardswish(), tv.hardswish(x)],
      [new nn.Hardsigmoid(), tv.hardsigmoid(x)],
      [new nn.Softmax(0), tv.softmax(x, 0)],
      [new nn.LogSoftmax(-1), tv.logSoftmax(x, -1)],
    ];
    for (const [m, expected] of pairs) assert.deepEqual(Array.from(m.call(x).data), Array.from(expected.data), String(m));
    assert.throws(() => new nn.GELU({ approximate: 'fast' as 'tanh' }), /approximate must be 'none' or 'tanh'/);
  });
});
