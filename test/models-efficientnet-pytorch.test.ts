/**
 * The efficientnet_pytorch models beyond the parity fixtures: the package's state dicts load
 * as they are (and into a new head as from_pretrained(num_classes=2) does), the variants'
 * resolutions, dropouts and drop connect rates, "same" padding fixed or per input, the
 * stages, and the weights rows with their preprocessing (AdvProp's x * 2 - 1).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  EfficientNetPyTorch,
  EfficientNetPyTorchBlock,
  EFFICIENTNET_PYTORCH_WEIGHTS,
  findWeights,
  getModel,
  knownWeights,
  loadMatchingWeights,
  modelEntry,
  SamePaddingConv2d,
  samePadding,
} from '../src/models/index.js';
import { noGrad } from '../src/tensor/autograd.js';
import { conv } from '../src/tensor/ops/conv.js';
import { pad } from '../src/tensor/ops/movement.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { evalTransform, IMAGENET_MEAN, IMAGENET_STD } from '../src/transforms/presets.js';
import '../src/tensor/methods.js';
import { formulaInput, formulaTensor, loadFormulaWeights } from './formula-weights.js';

const FIXTURE = new URL('../../test/fixtures/zoo/efficientnet-b0.json', import.meta.url);
const RESOLUTIONS = [224, 240, 260, 300, 380, 456, 528, 600, 672];
const DROPOUTS = [0.2, 0.2, 0.3, 0.3, 0.4, 0.4, 0.5, 0.5, 0.5];

/** A state dict with the package's keys and shapes (from the fixture) and formula values. */
function packageStateDict(): Map<string, Tensor> {
  const { keys } = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { keys: string[] };
  return new Map(
    keys.map((k) => {
      const [name, shape] = k.split(':');
      return [name, formulaTensor(name, shape ? shape.split('x').map(Number) : [])];
    }),
  );
}

const b0 = (config = {}) => getModel('efficientnet-b0', config) as EfficientNetPyTorch;
function maxDiff(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(Number(a.data[i]) - Number(b.data[i])));
  return m;
}

describe('efficientnet_pytorch models', () => {
  test("a state dict with the package's keys loads with no key map; into 2 classes only _fc stays fresh", () => {
    const sd = packageStateDict();
    assert.ok(sd.has('_blocks.15._se_expand.bias') && sd.has('_conv_head.weight') && sd.has('_fc.weight'));
    const net = b0();
    net.loadStateDict(sd);
    assert.deepEqual([...net._fc.stateDict().get('weight')!.data.slice(0, 4)], [...sd.get('_fc.weight')!.data.slice(0, 4)]);
    const two = b0({ numClasses: 2 });
    const report = loadMatchingWeights(two, sd);
    assert.deepEqual(
      report.skipped.map((s) => s.key),
      ['_fc.weight', '_fc.bias'],
    );
    assert.deepEqual([report.missing, report.unexpected], [[], []]);
    assert.equal(two.numClasses, 2);
  });

  test('variants: default resolution, dropout, drop connect per block, batch norm eps 1e-3 and momentum 0.01', () => {
    RESOLUTIONS.forEach((r, i) => assert.equal(modelEntry(`efficientnet-b${i}`).imageSize, r, `b${i}`));
    const net = b0();
    assert.equal(net._dropout.p, DROPOUTS[0]);
    assert.equal(b0({ dropout: 0.1 })._dropout.p, 0.1);
    const blocks = [...net._blocks];
    assert.equal(blocks.length, 16);
    blocks.forEach((b, i) => assert.equal(b.dropConnect, (0.2 * i) / 16));
    assert.deepEqual([net._bn0.eps, net._bn0.momentum, blocks[3]._bn2.eps], [1e-3, 1 - 0.99, 1e-3]);
    assert.equal(net._conv_stem.imageSize, 224);
    assert.deepEqual([blocks[11]._depthwise_conv.imageSize, blocks[11]._project_conv.imageSize, blocks[15]._depthwise_conv.imageSize], [14, 7, 7]);
    assert.equal(b0({ imageSize: null })._blocks.at(15)._depthwise_conv.imageSize, null);
    assert.deepEqual(modelEntry('efficientnet-b3').configFor({ channels: 1, imageSize: 64, numClasses: 4 }), { numClasses: 4, inChannels: 1 });
    assert.throws(() => b0({ imageSize: 0 }), /imageSize must be a positive integer or null/);
    assert.throws(() => b0({ dropConnectRate: 1 }), /dropConnectRate must be in \[0, 1\)/);
    assert.throws(() => new EfficientNetPyTorch('efficientnet-b9' as 'efficientnet-b0'), /no variant "efficientnet-b9"/);
  });

  test('"same" padding: ceil(size / stride) outputs, the odd pixel after; fixed for imageSize or per input', () => {
    assert.deepEqual(
      [samePadding(224, 3, 2), samePadding(57, 3, 2), samePadding(56, 5, 2), samePadding(7, 5, 1), samePadding(1, 1, 1)],
      [
        [0, 1],
        [1, 1],
        [1, 2],
        [2, 2],
        [0, 0],
      ],
    );
    manualSeed(0);
    const dynamic = new SamePaddingConv2d(2, 3, 3, { stride: 2 });
    const fixed = new SamePaddingConv2d(2, 3, 3, { stride: 2, imageSize: 224 });
    fixed.loadStateDict(dynamic.stateDict());
    const x = randn([1, 2, 57, 57]).requiresGrad_();
    const y = dynamic.call(x);
    assert.deepEqual(y.shape, [1, 3, 29, 29]);
    assert.deepEqual(fixed.call(x).shape, [1, 3, 28, 28], 'padded as for 224: (0, 1), one output fewer, as the package');
    const even = randn([1, 2, 10, 10]);
    const explicit = conv(pad(even, [0, 1, 0, 1]), dynamic.weight, dynamic.bias, { stride: 2 });
    assert.ok(maxDiff(dynamic.call(even), explicit) < 1e-6);
    y.sum().backward();
    assert.deepEqual(x.grad!.shape, [1, 2, 57, 57]);
  });

  test('fixed and per-input padding agree where the parities match (b0 at 64) and differ where not (b3 at 16)', () => {
    const run = (name: string, imageSize: number | null | undefined, size: number) => {
      const net = getModel(name, { numClasses: 10, ...(imageSize === undefined ? {} : { imageSize }) });
      loadFormulaWeights(net);
      net.eval();
      return noGrad(() => net.call(formulaInput('input', [1, 3, size, size])));
    };
    assert.ok(maxDiff(run('efficientnet-b0', undefined, 64), run('efficientnet-b0', null, 64)) < 1e-6);
    assert.ok(maxDiff(run('efficientnet-b3', undefined, 16), run('efficientnet-b3', null, 16)) > 1e-3);
  });

  test('drop connect in training: each sample keeps its branch scaled by 1/(1-p) or only the input', () => {
    manualSeed(1);
    const args = { inChannels: 8, outChannels: 8, kernel: 3, stride: 1, expand: 6, imageSize: null, dropConnect: 0 };
    const plain = new EfficientNetPyTorchBlock(args);
    const dropping = new EfficientNetPyTorchBlock({ ...args, dropConnect: 0.5 });
    dropping.loadStateDict(plain.stateDict());
    const x = randn([16, 8, 5, 5]);
    const branch = noGrad(() => plain.call(x)).sub(x);
    const y = noGrad(() => dropping.call(x)).sub(x);
    const per = 8 * 25;
    let kept = 0;
    for (let n = 0; n < 16; n++) {
      const yn = y.data.slice(n * per, (n + 1) * per);
      const bn = branch.data.slice(n * per, (n + 1) * per);
      const dropped = yn.every((v) => v === 0);
      if (!dropped) kept++;
      assert.ok(dropped || yn.every((v, i) => Math.abs(v - 2 * bn[i]) < 1e-5), `sample ${n}`);
    }
    assert.ok(kept > 0 && kept < 16, `${kept} of 16 kept`);
    dropping.eval();
    assert.ok(
      maxDiff(
        noGrad(() => dropping.call(x)),
        noGrad(() => plain.eval().call(x)),
      ) < 1e-6,
      'none in evaluation',
    );
  });

  test('stages: the blocks that end each stride level, with their channels and reductions', () => {
    const net = b0({ numClasses: 3 });
    net.eval();
    const seen: number[][] = [];
    for (const s of net.featureInfo) net.getSubmodule(s.module).registerForwardHook((_m, _i, out) => void seen.push((out as Tensor).shape.slice(1)));
    noGrad(() => net.call(randn([1, 3, 64, 64])));
    assert.deepEqual(
      net.featureInfo.map((s) => [s.module, s.channels, s.reduction]),
      [
        ['_blocks.0', 16, 2],
        ['_blocks.2', 24, 4],
        ['_blocks.4', 40, 8],
        ['_blocks.10', 112, 16],
        ['_blocks.15', 320, 32],
      ],
    );
    assert.deepEqual(seen, [
      [16, 32, 32],
      [24, 16, 16],
      [40, 8, 8],
      [112, 4, 4],
      [320, 2, 2],
    ]);
    assert.deepEqual([net.firstConv, net.classifier, net.numFeatures], ['_conv_stem', '_fc', 1280]);
  });

  test("weights rows: the package's files by name or file, architecture, preprocessing, accuracy", () => {
    const w = findWeights('efficientnet-b0-355c32eb.pth');
    assert.ok(w);
    assert.equal(w.architecture, 'efficientnet-b0');
    assert.equal(w.url, 'https://github.com/lukemelas/EfficientNet-PyTorch/releases/download/1.0/efficientnet-b0-355c32eb.pth');
    assert.deepEqual(w.preprocess, {
      resizeSize: 224,
      cropSize: 224,
      interpolation: 'bicubic',
      resizeMode: 'crop',
      channels: 3,
      mean: IMAGENET_MEAN,
      std: IMAGENET_STD,
      augment: 'none',
    });
    assert.deepEqual([w.accuracy?.top1, w.numParams, w.keyFormat, w.licence, w.labels], [76.3, 5288548, 'efficientnet_pytorch', 'Apache-2.0', 'imagenet-1k']);
    assert.equal(findWeights('efficientnet-b0.imagenet'), w);
    assert.equal(findWeights('some/dir/adv-efficientnet-b3-cdd7c0f4.pth')?.name, 'efficientnet-b3.advprop');
    assert.equal(findWeights('efficientnet-b7.imagenet')?.preprocess.cropSize, 600);
    assert.deepEqual(
      knownWeights('efficientnet-b8').map((r) => r.file),
      ['adv-efficientnet-b8-22a8fe65.pth'],
    );
    assert.equal(EFFICIENTNET_PYTORCH_WEIGHTS.length, 17);
    for (const r of EFFICIENTNET_PYTORCH_WEIGHTS) {
      const i = Number(r.architecture.slice(-1));
      assert.equal(r.preprocess.cropSize, RESOLUTIONS[i], r.name);
      assert.ok(r.url?.endsWith(`/${r.file}`) && /-[0-9a-f]{8}\.pth$/.test(r.file), r.name);
    }
  });

  test("the AdvProp rows' preprocessing is x * 2 - 1: pixel 0 gives -1 and 255 gives 1", () => {
    const adv = findWeights('efficientnet-b0.advprop')!;
    assert.deepEqual([adv.file, adv.preprocess.resizeSize, adv.preprocess.interpolation], ['adv-efficientnet-b0-b64d5a18.pth', 224, 'bicubic']);
    const img = new Tensor<'uint8'>(new Uint8Array(260 * 300 * 3), [260, 300, 3]);
    for (let y = 0; y < 260; y++) for (let x = 150; x < 300; x++) img.data.fill(255, (y * 300 + x) * 3, (y * 300 + x + 1) * 3);
    const out = evalTransform(adv.preprocess).apply(img) as Tensor<'float32'>;
    assert.deepEqual(out.shape, [3, 224, 224]);
    const at = (c: number, y: number, x: number) => out.data[(c * 224 + y) * 224 + x];
    for (let c = 0; c < 3; c++) assert.deepEqual([at(c, 100, 10), at(c, 100, 213)], [-1, 1]);
    assert.ok(out.data.every((v) => v >= -1 && v <= 1));
  });
});
