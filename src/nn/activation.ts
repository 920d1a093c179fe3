/**
 * Activation modules: each is the tensor op of the same name, elementwise on any
 * shape (Softmax and LogSoftmax along `dim`). Formulas as PyTorch's.
 */
import * as ops from '../tensor/ops/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

type F32 = Tensor<'float32'>;

/** max(x, 0). */
export class ReLU extends Module {
  forward(x: Tensor): F32 {
    return ops.relu(x);
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Module {
  forward(x: Tensor): F32 {
    return ops.relu6(x);
  }
}

/** x for x >= 0, negativeSlope·x below. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  forward(x: Tensor): F32 {
    return ops.leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** tanh(x). */
export class Tanh extends Module {
  forward(x: Tensor): F32 {
    return ops.tanh(x);
  }
}

/** 1 / (1 + e^-x). */
export class Sigmoid extends Module {
  forward(x: Tensor): F32 {
    return ops.sigmoid(x);
  }
}

/** x·sigmoid(x) (also called swish). */
export class SiLU extends Module {
  forward(x: Tensor): F32 {
    return ops.silu(x);
  }
}

export interface GELUOptions {
  /** 'none' (default): x·Φ(x) with the exact erf; 'tanh': 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
  approximate?: 'none' | 'tanh';
}

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor({ approximate = 'none' }: GELUOptions = {}) {
    super();
    if (approximate !== 'none' && approximate !== 'tanh')
      throw new RangeError(`GELU: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
    this.approximate = approximate;
  }

  forward(x: Tensor): F32 {
    return ops.gelu(x, this.approximate);
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** x·relu6(x + 3)/6. */
export class Hardswish extends Module {
  forward(x: Tensor): F32 {
    return ops.hardswish(x);
  }
}

/** relu6(x + 3)/6. */
export class Hardsigmoid extends Module {
  forward(x: Tensor): F32 {
    return ops.hardsigmoid(x);
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
