/**
 * `npm run bench [-- workload ...] [--reps N] [--json FILE]`: runs named workloads, each beside
 * the same workload in PyTorch when `python3 -c 'import torch'` works (and the big networks'
 * inference beside onnxruntime-node), and prints one table row and one JSON line per case
 * with the ratios tsvision / peer; --json also writes every row to FILE.
 */
import { writeFileSync } from 'node:fs';
import { getNumThreads } from '../src/index.js';
import { convLayer } from './conv.js';
import { gemm } from './gemm.js';
import { mnistEpoch } from './mnist.js';
import { modelWorkloads, NODE_FLAGS } from './models.js';
import { onnxruntimeRatio, printHeader, printRow, ratio, type Row } from './report.js';
import { trainWorkloads } from './train.js';
import { torchPython } from './torch.js';
import { zoo } from './zoo.js';

const WORKLOADS: Record<string, (reps: number) => Row[]> = {
  gemm,
  ...trainWorkloads,
  'conv-layer': convLayer,
  'mnist-epoch': mnistEpoch,
  ...modelWorkloads,
  zoo,
};

function main(): void {
  const args = process.argv.slice(2);
  let reps = 3;
  let json: string | null = null;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--reps') reps = Number(args[++i]);
    else if (args[i] === '--json') json = args[++i];
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
      `best of ${reps} interleaved runs; Node with ${NODE_FLAGS.join(' ')} as the tsvision command runs it`,
  );
  printHeader();
  const rows: Row[] = [];
  for (const n of selected) {
    for (const row of WORKLOADS[n](reps)) {
      printRow(row);
      rows.push(row);
    }
  }
  if (json)
    writeFileSync(
      json,
      `${JSON.stringify(
        rows.map((r) => ({ ...r, ratio: ratio(r), onnxruntimeRatio: onnxruntimeRatio(r) })),
        null,
        2,
      )}\n`,
    );
}

main();
