/**
 * PyTorch parity: every op's forward output and input gradients against
 * reference values computed by PyTorch (in float64 from the same float32 inputs).
 * The fixtures are test/fixtures/ops.json, written by tools/make_fixtures.py
 * (regenerate with `python3 tools/make_fixtures.py`). For each case the inputs
 * are built with requiresGrad, the op runs, the scalar sum_k sum(out_k * w_k) is
 * backpropagated, and outputs and gradients must match with relative error
 * <= 1e-4 (plus a 1e-5 absolute floor for values near zero). Every case runs on
 * the default backend and again on the reference kernels.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as tv from '../src/index.js';
import { assertClose } from './helpers.js';

type DTypeName = 'float32' | 'int32' | 'uint8';

interface TensorFixture {
  dtype: DTypeName;
  shape: number[];
  data: number[];
}

interface OutputFixture extends TensorFixture {
  /** The loss weight for a float output, null for int outputs. */
  w: number[] | null;
}

interface Case {
  name: string;
  op: string;
  args: Record<string, unknown>;
  inputs: TensorFixture[];
  outputs: OutputFixture[];
  /** d(loss)/d(input) per input; null for index and mask inputs (and when no output is float). */
  grads: (number[] | null)[];
}

interface Fixtures {
  generator: string;
  torch: string;
  cases: Case[];
}

const RTOL = 1e-4;
const ATOL = 1e-5;

const fixtures = JSON.parse(readFileSync(new URL('../../test/fixtures/ops.json', import.meta.url), 'utf8')) as Fixtures;

type T = tv.Tensor;
type F32 = tv.Tensor<'float32'>;
type Args = Record<string, unknown>;
type OpFn = (xs: T[], args: Args) => T | T[];

/** A fixture's null (JSON has no undefined) becomes undefined, so tsvision's defaults apply. */
function opt<V>(v: unknown): V | undefined {
  return v === null || v === undefined ? undefined : (v as V);
}

type Axes = number | number[] | undefined;
type PerAxis = number | number[];

function convOptions(a: Args): tv.ConvOptions {
  return {
    stride: opt<PerAxis>(a.stride),
    padding: opt<PerAxis | 'same' | 'valid'>(a.padding),
    dilation: opt<PerAxis>(a.dilation),
    groups: opt<number>(a.groups),
  };
}

function maxPoolOptions(a: Args): tv.MaxPoolOptions {
  return {
    kernelSize: a.kernelSize as PerAxis,
    stride: opt<PerAxis>(a.stride),
    padding: opt<PerAxis>(a.padding),
    dilation: opt<PerAxis>(a.dilation),
    ceilMode: opt<boolean>(a.ceilMode),
  };
}

/** The op names of tools/make_fixtures.py, mapped to tsvision calls. */
const OPS: Record<string, OpFn> = {
  add: ([a, b]) => tv.add(a, b),
  sub: ([a, b]) => tv.sub(a, b),
  mul: ([a, b]) => tv.mul(a, b),
  div: ([a, b]) => tv.div(a, b),
  addScalar: ([x], a) => tv.add(x, a.value as number),
  subScalar: ([x], a) => tv.sub(x, a.value as number),
  mulScalar: ([x], a) => tv.mul(x, a.value as number),
  divScalar: ([x], a) => tv.div(x, a.value as number),
  rsubScalar: ([x], a) => tv.sub(a.value as number, x),
  rdivScalar: ([x], a) => tv.div(a.value as number, x),
  rpowScalar: ([x], a) => tv.pow(a.value as number, x),
  pow: ([a, b]) => tv.pow(a, b),
  powScalar: ([x], a) => tv.pow(x, a.exponent as number),
  maximum: ([a, b]) => tv.maximum(a, b),
  minimum: ([a, b]) => tv.minimum(a, b),

  neg: ([x]) => tv.neg(x),
  exp: ([x]) => tv.exp(x),
  log: ([x]) => tv.log(x),
  sqrt: ([x]) => tv.sqrt(x),
  abs: ([x]) => tv.abs(x),
  sign: ([x]) => tv.sign(x),
  clamp: ([x], a) => tv.clamp(x, opt<number>(a.min), opt<number>(a.max)),
  relu: ([x]) => tv.relu(x),
  relu6: ([x]) => tv.relu6(x),
  leakyRelu: ([x], a) => tv.leakyRelu(x, a.slope as number),
  sigmoid: ([x]) => tv.sigmoid(x),
  tanh: ([x]) => tv.tanh(x),
  silu: ([x]) => tv.silu(x),
  gelu: ([x], a) => tv.gelu(x, a.approximate as 'none' | 'tanh'),
  hardswish: ([x]) => tv.hardswish(x),
  hardsigmoid: ([x]) => tv.hardsigmoid(x),

  matmul: ([a, b]) => tv.matmul(a, b),

  sum: ([x], a) => tv.sum(x, opt<Axes>(a.axes), { keepdim: a.keepdim as boolean }),
  mean: ([x], a) => tv.mean(x, opt<Axes>(a.axes), { keepdim: a.keepdim as boolean }),
  max: ([x], a) => tv.max(x, opt<Axes>(a.axes), { keepdim: a.keepdim as boolean }),
  min: ([x], a) => tv.min(x, opt<Axes>(a.axes), { keepdim: a.keepdim as boolean }),
  var: ([x], a) => tv.variance(x, opt<Axes>(a.axes), { keepdim: a.keepdim as boolean, correction: a.correction as number }),
  argmax: ([x], a) => tv.argmax(x, opt<number>(a.axis), { keepdim: a.keepdim as boolean }),
  argmin: ([x], a) => tv.argmin(x, opt<number>(a.axis), { keepdim: a.keepdim as boolean }),
  softmax: ([x], a) => tv.softmax(x, a.axis as number),
  logSoftmax: ([x], a) => tv.logSoftmax(x, a.axis as number),

  reshape: ([x], a) => tv.reshape(x, a.shape as number[]),
  flatten: ([x], a) => tv.flatten(x, a.startDim as number, a.endDim as number),
  squeeze: ([x], a) => tv.squeeze(x, opt<number>(a.dim)),
  unsqueeze: ([x], a) => tv.unsqueeze(x, a.dim as number),
  permute: ([x], a) => tv.permute(x, a.dims as number[]),
  transpose: ([x], a) => tv.transpose(x, a.dim0 as number, a.dim1 as number),
  concat: (xs, a) => tv.concat(xs, a.dim as number),
  stack: (xs, a) => tv.stack(xs, a.dim as number),
  split: ([x], a) => tv.split(x, a.sizes as number | number[], a.dim as number),
  slice: ([x], a) => tv.slice(x, a.dim as number, a.start as number, opt<number>(a.end), a.step as number),
  pad: ([x], a) => tv.pad(x, a.pads as number[], a.value as number),
  indexSelect: ([x, i], a) => tv.indexSelect(x, a.dim as number, i),
  gather: ([x, i], a) => tv.gather(x, a.dim as number, i),
  broadcastTo: ([x], a) => tv.broadcastTo(x, a.shape as number[]),
  clone: ([x]) => tv.clone(x),
  cast: ([x], a) => tv.cast(x, a.dtype as 'int32'),

  eq: ([x, y], a) => tv.eq(x, y ?? (a.value as number)),
  ne: ([x, y], a) => tv.ne(x, y ?? (a.value as number)),
  lt: ([x, y], a) => tv.lt(x, y ?? (a.value as number)),
  le: ([x, y], a) => tv.le(x, y ?? (a.value as number)),
  gt: ([x, y], a) => tv.gt(x, y ?? (a.value as number)),
  ge: ([x, y], a) => tv.ge(x, y ?? (a.value as number)),
  where: ([c, a, b]) => tv.where(c, a, b),
  whereScalar: ([c, x], a) => tv.where(c, x, a.value as number),

  // cross-entropy's shape: -mean(logSoftmax(logits, 1).gather(1, labels[:, None]))
  crossEntropy: ([x, y]) => tv.neg(tv.mean(tv.gather(tv.logSoftmax(x, 1), 1, tv.unsqueeze(y, 1)))),

  // convolution: inputs [x, w] or [x, w, bias]; args hold only the options a case sets
  conv1d: ([x, w, b], a) => tv.conv1d(x, w, b ?? null, convOptions(a)),
  conv2d: ([x, w, b], a) => tv.conv2d(x, w, b ?? null, convOptions(a)),
  conv3d: ([x, w, b], a) => tv.conv3d(x, w, b ?? null, convOptions(a)),
  convTranspose: ([x, w, b], a) =>
    tv.convTranspose(x, w, b ?? null, { ...convOptions(a), padding: opt<PerAxis>(a.padding), outputPadding: opt<PerAxis>(a.outputPadding) }),

  maxPool1d: ([x], a) => tv.maxPool1d(x, maxPoolOptions(a)),
  maxPool2d: ([x], a) => tv.maxPool2d(x, maxPoolOptions(a)),
  maxPool3d: ([x], a) => tv.maxPool3d(x, maxPoolOptions(a)),
  avgPool2d: ([x], a) =>
    tv.avgPool2d(x, {
      kernelSize: a.kernelSize as PerAxis,
      stride: opt<PerAxis>(a.stride),
      padding: opt<PerAxis>(a.padding),
      ceilMode: opt<boolean>(a.ceilMode),
      countIncludePad: opt<boolean>(a.countIncludePad),
    }),
  adaptiveAvgPool2d: ([x], a) => tv.adaptiveAvgPool2d(x, a.outputSize as PerAxis),
  adaptiveMaxPool2d: ([x], a) => tv.adaptiveMaxPool2d(x, a.outputSize as PerAxis),
};

/**
 * Cases that fail because tsvision differs from PyTorch (library bugs, reported,
 * not fixed here): name -> reason. They still run, as node:test todos.
 */
const TODO: Record<string, string> = {};

function build(f: TensorFixture): T {
  const t = tv.tensor(f.data, { shape: f.shape, dtype: f.dtype });
  if (f.dtype === 'float32') t.requiresGrad_();
  return t;
}

interface Ran {
  inputs: T[];
  outputs: T[];
}

/** Builds the inputs, runs the op, and backpropagates sum_k sum(out_k * w_k) when some output is float. */
function run(c: Case): Ran {
  const fn = OPS[c.op];
  assert.ok(fn, `no tsvision mapping for fixture op '${c.op}'`);
  const inputs = c.inputs.map(build);
  const res = fn(inputs, c.args);
  const outputs = Array.isArray(res) ? res : [res];
  assert.equal(outputs.length, c.outputs.length, `${c.name}: number of outputs`);
  let loss: F32 | null = null;
  for (let k = 0; k < outputs.length; k++) {
    const w = c.outputs[k].w;
    if (w === null) continue;
    const term = tv.sum(tv.mul(outputs[k], tv.tensor(w, { shape: c.outputs[k].shape })));
    loss = loss === null ? term : tv.add(loss, term);
  }
  if (loss !== null) loss.backward();
  return { inputs, outputs };
}

/** Checks the outputs (shape, dtype, values) and every float input's gradient against the fixture. */
function check(c: Case, { inputs, outputs }: Ran): void {
  outputs.forEach((o, k) => {
    const e = c.outputs[k];
    const label = `${c.name}: output ${k}`;
    assert.deepEqual([...o.shape], e.shape, `${label}: shape`);
    assert.equal(o.dtype, e.dtype, `${label}: dtype`);
    if (e.dtype === 'float32') assertClose(o.data, e.data, { rtol: RTOL, atol: ATOL, label });
    else assert.deepEqual(Array.from(o.data), e.data, `${label}: values`);
  });
  c.grads.forEach((g, k) => {
    const x = inputs[k];
    if (g === null) {
      assert.equal(x.grad, null, `${c.name}: input ${k} should get no gradient`);
      return;
    }
    const label = `${c.name}: grad of input ${k}`;
    assert.ok(x.grad, `${label}: missing (tsvision produced no gradient)`);
    assert.deepEqual([...x.grad.shape], c.inputs[k].shape, `${label}: shape`);
    assertClose(x.grad.data, g, { rtol: RTOL, atol: ATOL, label });
  });
}

function cases(): void {
  for (const c of fixtures.cases) {
    const todo = TODO[c.name];
    test(c.name, todo ? { todo } : {}, () => check(c, run(c)));
  }
}

test('fixtures cover every op of the mapping, with unique names', () => {
  assert.ok(fixtures.cases.length > 100, `only ${fixtures.cases.length} cases in ops.json`);
  const names = new Set(fixtures.cases.map((c) => c.name));
  assert.equal(names.size, fixtures.cases.length, 'duplicate case names');
  const used = new Set(fixtures.cases.map((c) => c.op));
  for (const op of Object.keys(OPS)) assert.ok(used.has(op), `no fixture case for ${op}`);
  for (const op of used) assert.ok(op in OPS, `fixture op ${op} has no tsvision mapping`);
});

test('the check rejects a wrong output or gradient', () => {
  // A check that cannot fail proves nothing: move one value by twice its tolerance and expect a failure.
  const c = fixtures.cases.find((k) => k.name === 'matmul/2d_3x4_4x5');
  assert.ok(c);
  check(c, run(c));
  const nudge = (v: number) => v + 2 * (ATOL + RTOL * Math.abs(v));
  const badOut: Case = structuredClone(c);
  badOut.outputs[0].data[5] = nudge(badOut.outputs[0].data[5]);
  assert.throws(() => check(badOut, run(badOut)), /output 0: element 5 /);
  const badGrad: Case = structuredClone(c);
  badGrad.grads[1]![7] = nudge(badGrad.grads[1]![7]);
  assert.throws(() => check(badGrad, run(badGrad)), /grad of input 1: element 7 /);
  const badShape: Case = structuredClone(c);
  badShape.outputs[0].shape = [5, 3];
  assert.throws(() => check(badShape, run(badShape)), /shape/);
});

describe(`pytorch parity, default backend (${tv.backendName()})`, () => {
  cases();
});

describe('pytorch parity, reference backend', () => {
  let previous: 'native' | 'reference' = 'native';
  before(() => {
    previous = tv.backendName();
    tv.setBackend('reference');
  });
  after(() => tv.setBackend(previous));
  test('runs on the reference kernels', () => assert.equal(tv.backendName(), 'reference'));
  cases();
});
