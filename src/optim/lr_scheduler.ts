/**
 * Learning-rate schedulers, as torch.optim.lr_scheduler (PyTorch 1.13's arithmetic,
 * so the values match PyTorch's to the last bit or nearly).
 *
 * A scheduler rewrites the lr of every parameter group of its optimizer. Building one
 * records each group's starting lr as `initialLr` (PyTorch's initial_lr) and performs
 * the initial step (lastEpoch becomes 0 and the lr is set for epoch 0). Then call
 * `step()` once per epoch, after the epoch's optimizer steps (OneCycleLR: once per
 * batch, after optimizer.step()). The per-epoch schedules use PyTorch's recursive
 * ("chainable") form, each step scaling the groups' current lr, so they can be
 * combined with ChainedScheduler.
 *
 * OneCycleLR (./one_cycle.ts), SequentialLR and ChainedScheduler (./sequential.ts) build on
 * LRScheduler; ReduceLROnPlateau (./plateau.ts) is its own kind, stepped with a metric.
 */
import { Optimizer, type BaseOptions, type ParamState } from './optimizer.js';

/** Any optimizer: schedulers only read and write the groups' lr and scheduling fields. */
export type AnyOptimizer = Optimizer<BaseOptions, ParamState>;

/** A JSON-like value of a scheduler state dict. */
export type SchedulerValue = number | boolean | string | null | SchedulerValue[] | { [key: string]: SchedulerValue };
export type SchedulerStateDict = Record<string, SchedulerValue>;

/** Internal: SequentialLR drives its children through these (not exported from the package). */
export const STEP_AT: unique symbol = Symbol('stepAt');
export const INITIAL_STEP: unique symbol = Symbol('initialStep');

// ---- reading saved values (each keeps the current value when the key is absent) ------------------

type Dict = Readonly<Record<string, unknown>>;

export function readNumber(sd: Dict, key: string, current: number, where: string): number {
  if (!(key in sd)) return current;
  const v = sd[key];
  if (typeof v !== 'number') throw new TypeError(`${where}: expected a number for ${key}, got ${JSON.stringify(v)}`);
  return v;
}

export function readBoolean(sd: Dict, key: string, current: boolean, where: string): boolean {
  if (!(key in sd)) return current;
  const v = sd[key];
  if (typeof v !== 'boolean') throw new TypeError(`${where}: expected a boolean for ${key}, got ${JSON.stringify(v)}`);
  return v;
}

export function readNumbers(sd: Dict, key: string, current: number[], where: string, length?: number): number[] {
  if (!(key in sd)) return current;
  const v = sd[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number') || (length !== undefined && v.length !== length)) {
    throw new TypeError(`${where}: expected ${length ?? 'a list of'} numbers for ${key}, got ${JSON.stringify(v)}`);
  }
  return [...(v as number[])];
}

export function readString<T extends string>(sd: Dict, key: string, current: T, allowed: readonly T[], where: string): T {
  if (!(key in sd)) return current;
  const v = sd[key];
  if (!allowed.includes(v as T))
    throw new TypeError(`${where}: expected ${allowed.map((a) => JSON.stringify(a)).join(' or ')} for ${key}, got ${JSON.stringify(v)}`);
  return v as T;
}

// ---- the base -------------------------------------------------------------------------------------

export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** Each group's initialLr when the scheduler was built. */
  baseLrs: number[];
  /** The index of the last step: 0 after construction (an epoch index, or a batch index for OneCycleLR). */
  lastEpoch: number;
  protected stepCount = 0;
  protected lastLr: number[] = [];

  /**
   * Subclasses set their own fields after this, then call this.initialStep().
   * lastEpoch = -1 starts the schedule; another value resumes it and needs initialLr in every group.
   */
  constructor(optimizer: AnyOptimizer, lastEpoch = -1) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${new.target.name}: expected an Optimizer, got ${String(optimizer)}`);
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) throw new RangeError(`${new.target.name}: expected lastEpoch to be an integer >= -1, got ${lastEpoch}`);
    this.optimizer = optimizer;
    optimizer.paramGroups.forEach((g, i) => {
      if (lastEpoch === -1) g.initialLr ??= g.lr;
      else if (g.initialLr === undefined) {
        throw new Error(`${new.target.name}: parameter group ${i} has no initialLr, which resuming (lastEpoch ${lastEpoch}) needs`);
      }
    });
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr!);
    this.lastEpoch = lastEpoch;
  }

  /** The recursive ("chainable") rule: the groups' lrs for this.lastEpoch, from their current lrs (PyTorch's get_lr). */
  protected abstract computeLr(): number[];

  /** The closed form at this.lastEpoch, where the schedule has one (SequentialLR uses it at milestones). */
  protected closedFormLr(): number[] | null {
    return null;
  }

  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances the schedule by one epoch (OneCycleLR: one batch) and sets the groups' lr. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    this.apply(this.computeLr());
  }

  /** The lr of each group as last set by this scheduler. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** Sets the groups' lr; a group added after the scheduler was built (beyond values) keeps its own, as in PyTorch. */
  protected apply(values: number[]): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      if (i < values.length) g.lr = values[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  [INITIAL_STEP](): void {
    this.initialStep();
  }

  /** PyTorch's deprecated step(epoch): jump to `epoch`, with the closed form where there is one. */
  [STEP_AT](epoch: number): void {
    this.stepCount++;
    this.lastEpoch = epoch;
    this.apply(this.closedFormLr() ?? this.computeLr());
  }

  /** The subclass's settings, under PyTorch's attribute names. */
  protected abstract settings(): SchedulerStateDict;

  /** Checks the subclass's saved settings and returns what assigns them (so a bad state dict changes nothing). */
  protected abstract readSettings(sd: Dict, where: string): () => void;

  /** PyTorch's scheduler state dict: the settings plus base_lrs, last_epoch, _step_count, _last_lr. */
  stateDict(): SchedulerStateDict {
    return {
      ...this.settings(),
      base_lrs: [...this.baseLrs],
      last_epoch: this.lastEpoch,
      _step_count: this.stepCount,
      _last_lr: [...this.lastLr],
    };
  }

  /** Restores a state dict from stateDict(); restore the optimizer's state dict too, which holds the groups' lrs. */
  loadStateDict(sd: SchedulerStateDict): void {
    const where = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || typeof sd.last_epoch !== 'number') {
      throw new TypeError(`${where}: expected a scheduler state dict with last_epoch, got ${JSON.stringify(sd)}`);
    }
    const n = this.optimizer.paramGroups.length;
    const baseLrs = readNumbers(sd, 'base_lrs', this.baseLrs, where, n);
    const lastEpoch = readNumber(sd, 'last_epoch', this.lastEpoch, where);
    const stepCount = readNumber(sd, '_step_count', this.stepCount, where);
    const lastLr = readNumbers(sd, '_last_lr', this.lastLr, where, n);
    const commit = this.readSettings(sd, where);
    this.baseLrs = baseLrs;
    this.lastEpoch = lastEpoch;
    this.stepCount = stepCount;
    this.lastLr = lastLr;
    commit();
  }
}

function countMilestones(milestones: readonly number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of milestones) m.set(e, (m.get(e) ?? 0) + 1);
  return m;
}

function positive(name: string, key: string, v: number): number {
  if (!(typeof v === 'number' && v > 0)) throw new RangeError(`${name}: expected ${key} > 0, got ${String(v)}`);
  return v;
}

function positiveInt(name: string, key: string, v: number): number {
  if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`${name}: expected ${key} to be a positive integer, got ${String(v)}`);
  return v;
}

function finite(name: string, key: string, v: number): number {
  if (!Number.isFinite(v)) throw new RangeError(`${name}: expected a finite number for ${key}, got ${String(v)}`);
  return v;
}

// ---- per-epoch schedules --------------------------------------------------------------------------

export interface StepLROptions {
  /** Decay every stepSize epochs. */
  stepSize: number;
  /** Default 0.1. */
  gamma?: number;
  lastEpoch?: number;
}

/** lr = initialLr · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: AnyOptimizer, { stepSize, gamma = 0.1, lastEpoch = -1 }: StepLROptions) {
    positiveInt('StepLR', 'stepSize', stepSize);
    finite('StepLR', 'gamma', gamma);
    super(optimizer, lastEpoch);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }

  protected settings(): SchedulerStateDict {
    return { step_size: this.stepSize, gamma: this.gamma };
  }

  protected readSettings(sd: Dict, where: string): () => void {
    const stepSize = readNumber(sd, 'step_size', this.stepSize, where);
    const gamma = readNumber(sd, 'gamma', this.gamma, where);
    return () => Object.assign(this, { stepSize, gamma });
  }
}

export interface MultiStepLROptions {
  /** Epochs at which to decay; a milestone listed k times decays by gamma^k. */
  milestones: readonly number[];
  /** Default 0.1. */
  gamma?: number;
  lastEpoch?: number;
}

/** lr = initialLr · gamma^(number of milestones reached). */
export class MultiStepLR extends LRScheduler {
  /** Milestone -> how many times it was listed (PyTorch's Counter). */
  milestones: Map<number, number>;
  gamma: number;

  constructor(optimizer: AnyOptimizer, { milestones, gamma = 0.1, lastEpoch = -1 }: MultiStepLROptions) {
    if (!Array.isArray(milestones) || !milestones.every((m) => Number.isInteger(m))) {
      throw new TypeError(`MultiStepLR: expected milestones to be a list of integers, got ${JSON.stringify(milestones)}`);
    }
    finite('MultiStepLR', 'gamma', gamma);
    super(optimizer, lastEpoch);
    this.milestones = countMilestones(milestones);
    this.gamma = gamma;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    const k = this.milestones.get(this.lastEpoch);
    if (k === undefined) return lrs;
    return lrs.map((lr) => lr * this.gamma ** k);
  }

  protected override closedFormLr(): number[] {
    let reached = 0;
    for (const [e, k] of this.milestones) if (e <= this.lastEpoch) reached += k;
    return this.baseLrs.map((b) => b * this.gamma ** reached);
  }

  protected settings(): SchedulerStateDict {
    return { milestones: Object.fromEntries(this.milestones), gamma: this.gamma };
  }

  protected readSettings(sd: Dict, where: string): () => void {
    let milestones = this.milestones;
    if ('milestones' in sd) {
      // PyTorch saves a Counter ({ epoch: count }); a plain list of epochs is accepted too.
      const v = sd.milestones;
      const entries = Array.isArray(v)
        ? [...countMilestones(v as number[])]
        : v !== null && typeof v === 'object'
          ? Object.entries(v).map(([e, k]) => [Number(e), k])
          : null;
      if (entries === null || entries.some(([e, k]) => !Number.isInteger(e) || !Number.isInteger(k))) {
        throw new TypeError(`${where}: expected milestones as { epoch: count } or a list of epochs, got ${JSON.stringify(v)}`);
      }
      milestones = new Map(entries as [number, number][]);
    }
    const gamma = readNumber(sd, 'gamma', this.gamma, where);
    return () => Object.assign(this, { milestones, gamma });
  }
}

export interface ExponentialLROptions {
  gamma: number;
  lastEpoch?: number;
}

/** lr = initialLr · gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: AnyOptimizer, { gamma, lastEpoch = -1 }: ExponentialLROptions) {
    finite('ExponentialLR', 'gamma', gamma);
    super(optimizer, lastEpoch);
    this.gamma = gamma;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    return this.lastEpoch === 0 ? lrs : lrs.map((lr) => lr * this.gamma);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch);
  }

  protected settings(): SchedulerStateDict {
    return { gamma: this.gamma };
  }

  protected readSettings(sd: Dict, where: string): () => void {
    const gamma = readNumber(sd, 'gamma', this.gamma, where);
    return () => Object.assign(this, { gamma });
  }
}

export interface CosineAnnealingLROptions {
  /** Epochs of one half-period (lr goes from initialLr to etaMin in tMax epochs, then back up). */
  tMax: number;
  /** Default 0. */
  etaMin?: number;
  lastEpoch?: number;
}

/**
 * lr = etaMin + (initialLr - etaMin)·(1 + cos(π·epoch/tMax))/2, computed by PyTorch's
 * recursive rule (each step scales the current lr), so values match PyTorch's exactly
 * and changes made to lr from outside carry on.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: AnyOptimizer, { tMax, etaMin = 0, lastEpoch = -1 }: CosineAnnealingLROptions) {
    positive('CosineAnnealingLR', 'tMax', tMax);
    finite('CosineAnnealingLR', 'etaMin', etaMin);
    super(optimizer, lastEpoch);
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { tMax, etaMin, lastEpoch: e } = this;
    const groups = this.optimizer.paramGroups;
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => etaMin + ((b - etaMin) * (1 + Math.cos((e * Math.PI) / tMax))) / 2);
    }
    if ((e - 1 - tMax) % (2 * tMax) === 0) {
      // PyTorch zips base_lrs with the groups: a group added later is left alone here.
      return groups.slice(0, this.baseLrs.length).map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    return groups.map((g) => ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) * (g.lr - etaMin) + etaMin);
  }

  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + ((b - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.tMax))) / 2);
  }

  protected settings(): SchedulerStateDict {
    return { T_max: this.tMax, eta_min: this.etaMin };
  }

  protected readSettings(sd: Dict, where: string): () => void {
    const tMax = readNumber(sd, 'T_max', this.tMax, where);
    const etaMin = readNumber(sd, 'eta_min', this.etaMin, where);
    return () => Object.assign(this, { tMax, etaMin });
  }
}

export interface LinearLROptions {
  /** Factor of initialLr at epoch 0, in (0, 1]. Default 1/3. */
  startFactor?: number;
  /** Factor reached at totalIters, in [0, 1]. Default 1. */
  endFactor?: number;
  /** Default 5. */
  totalIters?: number;
  lastEpoch?: number;
}

/** Linear warm-up (or decay): lr = initialLr · (start + (end - start)·min(epoch, totalIters)/totalIters). */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;

  constructor(optimizer: AnyOptimizer, { startFactor = 1 / 3, endFactor = 1, totalIters = 5, lastEpoch = -1 }: LinearLROptions = {}) {
    if (!(startFactor > 0 && startFactor <= 1)) throw new RangeError(`LinearLR: expected startFactor in (0, 1], got ${startFactor}`);
    if (!(endFactor >= 0 && endFactor <= 1)) throw new RangeError(`LinearLR: expected endFactor in [0, 1], got ${endFactor}`);
    positiveInt('LinearLR', 'totalIters', totalIters);
    super(optimizer, lastEpoch);
    this.startFactor = startFactor;
    this.endFactor = endFactor;
    this.totalIters = totalIters;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { startFactor: s, endFactor: f, totalIters: n, lastEpoch: e } = this;
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (e === 0) return lrs.map((lr) => lr * s);
    if (e > n) return lrs;
    return lrs.map((lr) => lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }

  protected override closedFormLr(): number[] {
    const { startFactor: s, endFactor: f, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + ((f - s) * Math.min(n, this.lastEpoch)) / n));
  }

  protected settings(): SchedulerStateDict {
    return { start_factor: this.startFactor, end_factor: this.endFactor, total_iters: this.totalIters };
  }

  protected readSettings(sd: Dict, where: string): () => void {
    const startFactor = readNumber(sd, 'start_factor', this.startFactor, where);
    const endFactor = readNumber(sd, 'end_factor', this.endFactor, where);
    const totalIters = readNumber(sd, 'total_iters', this.totalIters, where);
    return () => Object.assign(this, { startFactor, endFactor, totalIters });
  }
}
