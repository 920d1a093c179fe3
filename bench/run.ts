/**
 * `npm run bench [-- workload ...] [--reps N]`: runs named workloads, each beside the
 * same workload in PyTorch when `python3 -c 'import torch'` works, and prints
 * one table row and one JSON line per case with the ratio tsvision / PyTorch.
 */
import { getNumThreads } from '../src/index.js';
import { convLayer } from './conv.js';
import { gemm } from './gemm.js';
import { mnistEpoch } from './mnist.js';
import { printHeader, printRow, type Row } from './report.js';
import { trainWorkloads } from './train.js';
import { torchPython } from './torch.js';

const WORKLOADS: Record<string, (reps: number) => Row[]> = { gemm, ...trainWorkloads, 'conv-layer': convLayer, 'mnist-epoch': mnistEpoch };

function main(): void {
  const args = process.argv.slice(2);
  let reps = 3;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--reps') reps = Number(args[++i]);
    else names.push(args[i]);
  }
  const selected = names.length ? names : Object.keys(WORKLOADS);
  for (const n of selected) {
    if (!WORKLOADS[n]) {
      console.error(`bench: unknown workload '${n}'; known: ${Object.keys(WORKLOADS).join(', ')}`);
      process.exit(2);
    }
  }
  console.log(
    `tsvision threads: ${getNumThreads()}; PyTorch: ${torchPython() ? 'yes (best of 1 and 2 threads, OMP_WAIT_POLICY=PASSIVE)' : 'not installed'}; ` +
      `best of ${reps} interleaved runs`,
  );
  printHeader();
  for (const n of selected) for (const row of WORKLOADS[n](reps)) printRow(row);
}

main();
