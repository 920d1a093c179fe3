/**
 * Activations already applied in a convolution's epilogue. On the inference path
 * (fuseForInference) a convolution followed by batch norm and an activation runs as one
 * kernel call; it marks its output with the activation it applied, and the activation
 * module that follows returns that tensor as it is. Consulted only with the tape off.
 */
import type { Activation } from '../backend/index.js';
import type { Tensor } from '../tensor/tensor.js';

const applied = new WeakMap<Tensor, Activation>();

export function markActivationApplied(t: Tensor, act: Activation): void {
  applied.set(t, act);
}

/** Whether `t` came out of a convolution whose epilogue already applied `act`. */
export function activationApplied(t: Tensor, act: Activation): boolean {
  const a = applied.get(t);
  return a !== undefined && a.op === act.op && (a.p0 ?? 0) === (act.p0 ?? 0) && (a.p1 ?? 0) === (act.p1 ?? 0);
}
