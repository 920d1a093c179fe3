/**
 * Adam and AdamW, as torch.optim.Adam / AdamW (PyTorch 1.13's single-tensor arithmetic):
 *   g = grad (+ weightDecay·p for Adam; AdamW instead decays p *= 1 - lr·weightDecay)
 *   m = β1·m + (1-β1)·g,   v = β2·v + (1-β2)·g²,   (amsgrad: v̂ = max(v̂, v), used for v)
 *   p -= lr/(1-β1ᵗ) · m / (√v / √(1-β2ᵗ) + eps)
 * State: step (a 0-d tensor), exp_avg, exp_avg_sq, and max_exp_avg_sq with amsgrad.
 */
import { backend } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { check, Optimizer, stepTensor, zerosOf, type BaseOptions, type ParamGroup, type ParamsInit } from './optimizer.js';

export interface AdamOptions extends BaseOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment averages. Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator. Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** Use the maximum of past second moments (AMSGrad). Default false. */
  amsgrad?: boolean;
}

export type AdamState = {
  step: Tensor<'float32'>;
  exp_avg: Tensor<'float32'>;
  exp_avg_sq: Tensor<'float32'>;
  max_exp_avg_sq?: Tensor<'float32'>;
};

export class Adam extends Optimizer<AdamOptions, AdamState> {
  protected readonly stateKeys = ['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] as const;

  constructor(params: ParamsInit<AdamOptions>, options: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false }, options);
  }

  /** AdamW decays the parameter instead of adding weightDecay·p to the gradient. */
  protected get decoupled(): boolean {
    return false;
  }

  protected validate(g: ParamGroup<AdamOptions>, where: string): void {
    const name = this.name;
    check(name, g.lr >= 0, 'lr >= 0', g.lr, where);
    check(name, g.eps >= 0, 'eps >= 0', g.eps, where);
    check(name, g.betas[0] >= 0 && g.betas[0] < 1, 'betas[0] in [0, 1)', g.betas[0], where);
    check(name, g.betas[1] >= 0 && g.betas[1] < 1, 'betas[1] in [0, 1)', g.betas[1], where);
    check(name, g.weightDecay >= 0, 'weightDecay >= 0', g.weightDecay, where);
  }

  protected initState(g: ParamGroup<AdamOptions>, p: Tensor<'float32'>): AdamState {
    const s: AdamState = { step: stepTensor(), exp_avg: zerosOf(p), exp_avg_sq: zerosOf(p) };
    if (g.amsgrad) s.max_exp_avg_sq = zerosOf(p);
    return s;
  }

  protected update(g: ParamGroup<AdamOptions>, p: Tensor<'float32'>, grad: Float32Array, s: AdamState): void {
    if (g.amsgrad && !s.max_exp_avg_sq) s.max_exp_avg_sq = zerosOf(p);
    s.step.data[0] += 1;
    const h = {
      lr: g.lr,
      beta1: g.betas[0],
      beta2: g.betas[1],
      eps: g.eps,
      weightDecay: g.weightDecay,
      step: s.step.data[0],
      decoupled: this.decoupled,
      amsgrad: g.amsgrad,
    };
    backend().adamStep(h, p.data, grad, s.exp_avg.data, s.exp_avg_sq.data, g.amsgrad ? s.max_exp_avg_sq!.data : null);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW; weightDecay defaults to 1e-2. */
export class AdamW extends Adam {
  constructor(params: ParamsInit<AdamOptions>, options: AdamOptions = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 1e-2 });
  }

  protected override get decoupled(): boolean {
    return true;
  }
}
