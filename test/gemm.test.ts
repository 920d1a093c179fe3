/**
 * Native SGEMM against the reference triple loop: every transpose combination,
 * awkward sizes around the register tiles, alpha/beta, padded leading dimensions,
 * batches with a broadcast operand, on every instruction set this CPU has.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { addon, nativeBackend, referenceBackend } from '../src/backend/index.js';
import { assertClose, gen } from './helpers.js';

const SIZES = [1, 2, 3, 5, 7, 13, 16, 17, 31, 32, 33, 47, 63, 65, 97];

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = gen.random() * 2 - 1;
  return a;
}

interface Case {
  batch: number;
  tA: boolean;
  tB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  beta: number;
  pad: number;
  bcastA: boolean;
  bcastB: boolean;
}

function runCase(c: Case, label: string): void {
  const lda = (c.tA ? c.m : c.k) + c.pad;
  const ldb = (c.tB ? c.k : c.n) + c.pad;
  const ldc = c.n + c.pad;
  const aRows = c.tA ? c.k : c.m;
  const bRows = c.tB ? c.n : c.k;
  const sA = c.bcastA ? 0 : aRows * lda;
  const sB = c.bcastB ? 0 : bRows * ldb;
  const sC = c.m * ldc;
  const a = rand((c.bcastA ? 1 : c.batch) * aRows * lda + 3);
  const b = rand((c.bcastB ? 1 : c.batch) * bRows * ldb + 5);
  const c0 = c.beta === 0 ? new Float32Array(c.batch * sC + 2).fill(NaN) : rand(c.batch * sC + 2);
  const cn = Float32Array.from(c0);
  const cr = Float32Array.from(c0);
  // Offsets exercise the pointer arithmetic; the reference reads exactly the same elements.
  nativeBackend!.sgemm(c.batch, c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, 3, lda, sA, b, 5, ldb, sB, c.beta, cn, 2, ldc, sC);
  referenceBackend.sgemm(c.batch, c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, 3, lda, sA, b, 5, ldb, sB, c.beta, cr, 2, ldc, sC);
  for (let i = 0; i < cn.length; i++) {
    const inside = i >= 2 && (i - 2) % ldc < c.n && i - 2 < c.batch * sC;
    if (!inside && !(Number.isNaN(cn[i]) && Number.isNaN(c0[i])) && cn[i] !== c0[i]) {
      assert.fail(`${label}: element ${i} outside C was written`);
    }
  }
  assertClose(cn, cr, { rtol: 1e-4, atol: 1e-5 * Math.sqrt(c.k + 1), label });
}

const isas = addon ? ['avx512', 'avx2', 'portable'] : [];
const detected = addon?.isa();

describe('sgemm', { skip: !nativeBackend && 'the native addon is not built' }, () => {
  after(() => addon?.forceIsa(detected ?? 'portable'));
  for (const isa of isas) {
    test(`${isa}: sizes around the tiles, all transposes`, () => {
      addon!.forceIsa(isa);
      for (const tA of [false, true])
        for (const tB of [false, true])
          for (let t = 0; t < 40; t++) {
            const pick = () => SIZES[gen.int(0, SIZES.length)];
            const c: Case = { batch: 1, tA, tB, m: pick(), n: pick(), k: pick(), alpha: 1, beta: 0, pad: 0, bcastA: false, bcastB: false };
            runCase(c, `${isa} ${JSON.stringify(c)}`);
          }
    });

    test(`${isa}: alpha, beta, padded leading dimensions, K = 0`, () => {
      addon!.forceIsa(isa);
      for (const [alpha, beta, pad, k] of [
        [2, 0, 3, 19],
        [0.5, 1, 0, 33],
        [1, 0.5, 1, 8],
        [-1, 2, 5, 1],
        [1, 1, 0, 0],
        [1, 0, 2, 0],
      ]) {
        const c: Case = { batch: 1, tA: gen.random() < 0.5, tB: gen.random() < 0.5, m: 29, n: 37, k, alpha, beta, pad, bcastA: false, bcastB: false };
        runCase(c, `${isa} ${JSON.stringify(c)}`);
      }
    });

    test(`${isa}: batched, with either operand broadcast`, () => {
      addon!.forceIsa(isa);
      for (const [bcastA, bcastB] of [
        [false, false],
        [true, false],
        [false, true],
      ]) {
        const c: Case = { batch: 5, tA: bcastB, tB: bcastA, m: 11, n: 21, k: 9, alpha: 1, beta: 0, pad: 1, bcastA, bcastB };
        runCase(c, `${isa} ${JSON.stringify(c)}`);
      }
    });

    test(`${isa}: shapes big enough to use every thread and cache block`, () => {
      addon!.forceIsa(isa);
      for (const [m, n, k] of [
        [300, 517, 600],
        [64, 3136, 576],
        [1, 777, 1200],
        [700, 3, 300],
      ]) {
        const c: Case = { batch: 1, tA: false, tB: m === 700, m, n, k, alpha: 1, beta: 0, pad: 0, bcastA: false, bcastB: false };
        runCase(c, `${isa} ${JSON.stringify(c)}`);
      }
    });
  }

  test('the detected instruction set is reported', () => {
    assert.match(detected ?? '', /^(avx512|avx2|portable)$/);
  });
});
