/**
 * The learning-rate finder as `tsvision lr-find` and `train --lr auto` run it: the sweep on the
 * training set with the run's own optimizer kind, loss and mixing, its plot in the terminal, and
 * `lr-find.svg` in the run's folder. Kept apart from train.ts and lr-find.ts, which both use it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import type { Module } from '../nn/module.js';
import { Adam, AdamW, SGD } from '../optim/index.js';
import type { ParamsInit } from '../optim/optimizer.js';
import type { Tensor } from '../tensor/tensor.js';
import { lrFind, type LrFindResult } from '../train/lr-find.js';
import { lrFindAscii, lrFindSvg } from '../train/lr-find-plot.js';
import type { OptionSpec } from './args.js';
import { CommandError } from './common.js';
import { recipeFit, recipeLoss, type Recipe } from './recipe.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

/** train's optimizers: SGD with Nesterov momentum 0.9, Adam, AdamW. */
export function makeOptimizer(opt: OptimizerName, params: ParamsInit<{ lr?: number }>, lr: number, weightDecay: number): SGD | Adam {
  return opt === 'sgd'
    ? new SGD(params, { lr, momentum: 0.9, nesterov: true, weightDecay })
    : opt === 'adam'
      ? new Adam(params, { lr, weightDecay })
      : new AdamW(params, { lr, weightDecay });
}

/** The sweep's own options (lr-find's; train --lr auto takes the defaults). */
export const SWEEP_OPTIONS: OptionSpec[] = [
  { name: 'start-lr', type: 'number', value: 'X', default: 1e-7, help: 'the first learning rate of the sweep' },
  { name: 'end-lr', type: 'number', value: 'X', default: 10, help: 'the last' },
  { name: 'num-iter', type: 'int', value: 'N', default: 100, min: 2, help: 'steps of the sweep at most (it stops early when the loss explodes)' },
  { name: 'smoothing', type: 'number', value: 'B', min: 0, max: 0.999, default: 0.98, help: "the loss's moving-average weight" },
];

export interface SweepInput {
  net: Module;
  trainSet: { length: number; getItem(i: number): unknown };
  opt: OptimizerName;
  weightDecay: number;
  recipe: Recipe;
  numClasses: number;
  batchSize: number;
  seed: number;
  workers: number;
  outDir: string;
  where: string;
  startLr?: number;
  endLr?: number;
  numIter?: number;
  smoothing?: number;
}

/** Runs the sweep (the network is left as it was), prints its plot, writes OUT/lr-find.svg; throws when no rate is suggested. */
export async function sweepLearningRates(input: SweepInput, say: (line?: string) => void): Promise<{ result: LrFindResult; lr: number; svg: string }> {
  const { net, opt, weightDecay, recipe, where } = input;
  const optimizer = makeOptimizer(
    opt,
    net.parameters().filter((p) => p.requiresGrad),
    1e-7,
    weightDecay,
  );
  const loss = recipeLoss(recipe).loss as { call(o: Tensor, t: Tensor): Tensor };
  const result = await lrFind({ net, optimizer, loss: (o, t) => loss.call(o, t) }, input.trainSet as never, {
    startLr: input.startLr,
    endLr: input.endLr,
    numIter: input.numIter,
    smoothing: input.smoothing,
    batchSize: input.batchSize,
    seed: input.seed,
    numWorkers: input.workers,
    mixing: recipeFit(recipe, input.numClasses).mixing,
  });
  mkdirSync(input.outDir, { recursive: true });
  const svg = join(input.outDir, 'lr-find.svg');
  writeFileAtomic(svg, Buffer.from(lrFindSvg(result, `Learning-rate finder: ${opt}, batch ${input.batchSize}`), 'utf8'));
  say(lrFindAscii(result));
  const n = result.lrs.length;
  say(
    `Sweep: ${n} steps from ${result.lrs[0].toExponential(1)} to ${result.lrs[n - 1].toExponential(1)}` +
      `${result.diverged ? ' (stopped: the loss passed 4x its minimum)' : ''}; the lowest smoothed loss at ${(result.minimumLr * 10).toExponential(1)}.`,
  );
  if (result.suggestion === null)
    throw new CommandError(`${where}: the loss never fell during the sweep (${svg}); try a higher --end-lr or more --num-iter, or give --lr X`);
  return { result, lr: Number(result.suggestion.toPrecision(2)), svg };
}
