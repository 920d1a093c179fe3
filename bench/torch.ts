/**
 * Runs the PyTorch side of a workload in a child process (bench/torch_side.py),
 * at its best: OMP_WAIT_POLICY=PASSIVE, with 1 and with 2 threads, keeping the
 * faster. PyTorch is optional; without it the benchmarks print tsvision alone.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../bench/torch_side.py', import.meta.url));

let python: string | null | undefined;

/** The first python3 that can import torch (Debian's lives in /usr/bin), or null. */
export function torchPython(): string | null {
  if (python !== undefined) return python;
  python = null;
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) {
      python = candidate;
      break;
    }
  }
  return python;
}

export interface TorchResult {
  threads: number;
  [metric: string]: number;
}

/**
 * Debian's OpenBLAS 0.3.21 does not recognise recent AMD cores and falls back to
 * its AVX2 (Haswell) kernels, at about half the speed of its AVX-512 ones on a
 * CPU that has AVX-512 (measured here: torch.mm at 2048³ on one thread, 97 vs 189
 * GFLOP/s). To compare against PyTorch at its best, its AVX-512 kernels are
 * selected whenever the CPU has AVX-512.
 */
function openblasCore(): Record<string, string> {
  if (process.env.OPENBLAS_CORETYPE) return {};
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  return /\bavx512f\b/.test(info) ? { OPENBLAS_CORETYPE: 'SkylakeX' } : {};
}

/** One run of `workload` in PyTorch with `threads` threads. */
export function runTorch(workload: string, args: Record<string, unknown>, threads: number): TorchResult {
  const py = torchPython();
  if (!py) throw new Error('PyTorch is not available');
  const env = {
    ...process.env,
    ...openblasCore(),
    OMP_WAIT_POLICY: 'PASSIVE',
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
  };
  const r = spawnSync(py, [script, JSON.stringify({ workload, args, threads })], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch ${workload} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

/** PyTorch's best value of `metric` (higher is better) over 1 and 2 threads. */
export function runTorchBest(workload: string, args: Record<string, unknown>, metric: string): TorchResult {
  const one = runTorch(workload, args, 1);
  const two = runTorch(workload, args, 2);
  return one[metric] >= two[metric] ? one : two;
}
