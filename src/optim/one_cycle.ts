/**
 * OneCycleLR (Smith & Topin, "Super-Convergence"), as torch.optim.lr_scheduler.OneCycleLR:
 * the lr rises from maxLr/divFactor to maxLr over the first pctStart of the steps, then
 * anneals to (maxLr/divFactor)/finalDivFactor; momentum (or Adam's beta1) moves the
 * opposite way between maxMomentum and baseMomentum. Step it once per batch.
 *
 * As PyTorch, it stores initialLr, maxLr, minLr (and maxMomentum, baseMomentum) in
 * each parameter group, so they travel with the optimizer's state dict.
 */
import { LRScheduler, readBoolean, readNumber, readString, type AnyOptimizer, type SchedulerStateDict } from './lr_scheduler.js';
import { type ScheduleFields } from './optimizer.js';

export interface OneCycleLROptions {
  /** The peak lr, one for all groups or one per group. */
  maxLr: number | readonly number[];
  /** The number of steps in the cycle; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the steps spent raising the lr. Default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr. Default true. */
  cycleMomentum?: boolean;
  /** Momentum at the lr's peak. Default 0.85. */
  baseMomentum?: number | readonly number[];
  /** Momentum at the start and end. Default 0.95. */
  maxMomentum?: number | readonly number[];
  /** initialLr = maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Three phases: up to maxLr, back down to initialLr symmetrically, then down to minLr. Default false. */
  threePhase?: boolean;
  /** The index of the last batch when resuming. Default -1. */
  lastEpoch?: number;
}

type LrKey = 'initial_lr' | 'max_lr' | 'min_lr';
type MomentumKey = 'max_momentum' | 'base_momentum';

/** One phase of the cycle, with PyTorch's keys: it ends at end_step and goes between the named group fields. */
export interface OneCyclePhase {
  end_step: number;
  start_lr: LrKey;
  end_lr: LrKey;
  start_momentum: MomentumKey;
  end_momentum: MomentumKey;
}

const FIELD: Record<LrKey | MomentumKey, keyof ScheduleFields> = {
  initial_lr: 'initialLr',
  max_lr: 'maxLr',
  min_lr: 'minLr',
  max_momentum: 'maxMomentum',
  base_momentum: 'baseMomentum',
};

type MomentumGroup = ScheduleFields & { momentum?: number; betas?: readonly [number, number] };

function perGroup(name: string, value: number | readonly number[], groups: number): number[] {
  if (Array.isArray(value)) {
    if (value.length !== groups) throw new RangeError(`OneCycleLR: expected ${groups} values for ${name}, got ${value.length}`);
    return [...(value as number[])];
  }
  if (typeof value !== 'number') throw new TypeError(`OneCycleLR: expected a number or a list of numbers for ${name}, got ${String(value)}`);
  return new Array<number>(groups).fill(value);
}

function positiveInt(name: string, v: number | undefined): number {
  if (!(Number.isInteger(v) && v! > 0)) throw new RangeError(`OneCycleLR: expected a positive integer ${name}, got ${String(v)}`);
  return v!;
}

function phasesFor(totalSteps: number, pctStart: number, threePhase: boolean): OneCyclePhase[] {
  if (threePhase) {
    return [
      { end_step: pctStart * totalSteps - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
      { end_step: 2 * pctStart * totalSteps - 2, start_lr: 'max_lr', end_lr: 'initial_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
      { end_step: totalSteps - 1, start_lr: 'initial_lr', end_lr: 'min_lr', start_momentum: 'max_momentum', end_momentum: 'max_momentum' },
    ];
  }
  return [
    { end_step: pctStart * totalSteps - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
    { end_step: totalSteps - 1, start_lr: 'max_lr', end_lr: 'min_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
  ];
}

export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  /** The optimizer has betas (Adam): cycle beta1 instead of momentum. */
  useBeta1: boolean;
  phases: OneCyclePhase[];

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    const {
      maxLr,
      totalSteps,
      epochs,
      stepsPerEpoch,
      pctStart = 0.3,
      annealStrategy = 'cos',
      cycleMomentum = true,
      baseMomentum = 0.85,
      maxMomentum = 0.95,
      divFactor = 25,
      finalDivFactor = 1e4,
      threePhase = false,
      lastEpoch = -1,
    } = options;
    let total: number;
    if (totalSteps !== undefined) total = positiveInt('totalSteps', totalSteps);
    else if (epochs !== undefined || stepsPerEpoch !== undefined) total = positiveInt('epochs', epochs) * positiveInt('stepsPerEpoch', stepsPerEpoch);
    else throw new TypeError('OneCycleLR: give either totalSteps or (epochs and stepsPerEpoch)');
    if (!(pctStart >= 0 && pctStart <= 1)) throw new RangeError(`OneCycleLR: expected pctStart in [0, 1], got ${pctStart}`);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') {
      throw new TypeError(`OneCycleLR: expected annealStrategy 'cos' or 'linear', got ${JSON.stringify(annealStrategy)}`);
    }
    const groups = optimizer.paramGroups as unknown as MomentumGroup[];
    const maxLrs = perGroup('maxLr', maxLr, groups.length);
    const useBeta1 = 'betas' in optimizer.defaults;
    if (cycleMomentum && !useBeta1 && !('momentum' in optimizer.defaults)) {
      throw new TypeError(`OneCycleLR: ${optimizer.constructor.name} has no momentum or betas to cycle; pass { cycleMomentum: false }`);
    }
    const maxMomenta = cycleMomentum ? perGroup('maxMomentum', maxMomentum, groups.length) : [];
    const baseMomenta = cycleMomentum ? perGroup('baseMomentum', baseMomentum, groups.length) : [];
    if (lastEpoch === -1) {
      groups.forEach((g, i) => {
        g.initialLr = maxLrs[i] / divFactor;
        g.maxLr = maxLrs[i];
        g.minLr = g.initialLr / finalDivFactor;
        if (cycleMomentum) {
          if (useBeta1) g.betas = [maxMomenta[i], g.betas![1]];
          else g.momentum = maxMomenta[i];
          g.maxMomentum = maxMomenta[i];
          g.baseMomentum = baseMomenta[i];
        }
      });
    }
    super(optimizer, lastEpoch);
    this.totalSteps = total;
    this.annealStrategy = annealStrategy;
    this.cycleMomentum = cycleMomentum;
    this.useBeta1 = useBeta1;
    this.phases = phasesFor(total, pctStart, threePhase);
    this.initialStep();
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected computeLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) {
      this.lastEpoch--;
      this.stepCount--;
      throw new RangeError(`OneCycleLR: tried to step ${step + 1} times; the schedule has totalSteps ${this.totalSteps}`);
    }
    return (this.optimizer.paramGroups as unknown as MomentumGroup[]).map((g) => {
      let start = 0;
      let lr = NaN;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        const end = phase.end_step;
        if (step <= end || i === this.phases.length - 1) {
          const pct = (step - start) / (end - start);
          lr = this.anneal(g[FIELD[phase.start_lr]]!, g[FIELD[phase.end_lr]]!, pct);
          if (this.cycleMomentum) {
            const m = this.anneal(g[FIELD[phase.start_momentum]]!, g[FIELD[phase.end_momentum]]!, pct);
            if (this.useBeta1) g.betas = [m, g.betas![1]];
            else g.momentum = m;
          }
          break;
        }
        start = end;
      }
      return lr;
    });
  }

  protected settings(): SchedulerStateDict {
    const sd: SchedulerStateDict = {
      total_steps: this.totalSteps,
      _schedule_phases: this.phases.map((p) => ({ ...p })),
      anneal_strategy: this.annealStrategy,
      cycle_momentum: this.cycleMomentum,
    };
    if (this.cycleMomentum) sd.use_beta1 = this.useBeta1;
    return sd;
  }

  protected readSettings(sd: Readonly<Record<string, unknown>>, where: string): () => void {
    const totalSteps = readNumber(sd, 'total_steps', this.totalSteps, where);
    const annealStrategy = readString(sd, 'anneal_strategy', this.annealStrategy, ['cos', 'linear'], where);
    const cycleMomentum = readBoolean(sd, 'cycle_momentum', this.cycleMomentum, where);
    const useBeta1 = readBoolean(sd, 'use_beta1', this.useBeta1, where);
    let phases = this.phases;
    if ('_schedule_phases' in sd) {
      const v = sd._schedule_phases;
      const keys = new Set(Object.keys(FIELD));
      const ok =
        Array.isArray(v) &&
        v.every(
          (p: Partial<OneCyclePhase>) =>
            p !== null &&
            typeof p === 'object' &&
            typeof p.end_step === 'number' &&
            [p.start_lr, p.end_lr, p.start_momentum, p.end_momentum].every((k) => keys.has(k as string)),
        );
      if (!ok) throw new TypeError(`${where}: malformed _schedule_phases ${JSON.stringify(v)}`);
      phases = (v as OneCyclePhase[]).map((p) => ({
        end_step: p.end_step,
        start_lr: p.start_lr,
        end_lr: p.end_lr,
        start_momentum: p.start_momentum,
        end_momentum: p.end_momentum,
      }));
    }
    return () => Object.assign(this, { totalSteps, annealStrategy, cycleMomentum, useBeta1, phases });
  }
}
