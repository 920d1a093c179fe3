/**
 * The big networks at 224 px, each side in a child process of its own (bench/side.ts,
 * bench/torch_side.py) so that each reports its own peak resident memory; the sides
 * are interleaved within each repetition and each keeps its best.
 *   infer-<model>  batch 1 latency (ms) and batch 16 throughput (img/s), against
 *                  onnxruntime-node (CPU provider, all graph optimisations, best of 1 and 2
 *                  intra-op threads) on the ONNX file PyTorch exports from the same
 *                  torchvision model (tools/export_bench_onnx.py), and against PyTorch
 *                  (eval, no_grad, best of 1 and 2 threads)
 *   train-<model>  one whole step (forward, cross-entropy, backward, SGD with momentum),
 *                  img/s, against PyTorch
 * Without PyTorch, onnxruntime-node or the exported files the bench says so and runs the rest.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads } from '../src/index.js';
import type { Row } from './report.js';
import { runTorch, torchPython } from './torch.js';

const INFER = ['resnet18', 'resnet50', 'efficientnet_b0', 'mobilenet_v2', 'mobilenet_v3_large'];
const TRAIN: [string, number][] = [
  ['resnet18', 16],
  ['efficientnet_b0', 16],
  ['mobilenet_v2', 32],
  ['resnet50', 32],
];
const SECONDS = 3;
const side = fileURLToPath(new URL('./side.js', import.meta.url));

interface Result {
  value: number;
  peakMB: number;
}

export function onnxFile(model: string): string {
  return join(process.env.TSVISION_HOME ?? join(homedir(), '.cache', 'tsvision'), 'bench-onnx', `${model}.onnx`);
}

let ortPresent: boolean | undefined;
function onnxruntimePresent(): boolean {
  if (ortPresent === undefined) ortPresent = spawnSync(process.execPath, ['-e', "require.resolve('onnxruntime-node')"], { stdio: 'ignore' }).status === 0;
  return ortPresent;
}

/**
 * Node's flags for a side: those the tsvision command runs with (bin/tsvision.js), so that
 * V8's collector does not take the cores from the kernels' threads (docs/architecture.md).
 */
export const NODE_FLAGS = ['--single-threaded-gc'];

function runSide(spec: Record<string, unknown>): Result {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, side, JSON.stringify(spec)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench side ${JSON.stringify(spec)} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

/** Keeps the best value (higher, or lower when lowerIsBetter) with its threads, and the largest peak memory seen. */
class Best {
  value: number | null = null;
  threads: number | null = null;
  peakMB: number | null = null;
  constructor(readonly lowerIsBetter: boolean) {}
  add(value: number, peakMB: number, threads: number): void {
    if (this.value === null || (this.lowerIsBetter ? value < this.value : value > this.value)) [this.value, this.threads] = [value, threads];
    this.peakMB = Math.max(this.peakMB ?? 0, peakMB);
  }
}

function inferWorkload(model: string) {
  return (reps: number): Row[] => {
    const withTorch = torchPython() !== null;
    const file = onnxFile(model);
    const withOrt = onnxruntimePresent() && existsSync(file);
    if (!withOrt) {
      console.log(
        `${model}: onnxruntime side skipped (${onnxruntimePresent() ? `no ${file}; make it with /usr/bin/python3 tools/export_bench_onnx.py` : 'onnxruntime-node is not installed'})`,
      );
    }
    return [1, 16].map((batch) => {
      const latency = batch === 1;
      const ours = new Best(latency);
      const torch = new Best(latency);
      const ort = new Best(latency);
      for (let r = 0; r < reps; r++) {
        const t = runSide({ side: 'tsvision', mode: 'infer', model, batch, seconds: SECONDS });
        ours.add(t.value, t.peakMB, getNumThreads());
        for (const threads of withOrt ? [1, 2] : []) {
          const o = runSide({ side: 'onnxruntime', mode: 'infer', model, batch, seconds: SECONDS, threads, file });
          ort.add(o.value, o.peakMB, threads);
        }
        for (const threads of withTorch ? [1, 2] : []) {
          const p = runTorch('model_infer', { model, batch, seconds: SECONDS }, threads);
          torch.add(latency ? p.ms : p.images_per_s, p.peak_mb, threads);
        }
      }
      return {
        workload: `infer-${model}`,
        case: latency ? 'batch 1' : 'batch 16',
        unit: latency ? 'ms' : 'img/s',
        lowerIsBetter: latency,
        tsvision: ours.value!,
        tsvisionThreads: getNumThreads(),
        pytorch: torch.value,
        pytorchThreads: torch.threads,
        onnxruntime: ort.value,
        onnxruntimeThreads: ort.threads,
        peakMB: { tsvision: ours.peakMB!, pytorch: torch.peakMB, onnxruntime: ort.peakMB },
      };
    });
  };
}

function trainWorkload(model: string, batch: number) {
  return (reps: number): Row[] => {
    const withTorch = torchPython() !== null;
    const ours = new Best(false);
    const torch = new Best(false);
    for (let r = 0; r < reps; r++) {
      const t = runSide({ side: 'tsvision', mode: 'train', model, batch, seconds: SECONDS * 2 });
      ours.add(t.value, t.peakMB, getNumThreads());
      for (const threads of withTorch ? [1, 2] : []) {
        const p = runTorch('model_train', { model, batch, seconds: SECONDS * 2 }, threads);
        torch.add(p.images_per_s, p.peak_mb, threads);
      }
    }
    return [
      {
        workload: `train-${model}`,
        case: `batch ${batch}`,
        unit: 'img/s',
        tsvision: ours.value!,
        tsvisionThreads: getNumThreads(),
        pytorch: torch.value,
        pytorchThreads: torch.threads,
        peakMB: { tsvision: ours.peakMB!, pytorch: torch.peakMB },
      },
    ];
  };
}

export const modelWorkloads: Record<string, (reps: number) => Row[]> = {
  ...Object.fromEntries(INFER.map((m) => [`infer-${m}`, inferWorkload(m)])),
  ...Object.fromEntries(TRAIN.map(([m, b]) => [`train-${m}`, trainWorkload(m, b)])),
};
