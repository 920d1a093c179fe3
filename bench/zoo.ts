/**
 * `zoo`: every registered torchvision-named model's inference latency at batch 1 at its
 * default resolution (fused, as Predictor runs it), best of `reps` timed runs, beside its
 * parameters, multiply-accumulates and the published ImageNet top-1 of its default weights.
 * tsvision alone: docs/models.md's speed table comes from it.
 */
import * as tv from '../src/index.js';
import { findWeights, getModel, listModels, MODEL_STATS } from '../src/models/index.js';
import { skipInit } from '../src/nn/init.js';
import * as nn from '../src/nn/index.js';
import type { Row } from './report.js';
import { timed } from './timing.js';

/** Registered names that are not torchvision's (the small networks, the efficientnet_pytorch package's layouts). */
const isTorchvisionName = (name: string) => name in MODEL_STATS && !name.includes('-') && MODEL_STATS[name].imageSize >= 224;

export function zoo(reps: number): Row[] {
  const rows: Row[] = [];
  for (const name of listModels().filter(isTorchvisionName)) {
    const { params, macs, imageSize } = MODEL_STATS[name];
    const net = skipInit(() => getModel(name)).eval();
    const x = tv.randn([1, 3, imageSize, imageSize]);
    nn.fuseForInference(net, x);
    let best = Infinity;
    for (let r = 0; r < reps; r++)
      best = Math.min(
        best,
        timed(() => tv.noGrad(() => net.call(x)), 0, 1, r === 0 ? 1 : 0),
      );
    const top1 = findWeights(`${name}.imagenet`)?.accuracy?.top1 ?? null;
    const row: Row = {
      workload: `zoo-${name}`,
      case: `batch 1, ${imageSize} px`,
      unit: 'ms',
      lowerIsBetter: true,
      tsvision: best * 1000,
      tsvisionThreads: tv.getNumThreads(),
      pytorch: null,
      pytorchThreads: null,
    };
    rows.push(row);
    console.log(`ZOO ${JSON.stringify({ name, params, gmacs: macs / 1e9, imageSize, top1, ms: best * 1000 })}`);
  }
  return rows;
}
