/**
 * MobileNets and EfficientNets beyond the zoo parity fixtures: torchvision's parameter
 * counts for the default 1000 classes and for the width, reduced-tail and dilated options;
 * torchvision's whole module tree (test/fixtures/mobile-module-trees.json, from
 * tools/make_mobile_module_trees.py); makeDivisible; stochastic depth per block; the
 * feature stages; the initialisation; stochastic depth in training.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { getModel, layers, type ImageClassifier } from '../src/models/index.js';
import { BatchNorm2d, Conv2d, countParameters, init, Linear, StochasticDepth } from '../src/nn/index.js';
import { noGrad } from '../src/tensor/autograd.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import '../src/tensor/methods.js';

const FIXTURE = JSON.parse(readFileSync(new URL('../../test/fixtures/mobile-module-trees.json', import.meta.url), 'utf8')) as {
  trees: Record<string, [string, string][]>;
  makeDivisible: [number, number, number][];
};

/** torchvision 0.14's num_params of each architecture's ImageNet weights (1000 classes). */
const PARAMS: Record<string, number> = {
  mobilenet_v2: 3504872,
  mobilenet_v3_small: 2542856,
  mobilenet_v3_large: 5483032,
  efficientnet_b0: 5288548,
  efficientnet_b1: 7794184,
  efficientnet_b2: 9109994,
  efficientnet_b3: 12233232,
  efficientnet_b4: 19341616,
  efficientnet_b5: 30389784,
  efficientnet_b6: 43040704,
  efficientnet_b7: 66347960,
  efficientnet_v2_s: 21458488,
  efficientnet_v2_m: 54139356,
  efficientnet_v2_l: 118515272,
};

const build = (name: string, config: Record<string, number | boolean> = {}): ImageClassifier => init.skipInit(() => getModel(name, config));

/** torchvision names both MobileNets' blocks InvertedResidual. */
const TORCH_CLASS: Record<string, string> = { InvertedResidualV3: 'InvertedResidual' };

describe('MobileNet and EfficientNet', () => {
  test("parameter counts with 1000 classes are torchvision's", () => {
    for (const [name, n] of Object.entries(PARAMS)) assert.equal(countParameters(build(name)), n, name);
  });

  test("widthMult, reducedTail and dilated give torchvision's networks", () => {
    // torchvision 0.14: mobilenet_v2(width_mult=0.5 / 1.4), mobilenet_v3_large(reduced_tail=True, dilated=True), mobilenet_v3_small(width_mult=0.75)
    assert.equal(countParameters(build('mobilenet_v2', { widthMult: 0.5 })), 1968680);
    assert.equal(countParameters(build('mobilenet_v2', { widthMult: 1.4 })), 6108776);
    assert.equal(countParameters(build('mobilenet_v3_small', { widthMult: 0.75 })), 1653920);
    const net = build('mobilenet_v3_large', { reducedTail: true, dilated: true });
    assert.equal(countParameters(net), 2569352);
    assert.deepEqual(noGrad(() => net.forwardFeatures(randn([1, 3, 64, 64]))).shape, [1, 480, 4, 4], 'output stride 16');
    assert.equal(net.featureInfo.at(-1)?.reduction, 16);
  });

  for (const [name, tree] of Object.entries(FIXTURE.trees)) {
    test(`${name}: torchvision's module tree, names and classes in order`, () => {
      const ours = build(name, { numClasses: 10 })
        .namedModules()
        .map(([k, m]) => [k, TORCH_CLASS[m.constructor.name] ?? m.constructor.name]);
      assert.deepEqual(ours, tree);
    });
  }

  test("makeDivisible rounds as torchvision's _make_divisible", () => {
    for (const [v, d, expected] of FIXTURE.makeDivisible) assert.equal(layers.makeDivisible(v, d), expected, `makeDivisible(${v}, ${d})`);
  });

  test('stochastic depth grows linearly from 0 to stochasticDepthProb over the blocks', () => {
    const probs = (net: ImageClassifier) =>
      net
        .modules()
        .filter((m) => m instanceof StochasticDepth)
        .map((m) => (m as StochasticDepth).p);
    assert.deepEqual(
      probs(build('efficientnet_b0')),
      Array.from({ length: 16 }, (_, i) => (0.2 * i) / 16),
    );
    assert.deepEqual(
      probs(build('efficientnet_v2_s', { stochasticDepthProb: 0.5 })),
      Array.from({ length: 40 }, (_, i) => (0.5 * i) / 40),
    );
  });

  for (const name of ['mobilenet_v2', 'mobilenet_v3_small', 'mobilenet_v3_large', 'efficientnet_b0', 'efficientnet_v2_s']) {
    test(`${name}: each feature stage's module gives its channels at its stride`, () => {
      const net = build(name, { numClasses: 5 }).eval();
      const seen = new Map<string, readonly number[]>();
      for (const { module } of net.featureInfo) net.getSubmodule(module).registerForwardHook((_m, _i, out: Tensor) => void seen.set(module, out.shape));
      noGrad(() => net.call(randn([1, 3, 64, 64])));
      assert.deepEqual(
        net.featureInfo.map((s) => s.reduction),
        [2, 4, 8, 16, 32],
      );
      for (const { module, channels, reduction } of net.featureInfo) assert.deepEqual(seen.get(module), [1, channels, 64 / reduction, 64 / reduction], module);
      assert.equal(net.featureInfo.at(-1)?.module, `features.${(net.getSubmodule('features') as unknown as { length: number }).length - 1}`);
    });
  }

  test("torchvision's initialisation: convolutions kaiming normal (fan out), unit norms, Linear by family", () => {
    manualSeed(0);
    const std = (t: Tensor) => Math.sqrt((t.data as Float32Array).reduce((s, v) => s + v * v, 0) / t.size);
    for (const name of ['mobilenet_v3_small', 'efficientnet_b0']) {
      const net = getModel(name);
      for (const m of net.modules()) {
        if (m instanceof Conv2d && m.weight.size >= 4096) {
          const fanOut = m.weight.shape[0] * m.kernelSize[0] * m.kernelSize[1];
          assert.ok(Math.abs(std(m.weight) / Math.sqrt(2 / fanOut) - 1) < 0.1, `${name} conv std`);
        }
        if (m instanceof Conv2d && m.bias) assert.ok(m.bias.data.every((v) => v === 0));
        if (m instanceof BatchNorm2d) assert.ok(m.weight!.data.every((v) => v === 1) && m.bias!.data.every((v) => v === 0));
      }
      const fc = net.getSubmodule(net.classifier) as Linear;
      assert.ok(fc.bias!.data.every((v) => v === 0));
      if (name === 'efficientnet_b0') {
        const r = 1 / Math.sqrt(fc.outFeatures);
        assert.ok(fc.weight.data.every((v) => Math.abs(v) <= r) && std(fc.weight) > 0.5 * r, 'uniform(-1/sqrt(out), 1/sqrt(out))');
      } else {
        assert.ok(Math.abs(std(fc.weight) / 0.01 - 1) < 0.05, 'normal(0, 0.01)');
      }
    }
  });

  test('in training, stochastic depth drops whole residual branches per sample; eval is deterministic', () => {
    manualSeed(1);
    const net = getModel('efficientnet_b0', { numClasses: 4, stochasticDepthProb: 0.9, dropout: 0 });
    const x = randn([4, 3, 32, 32]);
    net.train();
    const a = noGrad(() => net.call(x));
    const b = noGrad(() => net.call(x));
    assert.notDeepEqual(a.data, b.data, 'two training passes drop different branches');
    net.eval();
    assert.deepEqual(noGrad(() => net.call(x)).data, noGrad(() => net.call(x)).data);
  });
});
