/** Helpers over whole models. */
import type { AnyModule } from './module.js';

export interface CountParametersOptions {
  /** Count only parameters with requiresGrad (default false: all). */
  trainableOnly?: boolean;
}

/** The number of scalar parameters in a model (tied parameters counted once). */
export function countParameters(model: AnyModule, { trainableOnly = false }: CountParametersOptions = {}): number {
  let n = 0;
  for (const p of model.parameters()) if (!trainableOnly || p.requiresGrad) n += p.size;
  return n;
}
