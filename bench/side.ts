/**
 * One side of a big-network workload, run by bench/models.ts in a child process of its
 * own so that its peak resident memory is its own: `node dist/bench/side.js JSON`,
 * printing one JSON line {value, peakMB}.
 *   {"side": "tsvision", "mode": "infer" | "train", "model", "batch", "seconds"}
 *   {"side": "onnxruntime", "mode": "infer", "model", "batch", "seconds", "threads", "file"}
 * infer: ms per call at batch 1, images per second above; train: images per second of a
 * whole step (forward, cross-entropy, backward, SGD with momentum).
 */
import * as tv from '../src/index.js';
import { getModel } from '../src/models/index.js';
import * as nn from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { timed } from './timing.js';

interface Spec {
  side: 'tsvision' | 'onnxruntime';
  mode: 'infer' | 'train';
  model: string;
  batch: number;
  seconds: number;
  size?: number;
  threads?: number;
  file?: string;
}

const peakMB = () => process.resourceUsage().maxRSS / 1024;
const report = (spec: Spec, secondsPerCall: number) =>
  console.log(JSON.stringify({ value: spec.mode === 'infer' && spec.batch === 1 ? secondsPerCall * 1000 : spec.batch / secondsPerCall, peakMB: peakMB() }));

function tsvision(spec: Spec): void {
  const size = spec.size ?? 224;
  tv.manualSeed(0);
  const net = getModel(spec.model);
  const x = tv.randn([spec.batch, 3, size, size]);
  if (spec.mode === 'infer') {
    net.eval();
    // the inference path (as Predictor runs it): batch norm folded, activations in the convolutions' epilogues
    nn.fuseForInference(net, x);
    report(
      spec,
      timed(() => tv.noGrad(() => net.call(x)), spec.seconds),
    );
    return;
  }
  net.train();
  const optimizer = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const lossFn = new nn.CrossEntropyLoss();
  const y = tv.randint(0, 1000, [spec.batch]);
  const step = () => {
    optimizer.zeroGrad();
    lossFn.call(net.call(x), y).backward();
    optimizer.step();
  };
  report(spec, timed(step, spec.seconds, 2, 1));
}

async function onnxruntime(spec: Spec): Promise<void> {
  const name = 'onnxruntime-node';
  const ort = (await import(name)).default;
  const size = spec.size ?? 224;
  const session = await ort.InferenceSession.create(spec.file, {
    intraOpNumThreads: spec.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const x = new ort.Tensor('float32', tv.randn([spec.batch, 3, size, size]).data, [spec.batch, 3, size, size]);
  const run = () => session.run({ [session.inputNames[0]]: x });
  for (let i = 0; i < 2; i++) await run();
  let iters = 0;
  const start = performance.now();
  let elapsed: number;
  do {
    await run();
    iters++;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < spec.seconds || iters < 3);
  report(spec, elapsed / iters);
}

const spec = JSON.parse(process.argv[2]) as Spec;
if (spec.side === 'tsvision') tsvision(spec);
else await onnxruntime(spec);
