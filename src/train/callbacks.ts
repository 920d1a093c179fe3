/**
 * Callbacks: hooks into Model.fit / evaluate, as Keras and paddle.callbacks.
 * `logs` hold numbers: the running loss and metrics (train batches), the epoch's
 * values plus `eval_`-prefixed evaluation results (onEpochEnd), and `lr`. A training
 * batch's logs also hold `batch_loss`, `batch_size` and the `lr` that step used.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { removeStaleTemps, writeFileAtomic } from '../core/atomic.js';
import { dirname, join } from 'node:path';
import type { Module } from '../nn/module.js';
import { ReduceLROnPlateau } from '../optim/plateau.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatLogs, ProgressBar, type ProgressOutput } from './progress.js';

export type Logs = Record<string, number>;

/** What a callback sees of the Model (kept as an interface so this file does not import model.ts). */
export interface CallbackHost {
  /** set to true to end fit after the current batch */
  stopTraining: boolean;
  /** saves a checkpoint directory (weights, optimizer, scheduler, epoch, metrics) */
  save(dir: string, options?: { metrics?: Logs }): Promise<void> | void;
  /** the scheduler given to fit, if any */
  readonly scheduler: SchedulerLike | null;
  /** the network being trained (Model's; ModelEma reads it) */
  readonly net?: Module;
  /** optimizer steps completed: with gradient accumulation, fewer than the batches */
  readonly step?: number;
}

export interface SchedulerLike {
  step(metric?: any): void;
  stateDict(): unknown;
  loadStateDict(sd: any): void;
  getLastLr?(): number[];
}

export interface FitParams {
  epochs: number;
  /** batches per epoch, or null when unknown */
  steps: number | null;
  verbose: 0 | 1 | 2;
  /** epochs already completed (resuming) */
  initialEpoch: number;
}

export type Mode = 'train' | 'eval' | 'predict';

export abstract class Callback {
  model: CallbackHost | null = null;
  params: FitParams | null = null;
  setModel(model: CallbackHost): void {
    this.model = model;
  }
  setParams(params: FitParams): void {
    this.params = params;
  }
  onTrainBegin(_logs: Logs): void | Promise<void> {}
  onTrainEnd(_logs: Logs): void | Promise<void> {}
  /** epoch: 0-based */
  onEpochBegin(_epoch: number, _logs: Logs): void | Promise<void> {}
  onEpochEnd(_epoch: number, _logs: Logs): void | Promise<void> {}
  /** step: 0-based within the epoch (or the evaluation / prediction pass) */
  onBatchBegin(_mode: Mode, _step: number, _logs: Logs): void | Promise<void> {}
  onBatchEnd(_mode: Mode, _step: number, _logs: Logs): void | Promise<void> {}
  /** an evaluation batch's network output (logits) and targets, for callbacks that look at the predictions themselves */
  onEvalOutput(_output: Tensor, _target: Tensor): void | Promise<void> {}
  onEvalBegin(_logs: Logs): void | Promise<void> {}
  onEvalEnd(_logs: Logs): void | Promise<void> {}
}

/** Calls each callback's hooks in order. */
export class CallbackList {
  constructor(readonly callbacks: Callback[]) {}
  setModel(m: CallbackHost): void {
    for (const c of this.callbacks) c.setModel(m);
  }
  setParams(p: FitParams): void {
    for (const c of this.callbacks) c.setParams(p);
  }
  async call<K extends keyof Callback>(hook: K, ...args: any[]): Promise<void> {
    for (const c of this.callbacks) await (c[hook] as (...a: any[]) => unknown).apply(c, args);
  }
}

export interface ProgBarLoggerOptions {
  verbose?: 0 | 1 | 2;
  /** lines every logFreq steps when not redrawing (default 10) */
  logFreq?: number;
  out?: ProgressOutput;
}

/** Prints `Epoch 1/5` and the step lines (added by fit for verbose 1 and 2). */
export class ProgBarLogger extends Callback {
  readonly verbose: 0 | 1 | 2;
  readonly logFreq: number;
  readonly out: ProgressOutput;
  #bar: ProgressBar | null = null;
  #keys: string[] = [];
  #step = 0;
  #last: Logs = {};

  constructor({ verbose = 1, logFreq = 10, out = process.stdout }: ProgBarLoggerOptions = {}) {
    super();
    this.verbose = verbose;
    this.logFreq = logFreq;
    this.out = out;
  }

  /** the log keys shown (set by fit: loss and the metrics' names) */
  setKeys(keys: string[]): void {
    this.#keys = keys;
  }

  override onEpochBegin(epoch: number): void {
    if (this.verbose === 0 || !this.params) return;
    this.out.write(`Epoch ${epoch + 1}/${this.params.epochs}\n`);
    this.#bar = new ProgressBar({ total: this.params.steps, verbose: this.verbose, out: this.out, logFreq: this.logFreq });
    this.#step = 0;
  }

  override onBatchEnd(mode: Mode, step: number, logs: Logs): void {
    if (mode === 'train' && this.#bar) {
      this.#step = step + 1;
      this.#last = logs;
      this.#bar.update(step + 1, formatLogs(logs, this.#keys));
    } else if (mode === 'eval' && this.#evalBar) {
      this.#evalStep = step + 1;
      this.#evalLast = logs;
      this.#evalBar.update(step + 1, formatLogs(logs, this.#keys));
    }
  }

  override onEpochEnd(): void {
    this.#bar?.finish(this.#step, formatLogs(this.#last, this.#keys));
    this.#bar = null;
  }

  #evalBar: ProgressBar | null = null;
  #evalStep = 0;
  #evalLast: Logs = {};
  /** steps of the coming evaluation (set by Model before onEvalBegin) */
  evalSteps: number | null = null;

  override onEvalBegin(): void {
    if (this.verbose === 0) return;
    this.out.write('Eval begin...\n');
    this.#evalBar = new ProgressBar({ total: this.evalSteps, verbose: this.verbose, out: this.out, logFreq: this.logFreq });
    this.#evalStep = 0;
  }

  override onEvalEnd(logs: Logs): void {
    if (this.verbose === 0) return;
    this.#evalBar?.finish(this.#evalStep, formatLogs(this.#evalLast, this.#keys));
    this.#evalBar = null;
    if (typeof logs.samples === 'number') this.out.write(`Eval samples: ${logs.samples}\n`);
  }
}

export interface MonitorOptions {
  /** the log key to watch (default 'eval_loss', falling back to 'loss' when there is no evaluation) */
  monitor?: string;
  /** 'min', 'max', or 'auto' (default: max for keys containing 'acc', else min) */
  mode?: 'min' | 'max' | 'auto';
  /** smallest change that counts as an improvement (default 0) */
  minDelta?: number;
}

function resolveMode(monitor: string, mode: 'min' | 'max' | 'auto'): 'min' | 'max' {
  return mode !== 'auto' ? mode : /acc|auc|precision|recall|f1/i.test(monitor) ? 'max' : 'min';
}

function monitored(logs: Logs, monitor: string): [string, number] | null {
  if (typeof logs[monitor] === 'number') return [monitor, logs[monitor]];
  const plain = monitor.replace(/^eval_/, '');
  if (plain !== monitor && !Object.keys(logs).some((k) => k.startsWith('eval_')) && typeof logs[plain] === 'number') return [plain, logs[plain]];
  return null;
}

export interface ModelCheckpointOptions extends MonitorOptions {
  /** directory holding the checkpoints */
  dir: string;
  /** save `dir/epoch-<n>` every this many epochs (0: never; default 1) */
  saveFreq?: number;
  /** also keep `dir/best`, the best epoch by `monitor` (default true) */
  saveBest?: boolean;
  /** also write `dir/last` at every save (default true): what `fit({ resume })` reads */
  saveLast?: boolean;
  /** write `dir/final` at the end of training (default true) */
  saveFinal?: boolean;
}

/** Saves checkpoints: every N epochs, the latest, the best by a monitored metric, and the final one. */
export class ModelCheckpoint extends Callback {
  readonly dir: string;
  readonly saveFreq: number;
  readonly saveBest: boolean;
  readonly saveLast: boolean;
  readonly saveFinal: boolean;
  readonly monitor: string;
  readonly mode: 'min' | 'max' | 'auto';
  readonly minDelta: number;
  best: number | null = null;
  bestEpoch = -1;

  constructor({
    dir,
    saveFreq = 1,
    saveBest = true,
    saveLast = true,
    saveFinal = true,
    monitor = 'eval_loss',
    mode = 'auto',
    minDelta = 0,
  }: ModelCheckpointOptions) {
    super();
    this.dir = dir;
    this.saveFreq = saveFreq;
    this.saveBest = saveBest;
    this.saveLast = saveLast;
    this.saveFinal = saveFinal;
    this.monitor = monitor;
    this.mode = mode;
    this.minDelta = minDelta;
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (!this.model) return;
    if (this.saveFreq > 0 && (epoch + 1) % this.saveFreq === 0) {
      await this.model.save(join(this.dir, `epoch-${epoch + 1}`), { metrics: logs });
    }
    // best before last: a run killed between the two saves resumes from the previous last,
    // repeats this epoch and finds it no better than the best it already holds
    if (this.saveBest) {
      const m = monitored(logs, this.monitor);
      if (m) {
        const mode = resolveMode(m[0], this.mode);
        const v = m[1];
        const better = this.best === null || (mode === 'min' ? v < this.best - this.minDelta : v > this.best + this.minDelta);
        // a NaN or infinite value is never the best
        if (better && Number.isFinite(v)) {
          this.best = v;
          this.bestEpoch = epoch;
          await this.model.save(join(this.dir, 'best'), { metrics: logs });
        }
      }
    }
    if (this.saveLast) await this.model.save(join(this.dir, 'last'), { metrics: logs });
  }

  override async onTrainEnd(logs: Logs): Promise<void> {
    if (this.model && this.saveFinal) await this.model.save(join(this.dir, 'final'), { metrics: logs });
  }
}

export interface EarlyStoppingOptions extends MonitorOptions {
  /** epochs without improvement before stopping (default 0) */
  patience?: number;
  /** value the monitored metric must beat before patience counts (default none) */
  baseline?: number;
}

/** Stops training when the monitored metric stops improving. */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: 'min' | 'max' | 'auto';
  readonly baseline: number | null;
  best: number | null = null;
  wait = 0;
  stoppedEpoch = -1;

  constructor({ monitor = 'eval_loss', mode = 'auto', patience = 0, minDelta = 0, baseline }: EarlyStoppingOptions = {}) {
    super();
    this.monitor = monitor;
    this.mode = mode;
    this.patience = patience;
    this.minDelta = Math.abs(minDelta);
    this.baseline = baseline ?? null;
  }

  override onTrainBegin(): void {
    this.best = this.baseline;
    this.wait = 0;
    this.stoppedEpoch = -1;
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    const m = monitored(logs, this.monitor);
    if (!m || !this.model) return;
    const mode = resolveMode(m[0], this.mode);
    const v = m[1];
    const better = this.best === null ? true : mode === 'min' ? v < this.best - this.minDelta : v > this.best + this.minDelta;
    if (better && !Number.isNaN(v)) {
      this.best = v;
      this.wait = 0;
      return;
    }
    this.wait++;
    if (this.wait > this.patience) {
      this.stoppedEpoch = epoch;
      this.model.stopTraining = true;
    }
  }
}

export interface LRSchedulerCallbackOptions {
  /** step the scheduler after every batch (OneCycleLR) instead of every epoch (default: per epoch) */
  byStep?: boolean;
  /** for ReduceLROnPlateau: the log key passed to step() (default 'eval_loss', falling back to 'loss') */
  monitor?: string;
}

/** Steps fit's scheduler (fit adds one when given a scheduler). */
export class LRSchedulerCallback extends Callback {
  readonly byStep: boolean;
  readonly monitor: string;
  constructor({ byStep = false, monitor = 'eval_loss' }: LRSchedulerCallbackOptions = {}) {
    super();
    this.byStep = byStep;
    this.monitor = monitor;
  }
  #step(logs: Logs): void {
    const s = this.model?.scheduler;
    if (!s) return;
    if (s instanceof ReduceLROnPlateau) {
      const m = monitored(logs, this.monitor);
      if (!m) throw new Error(`LRSchedulerCallback: the scheduler needs a metric, but "${this.monitor}" is not in the logs (${Object.keys(logs).join(', ')})`);
      s.step(m[1]);
    } else s.step();
  }
  #lastStep: number | undefined;
  override onTrainBegin(): void {
    this.#lastStep = this.model?.step;
  }
  override onBatchEnd(mode: Mode, _step: number, logs: Logs): void {
    if (mode !== 'train' || !this.byStep) return;
    // per optimizer step: a batch that only accumulated gradients does not count
    const step = this.model?.step;
    if (step !== undefined && step === this.#lastStep) return;
    this.#lastStep = step;
    this.#step(logs);
  }
  override onEpochEnd(_epoch: number, logs: Logs): void {
    if (!this.byStep) this.#step(logs);
  }
}

/** Stops training as soon as the loss is NaN or infinite. */
export class TerminateOnNaN extends Callback {
  terminatedAt: { epoch: number; step: number } | null = null;
  #epoch = 0;
  override onEpochBegin(epoch: number): void {
    this.#epoch = epoch;
  }
  override onBatchEnd(mode: Mode, step: number, logs: Logs): void {
    if (mode !== 'train' || !this.model) return;
    const loss = logs.batch_loss ?? logs.loss;
    if (typeof loss === 'number' && !Number.isFinite(loss)) {
      this.terminatedAt = { epoch: this.#epoch, step };
      this.model.stopTraining = true;
    }
  }
}

export interface CSVLoggerOptions {
  /** append to an existing file (default false: start a new one; resuming sets it) */
  append?: boolean;
  /** 'csv' (default) or 'jsonl' (one JSON object per epoch) */
  format?: 'csv' | 'jsonl';
}

/** Writes one row per epoch (epoch and every log value) to a CSV or JSON-lines file. */
export class CSVLogger extends Callback {
  readonly path: string;
  readonly append: boolean;
  readonly format: 'csv' | 'jsonl';
  #keys: string[] | null = null;

  constructor(path: string, { append = false, format = path.endsWith('.jsonl') ? 'jsonl' : 'csv' }: CSVLoggerOptions = {}) {
    super();
    this.path = path;
    this.append = append;
    this.format = format;
  }

  override onTrainBegin(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const initialEpoch = this.params?.initialEpoch ?? 0;
    const resuming = this.append || initialEpoch > 0;
    if (!resuming || !existsSync(this.path)) writeFileSync(this.path, '');
    else if (initialEpoch > 0) this.#keepEpochs(initialEpoch);
    this.#keys = null;
  }

  /**
   * Resuming from epoch n: keeps the header and the rows of epochs up to n, so rows written
   * after the checkpoint a killed run resumes from (and a torn last line) are not repeated.
   */
  #keepEpochs(n: number): void {
    removeStaleTemps(this.path); // of a run killed while it rewrote the file
    const text = readFileSync(this.path, 'utf8');
    const lines = text.split('\n');
    lines.pop(); // after the last newline: empty, or a line torn by a kill
    const epochOf = (line: string): number => {
      if (this.format === 'jsonl') {
        try {
          return Number((JSON.parse(line) as { epoch?: unknown }).epoch);
        } catch {
          return NaN;
        }
      }
      return Number(line.split(',')[0]);
    };
    const kept = lines.filter((line, i) => (this.format === 'csv' && i === 0) || epochOf(line) <= n);
    const next = kept.length ? `${kept.join('\n')}\n` : '';
    if (next !== text) writeFileAtomic(this.path, Buffer.from(next, 'utf8'));
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    const row: Logs = { epoch: epoch + 1, ...logs };
    if (this.format === 'jsonl') {
      appendFileSync(this.path, JSON.stringify(row, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n');
      return;
    }
    if (!this.#keys) {
      this.#keys = Object.keys(row);
      let empty = true;
      try {
        empty = statSync(this.path).size === 0;
      } catch {
        /* new file */
      }
      if (empty) appendFileSync(this.path, this.#keys.join(',') + '\n');
    }
    appendFileSync(this.path, this.#keys.map((k) => (k in row ? String(row[k]) : '')).join(',') + '\n');
  }
}
