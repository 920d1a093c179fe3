/**
 * Random-shape parity, property-based (fast-check): random shapes, strides, paddings,
 * dilations and groups for convolution, max and average pooling (regular and adaptive),
 * batch norm (training: statistics, forward, backward; evaluation: forward with running
 * statistics) and the broadcasting elementwise ops (forward and both gradients, through
 * autograd), each compared on every instruction set the CPU has with the reference backend.
 *
 * A failure prints fast-check's seed and path, and the shrunk counterexample; rerun exactly
 * that case with TSVISION_PROPERTY_SEED=<seed> TSVISION_PROPERTY_PATH=<path> node --test dist/test/backend-property.test.js.
 * TSVISION_PROPERTY_RUNS raises the number of cases (default: bounded so the file takes seconds).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { nativeBackend, referenceBackend, setBackend, backendName, type ConvGeometry, type PoolGeometry } from '../src/backend/index.js';
import { add, div, maximum, minimum, mul, pow, sub } from '../src/tensor/ops/elementwise.js';
import { Generator } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { assertClose, onEveryIsa } from './helpers.js';

const nat = nativeBackend!;
const ref = referenceBackend;
const size = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);

/** fast-check's parameters: a new seed each run (printed on failure), or the one a failure printed. */
function params(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.TSVISION_PROPERTY_SEED;
  const path = process.env.TSVISION_PROPERTY_PATH;
  return {
    numRuns: Number(process.env.TSVISION_PROPERTY_RUNS ?? numRuns),
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(path !== undefined ? { path } : {}),
    includeErrorInReport: true,
  };
}

/** Values in [lo, hi) from a seed the property drew, so the case is reproducible from fast-check's seed alone. */
function values(seed: number, n: number, lo = -3, hi = 3): Float32Array {
  const g = new Generator(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * g.random();
  return a;
}

/** Output length of a regular convolution or pooling window along one dimension (PyTorch's rule). */
function outLength(n: number, k: number, s: number, p: number, d: number, ceil = false): number {
  const span = n + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

/** One spatial dimension of a window: kernel, stride, padding, dilation, and an input at least as wide as the window. */
const windowDim = (maxPadOfKernel: (k: number) => number, maxDilation: number) =>
  fc
    .record({
      k: fc.integer({ min: 1, max: 4 }),
      s: fc.integer({ min: 1, max: 3 }),
      d: fc.integer({ min: 1, max: maxDilation }),
      extra: fc.integer({ min: 0, max: 9 }),
    })
    .chain(({ k, s, d, extra }) =>
      fc.integer({ min: 0, max: maxPadOfKernel(k) }).map((p) => ({ k, s, d, p, n: Math.max(1, d * (k - 1) + 1 - 2 * p + extra) })),
    );

describe('random-shape parity: native (every ISA) against reference', { skip: !nativeBackend && 'the native addon is not built' }, () => {
  test('convolution: forward, input gradient, weight gradient', () => {
    const arb = fc.record({
      n: fc.integer({ min: 1, max: 3 }),
      groups: fc.integer({ min: 1, max: 3 }),
      cInPerGroup: fc.integer({ min: 1, max: 4 }),
      cOutPerGroup: fc.integer({ min: 1, max: 4 }),
      dims: fc.integer({ min: 1, max: 3 }).chain((r) =>
        fc.array(
          windowDim((k) => k, 2),
          { minLength: r, maxLength: r },
        ),
      ),
      bias: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    fc.assert(
      fc.property(arb, ({ n, groups, cInPerGroup, cOutPerGroup, dims, bias, seed }) => {
        const g: ConvGeometry = {
          n,
          cIn: groups * cInPerGroup,
          cOut: groups * cOutPerGroup,
          groups,
          inSize: dims.map((d) => d.n),
          kernel: dims.map((d) => d.k),
          stride: dims.map((d) => d.s),
          padding: dims.map((d) => d.p),
          dilation: dims.map((d) => d.d),
          outSize: dims.map((d) => outLength(d.n, d.k, d.s, d.p, d.d)),
        };
        const x = values(seed, n * g.cIn * size(g.inSize));
        const w = values(seed + 1, g.cOut * cInPerGroup * size(g.kernel));
        const b = bias ? values(seed + 2, g.cOut) : null;
        const dy = values(seed + 3, n * g.cOut * size(g.outSize));
        const runs = [
          ['forward', dy.length, (k: typeof nat, out: Float32Array) => k.convForward(g, x, w, b, out)],
          ['input gradient', x.length, (k: typeof nat, out: Float32Array) => k.convBackwardInput(g, w, dy, out)],
          ['weight gradient', w.length, (k: typeof nat, out: Float32Array) => k.convBackwardWeight(g, x, dy, out)],
        ] as const;
        for (const [name, len, run] of runs) {
          const expected = new Float32Array(len);
          run(ref, expected);
          onEveryIsa((isa) => {
            const got = new Float32Array(len).fill(NaN);
            run(nat, got);
            // each output is a sum of up to (channels x window) or (batch x positions) products in another order
            assertClose(got, expected, { rtol: 1e-4, atol: 1e-4 * Math.max(1, Math.sqrt(len / 64)), label: `${isa} conv ${name} ${JSON.stringify(g)}` });
          });
        }
      }),
      params(200),
    );
  });

  test('max and average pooling, regular and adaptive: forward, indices, backward', () => {
    const regular = fc.record({
      planes: fc.integer({ min: 1, max: 4 }),
      // PyTorch's rule: padding at most half the kernel
      dims: fc.integer({ min: 1, max: 3 }).chain((r) =>
        fc.array(
          windowDim((k) => Math.floor(k / 2), 2),
          { minLength: r, maxLength: r },
        ),
      ),
      ceil: fc.boolean(),
      countIncludePad: fc.boolean(),
      nans: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    const adaptive = fc.record({
      planes: fc.integer({ min: 1, max: 4 }),
      dims: fc.integer({ min: 1, max: 3 }).chain((r) =>
        fc.array(
          fc.integer({ min: 1, max: 10 }).chain((n) => fc.integer({ min: 1, max: n }).map((o) => ({ n, o }))),
          { minLength: r, maxLength: r },
        ),
      ),
      nans: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    const geometry = fc.oneof(
      regular.map(({ planes, dims, ceil, countIncludePad, nans, seed }) => ({
        g: {
          planes,
          inSize: dims.map((d) => d.n),
          outSize: dims.map((d) => outLength(d.n, d.k, d.s, d.p, d.d, ceil)),
          kernel: dims.map((d) => d.k),
          stride: dims.map((d) => d.s),
          padding: dims.map((d) => d.p),
          dilation: dims.map((d) => d.d),
          adaptive: false,
          countIncludePad,
        } as PoolGeometry,
        nans,
        seed,
      })),
      adaptive.map(({ planes, dims, nans, seed }) => {
        const ones = dims.map(() => 1);
        return {
          g: {
            planes,
            inSize: dims.map((d) => d.n),
            outSize: dims.map((d) => d.o),
            kernel: ones,
            stride: ones,
            padding: ones.map(() => 0),
            dilation: ones,
            adaptive: true,
            countIncludePad: false,
          } as PoolGeometry,
          nans,
          seed,
        };
      }),
    );
    fc.assert(
      fc.property(geometry, ({ g, nans, seed }) => {
        const inPlane = size(g.inSize);
        const outPlane = size(g.outSize);
        const x = values(seed, g.planes * inPlane);
        // ties (the first of equals wins) and NaNs (a NaN wins and stays)
        if (nans) x.forEach((v, i) => (x[i] = i % 7 === 3 ? NaN : Math.round(v)));
        const dy = values(seed + 1, g.planes * outPlane);
        const label = JSON.stringify(g);
        const yr = new Float32Array(dy.length);
        const ir = new Int32Array(dy.length);
        ref.maxPool(g, x, yr, ir);
        const dr = new Float32Array(x.length);
        ref.maxPoolBackward(g.planes, inPlane, outPlane, ir, dy, dr);
        const average = g.dilation.every((d) => d === 1); // average pooling has no dilation
        const ar = new Float32Array(dy.length);
        const dar = new Float32Array(x.length);
        if (average) {
          ref.avgPool(g, x, ar);
          ref.avgPoolBackward(g, dy, dar);
        }
        onEveryIsa((isa) => {
          const yn = new Float32Array(dy.length).fill(7);
          const inN = new Int32Array(dy.length).fill(-7);
          nat.maxPool(g, x, yn, inN);
          assert.deepEqual(yn, yr, `${isa} maxPool ${label}`);
          assert.deepEqual(inN, ir, `${isa} maxPool indices ${label}`);
          const dn = new Float32Array(x.length).fill(NaN);
          nat.maxPoolBackward(g.planes, inPlane, outPlane, inN, dy, dn);
          assertClose(dn, dr, { rtol: 1e-6, label: `${isa} maxPoolBackward ${label}` });
          if (!average) return;
          const an = new Float32Array(dy.length).fill(NaN);
          nat.avgPool(g, x, an);
          assertClose(an, ar, { rtol: 1e-5, atol: 1e-6, label: `${isa} avgPool ${label}` });
          const dan = new Float32Array(x.length).fill(NaN);
          nat.avgPoolBackward(g, dy, dan);
          assertClose(dan, dar, { rtol: 1e-5, atol: 1e-6, label: `${isa} avgPoolBackward ${label}` });
        });
      }),
      params(300),
    );
  });

  test('batch norm: training (statistics, forward, backward) and evaluation (running statistics)', () => {
    const arb = fc.record({
      n: fc.integer({ min: 1, max: 5 }),
      c: fc.integer({ min: 1, max: 9 }),
      hw: fc.integer({ min: 1, max: 60 }),
      offset: fc.double({ min: -8, max: 8, noNaN: true }),
      affine: fc.boolean(),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    });
    fc.assert(
      fc.property(arb, ({ n, c, hw, offset, affine, seed }) => {
        if (n * hw < 2) return; // one value per channel has no variance (PyTorch refuses it in training)
        const x = values(seed, n * c * hw, offset - 2, offset + 2);
        const gamma = affine ? values(seed + 1, c) : null;
        const beta = affine ? values(seed + 2, c) : null;
        const dy = values(seed + 3, x.length);
        const label = `[${n}, ${c}, ${hw}] offset ${offset} affine ${affine}`;
        const [mr, vr, isr] = [new Float32Array(c), new Float32Array(c), new Float32Array(c)];
        ref.batchNormStats(x, n, c, hw, 1e-5, mr, vr, isr);
        const yr = new Float32Array(x.length);
        ref.batchNormForward(x, n, c, hw, mr, isr, gamma, beta, yr);
        const [dxr, dgr, dbr] = [new Float32Array(x.length), new Float32Array(c), new Float32Array(c)];
        ref.batchNormBackward(x, dy, n, c, hw, mr, isr, gamma, dxr, dgr, dbr);
        // evaluation: running statistics given, not computed from the batch
        const runningMean = values(seed + 4, c, -1, 1);
        const runningInvstd = values(seed + 5, c, 0.2, 2);
        const er = new Float32Array(x.length);
        ref.batchNormForward(x, n, c, hw, runningMean, runningInvstd, gamma, beta, er);
        // float32 loses |x| x 2^-24 in x - mean, which the normalisation multiplies by invstd: a wide offset over a
        // narrow spread (two values, say) is ill-conditioned in float32 however it is computed
        let big = 0;
        for (const v of x) big = Math.max(big, Math.abs(v));
        const cond = 1 + big * Math.max(...isr) * 0.25;
        onEveryIsa((isa) => {
          const [mn, vn, isn] = [new Float32Array(c), new Float32Array(c), new Float32Array(c)];
          nat.batchNormStats(x, n, c, hw, 1e-5, mn, vn, isn);
          assertClose(mn, mr, { rtol: 1e-5, atol: 1e-6, label: `${isa} mean ${label}` });
          assertClose(vn, vr, { rtol: 1e-4, atol: 1e-6, label: `${isa} var ${label}` });
          assertClose(isn, isr, { rtol: 1e-4, label: `${isa} invstd ${label}` });
          const yn = new Float32Array(x.length).fill(NaN);
          nat.batchNormForward(x, n, c, hw, mr, isr, gamma, beta, yn);
          assertClose(yn, yr, { rtol: 1e-5, atol: 1e-5 * cond, label: `${isa} forward ${label}` });
          const [dxn, dgn, dbn] = [new Float32Array(x.length).fill(NaN), new Float32Array(c), new Float32Array(c)];
          nat.batchNormBackward(x, dy, n, c, hw, mr, isr, gamma, dxn, dgn, dbn);
          // sums over n x hw values in float32, in another order
          const atol = 1e-4 * Math.max(1, Math.sqrt((n * hw) / 64)) * cond;
          assertClose(dxn, dxr, { rtol: 1e-4, atol, label: `${isa} dx ${label}` });
          assertClose(dgn, dgr, { rtol: 1e-4, atol, label: `${isa} dgamma ${label}` });
          assertClose(dbn, dbr, { rtol: 1e-4, atol, label: `${isa} dbeta ${label}` });
          const en = new Float32Array(x.length).fill(NaN);
          nat.batchNormForward(x, n, c, hw, runningMean, runningInvstd, gamma, beta, en);
          assertClose(en, er, { rtol: 1e-5, atol: 1e-5, label: `${isa} eval forward ${label}` });
        });
      }),
      params(300),
    );
  });

  test('broadcasting elementwise ops: forward and both gradients through autograd', () => {
    const OPS = { add, sub, mul, div, pow, maximum, minimum } as const;
    // a result shape, and each operand's: some dimensions 1, some leading ones dropped
    const operand = (shape: number[]) =>
      fc
        .record({ drop: fc.integer({ min: 0, max: shape.length }), ones: fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }) })
        .map(({ drop, ones }) => shape.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
    const arb = fc
      .array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 4 })
      .chain((shape) =>
        fc.record({ a: operand(shape), b: operand(shape), op: fc.constantFrom(...(Object.keys(OPS) as (keyof typeof OPS)[])), seed: fc.nat() }),
      );
    const previous = backendName();
    try {
      fc.assert(
        fc.property(arb, ({ a, b, op, seed }) => {
          // positive operands: pow and div stay finite; ties between a and b at position 0 test maximum's and minimum's gradient rule
          const av = values(seed, size(a), 0.25, 3);
          const bv = values(seed + 1, size(b), 0.25, 3);
          if (av.length > 0 && bv.length > 0) bv[0] = av[0];
          const run = () => {
            const ta = new Tensor<'float32'>(av.slice(), a).requiresGrad_();
            const tb = new Tensor<'float32'>(bv.slice(), b).requiresGrad_();
            const z = OPS[op](ta, tb);
            const w = new Tensor<'float32'>(values(seed + 2, z.size), z.shape);
            mul(z, w).sum().backward();
            return { z: z.data as Float32Array, ga: ta.grad!.data as Float32Array, gb: tb.grad!.data as Float32Array };
          };
          setBackend('reference');
          const expected = run();
          setBackend('native');
          onEveryIsa((isa) => {
            const got = run();
            const label = `${isa} ${op} ${JSON.stringify([a, b])}`;
            assertClose(got.z, expected.z, { rtol: 2e-6, atol: 1e-6, label: `${label} forward` });
            // a broadcast operand's gradient sums over the dimensions it was broadcast along
            assertClose(got.ga, expected.ga, { rtol: 1e-5, atol: 1e-5, label: `${label} gradient of a` });
            assertClose(got.gb, expected.gb, { rtol: 1e-5, atol: 1e-5, label: `${label} gradient of b` });
          });
        }),
        params(400),
      );
    } finally {
      setBackend(previous);
    }
  });
});
