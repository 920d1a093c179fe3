/**
 * ReduceLROnPlateau, as torch.optim.lr_scheduler.ReduceLROnPlateau: multiplies the lr by
 * `factor` when a metric has not improved for more than `patience` epochs. Call
 * step(metric) once per epoch with the validation loss (mode 'min') or accuracy ('max').
 */
import { Tensor } from '../tensor/tensor.js';
import { readNumber, readNumbers, readString, type AnyOptimizer, type SchedulerStateDict } from './lr_scheduler.js';
import { Optimizer } from './optimizer.js';

export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should fall (a loss); 'max': it should rise (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** new lr = lr · factor (< 1). Default 0.1. */
  factor?: number;
  /** Epochs without improvement tolerated before reducing. Default 10. */
  patience?: number;
  /** How much better counts as an improvement. Default 1e-4. */
  threshold?: number;
  /** 'rel': better than best·(1 ∓ threshold); 'abs': better than best ∓ threshold. Default 'rel'. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting bad epochs again. Default 0. */
  cooldown?: number;
  /** Lower bound on the lr, for all groups or per group. Default 0. */
  minLr?: number | readonly number[];
  /** Reductions smaller than eps are skipped. Default 1e-8. */
  eps?: number;
}

export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLrs: number[];
  eps: number;
  /** The best metric so far (Infinity or -Infinity before the first step). */
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  /** The number of step() calls. */
  lastEpoch = 0;
  private lastLr: number[];

  constructor(optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    const { mode = 'min', factor = 0.1, patience = 10, threshold = 1e-4, thresholdMode = 'rel', cooldown = 0, minLr = 0, eps = 1e-8 } = options;
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`ReduceLROnPlateau: expected an Optimizer, got ${String(optimizer)}`);
    if (!(factor < 1)) throw new RangeError(`ReduceLROnPlateau: expected factor < 1, got ${factor}`);
    if (mode !== 'min' && mode !== 'max') throw new TypeError(`ReduceLROnPlateau: expected mode 'min' or 'max', got ${JSON.stringify(mode)}`);
    if (thresholdMode !== 'rel' && thresholdMode !== 'abs') {
      throw new TypeError(`ReduceLROnPlateau: expected thresholdMode 'rel' or 'abs', got ${JSON.stringify(thresholdMode)}`);
    }
    const n = optimizer.paramGroups.length;
    if (Array.isArray(minLr) && minLr.length !== n) throw new RangeError(`ReduceLROnPlateau: expected ${n} values for minLr, got ${minLr.length}`);
    this.optimizer = optimizer;
    this.mode = mode;
    this.factor = factor;
    this.patience = patience;
    this.threshold = threshold;
    this.thresholdMode = thresholdMode;
    this.cooldown = cooldown;
    this.minLrs = Array.isArray(minLr) ? [...(minLr as number[])] : new Array<number>(n).fill(minLr as number);
    this.eps = eps;
    this.best = this.modeWorse;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  /** The worst possible metric for the mode. */
  get modeWorse(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }

  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === 'rel' ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }

  /** Records one epoch's metric (a number or a one-element tensor) and reduces the lr after more than `patience` bad epochs. */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor ? metric.item() : metric;
    if (typeof current !== 'number') throw new TypeError(`ReduceLROnPlateau.step: expected a number, got ${String(metric)}`);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
      if (g.lr - newLr > this.eps) g.lr = newLr;
    });
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** PyTorch's keys. best and mode_worse may be ±Infinity: save through stateToJSON (or a plain JSON null, read back as "no best yet"). */
  stateDict(): SchedulerStateDict {
    return {
      factor: this.factor,
      min_lrs: [...this.minLrs],
      patience: this.patience,
      cooldown: this.cooldown,
      cooldown_counter: this.cooldownCounter,
      mode: this.mode,
      threshold: this.threshold,
      threshold_mode: this.thresholdMode,
      best: this.best,
      num_bad_epochs: this.numBadEpochs,
      mode_worse: this.modeWorse,
      eps: this.eps,
      last_epoch: this.lastEpoch,
      _last_lr: [...this.lastLr],
    };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    const where = 'ReduceLROnPlateau.loadStateDict';
    if (sd === null || typeof sd !== 'object' || typeof sd.last_epoch !== 'number') {
      throw new TypeError(`${where}: expected a scheduler state dict with last_epoch, got ${JSON.stringify(sd)}`);
    }
    const n = this.optimizer.paramGroups.length;
    const mode = readString(sd, 'mode', this.mode, ['min', 'max'], where);
    const next = {
      mode,
      factor: readNumber(sd, 'factor', this.factor, where),
      minLrs: readNumbers(sd, 'min_lrs', this.minLrs, where, n),
      patience: readNumber(sd, 'patience', this.patience, where),
      cooldown: readNumber(sd, 'cooldown', this.cooldown, where),
      cooldownCounter: readNumber(sd, 'cooldown_counter', this.cooldownCounter, where),
      threshold: readNumber(sd, 'threshold', this.threshold, where),
      thresholdMode: readString(sd, 'threshold_mode', this.thresholdMode, ['rel', 'abs'], where),
      // JSON.stringify writes ±Infinity as null: null means no best yet.
      best: sd.best === null ? (mode === 'min' ? Infinity : -Infinity) : readNumber(sd, 'best', this.best, where),
      numBadEpochs: readNumber(sd, 'num_bad_epochs', this.numBadEpochs, where),
      eps: readNumber(sd, 'eps', this.eps, where),
      lastEpoch: readNumber(sd, 'last_epoch', this.lastEpoch, where),
      lastLr: readNumbers(sd, '_last_lr', this.lastLr, where, n),
    };
    Object.assign(this, next);
  }
}
