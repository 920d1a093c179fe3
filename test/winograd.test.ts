/**
 * Winograd F(4x4, 3x3) convolution (native/kernels/winograd.cc, ConvOptions.winograd): the
 * same outputs as the direct convolution (itself checked against PyTorch) to float32
 * rounding, on every ISA path, for sizes that are not multiples of the tile, every padding,
 * odd channel counts, with and without bias and activation; the direct path wherever it
 * does not apply (tape on, too few tiles, stride, groups); a picture's result independent
 * of its batch; and the inference form of a ResNet running its 3x3 layers through it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backend, type Activation } from '../src/backend/index.js';
import { conv, manualSeed, noGrad, randn, WinogradWeights, WINOGRAD_MIN_TILES, type Tensor } from '../src/index.js';
import { getModel } from '../src/models/index.js';
import * as nn from '../src/nn/index.js';
import { onEveryIsa } from './helpers.js';

const native = backend().name === 'native';

/** max |a - b| / max |scale| (scale: b) */
function relErr(a: Tensor, b: Tensor, scale = b): number {
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  assert.equal(x.length, y.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  for (const v of scale.data as Float32Array) s = Math.max(s, Math.abs(v));
  return d / Math.max(s, 1e-30);
}

const bitEqual = (a: Tensor, b: Tensor) => Buffer.from((a.data as Float32Array).buffer).equals(Buffer.from((b.data as Float32Array).buffer));

const RELU6: Activation = { op: 'clamp', p0: 0, p1: 6 };

// [batch, cIn, cOut, height, width, padding, bias, activation]
const CASES: [number, number, number, number, number, number, boolean, Activation | null][] = [
  [1, 8, 8, 16, 16, 1, true, { op: 'relu' }],
  [2, 3, 5, 17, 19, 1, true, null],
  [1, 1, 1, 18, 18, 0, false, null],
  [3, 16, 33, 15, 22, 2, true, { op: 'silu' }],
  [1, 33, 17, 29, 13, 1, false, RELU6],
  [2, 64, 48, 28, 28, 1, true, { op: 'relu' }],
];

test('winograd: F(4x4, 3x3) gives the direct convolution to float32 rounding on every ISA', { skip: !native }, () => {
  manualSeed(3);
  for (const [n, cIn, cOut, h, w, padding, withBias, act] of CASES) {
    const x = randn([n, cIn, h, w]);
    const weight = randn([cOut, cIn, 3, 3]);
    const bias = withBias ? randn([cOut]) : null;
    const options = { padding, ...(act ? { activation: act } : {}) };
    const wino = new WinogradWeights(weight);
    const label = `[${n}, ${cIn}, ${h}, ${w}] -> ${cOut}, padding ${padding}, bias ${withBias}, ${act?.op ?? 'no activation'}`;
    onEveryIsa((isa) => {
      const direct = noGrad(() => conv(x, weight, bias, options));
      const fast = noGrad(() => conv(x, weight, bias, { ...options, winograd: wino }));
      assert.deepEqual(fast.shape, direct.shape);
      // Against a float64 sum the direct method errs by about 5e-7 of the largest output and F(4x4, 3x3) by
      // 3e-6 to 1e-5 (most in the tile's last row and column, where A's constants reach 8), growing with cIn.
      const err = relErr(
        fast,
        direct,
        noGrad(() => conv(x, weight, bias, { padding })),
      );
      assert.ok(err < 2e-5, `${isa} ${label}: relative error ${err}`);
      assert.ok(!bitEqual(fast, direct) || cIn * cOut === 1, `${isa} ${label}: the Winograd path did not run`);
    });
  }
});

test('winograd: the direct path runs with the tape on, below the tile count, and for other geometries', { skip: !native }, () => {
  manualSeed(4);
  const weight = randn([6, 4, 3, 3]);
  const wino = new WinogradWeights(weight);
  const same = (x: Tensor, options: Parameters<typeof conv>[3]) =>
    assert.ok(bitEqual(conv(x, weight, null, { ...options, winograd: wino }), conv(x, weight, null, options)), JSON.stringify({ shape: x.shape, options }));
  const x = randn([1, 4, 16, 16]);
  same(x.requiresGrad_(), { padding: 1 }); // tape on: the op must record its backward
  noGrad(() => {
    const side = 4 * Math.floor(Math.sqrt(WINOGRAD_MIN_TILES - 1)); // one tile row short of the minimum, per image
    same(randn([8, 4, side, side]), { padding: 1 });
    same(randn([1, 4, 32, 32]), { padding: 1, stride: 2 });
    same(randn([1, 4, 32, 32]), { padding: 2, dilation: 2 });
  });
  assert.throws(() => noGrad(() => conv(randn([1, 4, 16, 16]), randn([6, 4, 3, 3]), null, { padding: 1, winograd: wino })), /another weight/);
});

test('winograd: a picture gives the same bits alone and in a batch', { skip: !native }, () => {
  manualSeed(5);
  const weight = randn([24, 16, 3, 3]);
  const wino = new WinogradWeights(weight);
  const batch = randn([3, 16, 20, 20]);
  noGrad(() => {
    const together = conv(batch, weight, null, { padding: 1, winograd: wino });
    for (let i = 0; i < 3; i++) {
      const alone = conv(batch.slice(0, i, i + 1), weight, null, { padding: 1, winograd: wino });
      assert.ok(bitEqual(alone, together.slice(0, i, i + 1)), `picture ${i}`);
    }
  });
});

test('winograd: the inference form of resnet18 runs its 3x3 stride-1 layers through it and gives the plain outputs', { skip: !native }, () => {
  manualSeed(6);
  const net = getModel('resnet18', { numClasses: 5 }).eval();
  const x = randn([2, 3, 112, 112]);
  const plain = noGrad(() => net.call(x));
  const fused = nn.fuseForInference(net, x);
  const b = backend();
  const original = b.convForwardWinograd!;
  let calls = 0;
  b.convForwardWinograd = (...args) => {
    calls++;
    original(...args);
  };
  try {
    const y = noGrad(() => net.call(x));
    // 28x28 (layer1: 4 convolutions) and 14x14 (layer2: 3) have enough tiles; 7x7 and 4x4 do not
    assert.equal(calls, 7);
    assert.ok(relErr(y, plain) < 1e-4, `relative error ${relErr(y, plain)}`);
  } finally {
    b.convForwardWinograd = original;
    fused.remove();
  }
});
