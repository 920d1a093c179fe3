/** Workload `gemm`: SGEMM at 256, 1024 and 2048 cubed in GFLOP/s, tsvision's matmul against torch.mm. */
import * as tv from '../src/index.js';
import { runTorchBest, torchPython } from './torch.js';
import type { Row } from './report.js';
import { timed } from './timing.js';

function tsvisionGflops(size: number, seconds: number): number {
  const a = tv.randn([size, size]);
  const b = tv.randn([size, size]);
  return (2 * size ** 3) / timed(() => tv.matmul(a, b), seconds) / 1e9;
}

export function gemm(reps: number): Row[] {
  const rows: Row[] = [];
  const withTorch = torchPython() !== null;
  for (const size of [256, 1024, 2048]) {
    const seconds = size >= 2048 ? 1.5 : 0.5;
    let ours = 0;
    let theirs = 0;
    let theirThreads = 0;
    // Interleave the two sides and keep each one's best: the machine is shared and noisy.
    for (let r = 0; r < reps; r++) {
      ours = Math.max(ours, tsvisionGflops(size, seconds));
      if (withTorch) {
        const t = runTorchBest('gemm', { size, seconds }, 'gflops');
        if (t.gflops > theirs) [theirs, theirThreads] = [t.gflops, t.threads];
      }
    }
    rows.push({
      workload: 'gemm',
      case: `${size}^3`,
      unit: 'GFLOP/s',
      tsvision: ours,
      tsvisionThreads: tv.getNumThreads(),
      pytorch: withTorch ? theirs : null,
      pytorchThreads: withTorch ? theirThreads : null,
    });
  }
  return rows;
}
