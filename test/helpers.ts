import { spawn } from 'node:child_process';
/** Shared test helpers: seeded data, closeness checks with useful messages, and a finite-difference gradient check. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addon } from '../src/backend/index.js';
import { Generator, Tensor, noGrad, tensor, type NestedArray } from '../src/index.js';

export const gen = new Generator(1234);

/** A float32 tensor of uniform values in [lo, hi) from the tests' own generator. */
export function uniform(shape: readonly number[], lo = -1, hi = 1, requiresGrad = false): Tensor<'float32'> {
  const n = shape.reduce((a, d) => a * d, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * gen.random();
  const t = new Tensor<'float32'>(data, shape);
  if (requiresGrad) t.requiresGrad_();
  return t;
}

/** Asserts |a - b| <= atol + rtol * |b| elementwise (NaN matches NaN), naming the first offender. */
export function assertClose(
  actual: ArrayLike<number> | Tensor,
  expected: ArrayLike<number> | Tensor | NestedArray,
  { rtol = 1e-5, atol = 1e-6, label = '' }: { rtol?: number; atol?: number; label?: string } = {},
): void {
  const a = actual instanceof Tensor ? actual.data : actual;
  const e =
    expected instanceof Tensor
      ? expected.data
      : Array.isArray(expected)
        ? ((expected as NestedArray[]).flat(Infinity as 1) as number[])
        : (expected as ArrayLike<number>);
  const eArr = typeof e === 'number' ? [e] : e;
  assert.equal(a.length, eArr.length, `${label}: length ${a.length} vs expected ${eArr.length}`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = eArr[i];
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    const tol = atol + rtol * Math.abs(y);
    if (!(Math.abs(x - y) <= tol)) {
      assert.fail(`${label}: element ${i} is ${x}, expected ${y} (|diff| ${Math.abs(x - y).toExponential(3)} > tol ${tol.toExponential(3)})`);
    }
  }
}

export function assertShape(t: Tensor, shape: readonly number[], label = ''): void {
  assert.deepEqual([...t.shape], [...shape], `${label}: shape`);
}

/**
 * Finite-difference gradient check. f maps the inputs to a tensor; the scalar
 * checked is sum(f(inputs) * w) for a fixed random w, so every output element
 * matters. Central differences in float32 with step eps; tolerances are loose
 * enough for float32 rounding and tight enough to catch a wrong formula.
 */
export function gradcheck(
  f: (...xs: Tensor<'float32'>[]) => Tensor,
  inputs: Tensor<'float32'>[],
  { eps = 1e-2, rtol = 2e-3, atol = 1e-3, label = 'gradcheck' }: { eps?: number; rtol?: number; atol?: number; label?: string } = {},
): void {
  for (const x of inputs) {
    x.requiresGrad_();
    x.grad = null;
  }
  const out0 = f(...inputs);
  const w = uniform(out0.shape, 0.5, 1.5);
  out0.mul(w).sum().backward();
  const scalarAt = () =>
    noGrad(() => {
      const o = f(...inputs);
      let s = 0;
      for (let i = 0; i < o.size; i++) s += o.data[i] * w.data[i];
      return s;
    });
  inputs.forEach((x, k) => {
    assert.ok(x.grad, `${label}: input ${k} got no gradient`);
    const analytic = x.grad.data;
    for (let i = 0; i < x.size; i++) {
      const orig = x.data[i];
      x.data[i] = orig + eps;
      const up = scalarAt();
      x.data[i] = orig - eps;
      const down = scalarAt();
      x.data[i] = orig;
      const numeric = (up - down) / (2 * eps);
      const tol = atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic[i]));
      if (!(Math.abs(numeric - analytic[i]) <= tol)) {
        assert.fail(`${label}: input ${k} element ${i}: analytic ${analytic[i]}, numeric ${numeric}`);
      }
    }
  });
}

export { tensor };

/**
 * Node's flags from the shebang of bin/tsvision.js, so that tests run the command as a user's shell does
 * (`spawn(process.execPath, [...CLI_FLAGS, bin, ...args])`): worker threads, for one, must start under them.
 */
export const CLI_FLAGS: string[] = (() => {
  const first = readFileSync(fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url)), 'utf8').split('\n')[0];
  const m = /\bnode((?:\s+--\S+)*)\s*$/.exec(first);
  if (!m) throw new Error(`bin/tsvision.js: cannot read Node's flags from its first line: ${first}`);
  return m[1].trim().split(/\s+/).filter(Boolean);
})();

const ISAS = addon ? ['avx512', 'avx2', 'portable'] : [];

/** Runs fn once per instruction set the CPU has (the kernels' loops are compiled for each), then restores the detected one. */
export function onEveryIsa(fn: (isa: string) => void): void {
  const detected = addon?.isa() ?? 'portable';
  try {
    for (const isa of ISAS) {
      addon!.forceIsa(isa);
      if (addon!.isa() === isa) fn(isa);
    }
  } finally {
    addon?.forceIsa(detected);
  }
}

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tsvision args` in `cwd` with the command's own Node flags (asynchronously, so the test runner's timers keep running). */
export function tsvision(cwd: string, ...args: string[]): Promise<CliRun> {
  const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_FLAGS, bin, ...args], { cwd, env: { ...process.env, TSVISION_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
