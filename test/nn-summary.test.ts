/**
 * Model structure against PyTorch and nn.summary: state-dict keys, shapes and
 * dtypes, parameter / buffer / module names and parameter counts of three CNNs
 * equal PyTorch's (test/fixtures/nn_conv.json); summary's rows (names, types,
 * output shapes, parameters) equal the leaf calls PyTorch's forward hooks saw; a
 * hand-checked table (MACs by formula, receptive fields and jumps); the
 * receptive field through residual blocks; and summary's bookkeeping (forward and
 * training modes restored, also after an error; tied parameters; printing).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';

interface Structure {
  name: string;
  stateDict: [string, number[], 'float32' | 'int32'][];
  namedParameters: string[];
  namedBuffers: string[];
  namedModules: string[];
  parameterCount: number;
  inputShape: number[];
  /** [name, type, output shape, parameter count] of every leaf call, in forward order. */
  layers: [string, string, number[], number][];
}

const fixtures = JSON.parse(readFileSync(new URL('../../test/fixtures/nn_conv.json', import.meta.url), 'utf8')) as { structures: Structure[] };

// ---- the fixture script's models, in tsvision ---------------------------------------------

const smallCnn = () =>
  new nn.Sequential(
    new Map<string, nn.Module>([
      ['conv1', new nn.Conv2d(3, 8, 3, { padding: 1 })],
      ['bn1', new nn.BatchNorm2d(8)],
      ['relu1', new nn.ReLU()],
      ['conv2', new nn.Conv2d(8, 8, 3, { padding: 1, bias: false })],
      ['conv3', new nn.Conv2d(8, 16, 3, { padding: 1, groups: 2 })],
      ['relu2', new nn.ReLU6()],
      ['pool', new nn.MaxPool2d(2)],
      ['conv4', new nn.Conv2d(16, 32, 3, { stride: 2, padding: 1 })],
      ['bn2', new nn.BatchNorm2d(32)],
      ['gap', new nn.AdaptiveAvgPool2d(1)],
      ['flatten', new nn.Flatten()],
      ['drop', new nn.Dropout(0.2)],
      ['fc', new nn.Linear(32, 10)],
    ]),
  );

/** torchvision's ResNet BasicBlock. */
class BasicBlock extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  relu = new nn.ReLU();
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Sequential | null = null;

  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = new nn.Conv2d(cin, cout, 3, { stride, padding: 1, bias: false });
    this.bn1 = new nn.BatchNorm2d(cout);
    this.conv2 = new nn.Conv2d(cout, cout, 3, { padding: 1, bias: false });
    this.bn2 = new nn.BatchNorm2d(cout);
    if (stride !== 1 || cin !== cout) {
      this.downsample = new nn.Sequential(new nn.Conv2d(cin, cout, 1, { stride, bias: false }), new nn.BatchNorm2d(cout));
    }
  }

  forward(x: tv.Tensor): tv.Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(out.add(identity));
  }
}

class TinyResNet extends nn.Module {
  conv1 = new nn.Conv2d(3, 8, 7, { stride: 2, padding: 3, bias: false });
  bn1 = new nn.BatchNorm2d(8);
  relu = new nn.ReLU();
  maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
  layer1 = new nn.Sequential(new BasicBlock(8, 8, 1), new BasicBlock(8, 8, 1));
  layer2 = new nn.Sequential(new BasicBlock(8, 16, 2));
  avgpool = new nn.AdaptiveAvgPool2d([1, 1]);
  fc = new nn.Linear(16, 5);

  forward(x: tv.Tensor): tv.Tensor {
    const y = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    return this.fc.call(this.avgpool.call(this.layer2.call(this.layer1.call(y))).flatten(1));
  }
}

const mixed = () =>
  new nn.Sequential(
    new Map<string, nn.Module>([
      ['conv', new nn.Conv1d(2, 4, 3, { padding: 1 })],
      ['bn', new nn.BatchNorm1d(4, { trackRunningStats: false })],
      ['up', new nn.ConvTranspose1d(4, 4, 2, { stride: 2, groups: 2, bias: false })],
      ['gn', new nn.GroupNorm(2, 4)],
      ['bn_plain', new nn.BatchNorm1d(4, { affine: false })],
      ['pool', new nn.MaxPool1d(2)],
      ['shuffle', new nn.ChannelShuffle(2)],
      ['drop', new nn.Dropout1d(0.1)],
      ['head', new nn.Conv1d(4, 2, 1)],
      ['avg', new nn.AdaptiveAvgPool1d(1)],
    ]),
  );

const MODELS: Record<string, () => nn.Module> = { SmallCNN: smallCnn, TinyResNet: () => new TinyResNet(), Mixed: mixed };

// ---- structures against PyTorch ------------------------------------------------------------

function checkStructure(s: Structure, model: nn.Module): void {
  const sd = [...model.stateDict()].map(([k, t]) => [k, [...t.shape], t.dtype]);
  assert.deepEqual(sd, s.stateDict, `${s.name}: stateDict keys, shapes and dtypes`);
  assert.deepEqual(
    model.namedParameters().map(([k]) => k),
    s.namedParameters,
    `${s.name}: namedParameters`,
  );
  assert.deepEqual(
    model.namedBuffers().map(([k]) => k),
    s.namedBuffers,
    `${s.name}: namedBuffers`,
  );
  assert.deepEqual(
    model.namedModules().map(([k]) => k),
    s.namedModules,
    `${s.name}: namedModules`,
  );
  assert.equal(nn.countParameters(model), s.parameterCount, `${s.name}: countParameters`);
}

/** summary's leaf rows against PyTorch's forward hooks: name, type, output shape and parameter count per call. */
function checkLayers(s: Structure, rows: nn.SummaryRow[]): void {
  const got = rows.filter((r) => r.leaf).map((r) => [r.name, r.type, r.outputShape, r.totalParams]);
  assert.deepEqual(got, s.layers, `${s.name}: leaf calls`);
}

describe('model structure and summary rows match PyTorch', () => {
  test('every fixture structure has a model', () => {
    assert.deepEqual(fixtures.structures.map((s) => s.name).sort(), Object.keys(MODELS).sort());
  });

  test('the checks reject a wrong key, dtype, count or layer row', () => {
    const s = fixtures.structures.find((k) => k.name === 'SmallCNN')!;
    const model = smallCnn();
    const rows = nn.summary(model, s.inputShape).rows;
    checkStructure(s, model);
    checkLayers(s, rows);
    const badKey = structuredClone(s);
    badKey.stateDict[4][0] = 'bn1.runningMean';
    assert.throws(() => checkStructure(badKey, model), /stateDict keys/);
    const badDtype = structuredClone(s);
    badDtype.stateDict[6][2] = 'float32';
    assert.throws(() => checkStructure(badDtype, model), /stateDict keys, shapes and dtypes/);
    const badCount = structuredClone(s);
    badCount.parameterCount += 1;
    assert.throws(() => checkStructure(badCount, model), /countParameters/);
    const badShape = structuredClone(s);
    badShape.layers[6][2] = [1, 16, 15, 15];
    assert.throws(() => checkLayers(badShape, rows), /leaf calls/);
  });

  for (const s of fixtures.structures) {
    test(s.name, () => {
      const model = MODELS[s.name]();
      checkStructure(s, model);
      const sum = nn.summary(model, s.inputShape);
      checkLayers(s, sum.rows);
      assert.equal(sum.totalParams, s.parameterCount, 'summary total = PyTorch numel sum');
      assert.equal(
        sum.rows.reduce((a, r) => a + r.params, 0),
        s.parameterCount,
        'the rows add up to the total',
      );
    });
  }
});

// ---- the hand-checked table --------------------------------------------------------------

/** [name, output shape, params, MACs, receptive field, jump]: computed by hand in the comments. */
type Expected = [string, number[], number, number, number | null, number | null];

const SMALL_CNN_TABLE: Expected[] = [
  // conv: params = out·in/groups·k² + out; MACs = output elements · in/groups · k²
  ['conv1', [1, 8, 32, 32], 8 * 3 * 9 + 8, 8 * 32 * 32 * 3 * 9, 3, 1],
  ['bn1', [1, 8, 32, 32], 16, 0, 3, 1],
  ['relu1', [1, 8, 32, 32], 0, 0, 3, 1],
  ['conv2', [1, 8, 32, 32], 8 * 8 * 9, 8 * 32 * 32 * 8 * 9, 5, 1], // 3 + (3 - 1)·1
  ['conv3', [1, 16, 32, 32], 16 * 4 * 9 + 16, 16 * 32 * 32 * 4 * 9, 7, 1], // groups 2: 4 inputs per output
  ['relu2', [1, 16, 32, 32], 0, 0, 7, 1],
  ['pool', [1, 16, 16, 16], 0, 0, 8, 2], // 7 + (2 - 1)·1; the jump doubles
  ['conv4', [1, 32, 8, 8], 32 * 16 * 9 + 32, 32 * 8 * 8 * 16 * 9, 12, 4], // 8 + 2·2
  ['bn2', [1, 32, 8, 8], 64, 0, 12, 4],
  ['gap', [1, 32, 1, 1], 0, 0, 40, 32], // one window of 8: 12 + 7·4
  ['flatten', [1, 32], 0, 0, null, null],
  ['drop', [1, 32], 0, 0, null, null],
  ['fc', [1, 10], 32 * 10 + 10, 10 * 32, null, null],
];

function checkTable(rows: nn.SummaryRow[], expected: Expected[]): void {
  assert.equal(rows.length, expected.length, 'number of rows');
  expected.forEach(([name, shape, params, macs, rf, jump], i) => {
    const r = rows[i];
    const label = `row ${i} (${name})`;
    assert.equal(r.name, name, `${label}: name`);
    assert.deepEqual(r.outputShape, shape, `${label}: output shape`);
    assert.equal(r.params, params, `${label}: params`);
    assert.equal(r.macs, macs, `${label}: MACs`);
    assert.deepEqual(r.receptiveField, rf === null ? null : [rf, rf], `${label}: receptive field`);
    assert.deepEqual(r.jump, jump === null ? null : [jump, jump], `${label}: jump`);
  });
}

const PRINTED = `Model: Sequential
──────────────────────────────────────────────────────────────────────────────────
Layer (type)             Output shape     Param #     MACs  Receptive field  Jump
══════════════════════════════════════════════════════════════════════════════════
conv1 (Conv2d)           [1, 8, 32, 32]       224  221,184  3x3              1x1
bn1 (BatchNorm2d)        [1, 8, 32, 32]        16        0  3x3              1x1
relu1 (ReLU)             [1, 8, 32, 32]         0        0  3x3              1x1
conv2 (Conv2d)           [1, 8, 32, 32]       576  589,824  5x5              1x1
conv3 (Conv2d)           [1, 16, 32, 32]      592  589,824  7x7              1x1
relu2 (ReLU6)            [1, 16, 32, 32]        0        0  7x7              1x1
pool (MaxPool2d)         [1, 16, 16, 16]        0        0  8x8              2x2
conv4 (Conv2d)           [1, 32, 8, 8]      4,640  294,912  12x12            4x4
bn2 (BatchNorm2d)        [1, 32, 8, 8]         64        0  12x12            4x4
gap (AdaptiveAvgPool2d)  [1, 32, 1, 1]          0        0  40x40            32x32
flatten (Flatten)        [1, 32]                0        0  -                -
drop (Dropout)           [1, 32]                0        0  -                -
fc (Linear)              [1, 10]              330      320  -                -
══════════════════════════════════════════════════════════════════════════════════
Total params: 6,442
Trainable params: 6,112
Non-trainable params: 330
Total MACs: 1,696,064 (convolutions and linear layers, for the whole batch)
Input shape: [1, 3, 32, 32]; output shape: [1, 10]
──────────────────────────────────────────────────────────────────────────────────`;

describe('summary', () => {
  test('a small CNN, checked by hand; the check rejects a wrong value', () => {
    const model = smallCnn();
    const s = nn.summary(model, [1, 3, 32, 32]);
    checkTable(s.rows, SMALL_CNN_TABLE);
    assert.equal(s.totalParams, 6442);
    assert.equal(s.totalParams, nn.countParameters(model));
    assert.equal(s.totalMacs, 221184 + 589824 + 589824 + 294912 + 320);
    assert.deepEqual(s.outputShape, [1, 10]);
    for (const [i, k, v] of [
      [3, 4, 3],
      [6, 5, 1],
      [7, 3, 294911],
      [2, 2, 1],
    ] as const) {
      const bad = structuredClone(SMALL_CNN_TABLE);
      (bad[i] as unknown[])[k] = v;
      assert.throws(() => checkTable(s.rows, bad), new RegExp(`row ${i} `));
    }
  });

  test('the printed table (with a frozen layer: trainable and non-trainable counts)', () => {
    const model = smallCnn();
    model.getSubmodule('fc').requiresGrad(false);
    let printed = '';
    const s = nn.summary(model, [1, 3, 32, 32], { print: (t) => (printed = t) });
    assert.equal(printed, PRINTED);
    assert.equal(s.toString(), PRINTED);
    assert.equal(s.trainableParams, nn.countParameters(model, { trainableOnly: true }));
    assert.equal(s.nonTrainableParams, 330);
    assert.equal(s.rows.at(-1)!.trainableParams, 0);
  });

  test('stacked 3x3 convolutions see 3, 5, 7; stride 2 doubles the jump and the growth', () => {
    const model = new nn.Sequential(
      new nn.Conv2d(1, 1, 3, { padding: 1 }),
      new nn.Conv2d(1, 1, 3, { padding: 1 }),
      new nn.Conv2d(1, 1, 3, { padding: 1 }),
      new nn.Conv2d(1, 1, 3, { stride: 2, padding: 1 }),
      new nn.Conv2d(1, 1, 3, { padding: 1 }),
      new nn.Conv2d(1, 1, 3, { dilation: 2, padding: 2 }),
      new nn.Conv2d(1, 1, [5, 1], { padding: [2, 0] }),
      new nn.ConvTranspose2d(1, 1, 2, { stride: 2 }),
      new nn.Conv2d(1, 1, 3, { padding: 1 }),
    );
    const rows = nn.summary(model, [1, 1, 32, 32]).rows;
    assert.deepEqual(
      rows.map((r) => r.receptiveField),
      [
        [3, 3],
        [5, 5],
        [7, 7],
        [9, 9], // stride 2: + 2·1, jump 2
        [13, 13], // + 2·2
        [21, 21], // dilation 2 (effective kernel 5): + 4·2
        [29, 21], // 5x1: + 4·2 along H only
        [29, 21], // 2x2 stride 2 transposed: each output sees one input; jump back to 1
        [31, 23],
      ],
    );
    assert.deepEqual(
      rows.map((r) => r.jump![0]),
      [1, 1, 1, 2, 2, 2, 2, 1, 1],
    );
  });

  test('residual blocks: the sum of two branches keeps the wider field', () => {
    const rows = nn.summary(new TinyResNet(), [1, 3, 32, 32]).rows;
    const rf = (name: string, call = 0) => rows.filter((r) => r.name === name)[call].receptiveField?.[0];
    assert.equal(rf('conv1'), 7); // 7x7 stride 2: jump 2
    assert.equal(rf('maxpool'), 11); // 7 + 2·2; jump 4
    assert.equal(rf('layer1.0.conv1'), 19);
    assert.equal(rf('layer1.0.conv2'), 27);
    assert.equal(rf('layer1.0.relu', 1), 27, 'after the residual add');
    assert.equal(rf('layer1.1.relu', 1), 43);
    assert.equal(rf('layer2.0.conv1'), 51); // 43 + 2·4; jump 8
    assert.equal(rf('layer2.0.conv2'), 67); // + 2·8
    assert.equal(rf('layer2.0.downsample.0'), 43); // 1x1 stride 2 on the block input
    assert.equal(rf('layer2.0.relu', 1), 67, 'the add of the 67 and 43 branches');
    assert.equal(rf('avgpool'), 67 + 3 * 8);
    assert.equal(rf('fc'), undefined);
  });

  test('containers: rows for every call, indented, with the totals of their contents', () => {
    const model = new TinyResNet();
    const s = nn.summary(model, [1, 3, 32, 32], { containers: true });
    const layer2 = s.rows.find((r) => r.name === 'layer2')!;
    assert.equal(layer2.leaf, false);
    assert.equal(layer2.totalParams, nn.countParameters(model.layer2));
    assert.equal(
      layer2.totalMacs,
      s.rows.filter((r) => r.leaf && r.name.startsWith('layer2.')).reduce((a, r) => a + r.macs, 0),
    );
    assert.equal(s.rows[0].name, '');
    assert.equal(s.rows[0].totalMacs, s.totalMacs);
    assert.match(s.toString(), /\n {6}layer2\.0\.conv1 \(Conv2d\)/);
    assert.equal(
      nn.summary(model, [1, 3, 32, 32]).rows.some((r) => !r.leaf),
      false,
    );
  });

  test('a module called twice gives two rows; tied parameters are counted once', () => {
    class Tied extends nn.Module {
      fc = new nn.Linear(4, 4);
      scale = new nn.Parameter(tv.ones([4]));
      act = new nn.ReLU();
      forward(x: tv.Tensor): tv.Tensor {
        return this.fc.call(this.act.call(this.fc.call(x))).mul(this.scale);
      }
    }
    const model = new Tied();
    const s = nn.summary(model, [2, 4]);
    assert.deepEqual(
      s.rows.map((r) => [r.name, r.params, r.macs]),
      [
        ['', 4, 0],
        ['fc', 20, 32],
        ['act', 0, 0],
        ['fc', 0, 32],
      ],
    );
    assert.equal(s.totalParams, 24);
    assert.equal(
      s.rows.every((r) => r.receptiveField === null),
      true,
      'no spatial axes',
    );
  });

  test('forward and the training modes are restored, also when the forward throws; buffers are untouched', () => {
    const model = smallCnn();
    model.getSubmodule('drop').eval();
    const before = model.namedModules().map(([n, m]) => [n, m.training]);
    nn.summary(model, [1, 3, 16, 16]);
    assert.deepEqual(
      model.namedModules().map(([n, m]) => [n, m.training]),
      before,
    );
    for (const m of model.modules()) assert.equal(Object.hasOwn(m, 'forward'), false);
    const bn = model.getSubmodule('bn1') as nn.BatchNorm2d;
    assert.equal(bn.numBatchesTracked!.item(), 0, 'ran in evaluation mode');
    assert.throws(() => nn.summary(model, [1, 4, 16, 16]), /Conv2d\(3, 8\): expected an input \[N, 3, H, W\]/);
    for (const m of model.modules()) assert.equal(Object.hasOwn(m, 'forward'), false, 'forward restored after an error');
    assert.deepEqual(
      model.namedModules().map(([n, m]) => [n, m.training]),
      before,
    );
    // a module with its own forward property keeps it
    const own = new nn.ReLU();
    const f = (x: tv.Tensor) => x.mul(2);
    Object.defineProperty(own, 'forward', { value: f, writable: true, configurable: true, enumerable: false });
    assert.deepEqual(Array.from(nn.summary(own, [1, 2]).rows[0].outputShape ?? []), [1, 2]);
    assert.equal(own.forward, f);
  });
});
