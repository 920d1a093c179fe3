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

/**
 * Runs fn synchronously with every module of `net` in evaluation mode, then gives each
 * module back its own mode (a frozen batch norm stays in eval). Nothing can run in
 * between, so code awaiting elsewhere never sees the network in the wrong mode.
 */
export function inEvalMode<T>(net: AnyModule, fn: () => T): T {
  const modules = net.modules();
  const modes = modules.map((m) => m.training);
  for (const m of modules) m.training = false;
  try {
    return fn();
  } finally {
    modules.forEach((m, i) => {
      m.training = modes[i];
    });
  }
}
