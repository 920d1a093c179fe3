/**
 * The learning-rate range test (Smith, "Cyclical Learning Rates", 2017; fastai's lr_find):
 * train for a few batches while the learning rate grows geometrically from startLr to
 * endLr, record the loss, and stop once it explodes. Then put the weights, buffers,
 * optimizer state and random generator back as they were, so the sweep leaves no trace.
 *
 *   lr_i      = startLr · (endLr / startLr)^(i / (numIter − 1))
 *   smooth_i  = the loss's exponential moving average (weight `smoothing`), debiased
 *   stop when smooth_i > 4 · min(smooth) or the loss is not finite
 *
 * The suggestion is the steepest descent of the smoothed curve: the learning rate where
 * d(smooth)/d(log lr) is most negative, looked for between a tenth of the way in and the
 * curve's minimum (fastai's `steep`); the learning rate of the minimum divided by 10
 * (fastai's `minimum`) is reported beside it.
 */
import { DataLoader } from '../data/loader.js';
import type { Dataset } from '../data/dataset.js';
import type { BatchMixer } from '../data/mixing.js';
import type { Module } from '../nn/module.js';
import type { AnyOptimizer } from '../optim/lr_scheduler.js';
import { defaultGenerator } from '../tensor/random.js';
import { backward } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';

export interface LrFindOptions {
  /** the first learning rate (default 1e-7) */
  startLr?: number;
  /** the last (default 10) */
  endLr?: number;
  /** batches of the sweep at most (default 100); the data is gone through again if it has fewer */
  numIter?: number;
  /** the weight of the loss's moving average (default 0.98, fastai's) */
  smoothing?: number;
  /** stop when the smoothed loss exceeds this times its minimum (default 4) */
  divergeFactor?: number;
  /** for a Dataset: images per batch (default 32), the loader's seed and worker threads */
  batchSize?: number;
  seed?: number;
  numWorkers?: number;
  /** MixUp / CutMix applied to each batch, as fit does */
  mixing?: BatchMixer | null;
}

export interface LrFindResult {
  /** the learning rate of each step taken */
  lrs: number[];
  /** each step's batch loss */
  losses: number[];
  /** the smoothed loss of each step */
  smoothed: number[];
  /** the steepest descent's learning rate (null when the curve never falls) */
  suggestion: number | null;
  /** its index in lrs */
  suggestionIndex: number | null;
  /** the learning rate of the smoothed loss's minimum, divided by 10 */
  minimumLr: number;
  /** true when the sweep stopped because the loss exploded */
  diverged: boolean;
}

/** What the sweep trains: a network, its optimizer and a loss (Model.lrFind passes its own). */
export interface LrFindTarget {
  net: Module;
  optimizer: AnyOptimizer;
  loss: (output: Tensor, target: Tensor) => Tensor;
}

type Batches = Iterable<unknown> | AsyncIterable<unknown>;

function check(ok: boolean, what: string): void {
  if (!ok) throw new RangeError(`lrFind: ${what}`);
}

/** The steepest descent of `smoothed` against log(lr), between a tenth of the way and the minimum; null when it never falls. */
export function steepestDescent(lrs: readonly number[], smoothed: readonly number[]): number | null {
  let end = 0;
  for (let i = 1; i < smoothed.length; i++) if (smoothed[i] < smoothed[end]) end = i;
  const start = Math.floor(smoothed.length / 10);
  let best: number | null = null;
  let bestSlope = 0;
  for (let i = Math.max(start, 1); i <= end; i++) {
    const slope = (smoothed[i] - smoothed[i - 1]) / (Math.log(lrs[i]) - Math.log(lrs[i - 1]));
    if (slope < bestSlope) {
      bestSlope = slope;
      best = i;
    }
  }
  return best;
}

/** Runs the sweep on `target` and restores it; see the file's header. */
export async function lrFind(target: LrFindTarget, data: DataLoader<any, any> | Dataset<any> | Batches, options: LrFindOptions = {}): Promise<LrFindResult> {
  const { startLr = 1e-7, endLr = 10, numIter = 100, smoothing = 0.98, divergeFactor = 4, batchSize = 32, seed, numWorkers = 0, mixing = null } = options;
  check(startLr > 0 && endLr > startLr && Number.isFinite(endLr), `expected 0 < startLr < endLr, got ${startLr} and ${endLr}`);
  check(Number.isInteger(numIter) && numIter >= 2, `numIter must be an integer >= 2, got ${numIter}`);
  check(smoothing >= 0 && smoothing < 1, `smoothing must be in [0, 1), got ${smoothing}`);
  const { net, optimizer, loss } = target;

  // what the sweep changes, copied: weights and buffers, the optimizer's state and rates, the generator
  const state = [...net.stateDict().values()];
  const saved = state.map((t) => t.data.slice());
  const optimizerState = optimizer.stateDict();
  for (const s of Object.values(optimizerState.state))
    for (const [k, v] of Object.entries(s)) if (v instanceof Tensor) s[k] = new Tensor(v.data.slice(), v.shape);
  const rng = defaultGenerator().getState();
  const wasTraining = net.training;

  const made = !(data instanceof DataLoader) && typeof (data as Dataset<unknown>).getItem === 'function';
  const loader: Batches = made
    ? new DataLoader(data as Dataset<unknown>, { batchSize, shuffle: true, numWorkers, ...(seed !== undefined ? { seed } : {}) })
    : (data as Batches);
  const lrs: number[] = [];
  const losses: number[] = [];
  const smoothed: number[] = [];
  let avg = 0;
  let best = Infinity;
  let diverged = false;
  try {
    net.train();
    sweep: for (;;) {
      let any = false;
      for await (const batch of loader as AsyncIterable<unknown>) {
        any = true;
        let [x, y] = batch as [Tensor, Tensor];
        if (!(x instanceof Tensor) || !(y instanceof Tensor)) throw new TypeError('lrFind: expected batches [x, y] of Tensors');
        if (mixing) [x, y] = mixing.apply(x, y);
        const i = lrs.length;
        const lr = startLr * (endLr / startLr) ** (i / (numIter - 1));
        for (const g of optimizer.paramGroups) g.lr = lr;
        optimizer.zeroGrad();
        const l = loss(net.call(x) as Tensor, y);
        backward(l);
        optimizer.step();
        const value = l.item();
        lrs.push(lr);
        losses.push(value);
        avg = smoothing * avg + (1 - smoothing) * value;
        const s = avg / (1 - smoothing ** (i + 1));
        smoothed.push(s);
        if (!Number.isFinite(s) || s > divergeFactor * best) {
          diverged = true;
          break sweep;
        }
        best = Math.min(best, s);
        if (lrs.length >= numIter) break sweep;
      }
      if (!any) throw new RangeError('lrFind: no data');
    }
  } finally {
    if (made) await (loader as DataLoader<unknown>).close();
    state.forEach((t, k) => (t.data as Float32Array).set(saved[k] as Float32Array));
    optimizer.loadStateDict(optimizerState);
    for (const p of net.parameters()) p.grad = null;
    defaultGenerator().setState(rng);
    if (!wasTraining) net.eval();
  }
  const finite = smoothed.map((s) => (Number.isFinite(s) ? s : Infinity));
  let minIndex = 0;
  for (let i = 1; i < finite.length; i++) if (finite[i] < finite[minIndex]) minIndex = i;
  const k = steepestDescent(lrs, finite);
  return { lrs, losses, smoothed, suggestion: k === null ? null : lrs[k], suggestionIndex: k, minimumLr: lrs[minIndex] / 10, diverged };
}
