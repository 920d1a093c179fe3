/**
 * ResNet / ResNeXt / wide ResNet, VGG and AlexNet beyond the parity fixtures
 * (test/models-parity.test.ts): torchvision's initialisation, the constructor options
 * (zeroInitResidual, groups, widthPerGroup, replaceStrideWithDilation, initWeights),
 * feature stages at their stated channels and strides, and the size limits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AlexNet, BasicBlock, Bottleneck, getModel, initVGGWeights, modelEntry, resnet, vggFeatures, type ImageClassifier } from '../src/models/index.js';
import { BatchNorm2d, Conv2d, Linear, Sequential, type AnyModule } from '../src/nn/index.js';
import { noGrad } from '../src/tensor/autograd.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import '../src/tensor/methods.js';

function std(t: Tensor): number {
  const d = t.data;
  let s = 0;
  let s2 = 0;
  for (const v of d) {
    s += v;
    s2 += v * v;
  }
  const m = s / d.length;
  return Math.sqrt(s2 / d.length - m * m);
}

/** The output shape of each featureInfo module for input x. */
function stageShapes(net: ImageClassifier, x: Tensor): number[][] {
  const shapes: number[][] = [];
  const handles = net.featureInfo.map((s, i) =>
    (net.getSubmodule(s.module) as AnyModule).registerForwardHook((_m: AnyModule, _in: unknown, out: Tensor) => {
      shapes[i] = [...out.shape];
    }),
  );
  noGrad(() => net.call(x));
  for (const h of handles) h.remove();
  return shapes;
}

/** Each stage has its stated channels and a side of about input / reduction (within one pixel: unpadded pools round down). */
function checkStages(net: ImageClassifier, side: number): void {
  const shapes = stageShapes(net, randn([1, 3, side, side]));
  net.featureInfo.forEach((s, i) => {
    assert.equal(shapes[i][1], s.channels, `${s.module} channels`);
    assert.ok(Math.abs(shapes[i][2] - side / s.reduction) <= 1, `${s.module}: side ${shapes[i][2]} for reduction ${s.reduction} of ${side}`);
  });
}

describe('resnet family', () => {
  test("initialisation: He normal (fan out) convolutions, unit batch norms; zeroInitResidual zeroes each block's last batch norm", () => {
    manualSeed(0);
    const net = resnet('resnet18');
    for (const [name, m] of net.namedModules()) {
      if (m instanceof Conv2d) {
        const fanOut = m.outChannels * m.kernelSize[0] * m.kernelSize[1];
        const expected = Math.sqrt(2 / fanOut);
        if (m.weight.size > 10000) assert.ok(Math.abs(std(m.weight) / expected - 1) < 0.05, `${name}: std ${std(m.weight)} vs ${expected}`);
      } else if (m instanceof BatchNorm2d) {
        assert.ok(m.weight!.data.every((v) => v === 1) && m.bias!.data.every((v) => v === 0), name);
      }
    }
    const zero = (n: ReturnType<typeof resnet>) =>
      n
        .modules()
        .filter((m) => m instanceof BasicBlock || m instanceof Bottleneck)
        .map((b) => (b as BasicBlock | Bottleneck).lastNorm.weight!.data.every((v) => v === 0));
    assert.ok(zero(net).every((z) => !z));
    assert.deepEqual(zero(resnet('resnet18', { zeroInitResidual: true })), Array(8).fill(true));
    assert.deepEqual(zero(resnet('resnet50', { zeroInitResidual: true, numClasses: 3 })), Array(16).fill(true));
  });

  test('ResNeXt and wide variants: grouped, wider bottlenecks; their groups and widthPerGroup are fixed; basic blocks take neither', () => {
    const rx = resnet('resnext50_32x4d', { numClasses: 2 });
    const c = rx.getSubmodule('layer1.0.conv2') as Conv2d;
    assert.deepEqual([c.inChannels, c.outChannels, c.groups], [128, 128, 32]);
    const wide = resnet('wide_resnet50_2', { numClasses: 2 });
    assert.equal((wide.getSubmodule('layer4.2.conv2') as Conv2d).outChannels, 1024);
    assert.throws(() => resnet('resnext50_32x4d', { groups: 8 }), /resnext50_32x4d: groups is 32, not 8/);
    assert.throws(() => resnet('wide_resnet50_2', { widthPerGroup: 64 }), /widthPerGroup is 128, not 64/);
    assert.throws(() => resnet('resnet18', { groups: 2 }), /BasicBlock supports only groups 1/);
    assert.throws(() => resnet('resnet34', { replaceStrideWithDilation: [false, false, true] }), /does not support dilation/);
    assert.equal((resnet('resnet50', { groups: 2, widthPerGroup: 32, numClasses: 2 }).getSubmodule('layer1.0.conv2') as Conv2d).groups, 2);
    assert.throws(() => resnet('resnet9'), /no variant "resnet9"/);
  });

  test('feature stages: relu at 2, layer1..4 at 4..32; replaceStrideWithDilation keeps layer3 and layer4 at stride 8', () => {
    manualSeed(1);
    const r18 = getModel('resnet18', { numClasses: 3 });
    assert.deepEqual(
      r18.featureInfo.map((s) => [s.module, s.channels, s.reduction]),
      [
        ['relu', 64, 2],
        ['layer1', 64, 4],
        ['layer2', 128, 8],
        ['layer3', 256, 16],
        ['layer4', 512, 32],
      ],
    );
    r18.eval();
    checkStages(r18, 64);
    const dilated = getModel('resnet50', { numClasses: 3, replaceStrideWithDilation: [false, true, true] });
    assert.deepEqual(
      dilated.featureInfo.map((s) => [s.channels, s.reduction]),
      [
        [64, 2],
        [256, 4],
        [512, 8],
        [1024, 8],
        [2048, 8],
      ],
    );
    dilated.eval();
    checkStages(dilated, 64);
    const c = dilated.getSubmodule('layer4.0.conv2') as Conv2d;
    const d = dilated.getSubmodule('layer4.1.conv2') as Conv2d;
    // the first block of a dilated stage keeps the previous dilation, as torchvision's
    assert.deepEqual(
      [c.stride, c.dilation, d.dilation],
      [
        [1, 1],
        [2, 2],
        [4, 4],
      ],
    );
    assert.deepEqual(noGrad(() => dilated.call(randn([1, 3, 40, 40]))).shape, [1, 3]);
  });

  test('any input size the stem allows, and inChannels', () => {
    const net = getModel('resnet18', modelEntry('resnet18').configFor({ channels: 1, imageSize: 20, numClasses: 4 }));
    net.eval();
    for (const s of [1, 20, 37]) assert.deepEqual(noGrad(() => net.call(randn([1, 1, s, s]))).shape, [1, 4]);
  });
});

describe('vgg and alexnet', () => {
  test('vggFeatures: conv (bn) relu per width, a pool per M, stages at the pools', () => {
    const { features, featureInfo } = vggFeatures([8, 'M', 16, 16, 'M'], true, 1);
    assert.deepEqual(
      [...features.stateDict().keys()].filter((k) => k.endsWith('weight')),
      ['0.weight', '1.weight', '4.weight', '5.weight', '7.weight', '8.weight'],
    );
    assert.deepEqual(featureInfo, [
      { module: 'features.3', channels: 8, reduction: 2 },
      { module: 'features.10', channels: 16, reduction: 4 },
    ]);
    assert.equal(vggFeatures([8, 'M'], false).features.length, 3);
  });

  test('initVGGWeights: He normal (fan out) convolutions, N(0, 0.01) linear layers, zero biases', () => {
    manualSeed(2);
    const net = new Sequential(new Conv2d(16, 64, 3), new BatchNorm2d(64), new Linear(600, 500));
    initVGGWeights(net);
    const [conv, bn, lin] = [...net] as [Conv2d, BatchNorm2d, Linear];
    assert.ok(Math.abs(std(conv.weight) / Math.sqrt(2 / (64 * 9)) - 1) < 0.05);
    assert.ok(Math.abs(std(lin.weight) / 0.01 - 1) < 0.02);
    assert.ok(conv.bias!.data.every((v) => v === 0) && lin.bias!.data.every((v) => v === 0));
    assert.ok(bn.weight!.data.every((v) => v === 1) && bn.bias!.data.every((v) => v === 0));
  });

  test('sizes: VGG needs 32 pixels, AlexNet 63', () => {
    assert.throws(() => modelEntry('vgg16').configFor({ channels: 3, imageSize: 31, numClasses: 2 }), /vgg16 needs images of at least 32x32/);
    assert.deepEqual(modelEntry('vgg16_bn').configFor({ channels: 1, imageSize: 32, numClasses: 2 }), { numClasses: 2, inChannels: 1 });
    assert.throws(() => modelEntry('alexnet').configFor({ channels: 3, imageSize: 62, numClasses: 2 }), /alexnet needs images of at least 63x63/);
  });

  test("alexnet: the head is the child 'classifier' (its hooks run), stages at the pools, smallest input", () => {
    manualSeed(3);
    const net = getModel('alexnet', { numClasses: 4, inChannels: 1 }) as AlexNet;
    net.eval();
    assert.equal(net.getSubmodule('classifier'), net.head);
    assert.deepEqual(
      net.namedChildren().map(([k]) => k),
      ['features', 'avgpool', 'classifier'],
    );
    let calls = 0;
    const h = net.head.registerForwardHook(() => {
      calls++;
    });
    assert.deepEqual(noGrad(() => net.call(randn([1, 1, 63, 63]))).shape, [1, 4]);
    h.remove();
    assert.equal(calls, 1);
    assert.throws(() => noGrad(() => net.call(randn([1, 1, 62, 62]))));
    const shapes = stageShapes(net, randn([1, 1, 224, 224]));
    assert.deepEqual(
      shapes.map((s) => s.slice(1)),
      [
        [64, 27, 27],
        [192, 13, 13],
        [256, 6, 6],
      ],
    );
  });
});
