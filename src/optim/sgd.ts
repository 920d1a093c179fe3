/**
 * SGD with momentum, dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD:
 *   d = grad + weightDecay·p
 *   b = d at the first step, then momentum·b + (1 - dampening)·d        (with momentum)
 *   d = nesterov ? d + momentum·b : b
 *   p -= lr·d
 * State: momentum_buffer (null without momentum, as PyTorch's None).
 */
import { backend } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { check, Optimizer, zerosOf, type BaseOptions, type ParamGroup, type ParamsInit } from './optimizer.js';

export interface SGDOptions extends BaseOptions {
  /** Learning rate: required here or in every parameter group (SGD has no default, as in PyTorch 1.x). */
  lr?: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). Default false. */
  nesterov?: boolean;
}

export type SGDState = { momentum_buffer: Tensor<'float32'> | null };

export class SGD extends Optimizer<SGDOptions, SGDState> {
  protected readonly stateKeys = ['momentum_buffer'] as const;

  constructor(params: ParamsInit<SGDOptions>, options: SGDOptions = {}) {
    super(params, { lr: undefined, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, options);
  }

  protected validate(g: ParamGroup<SGDOptions>, where: string): void {
    check('SGD', g.lr >= 0, 'lr >= 0', g.lr, where);
    check('SGD', g.momentum >= 0, 'momentum >= 0', g.momentum, where);
    check('SGD', g.weightDecay >= 0, 'weightDecay >= 0', g.weightDecay, where);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new RangeError(`SGD: Nesterov momentum requires a momentum and zero dampening, got momentum ${g.momentum} and dampening ${g.dampening}${where}`);
    }
  }

  protected initState(): SGDState {
    return { momentum_buffer: null };
  }

  protected update(g: ParamGroup<SGDOptions>, p: Tensor<'float32'>, grad: Float32Array, s: SGDState): void {
    let first = false;
    if (g.momentum !== 0 && s.momentum_buffer === null) {
      s.momentum_buffer = zerosOf(p);
      first = true;
    }
    const h = { lr: g.lr, momentum: g.momentum, dampening: g.dampening, weightDecay: g.weightDecay, nesterov: g.nesterov, first };
    backend().sgdStep(h, p.data, grad, g.momentum !== 0 ? s.momentum_buffer!.data : null);
  }
}
