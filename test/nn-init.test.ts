/**
 * nn.init: each initialiser's sample statistics on a large tensor against its
 * formula (mean, standard deviation, bounds), determinism under manualSeed, the
 * gain table and fans, and the float64 normal CDF helpers behind truncNormal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { erfc, normalCdf, normalPpf } from '../src/nn/special.js';

const init = nn.init;

function moments(t: tv.Tensor): { mean: number; std: number; min: number; max: number; n: number } {
  let s = 0;
  let s2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of t.data) {
    s += v;
    s2 += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const n = t.size;
  const mean = s / n;
  return { mean, std: Math.sqrt(s2 / n - mean * mean), min, max, n };
}

/**
 * Sample mean within 5 standard errors of `mean` and sample std within 2% of
 * `std` (its own standard error is about 0.3% at these sizes), within [lo, hi].
 */
function checkStats(t: tv.Tensor, mean: number, std: number, label: string, lo = -Infinity, hi = Infinity): void {
  const m = moments(t);
  assert.ok(Math.abs(m.mean - mean) <= (5 * std) / Math.sqrt(m.n), `${label}: mean ${m.mean}, expected ${mean}`);
  assert.ok(Math.abs(m.std / std - 1) <= 0.02, `${label}: std ${m.std}, expected ${std}`);
  assert.ok(m.min >= lo && m.max <= hi, `${label}: values in [${m.min}, ${m.max}], expected within [${lo}, ${hi}]`);
}

/** U(-r, r): std r/√3, and the samples reach close to both ends. */
function checkUniform(t: tv.Tensor, r: number, label: string): void {
  checkStats(t, 0, r / Math.sqrt(3), label, -r, r);
  const m = moments(t);
  assert.ok(m.max > 0.999 * r && m.min < -0.999 * r, `${label}: range [${m.min}, ${m.max}] does not reach ±${r}`);
}

/** Mean and std of N(mean, std²) truncated to [a, b] (an upper-tail interval by symmetry, where the CDF difference is exact). */
function truncatedMoments(mean: number, std: number, a: number, b: number): [number, number] {
  if (a > mean) {
    const [m, s] = truncatedMoments(-mean, std, -b, -a);
    return [-m, s];
  }
  const al = (a - mean) / std;
  const be = (b - mean) / std;
  const pdf = (z: number) => Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
  const Z = normalCdf(be) - normalCdf(al);
  const d = (pdf(al) - pdf(be)) / Z;
  const v = 1 + (al * pdf(al) - be * pdf(be)) / Z - d * d;
  return [mean + std * d, std * Math.sqrt(v)];
}

const W = () => tv.empty([128, 64, 3, 3]); // fanIn 576, fanOut 1152, 73 728 values

describe('gain and fans', () => {
  test("calculateGain follows PyTorch's table", () => {
    for (const n of ['linear', 'conv1d', 'conv2d', 'conv3d', 'convTranspose2d', 'sigmoid'] as const) assert.equal(init.calculateGain(n), 1);
    assert.equal(init.calculateGain('tanh'), 5 / 3);
    assert.equal(init.calculateGain('relu'), Math.SQRT2);
    assert.equal(init.calculateGain('selu'), 0.75);
    assert.equal(init.calculateGain('leakyRelu'), Math.sqrt(2 / (1 + 0.01 ** 2)));
    assert.equal(init.calculateGain('leakyRelu', 0.2), Math.sqrt(2 / 1.04));
    assert.equal(init.calculateGain('leakyRelu', 0), Math.SQRT2);
    assert.throws(() => init.calculateGain('softmax' as 'relu'), /unsupported nonlinearity "softmax"/);
  });

  test('fans of a linear and a convolution weight', () => {
    assert.deepEqual(init.calculateFanInAndFanOut(tv.empty([3, 5])), [5, 3]);
    assert.deepEqual(init.calculateFanInAndFanOut(W()), [576, 1152]);
    assert.throws(() => init.calculateFanInAndFanOut(tv.empty([5])), /at least 2 dimensions, got shape \[5\]/);
  });
});

describe('distributions', () => {
  test('the statistics check rejects a wrong formula', () => {
    // kaimingNormal uses fanIn by default; checking it against the fanOut std must fail.
    const t = init.kaimingNormal(W(), { nonlinearity: 'relu' });
    assert.throws(() => checkStats(t, 0, Math.sqrt(2 / 1152), 'wrong'), /std/);
    assert.throws(() => checkStats(t, 0.01, Math.sqrt(2 / 576), 'wrong'), /mean/);
    assert.throws(() => checkUniform(init.uniform(W(), { a: -1, b: 0.9 }), 1, 'wrong'), /(mean|range)/);
  });

  test('kaimingNormal: std = gain / √fan', () => {
    checkStats(init.kaimingNormal(W(), { nonlinearity: 'relu' }), 0, Math.sqrt(2 / 576), 'relu fanIn');
    checkStats(init.kaimingNormal(W(), { mode: 'fanOut', nonlinearity: 'relu' }), 0, Math.sqrt(2 / 1152), 'relu fanOut');
    checkStats(init.kaimingNormal(W()), 0, Math.sqrt(2 / 576), 'default leakyRelu a=0');
    checkStats(init.kaimingNormal(W(), { mode: 'fanOut', nonlinearity: 'tanh' }), 0, 5 / 3 / Math.sqrt(1152), 'tanh fanOut');
    checkStats(init.kaimingNormal(W(), { a: 0.2 }), 0, Math.sqrt(2 / 1.04 / 576), 'leakyRelu 0.2');
  });

  test("kaimingUniform: U(±gain·√(3/fan)); a = √5 is U(±1/√fanIn), Linear's default", () => {
    checkUniform(init.kaimingUniform(W(), { nonlinearity: 'relu' }), Math.sqrt(6 / 576), 'relu fanIn');
    checkUniform(init.kaimingUniform(W(), { mode: 'fanOut' }), Math.sqrt(6 / 1152), 'fanOut');
    checkUniform(init.kaimingUniform(W(), { a: Math.sqrt(5) }), 1 / Math.sqrt(576), 'a = √5');
    assert.throws(() => init.kaimingUniform(W(), { mode: 'fan_in' as 'fanIn' }), /mode must be 'fanIn' or 'fanOut'/);
  });

  test('xavier: std = gain·√(2/(fanIn+fanOut)), uniform bound gain·√(6/(fanIn+fanOut))', () => {
    checkUniform(init.xavierUniform(W()), Math.sqrt(6 / 1728), 'xavierUniform');
    checkUniform(init.xavierUniform(W(), { gain: 2 }), 2 * Math.sqrt(6 / 1728), 'xavierUniform gain 2');
    checkStats(init.xavierNormal(W()), 0, Math.sqrt(2 / 1728), 'xavierNormal');
    checkStats(init.xavierNormal(W(), { gain: init.calculateGain('tanh') }), 0, (5 / 3) * Math.sqrt(2 / 1728), 'xavierNormal tanh gain');
  });

  test("truncNormal: within [a, b] with the truncated normal's mean and std", () => {
    const cases: [string, number, number, number, number][] = [
      ['default N(0,1) on [-2, 2]', 0, 1, -2, 2],
      ['N(0.5, 2²) on [-1, 4]', 0.5, 2, -1, 4],
      ['tail N(0,1) on [3, 4]', 0, 1, 3, 4],
      ['far lower tail N(0,1) on [-9, -8]', 0, 1, -9, -8],
      ['far upper tail N(1, 0.5²) on [5, 5.5]', 1, 0.5, 5, 5.5],
      ['std 0.02 on [-2, 2] (ViT style)', 0, 0.02, -2, 2],
    ];
    for (const [label, mean, std, a, b] of cases) {
      const [m, s] = truncatedMoments(mean, std, a, b);
      checkStats(init.truncNormal(W(), { mean, std, a, b }), m, s, label, a, b);
    }
    // the formula itself: N(0,1) on [-2, 2] has std 0.8796
    assert.ok(Math.abs(truncatedMoments(0, 1, -2, 2)[1] - 0.87962) < 1e-4);
    assert.throws(() => init.truncNormal(W(), { a: 1, b: 1 }), /a \(1\) must be less than b \(1\)/);
  });

  test('uniform, normal, constant, zeros, ones', () => {
    checkStats(init.uniform(W(), { a: 2, b: 5 }), 3.5, 3 / Math.sqrt(12), 'uniform', 2, 5);
    checkStats(init.normal(W(), { mean: -1, std: 0.5 }), -1, 0.5, 'normal');
    assert.ok(init.constant(tv.empty([4]), 2.5).data.every((v) => v === 2.5));
    assert.ok(init.zeros(tv.ones([4])).data.every((v) => v === 0));
    assert.ok(init.ones(tv.zeros([4])).data.every((v) => v === 1));
    assert.throws(() => init.normal(tv.zeros([2], { dtype: 'int32' })), /normal: expected a float32 tensor, got int32/);
  });
});

describe('determinism', () => {
  test('manualSeed repeats every initialiser; a Generator option leaves the global one alone', () => {
    const draw = () =>
      [
        init.kaimingNormal(tv.empty([8, 4])),
        init.kaimingUniform(tv.empty([8, 4])),
        init.xavierNormal(tv.empty([8, 4])),
        init.truncNormal(tv.empty([8, 4])),
        init.uniform(tv.empty([8])),
      ].flatMap((t) => Array.from(t.data));
    tv.manualSeed(11);
    const a = draw();
    tv.manualSeed(11);
    assert.deepEqual(draw(), a);
    tv.manualSeed(12);
    assert.notDeepEqual(draw(), a);

    tv.manualSeed(5);
    const next = tv.rand([4]).toFlatArray();
    tv.manualSeed(5);
    const g1 = init.normal(tv.empty([16]), { generator: new tv.Generator(9) });
    assert.deepEqual(tv.rand([4]).toFlatArray(), next, 'the global generator was used');
    assert.deepEqual(Array.from(init.normal(tv.empty([16]), { generator: new tv.Generator(9) }).data), Array.from(g1.data));
  });

  test('initialisation is in place and off the tape', () => {
    const p = new nn.Parameter(tv.zeros([3, 3]));
    const data = p.data;
    assert.equal(init.kaimingUniform(p), p);
    assert.equal(p.data, data);
    assert.equal(p.gradFn, null);
    assert.ok(p.data.some((v) => v !== 0));
  });
});

describe('normal CDF helpers (float64)', () => {
  test('erfc against known values', () => {
    const known: [number, number][] = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2.9, 4.109787809945886e-5],
      [3, 2.2090496998585438e-5],
      [5, 1.5374597944280351e-12],
      [10, 2.088487583762545e-45],
      [-1, 1.842700792949715],
    ];
    for (const [x, v] of known) assert.ok(Math.abs(erfc(x) / v - 1) < 1e-12, `erfc(${x}) = ${erfc(x)}, expected ${v}`);
  });

  test('normalPpf inverts normalCdf', () => {
    const known: [number, number][] = [
      [0.975, 1.9599639845400536],
      [1e-10, -6.361340902404056],
      [0.3, -0.5244005127080407],
      [1 - 1e-9, 5.997807019601638],
    ];
    for (const [p, z] of known) assert.ok(Math.abs(normalPpf(p) - z) < 1e-7 * Math.max(1, Math.abs(z)), `normalPpf(${p}) = ${normalPpf(p)}, expected ${z}`);
    for (const z of [-8, -3, -0.1, 0, 1.5, 4]) assert.ok(Math.abs(normalPpf(normalCdf(z)) - z) < 1e-9, `round trip at ${z}`);
  });
});
