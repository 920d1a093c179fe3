/** Dropout (elements), Dropout1d, Dropout2d, Dropout3d (whole channels) and StochasticDepth (whole samples). */
import type { Tensor } from '../tensor/tensor.js';
import { checkProbability } from './args.js';
import { dropout, dropout1d, dropout2d, dropout3d, stochasticDepth } from './functional.js';
import { Module } from './module.js';

type F32 = Tensor<'float32'>;

/** What the dropout layers share: the drop probability p. */
abstract class DropoutBase extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    checkProbability(this.constructor.name, p);
    this.p = p;
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/**
 * Inverted dropout: in training, y = x·m/(1-p) with m ~ Bernoulli(1-p) drawn from
 * the global seeded generator; in eval, y = x. Any shape.
 */
export class Dropout extends DropoutBase {
  forward(x: Tensor): F32 {
    return dropout(x, this.p, this.training);
  }
}

/** Training: y[n, c] = x[n, c]·m[n, c]/(1-p), m ~ Bernoulli(1-p) per channel; eval: y = x. x: [N, C, L] or [C, L]. */
export class Dropout1d extends DropoutBase {
  forward(x: Tensor): F32 {
    return dropout1d(x, this.p, this.training);
  }
}

/**
 * Training: y[n, c] = x[n, c]·m[n, c]/(1-p), m ~ Bernoulli(1-p) per channel (a whole
 * H×W map is kept or zeroed); eval: y = x. x: [N, C, H, W] or unbatched [C, H, W].
 */
export class Dropout2d extends DropoutBase {
  forward(x: Tensor): F32 {
    return dropout2d(x, this.p, this.training);
  }
}

/** As Dropout2d over [N, C, D, H, W] or [C, D, H, W]. */
export class Dropout3d extends DropoutBase {
  forward(x: Tensor): F32 {
    return dropout3d(x, this.p, this.training);
  }
}

/**
 * Stochastic depth / drop path, as torchvision.ops.StochasticDepth. Training, mode
 * 'row': y[n] = x[n]·m[n]/(1-p), m ~ Bernoulli(1-p) per sample; 'batch': one m for
 * the whole batch; eval or p = 0: y = x. x: [N, ...]. Put it on a residual branch:
 * out = x + drop.call(branch(x)).
 */
export class StochasticDepth extends Module {
  readonly p: number;
  readonly mode: 'row' | 'batch';

  constructor(p: number, mode: 'row' | 'batch') {
    super();
    checkProbability('StochasticDepth', p);
    if (mode !== 'row' && mode !== 'batch') throw new RangeError(`StochasticDepth: mode must be 'row' or 'batch', got ${JSON.stringify(mode)}`);
    this.p = p;
    this.mode = mode;
  }

  forward(x: Tensor): F32 {
    return stochasticDepth(x, this.p, this.mode, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}, mode='${this.mode}'`;
  }
}
