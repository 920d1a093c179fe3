/**
 * The convolution-family layers beyond the PyTorch fixtures: default
 * initialisation against PyTorch's formulas, shapes and error messages, BatchNorm's
 * buffers and modes, GroupNorm's statistics and gradient, the random layers in
 * training (Dropout2d, StochasticDepth: PyTorch's generator cannot be reproduced),
 * ChannelShuffle's permutation, and the functional forms.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { assertClose, gradcheck, uniform } from './helpers.js';

const F = nn.functional;

/**
 * Asserts the values look like U(-bound, bound): none outside, the extremes within
 * 3% of the bound (so a bound 5% too large fails), std within 5% of bound/√3.
 */
function assertUniform(data: ArrayLike<number>, bound: number, label: string, { checkStd = true } = {}): void {
  let min = Infinity;
  let max = -Infinity;
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < data.length; i++) {
    min = Math.min(min, data[i]);
    max = Math.max(max, data[i]);
    s += data[i];
    s2 += data[i] * data[i];
  }
  assert.ok(min >= -bound && max <= bound, `${label}: range [${min}, ${max}] is outside ±${bound}`);
  assert.ok(max > 0.97 * bound && min < -0.97 * bound, `${label}: range [${min}, ${max}] does not reach ±${bound}`);
  if (checkStd) {
    const mean = s / data.length;
    assertClose([Math.sqrt(s2 / data.length - mean * mean)], [bound / Math.sqrt(3)], { rtol: 0.05, label: `${label}: std` });
  }
}

describe('default initialisation (PyTorch: U(±1/√fanIn) for weight and bias)', () => {
  test('the uniformity check rejects a wrong bound', () => {
    const conv = new nn.Conv2d(16, 64, 3);
    const bound = 1 / Math.sqrt(16 * 9);
    assertUniform(conv.weight.data, bound, 'right bound');
    assert.throws(() => assertUniform(conv.weight.data, bound * 0.95, 'too small'), /outside/);
    assert.throws(() => assertUniform(conv.weight.data, bound * 1.05, 'too large'), /does not reach/);
  });

  const cases: [string, () => nn.ConvBase, number][] = [
    // fanIn = inChannels/groups · ∏kernel for convolutions
    ['Conv1d(8, 64, 5)', () => new nn.Conv1d(8, 64, 5), 8 * 5],
    ['Conv2d(16, 96, 3, groups 4)', () => new nn.Conv2d(16, 96, 3, { groups: 4 }), 4 * 9],
    ['Conv2d(32, 32, 3, depthwise)', () => new nn.Conv2d(32, 32, 3, { groups: 32 }), 9],
    ['Conv2d(6, 80, [3, 5])', () => new nn.Conv2d(6, 80, [3, 5]), 6 * 15],
    ['Conv3d(4, 40, 3)', () => new nn.Conv3d(4, 40, 3), 4 * 27],
    // transposed: weight [in, out/groups, ...k] and fanIn = weight.shape[1]·∏k = out/groups·∏k, as PyTorch
    ['ConvTranspose2d(48, 16, 3, groups 4)', () => new nn.ConvTranspose2d(48, 16, 3, { groups: 4 }), 4 * 9],
    ['ConvTranspose2d(16, 64, 3, groups 2)', () => new nn.ConvTranspose2d(16, 64, 3, { groups: 2 }), 32 * 9],
    ['ConvTranspose1d(64, 8, 4)', () => new nn.ConvTranspose1d(64, 8, 4), 8 * 4],
  ];
  for (const [name, make, fanIn] of cases) {
    test(`${name}: bound 1/√${fanIn}`, () => {
      const bound = 1 / Math.sqrt(fanIn);
      const m = make();
      assertUniform(m.weight.data, bound, `${name} weight`);
      // the bias is short, so only its range is checked (its extremes within 25%)
      const b = Array.from(m.bias!.data);
      assert.ok(
        b.every((v) => Math.abs(v) <= bound),
        `${name}: bias outside ±${bound}`,
      );
      assert.ok(Math.max(...b) - Math.min(...b) > 0.5 * bound * (b.length > 20 ? 3 : 1), `${name}: bias spread too small for ±${bound}`);
    });
  }

  test('bias bound with many output channels, and the seed repeats the draw', () => {
    const conv = new nn.Conv2d(2, 4096, 3);
    assertUniform(conv.bias!.data, 1 / Math.sqrt(18), 'bias of Conv2d(2, 4096, 3)');
    tv.manualSeed(11);
    const a = new nn.Conv2d(3, 4, 3);
    tv.manualSeed(11);
    const b = new nn.Conv2d(3, 4, 3);
    assert.deepEqual(Array.from(a.weight.data), Array.from(b.weight.data));
    b.resetParameters();
    assert.notDeepEqual(Array.from(a.weight.data), Array.from(b.weight.data));
  });

  test('weight shapes; normalisation layers start at weight 1, bias 0, running 0 / 1', () => {
    assert.deepEqual([...new nn.Conv2d(6, 8, [3, 1], { groups: 2 }).weight.shape], [8, 3, 3, 1]);
    assert.deepEqual([...new nn.ConvTranspose2d(6, 8, 2, { groups: 2 }).weight.shape], [6, 4, 2, 2]);
    assert.equal(new nn.Conv2d(3, 4, 1, { bias: false }).bias, null);
    const bn = new nn.BatchNorm2d(3);
    assert.deepEqual(Array.from(bn.weight!.data), [1, 1, 1]);
    assert.deepEqual(Array.from(bn.bias!.data), [0, 0, 0]);
    assert.deepEqual(Array.from(bn.runningMean!.data), [0, 0, 0]);
    assert.deepEqual(Array.from(bn.runningVar!.data), [1, 1, 1]);
    assert.equal(bn.numBatchesTracked!.dtype, 'int32');
    assert.equal(bn.numBatchesTracked!.item(), 0);
    const gn = new nn.GroupNorm(2, 4);
    assert.deepEqual(Array.from(gn.weight!.data), [1, 1, 1, 1]);
    assert.deepEqual(Array.from(gn.bias!.data), [0, 0, 0, 0]);
  });
});

describe('convolution layers: shapes and errors', () => {
  test('output shapes', () => {
    const shape = (m: nn.Module, x: number[]) => [...m.call(tv.zeros(x)).shape];
    assert.deepEqual(shape(new nn.Conv2d(3, 8, 3), [2, 3, 10, 9]), [2, 8, 8, 7]);
    assert.deepEqual(shape(new nn.Conv2d(3, 8, 4, { padding: 'same' }), [1, 3, 7, 6]), [1, 8, 7, 6]);
    assert.deepEqual(shape(new nn.Conv2d(3, 8, 3, { stride: 2, padding: 1 }), [1, 3, 7, 8]), [1, 8, 4, 4]);
    assert.deepEqual(shape(new nn.Conv2d(3, 8, 3, { padding: 'valid', dilation: 2 }), [3, 9, 9]), [8, 5, 5]);
    assert.deepEqual(shape(new nn.Conv1d(2, 4, 3, { padding: 'same', dilation: 3 }), [1, 2, 11]), [1, 4, 11]);
    assert.deepEqual(shape(new nn.Conv3d(2, 4, [1, 3, 3], { padding: [0, 1, 1] }), [1, 2, 5, 6, 6]), [1, 4, 5, 6, 6]);
    assert.deepEqual(shape(new nn.ConvTranspose2d(4, 2, 2, { stride: 2 }), [1, 4, 5, 6]), [1, 2, 10, 12]);
    assert.deepEqual(shape(new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }), [1, 4, 5, 5]), [1, 2, 10, 10]);
    assert.deepEqual(shape(new nn.ConvTranspose3d(2, 2, 2, { stride: 2 }), [2, 2, 2, 3]), [2, 4, 4, 6]);
  });

  test('ConvTranspose2d forward(x, outputSize) picks the output padding, as PyTorch', () => {
    const up = new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1 });
    const x = tv.zeros([1, 4, 5, 5]);
    assert.deepEqual([...up.call(x).shape], [1, 2, 9, 9]);
    assert.deepEqual([...up.call(x, [10, 9]).shape], [1, 2, 10, 9]);
    assert.deepEqual([...up.call(x, [1, 2, 10, 10]).shape], [1, 2, 10, 10]);
    assert.deepEqual(up.outputPaddingFor(x, [10, 9]), [1, 0]);
    assert.throws(() => up.call(x, [11, 9]), /ConvTranspose2d: requested output size \[11, 9\] is not between 9 and 10 on axis 0/);
    assert.throws(() => up.call(x, [8, 9]), /not between 9 and 10/);
  });

  test('errors name the layer, the expected input and the shape', () => {
    const conv = new nn.Conv2d(3, 16, 3);
    assert.throws(
      () => conv.call(tv.zeros([1, 4, 8, 8])),
      /Conv2d\(3, 16\): expected an input \[N, 3, H, W\] \(or unbatched \[3, H, W\]\), got shape \[1, 4, 8, 8\]/,
    );
    assert.throws(() => conv.call(tv.zeros([8, 8])), /got shape \[8, 8\]/);
    assert.throws(() => new nn.Conv1d(3, 4, 3).call(tv.zeros([1, 3, 4, 4])), /Conv1d\(3, 4\): expected an input \[N, 3, L\]/);
    assert.throws(() => new nn.ConvTranspose3d(2, 4, 3).call(tv.zeros([1, 3, 4, 4, 4])), /ConvTranspose3d\(2, 4\): expected an input \[N, 2, D, H, W\]/);
    assert.throws(() => new nn.Conv2d(3, 16, 3, { stride: 2, padding: 'same' }), /Conv2d: padding 'same' needs stride 1/);
    assert.throws(() => new nn.Conv2d(6, 16, 3, { groups: 4 }), /Conv2d: inChannels \(6\) and outChannels \(16\) must both be divisible by groups \(4\)/);
    assert.throws(() => new nn.Conv2d(3, 16, [3, 3, 3]), /Conv2d: kernelSize must be an integer >= 1 or a list of 2, got \[3,3,3\]/);
    assert.throws(() => new nn.Conv2d(3, 16, 3, { padding: -1 }), /Conv2d: padding must be an integer >= 0/);
    assert.throws(() => new nn.Conv2d(0, 16, 3), /Conv2d: inChannels must be an integer >= 1, got 0/);
    assert.throws(
      () => new nn.ConvTranspose2d(3, 4, 3, { outputPadding: 2, stride: 2 }),
      /ConvTranspose2d: outputPadding \[2, 2\] must be smaller than stride or dilation/,
    );
    assert.throws(() => new nn.Conv2d(3, 4, 5).call(tv.zeros([1, 3, 4, 4])), /conv2d: input shape \[1, 3, 4, 4\] is too small for kernel \[5, 5\]/);
  });

  test('printing follows PyTorch, with camelCase names', () => {
    assert.equal(
      String(new nn.Conv2d(3, 16, 3, { padding: 1, groups: 1, bias: false })),
      'Conv2d(3, 16, kernelSize=[3, 3], stride=[1, 1], padding=[1, 1], bias=false)',
    );
    assert.equal(
      String(new nn.Conv1d(4, 4, 5, { padding: 'same', dilation: 2, groups: 4 })),
      "Conv1d(4, 4, kernelSize=[5], stride=[1], padding='same', dilation=[2], groups=4)",
    );
    assert.equal(
      String(new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1 })),
      'ConvTranspose2d(4, 2, kernelSize=[3, 3], stride=[2, 2], padding=[1, 1], outputPadding=[1, 1])',
    );
    assert.equal(String(new nn.BatchNorm2d(8, { momentum: null })), 'BatchNorm2d(8, eps=0.00001, momentum=null, affine=true, trackRunningStats=true)');
    assert.equal(
      String(new nn.MaxPool2d(3, { stride: 2, padding: 1 })),
      'MaxPool2d(kernelSize=[3, 3], stride=[2, 2], padding=[1, 1], dilation=[1, 1], ceilMode=false)',
    );
    assert.equal(String(new nn.AdaptiveAvgPool2d([null, 7])), 'AdaptiveAvgPool2d(outputSize=[null, 7])');
  });
});

describe('pooling layers', () => {
  test('the positional form equals the options form; stride defaults to the kernel', () => {
    const x = uniform([2, 3, 9, 8]);
    const a = new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }).call(x);
    const b = new nn.MaxPool2d({ kernelSize: 3, stride: 2, padding: 1, ceilMode: true }).call(x);
    assert.deepEqual(Array.from(a.data), Array.from(b.data));
    assert.deepEqual([...new nn.AvgPool2d(2).stride], [2, 2]);
    assert.deepEqual([...new nn.MaxPool1d([3], { stride: 1 }).stride], [1]);
    assert.deepEqual([...new nn.AvgPool3d({ kernelSize: [1, 2, 2] }).stride], [1, 2, 2]);
  });

  test('hand-checked windows', () => {
    const x = tv.arange(16).reshape([1, 1, 4, 4]);
    assert.deepEqual(Array.from(new nn.MaxPool2d(2).call(x).data), [5, 7, 13, 15]);
    assert.deepEqual(Array.from(new nn.AvgPool2d(2).call(x).data), [2.5, 4.5, 10.5, 12.5]);
    // a 3x3 window with 1 padding at the corner: 4 real values, 9 with padding
    assertClose([new nn.AvgPool2d(3, { stride: 3, padding: 1, countIncludePad: false }).call(x).data[0]], [(0 + 1 + 4 + 5) / 4]);
    assertClose([new nn.AvgPool2d(3, { stride: 3, padding: 1 }).call(x).data[0]], [(0 + 1 + 4 + 5) / 9]);
    assert.deepEqual(Array.from(new nn.AdaptiveMaxPool2d([null, 1]).call(x).data), [3, 7, 11, 15]);
    assert.deepEqual(Array.from(new nn.AdaptiveAvgPool2d(1).call(x).data), [7.5]);
  });

  test('errors', () => {
    assert.throws(() => new nn.MaxPool2d(2, { padding: 2 }), /MaxPool2d: padding \[2, 2\] must be at most half the effective kernel size \[2, 2\]/);
    assert.throws(() => new nn.AvgPool2d({} as nn.AvgPoolLayerOptions), /AvgPool2d: kernelSize is required/);
    assert.throws(() => new nn.AdaptiveAvgPool2d([0, 2]), /AdaptiveAvgPool2d: outputSize must be an integer >= 1 or a list of 2/);
    assert.throws(() => new nn.MaxPool2d(2).call(tv.zeros([4, 4])), /maxPool2d: expected a 4-D input/);
  });
});

describe('BatchNorm', () => {
  test('input rank and channel errors name the layer and the shape', () => {
    assert.throws(() => new nn.BatchNorm2d(3).call(tv.zeros([2, 3])), /BatchNorm2d: expected a 4-D input \[N, C, H, W\], got shape \[2, 3\]/);
    assert.throws(
      () => new nn.BatchNorm1d(3).call(tv.zeros([2, 3, 2, 2])),
      /BatchNorm1d: expected a 2-D input \[N, C\] or 3-D input \[N, C, L\], got shape \[2, 3, 2, 2\]/,
    );
    assert.throws(() => new nn.BatchNorm3d(3).call(tv.zeros([2, 3, 2, 2])), /BatchNorm3d: expected a 5-D input \[N, C, D, H, W\]/);
    assert.throws(() => new nn.BatchNorm2d(4).call(tv.zeros([2, 3, 2, 2])), /BatchNorm2d\(4\): expected 4 channels in dimension 1, got shape \[2, 3, 2, 2\]/);
    const bn = new nn.BatchNorm1d(3);
    assert.throws(() => bn.call(tv.zeros([1, 3])), /BatchNorm1d: expected more than 1 value per channel when using batch statistics, got input shape \[1, 3\]/);
    assert.equal(bn.numBatchesTracked!.item(), 0, 'a rejected batch is not counted');
    bn.eval().call(tv.zeros([1, 3])); // running statistics: one sample is fine
  });

  test('momentum null is the cumulative average of the batch statistics', () => {
    const bn = new nn.BatchNorm2d(1, { momentum: null });
    const means = [1, -3, 5];
    for (const m of means) bn.call(tv.tensor([m - 1, m + 1, m - 1, m + 1], { shape: [2, 1, 2, 1] }));
    assert.equal(bn.numBatchesTracked!.item(), 3);
    assertClose(bn.runningMean!.data, [(1 - 3 + 5) / 3], { rtol: 1e-6, label: 'running mean' });
    // the unbiased variance of [m-1, m+1, m-1, m+1] is 4/3 for every batch
    assertClose(bn.runningVar!.data, [4 / 3], { rtol: 1e-6, label: 'running var' });
  });

  test('momentum 0.1 moves 10% of the way; eval neither uses nor changes the batch statistics', () => {
    const bn = new nn.BatchNorm1d(1);
    bn.call(tv.tensor([[4], [6]]));
    assertClose(bn.runningMean!.data, [0.9 * 0 + 0.1 * 5], { label: 'running mean' });
    assertClose(bn.runningVar!.data, [0.9 * 1 + 0.1 * 2], { label: 'running var (unbiased: 2)' });
    bn.eval();
    const y = bn.call(tv.tensor([[0.5], [1.5]]));
    assertClose(y.data, [(0.5 - 0.5) / Math.sqrt(1.1 + 1e-5), (1.5 - 0.5) / Math.sqrt(1.1 + 1e-5)], { label: 'eval output' });
    assert.equal(bn.numBatchesTracked!.item(), 1);
    assertClose(bn.runningMean!.data, [0.5], { label: 'running mean unchanged by eval' });
  });

  test('trackRunningStats false: no buffers, batch statistics in both modes', () => {
    const bn = new nn.BatchNorm2d(2, { trackRunningStats: false, affine: false });
    assert.deepEqual([...bn.stateDict().keys()], []);
    assert.equal(bn.runningMean, null);
    const x = uniform([3, 2, 2, 2], 1, 5);
    const y = bn.eval().call(x);
    const m = y.mean([0, 2, 3]);
    assertClose(m.data, [0, 0], { atol: 1e-5, label: 'per-channel mean in eval' });
  });

  test('buffers are in the state dict under PyTorch names; a float32 num_batches_tracked loads into int32', () => {
    const bn = new nn.BatchNorm1d(2);
    assert.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    const sd = bn.stateDict();
    sd.set('num_batches_tracked', tv.tensor(7));
    bn.loadStateDict(sd);
    assert.equal(bn.num_batches_tracked!.dtype, 'int32');
    assert.equal(bn.num_batches_tracked!.item(), 7);
    bn.call(uniform([4, 2]));
    assert.equal(bn.stateDict().get('num_batches_tracked')!.item(), 8, 'the state dict shares the buffer');
    bn.resetRunningStats();
    assert.equal(bn.num_batches_tracked!.item(), 0);
  });

  test('gradients flow to the input, weight and bias in training', () => {
    const bn = new nn.BatchNorm2d(2);
    gradcheck((x) => bn.call(x), [uniform([2, 2, 2, 2], -2, 2)], { label: 'BatchNorm2d input' });
    const x = uniform([3, 2, 2]);
    bn.zeroGrad();
    const bn1 = new nn.BatchNorm1d(2);
    bn1
      .call(x)
      .mul(uniform([3, 2, 2]))
      .sum()
      .backward();
    assert.ok(bn1.weight!.grad && bn1.bias!.grad);
  });
});

describe('GroupNorm', () => {
  test('each group is normalised; the gradient matches finite differences', () => {
    const gn = new nn.GroupNorm(2, 4, { affine: false });
    const x = uniform([2, 4, 3, 3], -3, 5);
    const y = gn.call(x).reshape([2, 2, 18]);
    assertClose(y.mean(2).data, [0, 0, 0, 0], { atol: 1e-5, label: 'group means' });
    assertClose(y.var(2, { correction: 0 }).data, [1, 1, 1, 1], { rtol: 1e-3, label: 'group variances' });
    const affine = new nn.GroupNorm(3, 6);
    nn.init.uniform(affine.weight!, { a: 0.5, b: 1.5 });
    nn.init.uniform(affine.bias!, { a: -1, b: 1 });
    gradcheck((t) => affine.call(t), [uniform([2, 6, 2], -2, 2)], { label: 'GroupNorm input' });
    const input = uniform([2, 6, 2], -2, 2);
    gradcheck((w, b) => F.groupNorm(input, 3, w, b), [uniform([6], 0.5, 1.5), uniform([6])], { label: 'GroupNorm weight and bias' });
  });

  test('errors', () => {
    assert.throws(() => new nn.GroupNorm(3, 4), /GroupNorm: numChannels \(4\) must be divisible by numGroups \(3\)/);
    assert.throws(() => new nn.GroupNorm(2, 4).call(tv.zeros([2, 6, 3])), /groupNorm: weight shape \[4\] does not match 6 channels/);
    assert.throws(() => F.groupNorm(tv.zeros([2, 6]), 4), /groupNorm: 6 channels \(input shape \[2, 6\]\) cannot be split into 4 groups/);
  });
});

describe('Dropout2d, StochasticDepth, ChannelShuffle', () => {
  test('Dropout2d zeroes whole channels with probability p and scales the rest by 1/(1-p)', () => {
    const drop = new nn.Dropout2d(0.25);
    const x = uniform([40, 50, 3, 3], 1, 2);
    const y = drop.call(x);
    let dropped = 0;
    for (let nc = 0; nc < 40 * 50; nc++) {
      const xs = Array.from(x.data.subarray(nc * 9, nc * 9 + 9));
      const ys = Array.from(y.data.subarray(nc * 9, nc * 9 + 9));
      if (ys.every((v) => v === 0)) dropped++;
      else
        assertClose(
          ys,
          xs.map((v) => v / 0.75),
          { label: `channel ${nc}` },
        );
    }
    const rate = dropped / 2000;
    assert.ok(Math.abs(rate - 0.25) < 0.03, `dropped ${rate} of the channels, expected 0.25`);
    // unbatched [C, H, W]: one decision per channel
    const u = new nn.Dropout2d(0.5).call(tv.ones([64, 2, 2]));
    for (let c = 0; c < 64; c++) assert.equal(new Set(u.data.subarray(c * 4, c * 4 + 4)).size, 1, `channel ${c} split`);
    assert.equal(drop.eval().call(x), x, 'eval returns the input');
    assert.deepEqual(Array.from(new nn.Dropout2d(1).call(x).data.subarray(0, 3)), [0, 0, 0]);
    assert.throws(
      () => new nn.Dropout2d(0.5).call(tv.ones([4, 4])),
      /dropout2d: expected a 4-D input \[N, C, \.\.\.\] \(or 3-D unbatched \[C, \.\.\.\]\), got shape \[4, 4\]/,
    );
    assert.throws(() => new nn.Dropout2d(1.5), /Dropout2d: p must be in \[0, 1\], got 1.5/);
    const d1 = new nn.Dropout1d(0.5).call(tv.ones([8, 16, 5]));
    for (let nc = 0; nc < 128; nc++) assert.equal(new Set(d1.data.subarray(nc * 5, nc * 5 + 5)).size, 1);
  });

  test("StochasticDepth 'row' drops whole samples, 'batch' the whole batch; identity in eval or p = 0", () => {
    const x = uniform([400, 3, 2], 1, 2, true);
    const y = new nn.StochasticDepth(0.2, 'row').call(x);
    let dropped = 0;
    for (let n = 0; n < 400; n++) {
      const ys = Array.from(y.data.subarray(n * 6, n * 6 + 6));
      if (ys.every((v) => v === 0)) dropped++;
      else
        assertClose(
          ys,
          Array.from(x.data.subarray(n * 6, n * 6 + 6)).map((v) => v / 0.8),
          { label: `sample ${n}` },
        );
    }
    assert.ok(Math.abs(dropped / 400 - 0.2) < 0.06, `dropped ${dropped} of 400 samples`);
    y.sum().backward();
    const g = x.grad!.data;
    for (let n = 0; n < 400; n++) assert.equal(g[n * 6], y.data[n * 6] === 0 ? 0 : 1.25, `gradient of sample ${n}`);
    const outcomes = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const b = new nn.StochasticDepth(0.5, 'batch').call(tv.ones([3, 2]));
      assert.equal(new Set(b.data).size, 1, 'batch mode: one decision');
      outcomes.add(b.data[0]);
    }
    assert.deepEqual([...outcomes].sort(), [0, 2]);
    const sd = new nn.StochasticDepth(0.3, 'row');
    assert.equal(sd.eval().call(x), x);
    assert.equal(new nn.StochasticDepth(0, 'row').call(x), x);
    assert.deepEqual(Array.from(new nn.StochasticDepth(1, 'row').call(tv.ones([2, 2])).data), [0, 0, 0, 0]);
    assert.throws(() => new nn.StochasticDepth(0.1, 'col' as 'row'), /StochasticDepth: mode must be 'row' or 'batch', got "col"/);
  });

  test('ChannelShuffle interleaves the groups: hand-checked permutations and the inverse', () => {
    const x = tv.arange(6).reshape([1, 6, 1]);
    assert.deepEqual(Array.from(new nn.ChannelShuffle(2).call(x).data), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(Array.from(new nn.ChannelShuffle(3).call(x).data), [0, 2, 4, 1, 3, 5]);
    const y = uniform([2, 12, 3, 3]);
    const back = new nn.ChannelShuffle(4).call(new nn.ChannelShuffle(3).call(y));
    assert.deepEqual(Array.from(back.data), Array.from(y.data), 'shuffling by g then by C/g restores the order');
    assert.throws(
      () => new nn.ChannelShuffle(4).call(tv.zeros([1, 6, 2])),
      /channelShuffle: 6 channels \(input shape \[1, 6, 2\]\) cannot be split into 4 groups/,
    );
    assert.throws(() => new nn.ChannelShuffle(2).call(tv.zeros([6, 2])), /at least 3 dimensions/);
  });
});

describe('functional forms', () => {
  test('nn.functional exposes the ops and checks transposed weights by rank', () => {
    const x = uniform([1, 2, 5, 5]);
    const w = uniform([2, 3, 3, 3]);
    assert.deepEqual([...F.convTranspose2d(x, w, null, { stride: 2 }).shape], [1, 3, 11, 11]);
    assert.throws(() => F.convTranspose1d(x, w), /convTranspose1d: weight must be 3-D/);
    assert.deepEqual([...F.conv2d(x, uniform([4, 2, 3, 3]), null, { padding: 'same' }).shape], [1, 4, 5, 5]);
    assert.deepEqual([...F.adaptiveAvgPool1d(uniform([2, 3, 7]), 2).shape], [2, 3, 2]);
    assert.deepEqual([...F.adaptiveMaxPool3d(uniform([1, 1, 4, 4, 4]), [2, 1, 2]).shape], [1, 1, 2, 1, 2]);
    assert.deepEqual([...F.maxPool2d(x, { kernelSize: 2 }).shape], [1, 2, 2, 2]);
    assert.deepEqual(Array.from(F.channelShuffle(tv.arange(4).reshape([1, 4, 1]), 2).data), [0, 2, 1, 3]);
    const rm = tv.zeros([2]);
    const rv = tv.ones([2]);
    F.batchNorm(uniform([4, 2], 2, 3), rm, rv, null, null, { training: true });
    assert.ok(rm.data[0] > 0.2, 'functional batchNorm updates the running mean in place');
  });
});

describe('run-to-run determinism', () => {
  test("a conv layer's gradients are the same bit for bit on every run (threads sum fixed sets of images)", () => {
    tv.manualSeed(5);
    const conv = new nn.Conv2d(8, 16, 3, { padding: 1 });
    const x = tv.randn([16, 8, 12, 12]);
    x.requiresGrad = true;
    const grads = () => {
      conv.zeroGrad();
      x.grad = null;
      const y = conv.call(x);
      y.mul(y).sum().backward();
      return [
        Buffer.from(conv.weight.grad!.data.buffer.slice(0)),
        Buffer.from(conv.bias!.grad!.data.buffer.slice(0)),
        Buffer.from(x.grad!.data.buffer.slice(0)),
      ];
    };
    const first = grads();
    for (let i = 0; i < 30; i++) assert.deepEqual(grads(), first, `run ${i}`);
  });
});
