/**
 * ResNet, VGG and AlexNet options beyond what the parity fixtures cover: zeroInitResidual,
 * the fixed groups / widths of ResNeXt and wide variants, dilated stages, featureInfo
 * against the real feature maps, torchvision's initialisation, the smallest inputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getModel, modelEntry, ResNet, resnet } from '../src/models/index.js';
import { initVGGWeights } from '../src/models/vgg.js';
import { BatchNorm2d, Conv2d, Linear, Sequential, type Module } from '../src/nn/index.js';
import { noGrad } from '../src/tensor/autograd.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import '../src/tensor/methods.js';

function std(t: Tensor): number {
  const d = t.data as Float32Array;
  let s = 0;
  let s2 = 0;
  for (const v of d) { s += v; s2 += v * v; }
  const m = s / d.length;
  return Math.sqrt(s2 / d.length - m * m);
}

/** The output shape of each featureInfo module for input x, by forward hooks. */
function stageShapes(net: ResNet, x: Tensor): number[][] {
  const shapes: number[][] = [];
  const handles = net.featureInfo.map((s, i) =>
    (net.getSubmodule(s.module) as Module).registerForwardHook((_m, _in, out) => { shapes[i] = [...(out as Tensor).shape]; }));
  noGrad(() => net.eval().call(x));
  for (const h of handles) h.remove();
  return shapes;
}

describe('resnet family', () => {
  test('featureInfo names the modules whose outputs have the stages\' channels and reductions', () => {
    manualSeed(0);
    const net = resnet('resnet18', { numClasses: 3 });
    const shapes = stageShapes(net, randn([1, 3, 64, 64]));
    assert.deepEqual(net.featureInfo.map((s) => [s.module, s.reduction]), [['relu', 2], ['layer1', 4], ['layer2', 8], ['layer3', 16], ['layer4', 32]]);
    // the network's own 'relu' serves only the stem (each block has its own), so the hook sees the stem's output
    assert.deepEqual(shapes, net.featureInfo.map((s) => [1, s.channels, 64 / s.reduction, 64 / s.reduction]));
  });

  test('replaceStrideWithDilation keeps the resolution of the dilated stages (bottleneck only)', () => {
    manualSeed(0);
    const net = resnet('resnet50', { numClasses: 3, replaceStrideWithDilation: [false, true, true] });
    assert.deepEqual(net.featureInfo.map((s) => s.reduction), [2, 4, 8, 8, 8]);
    assert.deepEqual(noGrad(() => net.eval().forwardFeatures(randn([1, 3, 64, 64]))).shape, [1, 2048, 8, 8]);
    const conv = net.getSubmodule('layer4.1.conv2') as Conv2d;
    assert.deepEqual([conv.dilation, conv.padding], [[4, 4], [4, 4]]);
    assert.throws(() => resnet('resnet18', { replaceStrideWithDilation: [false, false, true] }), RangeError);
  });

  test('zeroInitResidual zeroes the last batch norm of every block; convolutions are He normal (fan out)', () => {
    manualSeed(0);
    const net = resnet('resnet18', { zeroInitResidual: true });
    for (const [name, m] of net.namedModules()) {
      if (!(m instanceof BatchNorm2d)) continue;
      const zero = /^layer\d\.\d\.bn2$/.test(name);
      assert.ok((m.weight!.data as Float32Array).every((v) => v === (zero ? 0 : 1)), name);
    }
    const w = (net.getSubmodule('layer3.0.conv2') as Conv2d).weight;
    const expected = Math.sqrt(2 / (256 * 9));
    assert.ok(Math.abs(std(w) / expected - 1) < 0.02, `std ${std(w)}, expected ${expected}`);
  });

  test('ResNeXt and wide variants fix groups and widthPerGroup; basic blocks take neither', () => {
    manualSeed(0);
    const net = resnet('resnext50_32x4d', { groups: 32, numClasses: 2 });
    const conv = net.getSubmodule('layer1.0.conv2') as Conv2d;
    assert.deepEqual([conv.inChannels, conv.outChannels, conv.groups], [128, 128, 32]);
    assert.throws(() => resnet('resnext50_32x4d', { groups: 16 }), /resnext50_32x4d: groups is 32, not 16/);
    assert.throws(() => resnet('wide_resnet50_2', { widthPerGroup: 64 }), /widthPerGroup is 128/);
    assert.throws(() => resnet('resnet18', { widthPerGroup: 128 }), /BasicBlock supports only/);
    assert.throws(() => resnet('resnet19'), /no variant "resnet19"/);
  });

  test('inChannels is the first convolution\'s input', () => {
    manualSeed(0);
    const net = getModel('resnet18', modelEntry('resnet18').configFor({ channels: 1, imageSize: 32, numClasses: 4 }));
    assert.deepEqual(noGrad(() => net.call(randn([2, 1, 32, 32]))).shape, [2, 4]);
  });
});

describe('vgg and alexnet', () => {
  test('VGG init: He normal convolutions, N(0, 0.01) linear layers, zero biases, unit batch-norm weights', () => {
    // initVGGWeights on small layers: a whole VGG's 10^8 normal samples take seconds
    manualSeed(0);
    const net = new Sequential(new Conv2d(256, 64, 3), new BatchNorm2d(64), new Linear(512, 512));
    initVGGWeights(net);
    const [conv, bn, fc] = [net.at(0) as Conv2d, net.at(1) as BatchNorm2d, net.at(2) as Linear];
    assert.ok(Math.abs(std(conv.weight) / Math.sqrt(2 / (64 * 9)) - 1) < 0.02, `conv std ${std(conv.weight)}`);
    assert.ok(Math.abs(std(fc.weight) / 0.01 - 1) < 0.02, `linear std ${std(fc.weight)}`);
    for (const b of [conv.bias, bn.bias, fc.bias]) assert.ok((b!.data as Float32Array).every((v) => v === 0));
    assert.ok((bn.weight!.data as Float32Array).every((v) => v === 1));
  });

  test('the smallest inputs: VGG 32 px, AlexNet 63 px; smaller is a RangeError from configFor', () => {
    const data = (imageSize: number) => ({ channels: 3, imageSize, numClasses: 2 });
    assert.throws(() => modelEntry('vgg16').configFor(data(31)), /vgg16 needs images of at least 32x32 pixels/);
    assert.throws(() => modelEntry('alexnet').configFor(data(62)), /alexnet needs images of at least 63x63 pixels/);
    manualSeed(0);
    const net = getModel('alexnet', modelEntry('alexnet').configFor(data(63)));
    assert.deepEqual(noGrad(() => net.eval().call(randn([1, 3, 63, 63]))).shape, [1, 2]);
  });
});
