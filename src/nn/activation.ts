/**
 * Activation modules: each is the tensor op of the same name, elementwise on any
 * shape (Softmax and LogSoftmax along `dim`). Formulas as PyTorch's.
 */
import type { Activation } from '../backend/index.js';
import { isGradEnabled, isTracing } from '../tensor/autograd.js';
import * as ops from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { activationApplied } from './epilogue.js';
import { Module } from './module.js';

type F32 = Tensor<'float32'>;

/**
 * An elementwise activation that a preceding convolution can apply in its epilogue
 * (fuseForInference): `activation` names it as a unary op, and forward passes on a
 * tensor whose convolution already applied it.
 */
export abstract class ElementwiseActivation extends Module {
  abstract get activation(): Activation;

  protected applied(x: Tensor): x is F32 {
    return !isGradEnabled() && !isTracing() && activationApplied(x, this.activation);
  }
}

/** max(x, 0). */
export class ReLU extends ElementwiseActivation {
  get activation(): Activation {
    return { op: 'relu' };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.relu(x);
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends ElementwiseActivation {
  get activation(): Activation {
    return { op: 'clamp', p0: 0, p1: 6 };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.relu6(x);
  }
}

/** x for x >= 0, negativeSlope·x below. */
export class LeakyReLU extends ElementwiseActivation {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  get activation(): Activation {
    return { op: 'leakyRelu', p0: this.negativeSlope };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** tanh(x). */
export class Tanh extends ElementwiseActivation {
  get activation(): Activation {
    return { op: 'tanh' };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.tanh(x);
  }
}

/** 1 / (1 + e^-x). */
export class Sigmoid extends ElementwiseActivation {
  get activation(): Activation {
    return { op: 'sigmoid' };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.sigmoid(x);
  }
}

/** x·sigmoid(x) (also called swish). */
export class SiLU extends ElementwiseActivation {
  get activation(): Activation {
    return { op: 'silu' };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.silu(x);
  }
}

export interface GELUOptions {
  /** 'none' (default): x·Φ(x) with the exact erf; 'tanh': 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
  approximate?: 'none' | 'tanh';
}

export class GELU extends ElementwiseActivation {
  readonly approximate: 'none' | 'tanh';

  constructor({ approximate = 'none' }: GELUOptions = {}) {
    super();
    if (approximate !== 'none' && approximate !== 'tanh')
      throw new RangeError(`GELU: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
    this.approximate = approximate;
  }

  get activation(): Activation {
    return { op: this.approximate === 'tanh' ? 'geluTanh' : 'gelu' };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.gelu(x, this.approximate);
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** x·relu6(x + 3)/6. */
export class Hardswish extends ElementwiseActivation {
  get activation(): Activation {
    return { op: 'hardswish' };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.hardswish(x);
  }
}

/** relu6(x + 3)/6. */
export class Hardsigmoid extends ElementwiseActivation {
  get activation(): Activation {
    return { op: 'hardsigmoid' };
  }

  forward(x: Tensor): F32 {
    return this.applied(x) ? x : ops.hardsigmoid(x);
  }
}

/** exp(xᵢ) / Σⱼ exp(xⱼ) along dim (computed stably). */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(x: Tensor): F32 {
    return ops.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** xᵢ - log Σⱼ exp(xⱼ) along dim (computed stably). */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  forward(x: Tensor): F32 {
    return ops.logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
