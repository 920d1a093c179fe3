/**
 * Divergence: a loss (or a weight) that is no longer finite. Training cannot recover
 * from it, and every later checkpoint would hold it, so Model.fit stops at once with a
 * DivergenceError that says where it happened and what to change.
 */
import type { Module } from '../nn/module.js';

export interface DivergenceInfo {
  /** 'loss': a training batch's loss; 'eval_loss': the validation loss; 'weights': a parameter after the epoch's steps */
  what: 'loss' | 'eval_loss' | 'weights';
  /** the value found (NaN, Infinity or -Infinity) */
  value: number;
  /** 1-based epoch */
  epoch: number;
  /** 1-based step within the epoch (0 when found after the epoch's steps) */
  step: number;
  /** the learning rate of the first parameter group at that moment */
  lr: number | null;
  /** the parameter holding the value, for 'weights' */
  parameter?: string;
}

/** The learning rate shown in messages: 3 significant digits, as people type it. */
export function formatLr(lr: number): string {
  return Number(lr.toPrecision(3)).toString();
}

export class DivergenceError extends Error {
  override name = 'DivergenceError';
  readonly info: DivergenceInfo;
  constructor(info: DivergenceInfo, where = 'Model.fit') {
    super(`${where}: ${describeDivergence(info)}; lower the learning rate`);
    this.info = info;
  }
}

/** 'the loss became NaN at epoch 2, step 7 (learning rate 0.05): training diverged' */
export function describeDivergence({ what, value, epoch, step, lr, parameter }: DivergenceInfo): string {
  const v = Number.isNaN(value) ? 'NaN' : value > 0 ? 'infinite' : '-infinite';
  const at = step > 0 ? `at epoch ${epoch}, step ${step}` : `after epoch ${epoch}`;
  const subject = what === 'loss' ? 'the loss' : what === 'eval_loss' ? 'the validation loss' : `the weight ${parameter ?? ''}`.trimEnd();
  return `${subject} became ${v} ${at}${lr !== null ? ` (learning rate ${formatLr(lr)})` : ''}: training diverged`;
}

/** The first parameter holding a NaN or an infinity, with that value, or null when all are finite. */
export function firstNonFinite(net: Module): { name: string; value: number } | null {
  for (const [name, p] of net.namedParameters()) {
    const d = p.data as ArrayLike<number>;
    for (let i = 0; i < d.length; i++) {
      // x - x is NaN exactly for NaN and the infinities
      if (d[i] - d[i] !== 0) return { name, value: d[i] };
    }
  }
  return null;
}
