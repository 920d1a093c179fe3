/**
 * PyTorch parity of the convolution, pooling, normalisation and shuffling layers,
 * against test/fixtures/nn_conv.json (written by tools/make_nn_conv_fixtures.py in
 * float64 from float32 parameters and inputs).
 *
 * cases: the module is built from its options, its stateDict() keys must equal
 * PyTorch's, the parameters are loaded with loadStateDict, and the output, the input
 * gradient and the parameter gradients of sum(output * w) must match with relative
 * error <= 1e-4 (plus a 1e-5 absolute floor for values near zero).
 * sequences: a BatchNorm runs several training and evaluation steps; after each,
 * the output and the whole state dict (running_mean, running_var,
 * num_batches_tracked) must match.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { assertClose } from './helpers.js';

interface TensorFixture {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: number[];
  /** Exact values: data[i] / scale. */
  scale?: number;
}

interface Case {
  name: string;
  module: string;
  args: Record<string, unknown>;
  training: boolean;
  stateDict: [string, TensorFixture][];
  inputs: TensorFixture[];
  outputSize?: number[];
  output: TensorFixture & { w: TensorFixture };
  grads: number[][];
  paramGrads: [string, number[]][];
}

interface Step {
  training: boolean;
  input: TensorFixture;
  output: TensorFixture;
  state: [string, TensorFixture][];
}

interface Sequence {
  name: string;
  module: string;
  args: Record<string, unknown>;
  stateDict: [string, TensorFixture][];
  steps: Step[];
}

const RTOL = 1e-4;
const ATOL = 1e-5;
const TOL = { rtol: RTOL, atol: ATOL };

const fixtures = JSON.parse(readFileSync(new URL('../../test/fixtures/nn_conv.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  sequences: Sequence[];
};

function values(f: TensorFixture): number[] {
  return f.scale ? f.data.map((v) => v / f.scale!) : f.data;
}

function build(f: TensorFixture): tv.Tensor {
  return tv.tensor(values(f), { shape: f.shape, dtype: f.dtype });
}

type Args = Record<string, any>;

const conv = (C: new (i: number, o: number, k: nn.PerAxis, opts: nn.ConvLayerOptions) => nn.Module) => (a: Args) =>
  new C(a.inChannels, a.outChannels, a.kernelSize, { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups, bias: a.bias });
const convT = (C: new (i: number, o: number, k: nn.PerAxis, opts: nn.ConvTransposeLayerOptions) => nn.Module) => (a: Args) =>
  new C(a.inChannels, a.outChannels, a.kernelSize, {
    stride: a.stride,
    padding: a.padding,
    outputPadding: a.outputPadding,
    dilation: a.dilation,
    groups: a.groups,
    bias: a.bias,
  });
const batchNorm = (C: new (n: number, o: nn.BatchNormLayerOptions) => nn.Module) => (a: Args) =>
  new C(a.numFeatures, { eps: a.eps, momentum: a.momentum, affine: a.affine, trackRunningStats: a.trackRunningStats });

const MODULES: Record<string, (a: Args) => nn.AnyModule> = {
  Conv1d: conv(nn.Conv1d),
  Conv2d: conv(nn.Conv2d),
  Conv3d: conv(nn.Conv3d),
  ConvTranspose1d: convT(nn.ConvTranspose1d),
  ConvTranspose2d: convT(nn.ConvTranspose2d),
  ConvTranspose3d: convT(nn.ConvTranspose3d),
  // the options-object form here; test/nn-conv-layers.test.ts checks that the positional form is the same
  MaxPool1d: (a) => new nn.MaxPool1d(a),
  MaxPool2d: (a) => new nn.MaxPool2d(a),
  MaxPool3d: (a) => new nn.MaxPool3d(a),
  AvgPool1d: (a) => new nn.AvgPool1d(a),
  AvgPool2d: (a) => new nn.AvgPool2d(a),
  AvgPool3d: (a) => new nn.AvgPool3d(a),
  AdaptiveAvgPool1d: (a) => new nn.AdaptiveAvgPool1d(a.outputSize),
  AdaptiveAvgPool2d: (a) => new nn.AdaptiveAvgPool2d(a.outputSize),
  AdaptiveAvgPool3d: (a) => new nn.AdaptiveAvgPool3d(a.outputSize),
  AdaptiveMaxPool1d: (a) => new nn.AdaptiveMaxPool1d(a.outputSize),
  AdaptiveMaxPool2d: (a) => new nn.AdaptiveMaxPool2d(a.outputSize),
  AdaptiveMaxPool3d: (a) => new nn.AdaptiveMaxPool3d(a.outputSize),
  BatchNorm1d: batchNorm(nn.BatchNorm1d),
  BatchNorm2d: batchNorm(nn.BatchNorm2d),
  BatchNorm3d: batchNorm(nn.BatchNorm3d),
  GroupNorm: (a) => new nn.GroupNorm(a.numGroups, a.numChannels, { eps: a.eps, affine: a.affine }),
  ChannelShuffle: (a) => new nn.ChannelShuffle(a.groups),
  ReLU6: () => new nn.ReLU6(),
  Dropout2d: (a) => new nn.Dropout2d(a.p),
};

function make(name: string, module: string, args: Args, stateDict: [string, TensorFixture][]): nn.AnyModule {
  const factory = MODULES[module];
  assert.ok(factory, `no tsvision mapping for fixture module '${module}'`);
  const m = factory(args);
  assert.deepEqual(
    [...m.stateDict().keys()],
    stateDict.map(([k]) => k),
    `${name}: stateDict keys`,
  );
  m.loadStateDict(new Map(stateDict.map(([k, t]) => [k, build(t)])));
  return m;
}

interface Ran {
  module: nn.AnyModule;
  inputs: tv.Tensor[];
  output: tv.Tensor;
}

function run(c: Case): Ran {
  const module = make(c.name, c.module, c.args, c.stateDict).train(c.training);
  const inputs = c.inputs.map((f) => build(f).requiresGrad_());
  const output = (c.outputSize ? module.call(inputs[0], c.outputSize) : module.call(...inputs)) as tv.Tensor;
  output.mul(build(c.output.w)).sum().backward();
  return { module, inputs, output };
}

function check(c: Case, { module, inputs, output }: Ran): void {
  assert.deepEqual([...output.shape], c.output.shape, `${c.name}: output shape`);
  assertClose(output.data, values(c.output), { ...TOL, label: `${c.name}: output` });
  c.grads.forEach((g, k) => {
    assert.ok(inputs[k].grad, `${c.name}: input ${k} got no gradient`);
    assertClose(inputs[k].grad!.data, g, { ...TOL, label: `${c.name}: grad of input ${k}` });
  });
  const params = new Map(module.namedParameters());
  assert.deepEqual(
    [...params.keys()],
    c.paramGrads.map(([k]) => k),
    `${c.name}: parameter names`,
  );
  for (const [k, g] of c.paramGrads) {
    assert.ok(params.get(k)!.grad, `${c.name}: parameter ${k} got no gradient`);
    assertClose(params.get(k)!.grad!.data, g, { ...TOL, label: `${c.name}: grad of ${k}` });
  }
}

function runSequence(s: Sequence): void {
  const module = make(s.name, s.module, s.args, s.stateDict);
  s.steps.forEach((step, i) => {
    module.train(step.training);
    const out = tv.noGrad(() => module.call(build(step.input)) as tv.Tensor);
    const label = `${s.name}: step ${i + 1} (${step.training ? 'train' : 'eval'})`;
    assert.deepEqual([...out.shape], step.output.shape, `${label}: output shape`);
    assertClose(out.data, values(step.output), { ...TOL, label: `${label}: output` });
    const sd = module.stateDict();
    assert.deepEqual(
      [...sd.keys()],
      step.state.map(([k]) => k),
      `${label}: state keys`,
    );
    for (const [k, f] of step.state) {
      const t = sd.get(k)!;
      assert.equal(t.dtype, f.dtype, `${label}: dtype of ${k}`);
      if (f.dtype === 'int32') assert.deepEqual(Array.from(t.data), f.data, `${label}: ${k}`);
      else assertClose(t.data, values(f), { ...TOL, label: `${label}: ${k}` });
    }
  });
}

test('fixtures cover every module of the mapping, with unique names', () => {
  const all = [...fixtures.cases, ...fixtures.sequences];
  assert.equal(new Set(all.map((c) => c.name)).size, all.length, 'duplicate case names');
  const used = new Set(all.map((c) => c.module));
  for (const m of Object.keys(MODULES)) assert.ok(used.has(m), `no fixture case for ${m}`);
  for (const m of used) assert.ok(m in MODULES, `fixture module ${m} has no tsvision mapping`);
  assert.ok(fixtures.cases.length >= 55, `only ${fixtures.cases.length} cases`);
});

test('the checks reject a wrong output, gradient, parameter gradient, key or running statistic', () => {
  // Move one expected value by twice its tolerance and expect a failure.
  const nudge = (f: { data: number[] }, i: number) => {
    f.data[i] += 2 * (ATOL + RTOL * Math.abs(f.data[i]));
  };
  const c = fixtures.cases.find((k) => k.name === 'Conv2d/groups2')!;
  check(c, run(c));
  const badOut: Case = structuredClone(c);
  nudge(badOut.output, 5);
  assert.throws(() => check(badOut, run(badOut)), /output: element 5 /);
  const badGrad: Case = structuredClone(c);
  nudge({ data: badGrad.grads[0] }, 7);
  assert.throws(() => check(badGrad, run(badGrad)), /grad of input 0: element 7 /);
  const badParam: Case = structuredClone(c);
  nudge({ data: badParam.paramGrads[0][1] }, 3);
  assert.throws(() => check(badParam, run(badParam)), /grad of weight: element 3 /);
  const badKey: Case = structuredClone(c);
  badKey.stateDict[1][0] = 'biases';
  assert.throws(() => run(badKey), /stateDict keys/);

  const s = fixtures.sequences.find((k) => k.name === 'BatchNorm2d/momentum_null')!;
  runSequence(s);
  const badVar: Sequence = structuredClone(s);
  nudge(badVar.steps[1].state.find(([k]) => k === 'running_var')![1], 1);
  assert.throws(() => runSequence(badVar), /step 2 \(train\): running_var: element 1 /);
  const badCount: Sequence = structuredClone(s);
  badCount.steps[0].state.find(([k]) => k === 'num_batches_tracked')![1].data[0] = 2;
  assert.throws(() => runSequence(badCount), /step 1 \(train\): num_batches_tracked/);
  const badEval: Sequence = structuredClone(s);
  nudge(badEval.steps[2].output, 0);
  assert.throws(() => runSequence(badEval), /step 3 \(eval\): output: element 0 /);
});

describe('pytorch parity of the convolution layers', () => {
  for (const c of fixtures.cases) test(c.name, () => check(c, run(c)));
});

describe('BatchNorm running statistics over several steps match PyTorch', () => {
  for (const s of fixtures.sequences) test(s.name, () => runSequence(s));
});
