/** GroupNorm. */
import { empty, type Tensor } from '../tensor/tensor.js';
import { checkInt } from './args.js';
import { groupNorm } from './functional.js';
import * as init from './init.js';
import { Module, Parameter } from './module.js';

export interface GroupNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-channel weight (init 1) and bias (init 0) (default true). */
  affine?: boolean;
}

/**
 * y = (x - E[x]) / √(Var[x] + eps)·weight[c] + bias[c], with mean and biased variance
 * per sample over each group of numChannels/numGroups channels (and all positions).
 * x: [N, numChannels, ...] → same shape; weight, bias [numChannels]. Independent of the
 * batch size, so it suits small batches (Wu and He, 2018).
 */
export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(numGroups: number, numChannels: number, { eps = 1e-5, affine = true }: GroupNormOptions = {}) {
    super();
    checkInt('GroupNorm', 'numGroups', numGroups, 1);
    checkInt('GroupNorm', 'numChannels', numChannels, 1);
    if (numChannels % numGroups !== 0) throw new RangeError(`GroupNorm: numChannels (${numChannels}) must be divisible by numGroups (${numGroups})`);
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = eps;
    this.affine = affine;
    this.weight = affine ? new Parameter(empty([numChannels])) : null;
    this.bias = affine ? new Parameter(empty([numChannels])) : null;
    this.resetParameters();
  }

  /** weight = 1, bias = 0. */
  resetParameters(): void {
    if (this.weight) init.ones(this.weight);
    if (this.bias) init.zeros(this.bias);
  }

  forward(x: Tensor): Tensor<'float32'> {
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.affine}`;
  }
}
