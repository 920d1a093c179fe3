/**
 * fuseForInference: batch norm folded into convolutions and activations in their
 * epilogue give the plain network's outputs; what hooks cannot see (a tensor used
 * again between modules) is caught by the check and left unfused; training and the
 * tape run the plain layers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualSeed, noGrad, randn, add, relu, conv2d, Tensor } from '../src/index.js';
import { getModel } from '../src/models/index.js';
import * as nn from '../src/nn/index.js';
import { assertClose } from './helpers.js';

/** A network's batch norms given non-trivial statistics and affine maps, so that folding them changes the weights. */
function randomiseBatchNorms(net: nn.Module): void {
  for (const m of net.modules()) {
    if (!(m instanceof nn.BatchNormNd)) continue;
    const c = m.numFeatures;
    m.running_mean!.data.set(randn([c]).data);
    m.running_var!.data.set(Float32Array.from(randn([c]).data as Float32Array, (v) => 0.5 + Math.abs(v)));
    m.weight!.data.set(randn([c]).data);
    m.bias!.data.set(randn([c]).data);
  }
}

for (const [name, folded, activations] of [
  ['resnet18', 20, 9],
  ['mobilenet_v2', 52, 35],
  ['efficientnet_b0', 49, 65],
] as const) {
  test(`fuseForInference: ${name} folds ${folded} batch norms and fuses ${activations} activations, giving the plain outputs`, () => {
    manualSeed(1);
    const net = getModel(name, { numClasses: 7 }).eval();
    randomiseBatchNorms(net);
    const x = randn([2, 3, 64, 64]);
    const plain = noGrad(() => net.call(x));
    const f = nn.fuseForInference(net, x);
    assert.equal(f.folded, folded);
    assert.equal(f.activations, activations);
    assert.ok(f.error < 1e-4, `relative error ${f.error}`);
    const y = randn([3, 3, 64, 64]);
    const plainY = (() => {
      f.remove();
      const r = noGrad(() => net.call(y));
      nn.fuseForInference(net, x);
      return r;
    })();
    const fusedY = noGrad(() => net.call(y));
    const scale = Math.max(...Array.from(plainY.data as Float32Array, Math.abs));
    assertClose(fusedY.data as Float32Array, plainY.data as Float32Array, { rtol: 0, atol: 1e-4 * scale, label: name });
    assert.equal(plain.shape.join(), '2,7');
  });
}

class ReusesActivationInput extends nn.Module {
  conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(4);
  act = new nn.ReLU();
  forward(x: Tensor) {
    const y = this.bn.call(this.conv.call(x));
    return add(this.act.call(y), y); // y is used again, unseen by hooks
  }
}

class ReusesConvOutput extends nn.Module {
  conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(4);
  forward(x: Tensor) {
    const y = this.conv.call(x);
    return add(this.bn.call(y), y); // the convolution's own output is used again
  }
}

test('fuseForInference: a tensor used again between modules keeps the plain layers that make it', () => {
  manualSeed(2);
  const x = randn([2, 3, 8, 8]);
  const a = new ReusesActivationInput().eval();
  randomiseBatchNorms(a);
  const plainA = noGrad(() => a.call(x));
  const fa = nn.fuseForInference(a, x);
  assert.deepEqual([fa.folded, fa.activations], [1, 0], 'the fold keeps values; the activation would not');
  assertClose(noGrad(() => a.call(x)).data as Float32Array, plainA.data as Float32Array, { rtol: 1e-5, atol: 1e-5 });

  const b = new ReusesConvOutput().eval();
  randomiseBatchNorms(b);
  const plainB = noGrad(() => b.call(x));
  const fb = nn.fuseForInference(b, x);
  assert.deepEqual([fb.folded, fb.activations], [0, 0]);
  assert.deepEqual(noGrad(() => b.call(x)).data, plainB.data);
});

test('fuseForInference: training mode and the tape run the plain layers; remove() takes the fused forms off', () => {
  manualSeed(3);
  const net = getModel('resnet18', { numClasses: 3 }).eval();
  randomiseBatchNorms(net);
  const x = randn([2, 3, 32, 32]);
  const f = nn.fuseForInference(net, x);
  assert.ok(f.folded > 0);
  const conv1 = net.getSubmodule('conv1') as nn.Conv2d;
  // the tape on: the plain layers, so gradients reach the convolution's own weight
  const out = net.call(x);
  out.sum().backward();
  assert.ok(conv1.weight.grad, 'the gradient reaches conv1.weight');
  // training mode: batch statistics, not the folded running ones
  net.train();
  const trainOut = noGrad(() => net.call(x));
  f.remove();
  const plainTrain = noGrad(() => net.call(x));
  assert.deepEqual(trainOut.data, plainTrain.data);
  net.eval();
  assert.equal(conv1.inferenceConv, null);
  assert.equal((net.getSubmodule('bn1') as nn.BatchNorm2d).foldedForInference, false);
});

test('conv2d with an epilogue activation equals the activation of the convolution, with and without the tape', () => {
  manualSeed(4);
  const x = randn([2, 3, 9, 9]);
  const w = randn([5, 3, 3, 3]);
  const b = randn([5]);
  const expected = relu(conv2d(x, w, b, { padding: 1 }));
  const fused = noGrad(() => conv2d(x, w, b, { padding: 1, activation: { op: 'relu' } }));
  assertClose(fused.data as Float32Array, expected.data as Float32Array, { rtol: 1e-6, atol: 1e-6 });
  w.requiresGrad = true;
  const taped = conv2d(x, w, b, { padding: 1, activation: { op: 'relu' } });
  taped.sum().backward();
  const w2 = new Tensor(w.data, w.shape);
  w2.requiresGrad = true;
  relu(conv2d(x, w2, b, { padding: 1 }))
    .sum()
    .backward();
  assertClose(w.grad!.data as Float32Array, w2.grad!.data as Float32Array, { rtol: 1e-6, atol: 1e-6 });
});
