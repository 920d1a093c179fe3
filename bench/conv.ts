/**
 * Workload `conv-layer`: forward and backward (input and weight gradients) of
 * single convolutions, in calls per second, against the same layer in PyTorch.
 */
import * as tv from '../src/index.js';
import type { Row } from './report.js';
import { runTorchBest, torchPython } from './torch.js';
import { timed } from './timing.js';

interface LayerCase {
  kind: string;
  x: number[];
  w: number[];
  options: tv.ConvOptions;
}

const CASES: LayerCase[] = [
  { kind: '3x3', x: [16, 64, 56, 56], w: [64, 64, 3, 3], options: { padding: 1 } },
  { kind: 'depthwise', x: [16, 144, 56, 56], w: [144, 1, 3, 3], options: { padding: 1, groups: 144 } },
  { kind: '1x1', x: [16, 96, 28, 28], w: [576, 96, 1, 1], options: {} },
];

function tsvisionCallsPerSecond(c: LayerCase, seconds: number): number {
  const x = tv.randn(c.x, { requiresGrad: true });
  const w = tv.randn(c.w, { requiresGrad: true });
  let gy: tv.Tensor | null = null;
  const step = () => {
    const y = tv.conv2d(x, w, null, c.options);
    gy ??= tv.randn(y.shape);
    y.backward(gy);
    x.grad = null;
    w.grad = null;
  };
  return 1 / timed(step, seconds);
}

export function convLayer(reps: number): Row[] {
  const withTorch = torchPython() !== null;
  return CASES.map((c) => {
    let ours = 0;
    let theirs = 0;
    let theirThreads = 0;
    for (let r = 0; r < reps; r++) {
      ours = Math.max(ours, tsvisionCallsPerSecond(c, 1));
      if (withTorch) {
        const t = runTorchBest('conv_layer', { kind: c.kind, seconds: 1 }, 'calls_per_s');
        if (t.calls_per_s > theirs) [theirs, theirThreads] = [t.calls_per_s, t.threads];
      }
    }
    return {
      workload: 'conv-layer',
      case: c.kind,
      unit: 'calls/s',
      tsvision: ours,
      tsvisionThreads: tv.getNumThreads(),
      pytorch: withTorch ? theirs : null,
      pytorchThreads: withTorch ? theirThreads : null,
    };
  });
}
