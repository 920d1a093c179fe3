/** Tensor behaviour: creation, dtypes, random generators, autograd semantics, errors and memory. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import { assertClose, assertShape } from './helpers.js';

describe('creation', () => {
  test('tensor from nested arrays, flat values with a shape, and typed arrays', () => {
    const a = tv.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assertShape(a, [2, 3]);
    assert.equal(a.dtype, 'float32');
    assert.deepEqual(a.toArray(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assertShape(tv.tensor([1, 2, 3, 4], { shape: [2, 2] }), [2, 2]);
    assert.equal(tv.tensor(new Int32Array([1, 2])).dtype, 'int32');
    assert.equal(tv.tensor(new Uint8Array([1, 2])).dtype, 'uint8');
    assert.equal(tv.scalar(3).item(), 3);
    assertShape(tv.scalar(3), []);
    assert.throws(() => tv.tensor([[1, 2], [3]]), /do not fill shape/);
    const f64 = tv.tensor(new Float64Array([1.5, 2]));
    assert.equal(f64.dtype, 'float32');
    assert.deepEqual(f64.toFlatArray(), [1.5, 2]);
    assert.throws(() => new tv.Tensor(new Float64Array(2) as never, [2]), /Float32Array, Int32Array or Uint8Array, got Float64Array/);
  });

  test('zeros, ones, full, arange, linspace, eye', () => {
    assert.deepEqual(tv.zeros([2, 2]).toFlatArray(), [0, 0, 0, 0]);
    assert.deepEqual(tv.ones([3], { dtype: 'int32' }).toFlatArray(), [1, 1, 1]);
    assert.deepEqual(tv.full([2], 7).toFlatArray(), [7, 7]);
    assert.deepEqual(tv.arange(5).toFlatArray(), [0, 1, 2, 3, 4]);
    assert.deepEqual(tv.arange(1, 2, 0.25).toFlatArray(), [1, 1.25, 1.5, 1.75]);
    assert.deepEqual(tv.linspace(0, 1, 5).toFlatArray(), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(tv.eye(2, 3).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    // A large full() goes through the native fill, never leaving stale pool contents.
    const big = tv.full([300, 300], 0.5);
    assert.ok(big.data.every((v) => v === 0.5));
  });

  test('empty tensors flow through ops', () => {
    const e = tv.zeros([0, 3]);
    assertShape(tv.add(e, 1), [0, 3]);
    assertShape(tv.sum(e, 0), [3]);
    assert.deepEqual(tv.sum(e, 0).toFlatArray(), [0, 0, 0]);
    assertShape(tv.matmul(tv.zeros([2, 0]), tv.zeros([0, 4])), [2, 4]);
    assert.deepEqual(tv.matmul(tv.zeros([2, 0]), tv.zeros([0, 4])).toFlatArray(), new Array(8).fill(0));
    assertShape(tv.concat([e, tv.ones([2, 3])]), [2, 3]);
  });
});

describe('random', () => {
  test('manualSeed makes every generator repeat', () => {
    tv.manualSeed(42);
    const a = [tv.rand([5]), tv.randn([5]), tv.randint(0, 10, [5]), tv.bernoulli(0.3, [5]), tv.permutation(6)];
    tv.manualSeed(42);
    const b = [tv.rand([5]), tv.randn([5]), tv.randint(0, 10, [5]), tv.bernoulli(0.3, [5]), tv.permutation(6)];
    a.forEach((t, i) => assert.deepEqual(t.toFlatArray(), b[i].toFlatArray()));
    tv.manualSeed(43);
    assert.notDeepEqual(tv.rand([5]).toFlatArray(), a[0].toFlatArray());
    const saved = tv.defaultGenerator();
    tv.manualSeed(42);
    assert.deepEqual(
      Array.from({ length: 5 }, () => Math.fround(saved.random())),
      a[0].toFlatArray(),
      'a saved reference follows manualSeed',
    );
  });

  test('distributions have the right moments and ranges', () => {
    tv.manualSeed(7);
    const u = tv.rand([100000]);
    assert.ok(u.data.every((v) => v >= 0 && v < 1));
    assert.ok(Math.abs(tv.mean(u).item() - 0.5) < 0.01);
    const n = tv.randn([100000]);
    assert.ok(Math.abs(tv.mean(n).item()) < 0.02);
    assert.ok(Math.abs(tv.variance(n).item() - 1) < 0.03);
    const r = tv.randint(-3, 4, [10000]);
    assert.equal(r.dtype, 'int32');
    assert.ok(r.data.every((v) => v >= -3 && v < 4));
    assert.equal(new Set(r.data).size, 7);
    assert.ok(Math.abs(tv.mean(tv.bernoulli(0.25, [100000])).item() - 0.25) < 0.01);
    const p = tv.permutation(1000);
    assert.deepEqual(
      [...p.data].sort((x, y) => x - y),
      [...Array(1000).keys()],
    );
    const probs = tv.tensor([0, 1, 0, 1]);
    assert.deepEqual(tv.bernoulli(probs).toFlatArray(), [0, 1, 0, 1]);
  });
});

describe('autograd', () => {
  test('hand-derivable: y = x^2 + 5x + 4 gives dy/dx = 2x + 5', () => {
    const x = tv.tensor([3, 1, 4], { requiresGrad: true });
    tv.sum(tv.add(tv.add(tv.mul(x, x), tv.mul(x, 5)), 4)).backward();
    assert.deepEqual(x.grad!.toFlatArray(), [11, 7, 13]);
  });

  test('gradients accumulate across backward calls until cleared', () => {
    const x = tv.tensor([1, 2], { requiresGrad: true });
    tv.sum(tv.mul(x, 3)).backward();
    tv.sum(tv.mul(x, 3)).backward();
    assert.deepEqual(x.grad!.toFlatArray(), [6, 6]);
    x.grad = null;
    tv.sum(x).backward();
    assert.deepEqual(x.grad!.toFlatArray(), [1, 1]);
  });

  test('a leaf used twice gets the sum of both paths, and its grad is its own copy', () => {
    const x = tv.tensor([2], { requiresGrad: true });
    const y = tv.add(x, x);
    y.backward(tv.tensor([1]));
    assert.deepEqual(x.grad!.toFlatArray(), [2]);
  });

  test('backward of a non-scalar needs a gradient of its shape', () => {
    const x = tv.tensor([1, 2, 3], { requiresGrad: true });
    const y = tv.mul(x, 2);
    assert.throws(() => y.backward(), /gradient argument is needed.*\[3\]/);
    assert.throws(() => y.backward(tv.ones([2])), /gradient shape \[2\] does not match tensor shape \[3\]/);
    y.backward(tv.tensor([1, 0, 2]));
    assert.deepEqual(x.grad!.toFlatArray(), [2, 0, 4]);
  });

  test('noGrad records nothing; detach cuts the tape', () => {
    const x = tv.tensor([1, 2], { requiresGrad: true });
    const y = tv.noGrad(() => tv.mul(x, 2));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.gradFn, null);
    const d = tv.mul(x, 2).detach();
    assert.equal(d.requiresGrad, false);
    const z = tv.add(tv.mul(x.detach(), 5), x);
    tv.sum(z).backward();
    assert.deepEqual(x.grad!.toFlatArray(), [1, 1]);
    assert.equal(tv.isGradEnabled(), true);
  });

  test('a freed graph says so; retainGraph allows a second pass', () => {
    const x = tv.tensor([1, 2], { requiresGrad: true });
    const y = tv.sum(tv.exp(x));
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assertClose(x.grad!, [2 * Math.E, 2 * Math.E ** 2], { rtol: 1e-6 });
    assert.throws(() => y.backward(), /already freed/);
  });

  test('backward on a tensor that needs no grad explains why', () => {
    assert.throws(() => tv.sum(tv.ones([2])).backward(), /does not require grad/);
  });

  test('only float32 tensors can require grad', () => {
    assert.throws(() => tv.tensor([1], { dtype: 'int32', requiresGrad: true }), /only float32/);
  });
});

describe('errors', () => {
  test('shape mismatches name the op and both shapes', () => {
    assert.throws(() => tv.add(tv.ones([2, 3]), tv.ones([4])), { name: 'ShapeError', message: 'add: shapes [2, 3] and [4] cannot be broadcast together' });
    assert.throws(() => tv.matmul(tv.ones([2, 3]), tv.ones([4, 5])), /matmul: shapes \[2, 3\] and \[4, 5\] do not fit/);
    assert.throws(() => tv.reshape(tv.ones([2, 3]), [4, 2]), /reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4, 2\]/);
    assert.throws(() => tv.concat([tv.ones([2, 3]), tv.ones([2, 4])], 0), /concat: shapes \[2, 3\] and \[2, 4\]/);
    assert.throws(() => tv.gather(tv.ones([2, 3]), 1, tv.zeros([3, 1], { dtype: 'int32' })), /gather: index shape \[3, 1\]/);
    assert.throws(() => tv.sum(tv.ones([2]), 3), /dimension 3 is out of range for a tensor of rank 1/);
  });

  test('dtype mismatches name the op and the dtypes', () => {
    const i = tv.ones([2], { dtype: 'int32' });
    assert.throws(() => tv.add(tv.ones([2]), i), { name: 'DTypeError', message: 'add: expected float32 operands, got float32 and int32' });
    assert.throws(() => tv.exp(i), /exp: expected float32 operands, got int32/);
    assert.throws(() => tv.indexSelect(tv.ones([3]), 0, tv.ones([1])), /indexSelect: expected int32, got float32/);
    assert.throws(() => tv.where(tv.ones([2]), 1, 0), /where: the condition must be a uint8 mask, got float32/);
  });

  test('bad shapes are named', () => {
    assert.throws(() => tv.zeros([2.5]), /zeros|full: a shape is a list of non-negative integers, got \[2.5\]/);
    assert.throws(() => tv.ones([-1]), /non-negative integers, got \[-1\]/);
    assert.throws(() => tv.randn([undefined as unknown as number]), /non-negative integers/);
  });

  test('comparisons and sums accept int32 labels and uint8 masks', () => {
    const labels = tv.tensor([0, 2, 1, 2], { dtype: 'int32' });
    const pred = tv.argmax(
      tv.tensor([
        [1, 0, 0],
        [0, 0, 1],
        [0, 0, 1],
        [0, 0, 1],
      ]),
      1,
    );
    const hits = tv.eq(pred, labels);
    assert.deepEqual(hits.toFlatArray(), [1, 1, 0, 1]);
    assert.equal(tv.sum(hits).item(), 3);
    assert.equal(tv.sum(labels).item(), 5);
  });

  test('toString shows NaN and Infinity', () => {
    assert.equal(String(tv.tensor([NaN, Infinity, 1])), 'Tensor([NaN, Infinity, 1], shape=[3], dtype=float32)');
  });

  test('out-of-range indices are refused before any kernel runs', () => {
    assert.throws(() => tv.indexSelect(tv.ones([3]), 0, tv.tensor([3], { dtype: 'int32' })), /index 3 is out of range for a dimension of size 3/);
  });

  test('NaN and Inf propagate as numbers', () => {
    const x = tv.tensor([NaN, Infinity, -Infinity, 1]);
    assert.ok(Number.isNaN(tv.sum(x).item()));
    assert.deepEqual(tv.relu(x).toFlatArray().map(String), ['NaN', 'Infinity', '0', '1']);
    assert.ok(Number.isNaN(tv.max(x).item()));
    assert.deepEqual(tv.exp(tv.tensor([-Infinity, Infinity])).toFlatArray(), [0, Infinity]);
    assert.deepEqual(
      tv
        .div(tv.tensor([1, -1, 0]), 0)
        .toFlatArray()
        .map(String),
      ['Infinity', '-Infinity', 'NaN'],
    );
    const s = tv.softmax(tv.tensor([1000, 0]), 0);
    assert.deepEqual(s.toFlatArray(), [1, 0]);
  });
});

describe('ops', () => {
  test('comparisons give uint8 masks and where selects', () => {
    const a = tv.tensor([1, 2, 3]);
    assert.equal(tv.gt(a, 2).dtype, 'uint8');
    assert.deepEqual(tv.gt(a, 2).toFlatArray(), [0, 0, 1]);
    assert.deepEqual(tv.le(a, tv.tensor([2])).toFlatArray(), [1, 1, 0]);
    assert.deepEqual(tv.where(tv.eq(a, 2), a, tv.neg(a)).toFlatArray(), [-1, 2, -3]);
  });

  test('argmax and argmin pick the first extreme', () => {
    const x = tv.tensor([
      [1, 5, 5],
      [7, 0, 0],
    ]);
    assert.deepEqual(tv.argmax(x, 1).toFlatArray(), [1, 0]);
    assert.deepEqual(tv.argmin(x, 1).toFlatArray(), [0, 1]);
    assert.equal(tv.argmax(x).item(), 3);
    assertShape(tv.argmax(x, 0, { keepdim: true }), [1, 3]);
  });

  test('methods chain like PyTorch', () => {
    const x = tv.arange(6).reshape([2, 3]);
    assert.deepEqual(x.transpose().toArray(), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assert.deepEqual(x.sum(1).toFlatArray(), [3, 12]);
    assert.deepEqual(x.mul(2).add(1).max(0).toFlatArray(), [7, 9, 11]);
    assert.deepEqual(x.slice(1, 0, 3, 2).toArray(), [
      [0, 2],
      [3, 5],
    ]);
    assert.deepEqual(x.to('int32').dtype, 'int32');
    assert.deepEqual(tv.tensor([1.7, -1.7]).to('int32').toFlatArray(), [1, -1]);
  });

  test('batchNorm updates running statistics as PyTorch does (unbiased running variance)', () => {
    const x = tv.tensor([[1], [3]]);
    const rm = tv.zeros([1]);
    const rv = tv.ones([1]);
    const y = tv.batchNorm(x, rm, rv, null, null, { training: true, momentum: 0.1 });
    assertClose(rm, [0.2], { rtol: 1e-6 });
    assertClose(rv, [1.1], { rtol: 1e-6 });
    assertClose(y, [-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5)], { rtol: 1e-6 });
    const e = tv.batchNorm(x, rm, rv, tv.tensor([2]), tv.tensor([1]), { training: false });
    assertClose(e, [(2 * (1 - 0.2)) / Math.sqrt(1.1 + 1e-5) + 1, (2 * (3 - 0.2)) / Math.sqrt(1.1 + 1e-5) + 1], { rtol: 1e-6 });
    assert.throws(() => tv.batchNorm(tv.ones([1, 2]), null, null, null, null, { training: true }), /more than 1 value per channel/);
  });

  test('reshape shares storage; permute copies', () => {
    const x = tv.arange(6);
    assert.equal(x.reshape([2, 3]).data, x.data);
    assert.notEqual(x.reshape([2, 3]).permute([1, 0]).data, x.data);
  });
});

describe('memory', () => {
  test('a long loop of large ops reuses pooled blocks and does not grow', { skip: tv.backendName() !== 'native' }, async () => {
    const step = () => {
      const a = tv.rand([256, 1024]);
      return tv.sum(tv.relu(tv.add(tv.mul(a, 2), 1))).item();
    };
    for (let i = 0; i < 50; i++) step();
    globalThis.gc?.();
    const before = tv.memoryStats();
    for (let i = 0; i < 300; i++) step();
    const after = tv.memoryStats();
    // 300 steps allocate ~1.2 GB in all; live plus cached memory must stay bounded.
    assert.ok(after.liveBytes + after.cachedBytes < 400e6, `pool holds ${(after.liveBytes + after.cachedBytes) / 1e6} MB`);
    assert.ok(after.hits - before.hits > 600, `only ${after.hits - before.hits} pool hits`);
  });
});
