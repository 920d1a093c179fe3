/**
 * Combinations of schedulers, as PyTorch's SequentialLR and ChainedScheduler. Both
 * drive children built on the same optimizer.
 */
import { INITIAL_STEP, LRScheduler, readNumbers, STEP_AT, type AnyOptimizer, type SchedulerStateDict } from './lr_scheduler.js';

type Dict = Readonly<Record<string, unknown>>;

/**
 * Runs schedulers one after another: schedulers[i] from milestones[i-1] on (each
 * restarted from its epoch 0 there), e.g. a LinearLR warm-up, then CosineAnnealingLR.
 * Build the children on the same optimizer first; this resets the lr to initialLr and
 * starts the first child.
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  milestones: number[];

  constructor(optimizer: AnyOptimizer, schedulers: LRScheduler[], milestones: readonly number[], lastEpoch = -1) {
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) throw new Error(`SequentialLR: scheduler ${i} belongs to another optimizer`);
    });
    if (schedulers.length === 0 || milestones.length !== schedulers.length - 1) {
      throw new RangeError(
        `SequentialLR: expected one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${milestones.length} milestones`,
      );
    }
    super(optimizer, lastEpoch);
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = lastEpoch + 1;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr!;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0][INITIAL_STEP]();
    this.lastLr = schedulers[0].getLastLr();
  }

  override step(): void {
    this.lastEpoch++;
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= this.lastEpoch) idx++;
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s[STEP_AT](0);
    else s.step();
    this.lastLr = s.getLastLr();
  }

  protected computeLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  protected settings(): SchedulerStateDict {
    return { _milestones: [...this.milestones], _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  protected readSettings(sd: Dict, where: string): () => void {
    const milestones = readNumbers(sd, '_milestones', this.milestones, where, this.milestones.length);
    const children = sd._schedulers;
    if (children !== undefined && (!Array.isArray(children) || children.length !== this.schedulers.length)) {
      throw new TypeError(`${where}: expected _schedulers to hold ${this.schedulers.length} state dicts`);
    }
    return () => {
      this.milestones = milestones;
      if (children) this.schedulers.forEach((s, i) => s.loadStateDict(children[i] as SchedulerStateDict));
    };
  }
}

/** Steps several chainable schedulers together (their factors multiply), e.g. ExponentialLR with a LinearLR warm-up. */
export class ChainedScheduler extends LRScheduler {
  readonly schedulers: LRScheduler[];

  constructor(schedulers: LRScheduler[]) {
    if (!schedulers.length) throw new RangeError('ChainedScheduler: expected at least one scheduler');
    schedulers.forEach((s, i) => {
      if (s.optimizer !== schedulers[0].optimizer) throw new Error(`ChainedScheduler: scheduler ${i} belongs to another optimizer than scheduler 0`);
    });
    super(schedulers[0].optimizer);
    this.schedulers = [...schedulers];
    this.lastEpoch = 0;
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  override step(): void {
    this.lastEpoch++;
    for (const s of this.schedulers) s.step();
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  protected computeLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  protected settings(): SchedulerStateDict {
    return { _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }

  protected readSettings(sd: Dict, where: string): () => void {
    const children = sd._schedulers;
    if (children !== undefined && (!Array.isArray(children) || children.length !== this.schedulers.length)) {
      throw new TypeError(`${where}: expected _schedulers to hold ${this.schedulers.length} state dicts`);
    }
    return () => {
      if (children) this.schedulers.forEach((s, i) => s.loadStateDict(children[i] as SchedulerStateDict));
    };
  }
}
