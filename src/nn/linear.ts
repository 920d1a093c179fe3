/** Linear, Identity and Flatten. */
import { flatten } from '../tensor/ops/movement.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import { linear } from './functional.js';
import * as init from './init.js';
import { Module, Parameter } from './module.js';

export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x·Wᵀ + b. x: [..., inFeatures] → [..., outFeatures]; weight [outFeatures,
 * inFeatures], bias [outFeatures]. Initialised as PyTorch: W ~ kaimingUniform with
 * a = √5 (that is U(±1/√in)), b ~ U(±1/√in).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, { bias = true }: LinearOptions = {}) {
    super();
    for (const [name, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`Linear: ${name} must be a non-negative integer, got ${v}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(empty([outFeatures, inFeatures]));
    this.bias = bias ? new Parameter(empty([outFeatures])) : null;
    this.resetParameters();
  }

  /** Draws fresh weights from the global generator, as at construction. */
  resetParameters(): void {
    init.kaimingUniform(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      init.uniform(this.bias, { a: -bound, b: bound });
    }
  }

  forward(x: Tensor): Tensor<'float32'> {
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** y = x (any shape). A placeholder, e.g. for a removed classifier head. */
export class Identity extends Module {
  forward<T extends Tensor>(x: T): T {
    return x;
  }
}

/** Merges dimensions startDim..endDim: [N, C, H, W] → [N, C·H·W] with the defaults (1, -1). A view. */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  forward<T extends Tensor>(x: T): T {
    return flatten(x, this.startDim, this.endDim) as T;
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
