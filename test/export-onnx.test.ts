/**
 * ONNX export, checked in onnxruntime-node (CPU): every registered model, exported at
 * a small input, gives tsvision's logits in ONNX Runtime at batch 2 and at batch 3
 * (the batch dimension is symbolic); layers no registered model uses; the metadata
 * read back with protobufjs; the errors for ops ONNX cannot express.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import { exportOnnx, exportOnnxBytes, OnnxExportError } from '../src/export/index.js';
import { onnxType } from '../src/export/onnx-schema.js';
import { getModel, listModels, modelEntry, type ModelConfig } from '../src/models/index.js';
import * as nn from '../src/nn/index.js';
import { Module } from '../src/nn/module.js';
import { noGrad } from '../src/tensor/autograd.js';
import { argmax } from '../src/tensor/ops/reduce.js';
import { manualSeed, rand, randn } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';

import '../src/tensor/methods.js';

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

describe('exportOnnx: every registered model in ONNX Runtime', () => {
  const times: string[] = [];
  after(() => console.log(`# per-model time (build, export, ONNX Runtime at batch 2 and 3):\n# ${times.join('\n# ')}`));
  for (const name of listModels()) {
    test(name, async () => {
      const t0 = performance.now();
      manualSeed(7);
      const { size, config } = smallConfig(name);
      const net = getModel(name, config);
      randomizeBatchNorm(net);
      const channels = typeof config.inChannels === 'number' ? config.inChannels : 3;
      const x = randn([2, channels, size, size]);
      const { diff, bytes, graph } = await parity(name, net, x);
      assert.equal(opCount(graph, 'BatchNormalization'), 0, `${name}: every batch norm follows a convolution and is folded`);
      times.push(`${name} ${size}px: ${(performance.now() - t0).toFixed(0)} ms, ${(bytes / 1e6).toFixed(1)} MB, max diff ${diff.toExponential(1)}`);
    });
  }
});
