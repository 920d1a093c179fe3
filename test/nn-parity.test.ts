/**
 * PyTorch parity of nn modules: every layer, two small models and every loss
 * with its options, against test/fixtures/nn.json (written by
 * tools/make_nn_fixtures.py in float64 from float32 parameters and inputs). For
 * each case the module is built from its options, its stateDict() keys must equal
 * PyTorch's, the parameters are loaded with loadStateDict, and the output, the
 * input gradients and the parameter gradients of sum(output * w) must match with
 * relative error <= 1e-4 (plus a 1e-5 absolute floor for values near zero).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { assertClose } from './helpers.js';

type Num = number | 'NaN' | 'Infinity' | '-Infinity';

interface TensorFixture {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Num[];
}

interface Case {
  name: string;
  module: string;
  args: Record<string, unknown>;
  training: boolean;
  stateDict: [string, TensorFixture][];
  inputs: (TensorFixture & { grad: boolean })[];
  output: TensorFixture & { w: Num[] };
  grads: (Num[] | null)[];
  paramGrads: [string, Num[]][];
}

interface Structure {
  name: string;
  stateDict: [string, number[], 'float32' | 'int32'][];
  namedParameters: string[];
  namedBuffers: string[];
  namedModules: string[];
  parameterCount: number;
}

interface Fixtures {
  generator: string;
  torch: string;
  cases: Case[];
  structures: Structure[];
}

const RTOL = 1e-4;
const ATOL = 1e-5;

const fixtures = JSON.parse(readFileSync(new URL('../../test/fixtures/nn.json', import.meta.url), 'utf8')) as Fixtures;

/** JSON has no NaN or Infinity: the fixtures write them as strings. */
function nums(values: Num[]): number[] {
  return values.map((v) => (typeof v === 'number' ? v : Number(v)));
}

function build(f: TensorFixture): tv.Tensor {
  return tv.tensor(nums(f.data), { shape: f.shape, dtype: f.dtype });
}

function opt(v: unknown): tv.Tensor | null {
  return v ? build(v as TensorFixture) : null;
}

type Args = Record<string, unknown>;

// ---- the models of the fixture script, in tsvision --------------------------------

/** BatchNorm1d's parameters and buffers, with its eval-mode forward (enough for the structure and parity checks). */
class EvalBatchNorm1d extends nn.Module {
  weight: nn.Parameter;
  bias: nn.Parameter;
  declare running_mean: tv.Tensor;
  declare running_var: tv.Tensor;
  declare num_batches_tracked: tv.Tensor;

  constructor(n: number) {
    super();
    this.weight = new nn.Parameter(tv.ones([n]));
    this.bias = new nn.Parameter(tv.zeros([n]));
    this.registerBuffer('running_mean', tv.zeros([n]));
    this.registerBuffer('running_var', tv.ones([n]));
    this.registerBuffer('num_batches_tracked', tv.zeros([], { dtype: 'int32' }));
  }

  forward(x: tv.Tensor): tv.Tensor {
    return x.sub(this.running_mean).div(this.running_var.add(1e-5).sqrt()).mul(this.weight).add(this.bias);
  }
}

class Block extends nn.Module {
  fc = new nn.Linear(4, 4);
  bn = new EvalBatchNorm1d(4);
  act = new nn.ReLU();

  forward(x: tv.Tensor): tv.Tensor {
    return this.act.call(this.bn.call(this.fc.call(x))).add(x);
  }
}

/** The fixture script's Net: own parameter and buffer, a ModuleList, a named Sequential. */
class Net extends nn.Module {
  stem = new nn.Linear(3, 4);
  blocks = new nn.ModuleList([new Block(), new Block()]);
  head = new nn.Sequential(
    new Map<string, nn.Module>([
      ['norm', new nn.LayerNorm(4)],
      ['fc', new nn.Linear(4, 2)],
    ]),
  );
  scale = new nn.Parameter(tv.ones([1]));
  declare step: tv.Tensor;

  constructor() {
    super();
    this.registerBuffer('step', tv.zeros([], { dtype: 'int32' }));
  }

  forward(x: tv.Tensor): tv.Tensor {
    let y: tv.Tensor = this.stem.call(x);
    for (const b of this.blocks) y = b.call(y);
    return this.head.call(y).mul(this.scale);
  }
}

const mlp = () => new nn.Sequential(new nn.Linear(4, 8), new nn.GELU(), new nn.LayerNorm(8), new nn.Dropout(0.5), new nn.Linear(8, 3));

const MODULES: Record<string, (a: Args) => nn.AnyModule> = {
  Linear: (a) => new nn.Linear(a.inFeatures as number, a.outFeatures as number, { bias: a.bias as boolean }),
  LayerNorm: (a) => new nn.LayerNorm(a.normalizedShape as number[], { eps: a.eps as number, elementwiseAffine: a.elementwiseAffine as boolean }),
  ReLU: () => new nn.ReLU(),
  ReLU6: () => new nn.ReLU6(),
  LeakyReLU: (a) => new nn.LeakyReLU(a.negativeSlope as number),
  Tanh: () => new nn.Tanh(),
  Sigmoid: () => new nn.Sigmoid(),
  SiLU: () => new nn.SiLU(),
  GELU: (a) => new nn.GELU({ approximate: a.approximate as 'none' | 'tanh' }),
  Hardswish: () => new nn.Hardswish(),
  Hardsigmoid: () => new nn.Hardsigmoid(),
  Softmax: (a) => new nn.Softmax(a.dim as number),
  LogSoftmax: (a) => new nn.LogSoftmax(a.dim as number),
  Dropout: (a) => new nn.Dropout(a.p as number),
  Identity: () => new nn.Identity(),
  Flatten: (a) => new nn.Flatten(a.startDim as number, a.endDim as number),
  MLP: () => mlp(),
  Net: () => new Net(),
  CrossEntropyLoss: (a) =>
    new nn.CrossEntropyLoss({
      weight: opt(a.weight),
      ignoreIndex: a.ignoreIndex as number,
      reduction: a.reduction as nn.Reduction,
      labelSmoothing: a.labelSmoothing as number,
    }),
  NLLLoss: (a) => new nn.NLLLoss({ weight: opt(a.weight), ignoreIndex: a.ignoreIndex as number, reduction: a.reduction as nn.Reduction }),
  BCELoss: (a) => new nn.BCELoss({ weight: opt(a.weight), reduction: a.reduction as nn.Reduction }),
  BCEWithLogitsLoss: (a) => new nn.BCEWithLogitsLoss({ weight: opt(a.weight), posWeight: opt(a.posWeight), reduction: a.reduction as nn.Reduction }),
  MSELoss: (a) => new nn.MSELoss({ reduction: a.reduction as nn.Reduction }),
  L1Loss: (a) => new nn.L1Loss({ reduction: a.reduction as nn.Reduction }),
};

interface Ran {
  module: nn.AnyModule;
  inputs: tv.Tensor[];
  output: tv.Tensor;
}

/** Builds the module, loads the fixture's state dict, runs forward and backpropagates sum(output * w). */
function run(c: Case): Ran {
  const make = MODULES[c.module];
  assert.ok(make, `no tsvision mapping for fixture module '${c.module}'`);
  const module = make(c.args);
  assert.deepEqual(
    [...module.stateDict().keys()],
    c.stateDict.map(([k]) => k),
    `${c.name}: stateDict keys`,
  );
  module.loadStateDict(new Map(c.stateDict.map(([k, t]) => [k, build(t)])));
  module.train(c.training);
  const inputs = c.inputs.map((f) => {
    const t = build(f);
    if (f.grad) t.requiresGrad_();
    return t;
  });
  const output = module.call(...inputs) as tv.Tensor;
  tv.sum(tv.mul(output, tv.tensor(nums(c.output.w), { shape: c.output.shape }))).backward();
  return { module, inputs, output };
}

function check(c: Case, { module, inputs, output }: Ran): void {
  const tol = { rtol: RTOL, atol: ATOL };
  assert.deepEqual([...output.shape], c.output.shape, `${c.name}: output shape`);
  assertClose(output.data, nums(c.output.data), { ...tol, label: `${c.name}: output` });
  c.grads.forEach((g, k) => {
    const x = inputs[k];
    if (g === null) {
      assert.equal(x.grad, null, `${c.name}: input ${k} should get no gradient`);
      return;
    }
    assert.ok(x.grad, `${c.name}: input ${k} got no gradient`);
    assertClose(x.grad.data, nums(g), { ...tol, label: `${c.name}: grad of input ${k}` });
  });
  const params = new Map(module.namedParameters());
  assert.deepEqual(
    [...params.keys()],
    c.paramGrads.map(([k]) => k),
    `${c.name}: parameter names`,
  );
  for (const [k, g] of c.paramGrads) {
    const p = params.get(k)!;
    assert.ok(p.grad, `${c.name}: parameter ${k} got no gradient`);
    assertClose(p.grad.data, nums(g), { ...tol, label: `${c.name}: grad of ${k}` });
  }
}

test('fixtures cover every module of the mapping, with unique names', () => {
  assert.ok(fixtures.cases.length >= 90, `only ${fixtures.cases.length} cases in nn.json`);
  const names = new Set(fixtures.cases.map((c) => c.name));
  assert.equal(names.size, fixtures.cases.length, 'duplicate case names');
  const used = new Set(fixtures.cases.map((c) => c.module));
  for (const m of Object.keys(MODULES)) assert.ok(used.has(m), `no fixture case for ${m}`);
  for (const m of used) assert.ok(m in MODULES, `fixture module ${m} has no tsvision mapping`);
});

test('the check rejects a wrong output, input gradient, parameter gradient or key', () => {
  // A check that cannot fail proves nothing: move one value by twice its tolerance and expect a failure.
  const c = fixtures.cases.find((k) => k.name === 'Linear/5_4');
  assert.ok(c);
  check(c, run(c));
  const nudge = (v: Num) => (v as number) + 2 * (ATOL + RTOL * Math.abs(v as number));
  const badOut: Case = structuredClone(c);
  badOut.output.data[5] = nudge(badOut.output.data[5]);
  assert.throws(() => check(badOut, run(badOut)), /output: element 5 /);
  const badGrad: Case = structuredClone(c);
  badGrad.grads[0]![7] = nudge(badGrad.grads[0]![7]);
  assert.throws(() => check(badGrad, run(badGrad)), /grad of input 0: element 7 /);
  const badParam: Case = structuredClone(c);
  badParam.paramGrads[1][1][2] = nudge(badParam.paramGrads[1][1][2]);
  assert.throws(() => check(badParam, run(badParam)), /grad of bias: element 2 /);
  const badKey: Case = structuredClone(c);
  badKey.stateDict[0][0] = 'weights';
  assert.throws(() => run(badKey), /stateDict keys/);
  // A NaN expectation is met only by NaN.
  const nan = fixtures.cases.find((k) => k.name === 'NLLLoss/all_ignored_mean');
  assert.ok(nan && nan.output.data[0] === 'NaN');
  const notNan: Case = structuredClone(nan);
  notNan.output.data[0] = 0;
  assert.throws(() => check(notNan, run(notNan)), /output: element 0 /);
});

describe('pytorch parity of nn modules', () => {
  for (const c of fixtures.cases) test(c.name, () => check(c, run(c)));
});

const STRUCTURES: Record<string, () => nn.Module> = {
  'Sequential(Linear, ReLU, Linear)': () => new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2)),
  MLP: () => mlp(),
  Net: () => new Net(),
};

describe('module structure matches PyTorch', () => {
  test('every structure of the fixtures has a model', () => {
    assert.deepEqual(fixtures.structures.map((s) => s.name).sort(), Object.keys(STRUCTURES).sort());
  });
  for (const s of fixtures.structures) {
    test(s.name, () => {
      const model = STRUCTURES[s.name]();
      const sd = [...model.stateDict()].map(([k, t]) => [k, [...t.shape], t.dtype]);
      assert.deepEqual(sd, s.stateDict, 'stateDict keys, shapes and dtypes');
      assert.deepEqual(
        model.namedParameters().map(([k]) => k),
        s.namedParameters,
        'namedParameters',
      );
      assert.deepEqual(
        model.namedBuffers().map(([k]) => k),
        s.namedBuffers,
        'namedBuffers',
      );
      assert.deepEqual(
        model.namedModules().map(([k]) => k),
        s.namedModules,
        'namedModules',
      );
      assert.equal(nn.countParameters(model), s.parameterCount, 'countParameters');
    });
  }
});
