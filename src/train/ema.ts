/**
 * ModelEma: an exponential moving average of a network's weights, kept beside the
 * weights being trained, as timm's ModelEmaV2:
 *
 *   ema = d·ema + (1-d)·w      after every optimizer step, over the parameters and the
 *                              floating-point buffers (batch norm's running statistics);
 *                              integer buffers (num_batches_tracked) are copied
 *
 * with d = decay, or with warmup d = min(decay, (1+t)/(10+t)) for the t-th update
 * (t = 0, 1, …), so that a short run's average is not stuck near the initial weights.
 * As a callback of Model.fit it starts from the network's weights when training begins
 * and updates after each optimizer step; fit then also evaluates the average
 * (`eval_ema_*` logs), saves it in checkpoints (`ema.safetensors`), and picks `best` by it.
 */
import type { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { Callback, type Mode } from './callbacks.js';

export interface ModelEmaOptions {
  /** d in ema = d·ema + (1-d)·w (default 0.9998, as timm) */
  decay?: number;
  /** d = min(decay, (1+t)/(10+t)) at update t (default false) */
  warmup?: boolean;
}

/** What a checkpoint records of the average besides its weights. */
export interface EmaInfo {
  decay: number;
  warmup: boolean;
  /** updates made so far */
  updates: number;
}

type Host = { net?: Module; step?: number } | null;

/** e = d·e + (1-d)·w, in a function of its own so that the loop sees float32 arrays only (a monomorphic, fast loop). */
function decayInto(e: Float32Array, w: Float32Array, d: number): void {
  const c = 1 - d;
  for (let i = 0; i < e.length; i++) e[i] = d * e[i] + c * w[i];
}

export class ModelEma extends Callback {
  readonly decay: number;
  readonly warmup: boolean;
  /** updates made so far */
  updates = 0;
  #state: Map<string, Tensor> | null = null;
  #lastStep = -1;

  constructor({ decay = 0.9998, warmup = false }: ModelEmaOptions = {}) {
    super();
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`ModelEma: decay must be in [0, 1), got ${decay}`);
    this.decay = decay;
    this.warmup = warmup;
  }

  /** Whether the average exists (it starts at reset(net) or when training begins). */
  get ready(): boolean {
    return this.#state !== null;
  }

  /** The average's weights under the network's state-dict keys (its own storage). */
  stateDict(): Map<string, Tensor> {
    if (!this.#state) throw new Error('ModelEma: no average yet (it starts when training begins, or with reset(net))');
    return this.#state;
  }

  info(): EmaInfo {
    return { decay: this.decay, warmup: this.warmup, updates: this.updates };
  }

  /** The decay used by the update after `updates` updates. */
  decayAt(updates: number): number {
    return this.warmup ? Math.min(this.decay, (1 + updates) / (10 + updates)) : this.decay;
  }

  /** Starts the average at the network's current weights. */
  reset(net: Module): void {
    this.#state = new Map([...net.stateDict()].map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
    this.updates = 0;
  }

  /** Takes a saved average (as a checkpoint holds it) and its update count. */
  load(state: ReadonlyMap<string, Tensor>, updates: number): void {
    this.#state = new Map([...state].map(([k, t]) => [k, new Tensor(t.data.slice(), t.shape)]));
    this.updates = updates;
  }

  /** One step of the average toward the network's current weights. */
  update(net: Module): void {
    if (!this.#state) {
      this.reset(net);
      return;
    }
    const d = this.decayAt(this.updates);
    for (const [k, w] of net.stateDict()) {
      const e = this.#state.get(k);
      if (!e || e.size !== w.size)
        throw new Error(`ModelEma: the network's "${k}" is not in the average (or has another shape); reset(net) after changing the network`);
      if (w.dtype === 'float32') decayInto(e.data as Float32Array, w.data as Float32Array, d);
      else e.data.set(w.data);
    }
    this.updates++;
  }

  /**
   * Runs fn with the average's weights in the network, then puts the trained weights back
   * (also when fn throws). The network must not be trained meanwhile.
   */
  async withWeights<T>(net: Module, fn: () => T | Promise<T>): Promise<T> {
    const state = this.stateDict();
    const own = net.stateDict();
    const saved = new Map([...own].map(([k, t]) => [k, t.data.slice()]));
    noGrad(() => {
      for (const [k, t] of own) t.data.set(state.get(k)!.data);
    });
    try {
      return await fn();
    } finally {
      noGrad(() => {
        for (const [k, t] of own) t.data.set(saved.get(k)!);
      });
    }
  }

  #net(): Module {
    const net = (this.model as Host)?.net;
    if (!net) throw new Error('ModelEma: the callback needs a model with a network (Model.fit)');
    return net;
  }

  override onTrainBegin(): void {
    if (!this.#state) this.reset(this.#net());
    this.#lastStep = (this.model as Host)?.step ?? -1;
  }

  override onBatchEnd(mode: Mode): void {
    if (mode !== 'train') return;
    // once per optimizer step: with gradient accumulation several batches make one step
    const step = (this.model as Host)?.step;
    if (step !== undefined && step === this.#lastStep) return;
    this.#lastStep = step ?? this.#lastStep;
    this.update(this.#net());
  }
}
