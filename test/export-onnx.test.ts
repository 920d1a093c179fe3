/**
 * ONNX export, checked in onnxruntime-node (CPU): every registered model, exported at
 * a small input, gives tsvision's logits in ONNX Runtime at batch 2 and at batch 3
 * (the batch dimension is symbolic); layers no registered model uses; the metadata
 * read back with protobufjs; the errors for ops ONNX cannot express.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { exportOnnx, exportOnnxBytes, OnnxExportError } from '../src/export/index.js';
import { onnxType } from '../src/export/onnx-schema.js';
import { getModel, listModels, MODEL_STATS, modelEntry, type ModelConfig } from '../src/models/index.js';
import * as nn from '../src/nn/index.js';
import { Module } from '../src/nn/module.js';
import { noGrad } from '../src/tensor/autograd.js';
import { div, hardsigmoid, maximum, minimum, relu6, silu, softplus, where } from '../src/tensor/ops/elementwise.js';
import { concat, indexSelect } from '../src/tensor/ops/movement.js';
import { argmax } from '../src/tensor/ops/reduce.js';
import { manualSeed, rand, randn } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { Predictor } from '../src/train/predictor.js';

import '../src/tensor/methods.js';
import { CLI_FLAGS } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvision-onnx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Batch-norm statistics and affine maps drawn from the seeded generator: freshly built
 * networks have mean 0, variance 1, weight 1 and bias 0, which would leave folding
 * untested, and many would give near-zero logits.
 */
function randomizeBatchNorm(net: Module): void {
  for (const m of net.modules()) {
    if (!(m instanceof nn.BatchNormNd)) continue;
    const c = m.numFeatures;
    const set = (t: Tensor | null, v: Tensor) => t && (t.data as Float32Array).set(v.data as Float32Array);
    set(m.buffer('running_mean'), randn([c]).mul(0.1));
    set(m.buffer('running_var'), rand([c]).mul(1.5).add(0.5));
    set(m.weight, rand([c]).mul(0.5).add(0.5));
    set(m.bias, randn([c]).mul(0.1));
  }
}

/** The smallest of a few sizes that the model's config accepts (AlexNet's pooling needs 63 px, Inception v3's 75). */
function smallConfig(name: string): { size: number; config: ModelConfig } {
  const entry = modelEntry(name);
  for (const size of [32, 64, 75, 96, 128, 224, 299].filter((s) => s >= entry.minImageSize)) {
    try {
      return { size, config: entry.configFor({ channels: 3, imageSize: size, numClasses: 10 }) };
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  throw new Error(`no small size fits ${name}`);
}

async function runOrt(session: ort.InferenceSession, x: Tensor): Promise<Float32Array> {
  const out = await session.run({ input: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
  return out.logits.data as Float32Array;
}

/**
 * max |ort - tsvision| over the logits, against 1e-4 times the logits' own scale when
 * that is above 1 (deep random networks can give logits in the hundreds, where float32
 * rounding in a different summation order alone is larger than 1e-4).
 */
function checkClose(label: string, ortOut: Float32Array, expected: Tensor): number {
  const e = expected.data as Float32Array;
  assert.equal(ortOut.length, e.length, `${label}: output size`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < e.length; i++) {
    assert.ok(Number.isFinite(e[i]), `${label}: tsvision's logit ${i} is ${e[i]}`);
    diff = Math.max(diff, Math.abs(ortOut[i] - e[i]));
    scale = Math.max(scale, Math.abs(e[i]));
  }
  const tol = 1e-4 * Math.max(1, scale);
  assert.ok(diff <= tol, `${label}: max |ort - tsvision| = ${diff.toExponential(2)} > ${tol.toExponential(2)} (logits up to ${scale.toFixed(3)})`);
  return diff;
}

/** Exports net on x, then checks ONNX Runtime against tsvision at x's batch and at batch 3. */
async function parity(label: string, net: Module, x: Tensor): Promise<{ diff: number; bytes: number; graph: DecodedModel }> {
  net.eval();
  const bytes = exportOnnxBytes(net, x);
  const session = await ort.InferenceSession.create(bytes);
  const want = noGrad(() => net.call(x));
  const diff = checkClose(label, await runOrt(session, x), want);
  const x3 = randn([3, ...x.shape.slice(1)]);
  const want3 = noGrad(() => net.call(x3));
  assert.deepEqual(want3.shape[0], 3);
  checkClose(`${label} (batch 3)`, await runOrt(session, x3), want3);
  return { diff, bytes: bytes.length, graph: decode(bytes) };
}

interface DecodedModel {
  opset_import: { domain: string; version: number }[];
  producer_name: string;
  graph: {
    node: { op_type: string; input: string[]; output: string[] }[];
    initializer: { name: string }[];
    input: { name: string; type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } } }[];
    output: { name: string; type: { tensor_type: { shape: { dim: { dim_value?: number; dim_param?: string }[] } } } }[];
  };
  metadata_props?: { key: string; value: string }[];
}

function decode(bytes: Uint8Array): DecodedModel {
  const type = onnxType('ModelProto');
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false, arrays: true }) as unknown as DecodedModel;
}

const opCount = (m: DecodedModel, op: string) => m.graph.node.filter((n) => n.op_type === op).length;

/**
 * Every registered model: about 3.5 minutes on a quiet 2-core machine, mostly building,
 * serialising and loading 8.5 GB of weights (each VGG is over 500 MB even at 10 classes).
 * TSVISION_ONNX_QUICK=1 takes only the models up to 30 M parameters, and VGG-11 with batch
 * norm for the VGG family (AlexNet's layers are a subset of VGG's), for quick runs while working.
 */
const ALL_MODELS = process.env.TSVISION_ONNX_QUICK !== '1';
const PARAM_LIMIT = 30e6;
const ALWAYS = new Set(['vgg11_bn']);

describe('exportOnnx: registered models in ONNX Runtime', () => {
  const times: string[] = [];
  const skipped = listModels().filter((name) => !ALL_MODELS && !ALWAYS.has(name) && (MODEL_STATS[name]?.params ?? 0) > PARAM_LIMIT);
  after(() => {
    console.log(`# per-model time (build, export, ONNX Runtime at batch 2 and 3):\n# ${times.join('\n# ')}`);
    if (skipped.length) console.log(`# over ${PARAM_LIMIT / 1e6} M parameters, left out by TSVISION_ONNX_QUICK=1: ${skipped.join(', ')}`);
  });
  for (const name of listModels()) {
    if (skipped.includes(name)) continue;
    test(name, async () => {
      const t0 = performance.now();
      manualSeed(7);
      const { size, config } = smallConfig(name);
      // VGG's torchvision initialisation of 130 M weights is slow; its layers' own random initialisation is quick
      const net = getModel(name, name.startsWith('vgg') ? { ...config, initWeights: false } : config);
      randomizeBatchNorm(net);
      const x = randn([2, 3, size, size]);
      const { diff, bytes, graph } = await parity(name, net, x);
      assert.equal(opCount(graph, 'BatchNormalization'), 0, `${name}: every batch norm follows a convolution and is folded`);
      assert.equal(opCount(graph, 'ReduceSum'), 0, `${name}: means are ReduceMean nodes`);
      times.push(`${name} ${size}px: ${(performance.now() - t0).toFixed(0)} ms, ${(bytes / 1e6).toFixed(1)} MB, max diff ${diff.toExponential(1)}`);
    });
  }
});

/** Layers and functional ops that no registered model uses, in one network. */
class Kitchen extends Module {
  conv = new nn.Conv2d(3, 8, 3, { padding: 1 });
  gn = new nn.GroupNorm(2, 8);
  gelu = new nn.GELU();
  up = new nn.ConvTranspose2d(8, 6, 3, { stride: 2, padding: 1, outputPadding: 1 });
  leaky = new nn.LeakyReLU(0.1);
  maxCeil = new nn.MaxPool2d(3, { stride: 2, ceilMode: true });
  avgCeil = new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true });
  adaptive = new nn.AdaptiveAvgPool2d(3);
  adaptiveMax = new nn.AdaptiveMaxPool2d([2, 3]);
  dilated = new nn.Conv2d(6, 6, 3, { dilation: 2, padding: 2, groups: 3 });
  fc = new nn.Linear(6 * 9 + 6 * 6, 16);
  bn = new nn.BatchNorm1d(16);
  ln = new nn.LayerNorm(16);
  head = new nn.Linear(16, 5);

  forward(x: Tensor): Tensor {
    let y = this.gelu.call(this.gn.call(this.conv.call(x)));
    y = this.leaky.call(this.up.call(y)).pad([1, 0, 0, 1]);
    y = this.dilated.call(this.avgCeil.call(this.maxCeil.call(y)));
    const [a, b] = y.split(3, 1);
    y = y.add(concat([b.hardswish(), a.clamp(-0.5, 0.5)], 1).mul(0.5)).sub(y.mean([2, 3], { keepdim: true }));
    const pooled = this.adaptive.call(y).flatten(1);
    const maxed = this.adaptiveMax.call(y.sigmoid()).permute([0, 1, 3, 2]).reshape([y.shape[0], -1]);
    let z = this.fc.call(concat([pooled, maxed], 1));
    z = this.ln.call(this.bn.call(z).tanh().gelu('tanh'));
    const attn = z
      .reshape([z.shape[0], 4, 4])
      .matmul(z.reshape([z.shape[0], 4, 4]).transpose(1, 2))
      .softmax(-1);
    return this.head.call(z.add(attn.reshape([z.shape[0], 16]).div(z.abs().add(1)))).logSoftmax(1);
  }
}

describe('exportOnnx: layers beyond the zoo', () => {
  test('group norm, GELU, transposed and dilated grouped convolutions, ceil-mode pools, adaptive pools, layer norm, matmul, softmax', async () => {
    manualSeed(11);
    const net = new Kitchen();
    randomizeBatchNorm(net);
    const { graph } = await parity('Kitchen', net, randn([2, 3, 13, 13]));
    // the batch norm after a linear layer stays a BatchNormalization node
    assert.equal(opCount(graph, 'BatchNormalization'), 1);
    for (const op of ['ConvTranspose', 'MaxPool', 'AveragePool', 'Erf', 'Tanh', 'MatMul', 'Softmax', 'LogSoftmax', 'Pad', 'Slice', 'ReduceMax', 'ReduceMean']) {
      assert.ok(opCount(graph, op) > 0, `the graph has a ${op} node`);
    }
  });

  test('functional ops: where and indexSelect with constants, broadcastTo, maximum, pow, softplus, the scalar forms', async () => {
    manualSeed(14);
    const mask = new Tensor(Uint8Array.from([1, 0, 1, 0]), [1, 4, 1, 1]);
    const index = new Tensor(Int32Array.from([3, 0, 1]), [3]);
    const exponent = rand([1, 3, 1, 1]).add(1);
    const net = new Functional((x) => {
      let y = indexSelect(where(mask, x, x.neg()), 1, index);
      y = maximum(y, y.mean([2, 3], { keepdim: true }).broadcastTo(y.shape))
        .abs()
        .add(0.1);
      y = softplus(y.pow(2).add(y.pow(exponent)).sqrt().log().exp());
      y = div(1, y.mul(2).add(1)).sub(relu6(y.sign().mul(y)));
      y = minimum(hardsigmoid(y.leakyRelu(0.2)).add(silu(y)), y.clamp(0.01, null).sqrt());
      return y.flatten(1);
    });
    await parity('functional ops', net, randn([2, 4, 5, 5]));
  });

  test('a batch of one is traced as two, so the batch axis is still told apart', async () => {
    manualSeed(12);
    const net = getModel('shufflenet_v2_x0_5', { numClasses: 4 });
    randomizeBatchNorm(net);
    await parity('shufflenet batch 1', net, randn([1, 3, 32, 32]));
  });
});

describe('exportOnnx: the file', () => {
  test('metadata, opset, symbolic batch and state-dict names read back with protobufjs; written atomically', () => {
    manualSeed(13);
    const net = getModel('resnet18', { numClasses: 3 });
    const path = join(dir, 'resnet18.onnx');
    const preprocess = { resizeSize: 36, cropSize: 32, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], interpolation: 'bilinear' };
    exportOnnx(net, randn([2, 3, 32, 32]), path, { classes: ['cat', 'dog', 'fox'], preprocess, producer: 'tsvision-test', producerVersion: '9.9' });
    const model = decode(readFileSync(path));
    assert.deepEqual(
      model.opset_import.map((o) => [o.domain ?? '', o.version]),
      [['', 17]],
    );
    assert.equal(model.producer_name, 'tsvision-test');
    const meta = new Map(model.metadata_props!.map((e) => [e.key, e.value]));
    assert.deepEqual(JSON.parse(meta.get('classes')!), ['cat', 'dog', 'fox']);
    assert.deepEqual(JSON.parse(meta.get('preprocess')!), preprocess);
    assert.deepEqual(JSON.parse(meta.get('architecture')!), { name: 'resnet18', config: { numClasses: 3 } });
    const dims = (v: DecodedModel['graph']['input'][number]) => v.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value);
    assert.equal(model.graph.input[0].name, 'input');
    assert.deepEqual(dims(model.graph.input[0]), ['N', 3, 32, 32]);
    assert.equal(model.graph.output[0].name, 'logits');
    assert.deepEqual(dims(model.graph.output[0]), ['N', 3]);
    const names = new Set(model.graph.initializer.map((t) => t.name));
    for (const key of ['conv1.weight', 'conv1.bias', 'layer1.0.conv1.weight', 'fc.weight', 'fc.bias']) assert.ok(names.has(key), `initializer ${key}`);
    assert.equal(opCount(model, 'BatchNormalization'), 0);
    assert.equal(opCount(model, 'Conv'), 20);
    assert.equal(opCount(model, 'GlobalAveragePool'), 1);
    assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp')), 'no temporary file is left');
    // the module keeps its mode
    assert.equal(net.training, true);
  });
});

/** A module that uses an op ONNX export does not cover, two levels down. */
class Argmaxer extends Module {
  forward(x: Tensor): Tensor {
    return x.add(argmax(x, 1, { keepdim: true }).float());
  }
}

class Block extends Module {
  foo = new Argmaxer();
  forward(x: Tensor): Tensor {
    return this.foo.call(x);
  }
}

class Outer extends Module {
  layer1 = new nn.Sequential(new Block());
  fc = new nn.Linear(4, 2);
  forward(x: Tensor): Tensor {
    return this.fc.call(this.layer1.call(x));
  }
}

class Functional extends Module {
  constructor(readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

describe('exportOnnx: errors', () => {
  test('an unsupported op names the op and the module path', () => {
    assert.throws(
      () => exportOnnxBytes(new Outer(), randn([2, 4])),
      (e: Error) => e instanceof OnnxExportError && e.message === "exportOnnx: 'layer1.0.foo' uses op 'argmax', which ONNX export does not support",
    );
  });

  test("an op that mixes the batch axis with another, or a tensor built on the input's storage, is refused", () => {
    assert.throws(
      () => exportOnnxBytes(new Functional((x) => x.reshape([-1])), randn([2, 4])),
      /the top-level Functional op 'reshape' reshapes \[2, 4\] to \[8\]/,
    );
    assert.throws(() => exportOnnxBytes(new Functional((x) => x.sum(0)), randn([2, 4])), /op 'sum' reduces over the batch axis/);
    assert.throws(
      () => exportOnnxBytes(new Functional((x) => x.add(new Tensor(x.data, x.shape))), randn([2, 4])),
      /reads a tensor made from the input outside the traced ops/,
    );
    assert.throws(() => exportOnnxBytes(new Functional((x) => x.add(randn([2, 4]))), randn([2, 4])), /the batch size would be fixed/);
  });
});

describe('tsvision export', () => {
  const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [...CLI_FLAGS, bin, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, TSVISION_DEBUG: '' } });

  test('writes a tiny checkpoint as ONNX that gives its probabilities in ONNX Runtime; errors are one line', async () => {
    manualSeed(21);
    const net = getModel('small_net', { numClasses: 3, inChannels: 1, imageSize: 16 });
    randomizeBatchNorm(net);
    const preprocessing = {
      resizeSize: 16,
      cropSize: 16,
      interpolation: 'bilinear',
      resizeMode: 'stretch',
      channels: 1,
      mean: [0.5],
      std: [0.5],
      augment: 'none',
    };
    const ckpt = join(dir, 'ckpt');
    saveCheckpoint(ckpt, {
      modelState: net.stateDict(),
      info: { architecture: { name: 'small_net', config: { numClasses: 3, inChannels: 1, imageSize: 16 } }, classes: ['a', 'b', 'c'], preprocessing },
    });
    const r = run('export', '--checkpoint', ckpt, '--format', 'onnx', '--out', 'small.onnx');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^small\.onnx: ONNX opset 17, input \[N, 1, 16, 16\], 3 classes, [\d.]+ MB\n$/);
    const bytes = readFileSync(join(dir, 'small.onnx'));
    const meta = new Map(decode(bytes).metadata_props!.map((e) => [e.key, e.value]));
    assert.deepEqual(JSON.parse(meta.get('classes')!), ['a', 'b', 'c']);
    assert.deepEqual(JSON.parse(meta.get('preprocess')!), preprocessing);
    // the same logits as the checkpoint's Predictor, for a batch of 4
    const predictor = Predictor.fromCheckpoint(ckpt);
    const x = randn([4, 1, 16, 16]);
    const session = await ort.InferenceSession.create(bytes);
    checkClose(
      'tsvision export',
      await runOrt(session, x),
      noGrad(() => (predictor.net as Module).call(x)),
    );

    // [arguments, message, exit status: 2 for a usage error, else 1]
    const errors: [string[], RegExp, number?][] = [
      [['export', '--checkpoint', ckpt, '--format', 'tflite', '--out', 'x.onnx'], /^tsvision export: .*tflite.*\n$/, 2],
      [['export', '--checkpoint', ckpt], /^tsvision export: --out FILE is required\n$/, 2],
      [['export', '--checkpoint', join(dir, 'nothing'), '--out', 'x.onnx'], /^tsvision export: .*nothing.*\n$/],
      [['export', '--checkpoint', ckpt, '--out', join(dir, 'no', 'such', 'x.onnx')], /^tsvision export: the folder of --out .* does not exist\n$/],
      [['export', '--checkpoint', ckpt, '--out', 'x.onnx', '--image-size', '20'], /^tsvision export: the network does not take 20x20 input: .*\n$/],
    ];
    for (const [args, pattern, status = 1] of errors) {
      const e = run(...args);
      assert.equal(e.status, status, args.join(' '));
      assert.match(e.stderr, pattern);
    }
  });
});
