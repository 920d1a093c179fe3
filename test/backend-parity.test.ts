/**
 * The native kernels against the reference kernels on random shapes, including
 * awkward sizes (1, primes, non-multiples of the SIMD width, empty dimensions).
 * Each primitive of the Backend interface is exercised directly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addon, nativeBackend, referenceBackend, UNARY_OPS, BINARY_OPS, COMPARE_OPS, REDUCE_OPS } from '../src/backend/index.js';
import { broadcastStrides, contiguousStrides } from '../src/tensor/shape.js';
import { assertClose, gen, onEveryIsa } from './helpers.js';

const nat = nativeBackend!;
const ref = referenceBackend;
const SIZES = [0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 127, 1000, 40000];

function randArray(n: number, lo = -3, hi = 3): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * gen.random();
  return a;
}

function randShape(maxRank = 4, maxDim = 9): number[] {
  const rank = gen.int(0, maxRank + 1);
  return Array.from({ length: rank }, () => (gen.random() < 0.1 ? gen.int(0, 2) : gen.int(1, maxDim + 1)));
}

/** A shape that broadcasts against `shape`: some dims set to 1, some leading dims dropped. */
function broadcastable(shape: number[]): number[] {
  const drop = gen.int(0, shape.length + 1);
  return shape.slice(drop).map((d) => (gen.random() < 0.4 ? 1 : d));
}

const size = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

describe('native backend against reference', { skip: !nativeBackend && 'the native addon is not built' }, () => {
  test('unary maps at their edges: overflow, underflow, tiny, NaN, infinities', () => {
    const x = new Float32Array([-1e30, -104, -88, -87.3, -50, -9.5, -1e-8, 0, 1e-8, 0.2, 0.26, 9.5, 50, 88.7, 88.72, 89, 1e30, NaN, Infinity, -Infinity]);
    onEveryIsa((isa) => {
      for (const op of ['exp', 'sigmoid', 'tanh', 'silu', 'geluTanh', 'relu', 'hardswish'] as const) {
        const yn = new Float32Array(x.length);
        const yr = new Float32Array(x.length);
        nat.unary(op, x, yn, 0, 0);
        ref.unary(op, x, yr, 0, 0);
        assertClose(yn, yr, { rtol: 3e-7, atol: 1e-30, label: `${isa} ${op} edges` });
      }
    });
  });

  test('unary and unaryBackward, every op, every ISA', () =>
    onEveryIsa((isa) => {
      for (const op of UNARY_OPS) {
        for (const n of SIZES) {
          const positive = op === 'log' || op === 'sqrt' || op === 'rdiv' || op === 'powScalar';
          const x = randArray(n, positive ? 0.1 : -8, positive ? 4 : 8);
          const [p0, p1] =
            op === 'clamp'
              ? [-1, 2]
              : op === 'leakyRelu'
                ? [0.2, 0]
                : op === 'powScalar'
                  ? [2.5, 0]
                  : op === 'affine'
                    ? [1.5, -0.5]
                    : op === 'rdiv'
                      ? [3, 0]
                      : [0, 0];
          const yn = new Float32Array(n);
          const yr = new Float32Array(n);
          nat.unary(op, x, yn, p0, p1);
          ref.unary(op, x, yr, p0, p1);
          assertClose(yn, yr, { rtol: 2e-6, atol: 1e-6, label: `${isa} ${op} forward n=${n}` });
          const gy = randArray(n);
          const dn = new Float32Array(n);
          const dr = new Float32Array(n);
          nat.unaryBackward(op, x, yr, gy, dn, p0, p1);
          ref.unaryBackward(op, x, yr, gy, dr, p0, p1);
          // float32 cancellation in the tails (e.g. 1 + tanh(u) for u << 0) limits the absolute accuracy
          assertClose(dn, dr, { rtol: 1e-5, atol: 1e-5, label: `${isa} ${op} backward n=${n}` });
        }
      }
    }));

  test('binary and compare with broadcasting, every ISA', () =>
    onEveryIsa(() => {
      for (let trial = 0; trial < 60; trial++) {
        const shape = randShape();
        const sa = gen.random() < 0.5 ? shape : broadcastable(shape);
        const sb = gen.random() < 0.5 ? shape : broadcastable(shape);
        const a = randArray(size(sa), 0.2, 3);
        const b = randArray(size(sb), 0.2, 3);
        if (a.length > 0) b[0] = a[0]; // a tie, for the comparisons
        const as = broadcastStrides(sa, shape);
        const bs = broadcastStrides(sb, shape);
        for (const op of BINARY_OPS) {
          const on = new Float32Array(size(shape));
          const or = new Float32Array(size(shape));
          nat.binary(op, shape, a, as, b, bs, on);
          ref.binary(op, shape, a, as, b, bs, or);
          assertClose(on, or, { rtol: 2e-6, label: `${op} ${JSON.stringify([sa, sb, shape])}` });
        }
        for (const op of COMPARE_OPS) {
          const on = new Uint8Array(size(shape));
          const or = new Uint8Array(size(shape));
          nat.compare(op, shape, a, as, b, bs, on);
          ref.compare(op, shape, a, as, b, bs, or);
          assert.deepEqual(on, or, `${op} ${JSON.stringify(shape)}`);
        }
        const c = new Uint8Array(size(sa)).map(() => (gen.random() < 0.5 ? 1 : 0));
        const wn = new Float32Array(size(shape));
        const wr = new Float32Array(size(shape));
        nat.where(shape, c, as, a, as, b, bs, wn);
        ref.where(shape, c, as, a, as, b, bs, wr);
        assert.deepEqual(wn, wr, `where ${JSON.stringify(shape)}`);
      }
    }));

  test('large binary ops split single rows across threads', () => {
    for (const [sa, sb] of [
      [[200003], [200003]],
      [[200003], [1]],
      [[1], [200003]],
      [[3, 70001], [70001]],
      [
        [70001, 1],
        [70001, 2],
      ],
    ]) {
      const shape =
        sa.length >= sb.length
          ? sa.map((d, i) => Math.max(d, sb[i - (sa.length - sb.length)] ?? 1))
          : sb.map((d, i) => Math.max(d, sa[i - (sb.length - sa.length)] ?? 1));
      const a = randArray(size(sa));
      const b = randArray(size(sb));
      const on = new Float32Array(size(shape));
      const or = new Float32Array(size(shape));
      nat.binary('mul', shape, a, broadcastStrides(sa, shape), b, broadcastStrides(sb, shape), on);
      ref.binary('mul', shape, a, broadcastStrides(sa, shape), b, broadcastStrides(sb, shape), or);
      assertClose(on, or, { rtol: 1e-7, label: JSON.stringify([sa, sb]) });
      const cn = new Float32Array(size(shape));
      nat.copyStrided(shape, a, 0, broadcastStrides(sa, shape), cn, 0, contiguousStrides(shape));
      const cr = new Float32Array(size(shape));
      ref.copyStrided(shape, a, 0, broadcastStrides(sa, shape), cr, 0, contiguousStrides(shape));
      assert.deepEqual(cn, cr);
    }
  });

  test('binary propagates NaN and Inf', () => {
    const a = new Float32Array([NaN, 1, Infinity, -Infinity, 0]);
    const b = new Float32Array([1, NaN, 1, Infinity, 0]);
    for (const op of BINARY_OPS) {
      const on = new Float32Array(5);
      const or = new Float32Array(5);
      nat.binary(op, [5], a, [1], b, [1], on);
      ref.binary(op, [5], a, [1], b, [1], or);
      assertClose(on, or, { label: op });
    }
  });

  test('reduce, argReduce, softmax on [outer, r, inner], every ISA', () =>
    onEveryIsa(() => {
      const dims = [
        [1, 1, 1],
        [3, 17, 1],
        [1, 1000, 1],
        [2, 5, 7],
        [4, 33, 3],
        [1, 200000, 1],
        [0, 3, 2],
        [3, 0, 2],
        [5, 1, 16],
      ];
      for (const [outer, r, inner] of dims) {
        const x = randArray(outer * r * inner, -5, 5);
        for (const op of REDUCE_OPS) {
          if (r === 0 && op !== 'sum') continue;
          const on = new Float32Array(outer * inner);
          const or = new Float32Array(outer * inner);
          nat.reduce(op, x, outer, r, inner, on);
          ref.reduce(op, x, outer, r, inner, or);
          assertClose(on, or, { rtol: op === 'sum' ? 1e-5 : 0, atol: op === 'sum' ? 1e-4 : 0, label: `${op} ${[outer, r, inner]}` });
        }
        if (r === 0) continue;
        for (const isMax of [true, false]) {
          const on = new Int32Array(outer * inner);
          const or = new Int32Array(outer * inner);
          nat.argReduce(isMax, x, outer, r, inner, on);
          ref.argReduce(isMax, x, outer, r, inner, or);
          assert.deepEqual(on, or, `arg ${isMax} ${[outer, r, inner]}`);
        }
        for (const log of [false, true]) {
          const yn = new Float32Array(x.length);
          const yr = new Float32Array(x.length);
          nat.softmax(x, outer, r, inner, log, yn);
          ref.softmax(x, outer, r, inner, log, yr);
          assertClose(yn, yr, { rtol: 1e-5, atol: 1e-6, label: `softmax log=${log} ${[outer, r, inner]}` });
          const gy = randArray(x.length);
          const dn = new Float32Array(x.length);
          const dr = new Float32Array(x.length);
          nat.softmaxBackward(yr, gy, outer, r, inner, log, dn);
          ref.softmaxBackward(yr, gy, outer, r, inner, log, dr);
          assertClose(dn, dr, { rtol: 1e-4, atol: 1e-5, label: `softmaxBackward log=${log} ${[outer, r, inner]}` });
        }
      }
    }));

  test('reductions propagate NaN', () => {
    const x = new Float32Array([1, NaN, 3, 2]);
    for (const op of REDUCE_OPS) {
      const o = new Float32Array(1);
      nat.reduce(op, x, 1, 4, 1, o);
      assert.ok(Number.isNaN(o[0]), op);
    }
    const i = new Int32Array(1);
    nat.argReduce(true, x, 1, 4, 1, i);
    assert.equal(i[0], 1);
  });

  test('copyStrided (permutations, slices, broadcasts) for float32, int32 and uint8', () => {
    for (let trial = 0; trial < 40; trial++) {
      const shape = randShape(5, 7);
      const perm = [...shape.keys()].sort(() => gen.random() - 0.5);
      const st = contiguousStrides(shape);
      const srcStrides = perm.map((d) => st[d]);
      const outShape = perm.map((d) => shape[d]);
      for (const make of [
        (n: number) => randArray(n),
        (n: number) => new Int32Array(n).map(() => gen.int(-99, 99)),
        (n: number) => new Uint8Array(n).map(() => gen.int(0, 255)),
      ]) {
        const src = make(size(shape));
        const dn = make(size(shape)).fill(0);
        const dr = make(size(shape)).fill(0);
        nat.copyStrided(outShape, src, 0, srcStrides, dn, 0, contiguousStrides(outShape));
        ref.copyStrided(outShape, src, 0, srcStrides, dr, 0, contiguousStrides(outShape));
        assert.deepEqual(dn, dr, `permute ${JSON.stringify([shape, perm])}`);
      }
      const sb = broadcastable(shape);
      const src = randArray(size(sb));
      const dn = new Float32Array(size(shape));
      const dr = new Float32Array(size(shape));
      nat.copyStrided(shape, src, 0, broadcastStrides(sb, shape), dn, 0, contiguousStrides(shape));
      ref.copyStrided(shape, src, 0, broadcastStrides(sb, shape), dr, 0, contiguousStrides(shape));
      assert.deepEqual(dn, dr, `broadcast ${JSON.stringify([sb, shape])}`);
      const an = randArray(size(sb));
      const ar = Float32Array.from(an);
      nat.addStrided(shape, dn, 0, contiguousStrides(shape), an, 0, broadcastStrides(sb, shape));
      ref.addStrided(shape, dr, 0, contiguousStrides(shape), ar, 0, broadcastStrides(sb, shape));
      assertClose(an, ar, { rtol: 1e-5, atol: 1e-5, label: `addStrided ${JSON.stringify([sb, shape])}` });
    }
  });

  test('fill and cast', () => {
    for (const n of SIZES) {
      const a = new Float32Array(n);
      nat.fill(a, 2.5);
      assert.ok(a.every((v) => v === 2.5));
      const x = randArray(n, -300, 300);
      for (const Dst of [Int32Array, Uint8Array, Float32Array]) {
        const dn = new Dst(n);
        const dr = new Dst(n);
        const src = Dst === Uint8Array ? x.map(Math.abs).map((v) => v % 255) : x;
        nat.cast(src, dn);
        ref.cast(src, dr);
        assert.deepEqual(dn, dr, `cast to ${Dst.name} n=${n}`);
      }
    }
  });

  test('indexSelect, indexAdd, gather, scatterAdd', () => {
    for (const [outer, n, inner, k] of [
      [1, 5, 1, 3],
      [3, 7, 4, 9],
      [2, 1, 33, 2],
      [4, 6, 1, 0],
      [1, 10, 5000, 12],
    ]) {
      const x = randArray(outer * n * inner);
      const idx = new Int32Array(k).map(() => gen.int(0, n));
      const on = new Float32Array(outer * k * inner);
      const or = new Float32Array(outer * k * inner);
      nat.indexSelect(x, outer, n, inner, idx, on);
      ref.indexSelect(x, outer, n, inner, idx, or);
      assert.deepEqual(on, or);
      const an = new Float32Array(x.length);
      const ar = new Float32Array(x.length);
      nat.indexAdd(on, outer, n, inner, idx, an);
      ref.indexAdd(or, outer, n, inner, idx, ar);
      assertClose(an, ar, { rtol: 1e-6 });
      const gidx = new Int32Array(outer * k * inner).map(() => gen.int(0, n));
      const gn = new Float32Array(gidx.length);
      const gr = new Float32Array(gidx.length);
      nat.gather(x, outer, n, inner, gidx, gn);
      ref.gather(x, outer, n, inner, gidx, gr);
      assert.deepEqual(gn, gr);
      const sn = new Float32Array(x.length);
      const sr = new Float32Array(x.length);
      nat.scatterAdd(gn, outer, n, inner, gidx, sn);
      ref.scatterAdd(gr, outer, n, inner, gidx, sr);
      assertClose(sn, sr, { rtol: 1e-6 });
    }
  });

  test('convolution forward and both gradients over strides, paddings, dilations and groups', () => {
    const cases: [number[], number[], number[], number[], number[], number, number?][] = [
      // [x shape], [kernel], stride, padding, dilation, groups, output channels (default 2 x groups)
      [[3, 8, 11, 9], [3, 3], [1, 1], [1, 1], [1, 1], 8, 8], // depthwise: the direct kernel
      // depthwise, square kernels (the padded, phase-split planes): flat runs below 32 columns, rows above
      [[2, 6, 12, 11], [3, 3], [2, 2], [1, 1], [1, 1], 6, 6],
      [[1, 4, 9, 40], [3, 3], [1, 1], [1, 1], [1, 1], 4, 4],
      [[1, 4, 13, 70], [3, 3], [2, 2], [1, 1], [1, 1], 4, 4],
      [[2, 3, 7, 7], [5, 5], [1, 1], [2, 2], [1, 1], 3, 3],
      [[2, 3, 15, 14], [5, 5], [2, 2], [2, 2], [1, 1], 3, 3],
      [[1, 2, 10, 35], [7, 7], [1, 1], [3, 3], [1, 1], 2, 2],
      [[1, 3, 11, 12], [3, 3], [3, 3], [0, 0], [1, 1], 3, 3],
      [[1, 3, 8, 9], [3, 3], [1, 2], [0, 1], [1, 1], 3, 3],
      [[2, 5, 12, 13], [5, 3], [2, 2], [2, 1], [1, 2], 5, 5],
      [[2, 4, 33], [3], [1], [1], [1], 4, 4],
      [[2, 3, 9, 8], [3, 3], [1, 1], [1, 1], [1, 1], 1],
      [[3, 4, 10, 7], [3, 2], [2, 1], [1, 0], [1, 2], 2],
      [[4, 6, 6, 6], [3, 3], [2, 2], [1, 1], [1, 1], 6],
      [[5, 8, 5, 5], [1, 1], [1, 1], [0, 0], [1, 1], 1],
      [[3, 8, 7, 7], [1, 1], [2, 2], [0, 0], [1, 1], 2],
      [[2, 3, 17], [5], [3], [2], [1], 1],
      [[2, 2, 4, 5, 6], [2, 3, 2], [1, 2, 1], [1, 0, 1], [1, 1, 2], 1],
      [[1, 16, 14, 14], [3, 3], [1, 1], [2, 2], [2, 2], 4],
      // big enough for the GEMM to split across threads, along N and along M, with the epilogue in each strip
      [[1, 32, 30, 30], [3, 3], [1, 1], [1, 1], [1, 1], 1, 64],
      [[1, 64, 8, 8], [1, 1], [1, 1], [0, 0], [1, 1], 1, 200],
    ];
    for (const [xs, k, stride, padding, dilation, groups, outChannels] of cases) {
      const cOut = outChannels ?? 2 * groups;
      const inSize = xs.slice(2);
      const outSize = inSize.map((n, i) => Math.floor((n + 2 * padding[i] - dilation[i] * (k[i] - 1) - 1) / stride[i]) + 1);
      const g = { n: xs[0], cIn: xs[1], cOut, groups, inSize, kernel: k, stride, padding, dilation, outSize };
      const x = randArray(size(xs));
      const w = randArray(cOut * (xs[1] / groups) * size(k));
      const dy = randArray(xs[0] * cOut * size(outSize));
      const bias = randArray(cOut);
      const label = JSON.stringify(g);
      for (const [name, run, len] of [
        ['forward', (b: typeof nat, out: Float32Array) => b.convForward(g, x, w, null, out), dy.length],
        ['forward with bias', (b: typeof nat, out: Float32Array) => b.convForward(g, x, w, bias, out), dy.length],
        ['forward with bias and relu6', (b: typeof nat, out: Float32Array) => b.convForward(g, x, w, bias, out, { op: 'clamp', p0: 0, p1: 6 }), dy.length],
        ['forward with silu', (b: typeof nat, out: Float32Array) => b.convForward(g, x, w, null, out, { op: 'silu' }), dy.length],
        ['input grad', (b: typeof nat, out: Float32Array) => b.convBackwardInput(g, w, dy, out), x.length],
        ['weight grad', (b: typeof nat, out: Float32Array) => b.convBackwardWeight(g, x, dy, out), w.length],
      ] as const) {
        const on = new Float32Array(len).fill(NaN);
        const or = new Float32Array(len);
        run(nat, on);
        run(ref, or);
        // the weight gradient sums over every output position: float32 sums in another order drift with their length
        const atol = name === 'weight grad' ? 1e-4 * Math.max(1, Math.sqrt((xs[0] * size(outSize)) / 64)) : 1e-4;
        assertClose(on, or, { rtol: 1e-4, atol, label: `${name} ${label}` });
      }
    }
  });

  test('max and average pooling, regular and adaptive, with their gradients', () => {
    type G = import('../src/backend/backend.js').PoolGeometry;
    const cases: G[] = [];
    const regular = (inSize: number[], kernel: number[], stride: number[], padding: number[], dilation: number[], ceil: boolean, countIncludePad: boolean) => {
      const outSize = inSize.map((n, i) => {
        const span = n + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1;
        let o = ceil ? Math.ceil(span / stride[i]) + 1 : Math.floor(span / stride[i]) + 1;
        if (ceil && (o - 1) * stride[i] >= n + padding[i]) o--;
        return o;
      });
      cases.push({ planes: 6, inSize, outSize, kernel, stride, padding, dilation, adaptive: false, countIncludePad });
    };
    regular([8, 9], [2, 2], [2, 2], [0, 0], [1, 1], false, true);
    regular([7, 7], [3, 3], [2, 2], [1, 1], [1, 1], true, true);
    regular([7, 6], [3, 3], [2, 2], [1, 1], [1, 1], false, false);
    regular([9, 10], [3, 2], [1, 3], [1, 1], [2, 1], true, false);
    regular([17], [4], [3], [2], [1], false, true);
    regular([5, 6, 7], [2, 3, 2], [2, 1, 2], [1, 0, 1], [1, 1, 1], false, true);
    // windows all inside the input (the direct loops): strides 1, 2 and 3, 1-D and 2-D
    regular([9, 11], [3, 3], [1, 1], [0, 0], [1, 1], false, true);
    regular([10, 13], [3, 2], [2, 3], [0, 0], [1, 1], false, true);
    regular([20], [4], [3], [0], [1], false, true);
    // padded windows (the row loop between clipped edge columns): ResNet's stem, stride 1, wide padding
    regular([12, 12], [3, 3], [2, 2], [1, 1], [1, 1], false, true);
    regular([11, 14], [3, 3], [1, 1], [1, 1], [1, 1], true, false);
    regular([6, 16], [5, 5], [2, 3], [2, 2], [1, 1], false, true);
    for (const [inSize, outSize] of [
      [
        [7, 5],
        [3, 2],
      ],
      [
        [4, 4],
        [1, 1],
      ],
      [
        [5, 9],
        [5, 4],
      ],
      [[10], [3]],
    ]) {
      const ones = inSize.map(() => 1);
      cases.push({
        planes: 5,
        inSize,
        outSize,
        kernel: ones,
        stride: ones,
        padding: ones.map(() => 0),
        dilation: ones,
        adaptive: true,
        countIncludePad: false,
      });
    }
    for (const [n, g] of cases.entries()) {
      const inPlane = size(g.inSize);
      const outPlane = size(g.outSize);
      const x = randArray(g.planes * inPlane);
      // every other case: ties and NaNs (the first of equals wins; a NaN wins and stays)
      if (n % 2 === 1)
        x.forEach((v, i) => {
          x[i] = i % 11 === 3 ? NaN : Math.round(v * 2);
        });
      const dy = randArray(g.planes * outPlane);
      const label = JSON.stringify(g);
      const yn = new Float32Array(dy.length);
      const yr = new Float32Array(dy.length);
      const inN = new Int32Array(dy.length);
      const inR = new Int32Array(dy.length);
      nat.maxPool(g, x, yn, inN);
      ref.maxPool(g, x, yr, inR);
      assert.deepEqual(yn, yr, `maxPool ${label}`);
      assert.deepEqual(inN, inR, `maxPool indices ${label}`);
      const dn = new Float32Array(x.length).fill(NaN);
      const dr = new Float32Array(x.length);
      nat.maxPoolBackward(g.planes, inPlane, outPlane, inN, dy, dn);
      ref.maxPoolBackward(g.planes, inPlane, outPlane, inR, dy, dr);
      assertClose(dn, dr, { rtol: 1e-6, label: `maxPoolBackward ${label}` });
      if (g.dilation.some((d) => d !== 1)) continue; // average pooling has no dilation
      nat.avgPool(g, x, yn);
      ref.avgPool(g, x, yr);
      assertClose(yn, yr, { rtol: 1e-5, atol: 1e-6, label: `avgPool ${label}` });
      dn.fill(NaN);
      nat.avgPoolBackward(g, dy, dn);
      ref.avgPoolBackward(g, dy, dr);
      assertClose(dn, dr, { rtol: 1e-5, atol: 1e-6, label: `avgPoolBackward ${label}` });
    }
  });

  test('batch norm statistics, forward and backward', () => {
    for (const [n, c, hw] of [
      [1, 1, 2],
      [4, 3, 1],
      [8, 16, 49],
      [2, 5, 1000],
      [3, 64, 17],
    ]) {
      const x = randArray(n * c * hw, 2, 6); // an offset mean checks the variance for cancellation
      const stats = () => [new Float32Array(c), new Float32Array(c), new Float32Array(c)];
      const [mn, vn, isn] = stats();
      const [mr, vr, isr] = stats();
      nat.batchNormStats(x, n, c, hw, 1e-5, mn, vn, isn);
      ref.batchNormStats(x, n, c, hw, 1e-5, mr, vr, isr);
      const label = `[${n}, ${c}, ${hw}]`;
      assertClose(mn, mr, { rtol: 1e-6, label: `mean ${label}` });
      assertClose(vn, vr, { rtol: 1e-5, atol: 1e-7, label: `var ${label}` });
      assertClose(isn, isr, { rtol: 1e-5, label: `invstd ${label}` });
      const gamma = randArray(c);
      const beta = randArray(c);
      for (const [gm, bt] of [
        [gamma, beta],
        [null, null],
      ] as const) {
        const yn = new Float32Array(x.length);
        const yr = new Float32Array(x.length);
        nat.batchNormForward(x, n, c, hw, mr, isr, gm, bt, yn);
        ref.batchNormForward(x, n, c, hw, mr, isr, gm, bt, yr);
        assertClose(yn, yr, { rtol: 1e-5, atol: 1e-5, label: `forward ${label}` });
        const dy = randArray(x.length);
        const out = () => [new Float32Array(x.length), new Float32Array(c), new Float32Array(c)];
        const [dxn, dgn, dbn] = out();
        const [dxr, dgr, dbr] = out();
        nat.batchNormBackward(x, dy, n, c, hw, mr, isr, gm, dxn, dgn, dbn);
        ref.batchNormBackward(x, dy, n, c, hw, mr, isr, gm, dxr, dgr, dbr);
        assertClose(dxn, dxr, { rtol: 1e-4, atol: 1e-4, label: `dx ${label}` });
        assertClose(dgn, dgr, { rtol: 1e-4, atol: 1e-4, label: `dgamma ${label}` });
        assertClose(dbn, dbr, { rtol: 1e-5, atol: 1e-4, label: `dbeta ${label}` });
      }
    }
  });

  test('optimizer steps (Adam, AdamW, AMSGrad, SGD variants, RMSprop variants) over several steps', () => {
    const n = 70001; // above the threading grain, not a multiple of the SIMD width
    const run = (label: string, steps: (b: typeof nat, state: Float32Array[], t: number) => void, stateCount: number) => {
      const init = [randArray(n), ...Array.from({ length: stateCount }, () => new Float32Array(n))];
      const sn = init.map((a) => Float32Array.from(a));
      const sr = init.map((a) => Float32Array.from(a));
      for (let t = 1; t <= 5; t++) {
        const grad = randArray(n);
        steps(nat, [sn[0], grad, ...sn.slice(1)], t);
        steps(ref, [sr[0], grad, ...sr.slice(1)], t);
      }
      sn.forEach((a, i) => assertClose(a, sr[i], { rtol: 1e-6, atol: 1e-7, label: `${label} state ${i}` }));
    };
    for (const [decoupled, amsgrad, weightDecay] of [
      [false, false, 0],
      [false, true, 0.1],
      [true, false, 0.01],
    ] as const) {
      run(
        `adam ${decoupled} ${amsgrad}`,
        (b, [p, g, m, v, vmax], step) =>
          b.adamStep({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step, decoupled, amsgrad }, p, g, m, v, amsgrad ? vmax : null),
        3,
      );
    }
    for (const [momentum, dampening, nesterov, weightDecay] of [
      [0, 0, false, 0],
      [0.9, 0, true, 1e-4],
      [0.5, 0.3, false, 0],
    ] as const) {
      run(
        `sgd ${momentum} ${nesterov}`,
        (b, [p, g, buf], step) => b.sgdStep({ lr: 0.1, momentum, dampening, weightDecay, nesterov, first: step === 1 }, p, g, momentum ? buf : null),
        1,
      );
    }
    for (const [centered, momentum] of [
      [false, 0],
      [true, 0.9],
    ] as const) {
      run(
        `rmsprop ${centered}`,
        (b, [p, g, sq, ga, buf], _step) =>
          b.rmspropStep({ lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0.01, momentum, centered }, p, g, sq, centered ? ga : null, momentum ? buf : null),
        3,
      );
    }
  });

  test('the allocator reuses freed blocks and never hands out a live one', () => {
    const a = nat.alloc('float32', 100000);
    a.fill(7);
    const b = nat.alloc('float32', 100000);
    assert.notEqual(a.buffer, b.buffer);
    b.fill(1);
    assert.ok(a.every((v) => v === 7));
    assert.ok(addon!.allocatorStats().liveBytes >= 800000);
  });
});
