/**
 * RMSprop, as torch.optim.RMSprop:
 *   g = grad + weightDecay·p
 *   v = α·v + (1-α)·g²;   centered: ḡ = α·ḡ + (1-α)·g, avg = √(v - ḡ²) + eps, else avg = √v + eps
 *   momentum > 0: b = momentum·b + g/avg, p -= lr·b;   else p -= lr·g/avg
 * State: step (a 0-d tensor), square_avg, momentum_buffer (momentum > 0), grad_avg (centered).
 */
import { backend } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { check, Optimizer, stepTensor, zerosOf, type BaseOptions, type ParamGroup, type ParamsInit } from './optimizer.js';

export interface RMSpropOptions extends BaseOptions {
  /** Default 1e-2. */
  lr?: number;
  /** Default 0. */
  momentum?: number;
  /** Smoothing constant of the squared-gradient average. Default 0.99. */
  alpha?: number;
  /** Added to the denominator. Default 1e-8. */
  eps?: number;
  /** Normalise by the estimated variance of the gradient instead of its second moment. Default false. */
  centered?: boolean;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
}

export type RMSpropState = {
  step: Tensor<'float32'>;
  square_avg: Tensor<'float32'>;
  momentum_buffer?: Tensor<'float32'>;
  grad_avg?: Tensor<'float32'>;
};

export class RMSprop extends Optimizer<RMSpropOptions, RMSpropState> {
  protected readonly stateKeys = ['step', 'square_avg', 'momentum_buffer', 'grad_avg'] as const;

  constructor(params: ParamsInit<RMSpropOptions>, options: RMSpropOptions = {}) {
    super(params, { lr: 1e-2, momentum: 0, alpha: 0.99, eps: 1e-8, centered: false, weightDecay: 0, maximize: false }, options);
  }

  protected validate(g: ParamGroup<RMSpropOptions>, where: string): void {
    check('RMSprop', g.lr >= 0, 'lr >= 0', g.lr, where);
    check('RMSprop', g.eps >= 0, 'eps >= 0', g.eps, where);
    check('RMSprop', g.momentum >= 0, 'momentum >= 0', g.momentum, where);
    check('RMSprop', g.weightDecay >= 0, 'weightDecay >= 0', g.weightDecay, where);
    check('RMSprop', g.alpha >= 0, 'alpha >= 0', g.alpha, where);
  }

  protected initState(g: ParamGroup<RMSpropOptions>, p: Tensor<'float32'>): RMSpropState {
    const s: RMSpropState = { step: stepTensor(), square_avg: zerosOf(p) };
    if (g.momentum > 0) s.momentum_buffer = zerosOf(p);
    if (g.centered) s.grad_avg = zerosOf(p);
    return s;
  }

  protected update(g: ParamGroup<RMSpropOptions>, p: Tensor<'float32'>, grad: Float32Array, s: RMSpropState): void {
    if (g.momentum > 0 && !s.momentum_buffer) s.momentum_buffer = zerosOf(p);
    if (g.centered && !s.grad_avg) s.grad_avg = zerosOf(p);
    s.step.data[0] += 1;
    const h = { lr: g.lr, alpha: g.alpha, eps: g.eps, weightDecay: g.weightDecay, momentum: g.momentum, centered: g.centered };
    backend().rmspropStep(h, p.data, grad, s.square_avg.data, g.centered ? s.grad_avg!.data : null, g.momentum > 0 ? s.momentum_buffer!.data : null);
  }
}
