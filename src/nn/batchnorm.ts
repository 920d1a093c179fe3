/**
 * Batch normalisation: BatchNorm1d, BatchNorm2d, BatchNorm3d, with PyTorch's
 * parameters, buffers, state-dict keys and running-statistics rules.
 */
import { isGradEnabled, isTracing } from '../tensor/autograd.js';
import { fmtShape, ShapeError } from '../tensor/errors.js';
import { batchNorm } from '../tensor/ops/norm.js';
import { zeros as zerosTensor } from '../tensor/creation.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import { checkInt } from './args.js';
import * as init from './init.js';
import { Module, Parameter } from './module.js';

export interface BatchNormLayerOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /**
   * Weight of each new batch in the running statistics (default 0.1):
   * running = (1 - momentum)·running + momentum·batch. null gives the cumulative
   * average of all batches so far (momentum 1/num_batches_tracked), as PyTorch.
   */
  momentum?: number | null;
  /** Learn a per-channel scale `weight` (init 1) and shift `bias` (init 0) (default true). */
  affine?: boolean;
  /** Keep running statistics for evaluation (default true); without them batch statistics are used in every mode. */
  trackRunningStats?: boolean;
}

/**
 * y = (x - E[x]) / √(Var[x] + eps)·weight + bias per channel, with statistics over
 * every axis but the channel axis 1. Training: the batch's mean and biased variance
 * normalise, and running_mean / running_var (unbiased variance) are updated in place
 * and num_batches_tracked incremented. Evaluation: the running statistics normalise.
 * Buffers under PyTorch's names: running_mean [C] (init 0), running_var [C] (init 1),
 * num_batches_tracked [] (int32 here; int64 in PyTorch, converted when loaded).
 */
export abstract class BatchNormNd extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;
  declare running_mean: Tensor<'float32'> | null;
  declare running_var: Tensor<'float32'> | null;
  declare num_batches_tracked: Tensor<'int32'> | null;

  constructor(numFeatures: number, { eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true }: BatchNormLayerOptions = {}) {
    super();
    const layer = this.constructor.name;
    checkInt(layer, 'numFeatures', numFeatures, 1);
    if (!(eps >= 0)) throw new RangeError(`${layer}: eps must be non-negative, got ${eps}`);
    if (momentum !== null && !(momentum >= 0 && momentum <= 1)) throw new RangeError(`${layer}: momentum must be in [0, 1] or null, got ${momentum}`);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine ? new Parameter(empty([numFeatures])) : null;
    this.bias = affine ? new Parameter(empty([numFeatures])) : null;
    this.registerBuffer('running_mean', trackRunningStats ? empty([numFeatures]) : null);
    this.registerBuffer('running_var', trackRunningStats ? empty([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', trackRunningStats ? zerosTensor([], { dtype: 'int32' }) : null);
    this.resetParameters();
  }

  get runningMean(): Tensor<'float32'> | null {
    return this.running_mean;
  }

  get runningVar(): Tensor<'float32'> | null {
    return this.running_var;
  }

  get numBatchesTracked(): Tensor<'int32'> | null {
    return this.num_batches_tracked;
  }

  /** running_mean = 0, running_var = 1, num_batches_tracked = 0. */
  resetRunningStats(): void {
    if (this.running_mean) init.zeros(this.running_mean);
    if (this.running_var) init.ones(this.running_var);
    if (this.num_batches_tracked) this.num_batches_tracked.data[0] = 0;
  }

  /** Resets the running statistics, weight = 1, bias = 0. */
  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones(this.weight);
    if (this.bias) init.zeros(this.bias);
  }

  /** The accepted input ranks and how to describe them, e.g. [[4], '4-D input [N, C, H, W]']. */
  protected abstract get expected(): readonly [readonly number[], string];

  /** folded into the preceding convolution's inference weights (fuseForInference): evaluation without the tape passes x through */
  #folded = false;

  get foldedForInference(): boolean {
    return this.#folded;
  }

  /** Marks this layer as folded into the convolution before it (or, with false, not); see fuseForInference. */
  setFoldedForInference(folded: boolean): void {
    this.#folded = folded;
  }

  forward(x: Tensor): Tensor<'float32'> {
    if (this.#folded && !this.training && !isGradEnabled() && !isTracing()) return x as Tensor<'float32'>;
    const layer = this.constructor.name;
    const [ranks, what] = this.expected;
    if (!ranks.includes(x.ndim)) throw new ShapeError(`${layer}: expected a ${what}, got shape ${fmtShape(x.shape)}`);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${layer}(${this.numFeatures}): expected ${this.numFeatures} channels in dimension 1, got shape ${fmtShape(x.shape)}`);
    }
    const useBatchStats = this.training || !this.running_mean || !this.running_var;
    if (useBatchStats && x.size / this.numFeatures <= 1) {
      throw new ShapeError(`${layer}: expected more than 1 value per channel when using batch statistics, got input shape ${fmtShape(x.shape)}`);
    }
    // The buffers exist only when tracking: then training updates them and evaluation reads them.
    let factor = this.momentum ?? 0;
    if (this.training && this.num_batches_tracked) {
      this.num_batches_tracked.data[0] += 1;
      factor = this.momentum ?? 1 / this.num_batches_tracked.data[0];
    }
    return batchNorm(x, this.running_mean, this.running_var, this.weight, this.bias, { training: useBatchStats, momentum: factor, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Batch norm over [N, C] or [N, C, L] (statistics per channel C). See BatchNormNd. */
export class BatchNorm1d extends BatchNormNd {
  protected get expected() {
    return [[2, 3], '2-D input [N, C] or 3-D input [N, C, L]'] as const;
  }
}

/** Batch norm over [N, C, H, W] (statistics per channel C). See BatchNormNd. */
export class BatchNorm2d extends BatchNormNd {
  protected get expected() {
    return [[4], '4-D input [N, C, H, W]'] as const;
  }
}

/** Batch norm over [N, C, D, H, W] (statistics per channel C). See BatchNormNd. */
export class BatchNorm3d extends BatchNormNd {
  protected get expected() {
    return [[5], '5-D input [N, C, D, H, W]'] as const;
  }
}
