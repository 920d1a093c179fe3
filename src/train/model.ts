/**
 * Model: the high-level training API, in the style of paddle.Model and Keras.
 *
 *   const model = new Model(getModel('lenet5'));
 *   model.prepare({ optimizer: new Adam(model.net.parameters(), { lr: 1e-3 }), loss: new CrossEntropyLoss(), metrics: [new Accuracy()] });
 *   await model.fit(trainSet, { epochs: 5, batchSize: 64, evalData: testSet, saveDir: 'runs/lenet' });
 *   await model.evaluate(testSet);            // { loss, acc, samples }
 *   const probs = await model.predict(images, { softmax: true });
 *   await model.save('runs/lenet/export');
 *   const again = await Model.load('runs/lenet/export');   // rebuilt from the registry by name
 *
 * A training step is the standard PyTorch loop: optimizer.zeroGrad(); loss = lossFn(net.call(x), y);
 * loss.backward(); optimizer.step().
 */
import { DataLoader } from '../data/loader.js';
import type { Dataset, MaybeLabeled } from '../data/dataset.js';
import type { BatchMixer } from '../data/mixing.js';
import { balancedSampler } from '../data/sampler.js';
import { StateDictError, type Module } from '../nn/module.js';
import { inEvalMode } from '../nn/utils.js';
import { architectureOf, getModel } from '../models/index.js';
import type { AnyOptimizer } from '../optim/lr_scheduler.js';
import { OneCycleLR } from '../optim/one_cycle.js';
import { parsePreprocess, type PreprocessConfig } from '../transforms/presets.js';
import { noGrad } from '../tensor/autograd.js';
import { mul } from '../tensor/ops/elementwise.js';
import { concat } from '../tensor/ops/movement.js';
import { softmax } from '../tensor/ops/reduce.js';
import { defaultGenerator } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Callback, CallbackList, LRSchedulerCallback, ModelCheckpoint, ProgBarLogger, type CallbackHost, type Logs, type SchedulerLike } from './callbacks.js';
import { CheckpointError, loadCheckpoint, resolveCheckpoint, saveCheckpoint, type Architecture, type CheckpointContents } from './checkpoint.js';
import { ModelEma } from './ema.js';
import { DivergenceError, firstNonFinite } from './divergence.js';
import type { Metric } from './metrics.js';
import { stateDictGist } from './predictor.js';
import { formatLogs, type ProgressOutput } from './progress.js';
import { lrFind, type LrFindOptions, type LrFindResult } from './lr-find.js';
import { checkTTA, ttaLogits, ttaProbabilities, type TTA } from './tta.js';

/** A function (output, target) => loss, or a loss module (anything with call(output, target) returning a Tensor). */
export type LossFn = ((output: Tensor, target: Tensor) => Tensor) | { call(output: Tensor, target: Tensor): unknown };

/** Training or evaluation data: a DataLoader, a Dataset of [x, label] samples, or any (async) iterable of [x, y] batches. */
export type Data = DataLoader<any, any> | Dataset<any> | Iterable<unknown> | AsyncIterable<unknown>;

export interface ModelOptions {
  /** registry name and config (default: what getModel recorded on the net) */
  architecture?: Architecture | null;
  classes?: string[] | null;
  /** how pictures are prepared for the network: recorded in checkpoints, so Predictor and the command line can use them */
  preprocessing?: PreprocessConfig | null;
}

export interface PrepareOptions {
  optimizer?: AnyOptimizer | null;
  loss?: LossFn | null;
  metrics?: Metric | Metric[];
  /** a learning-rate scheduler, stepped by fit (per epoch; OneCycleLR per optimizer step) */
  scheduler?: SchedulerLike | null;
  /** the loss of evaluations (default: `loss`); e.g. plain cross-entropy while training with label smoothing */
  evalLoss?: LossFn | null;
}

export interface LoaderOptions {
  batchSize?: number;
  /** batches loaded ahead (DataLoader's prefetch; default 2) */
  prefetch?: number;
  /** worker threads loading batches (DataLoader's numWorkers; default 0: the main thread); they end with the call */
  numWorkers?: number;
}

export interface FitOptions extends LoaderOptions {
  epochs?: number;
  evalData?: Data;
  /** evaluate every this many epochs (default 1) */
  evalFreq?: number;
  /** checkpoint directory: `epoch-<n>` every saveFreq epochs, `last`, `best` (by eval_loss) and `final` */
  saveDir?: string;
  saveFreq?: number;
  /** 0 silent, 1 progress bar, 2 one line per log step (default 2, as Paddle) */
  verbose?: 0 | 1 | 2;
  /** print every this many steps when lines are not redrawn (default 10) */
  logFreq?: number;
  callbacks?: Callback[];
  shuffle?: boolean;
  dropLast?: boolean;
  /** seeds the order and augmentation of epoch e with (seed, e), so a resumed run sees the same batches */
  seed?: number;
  scheduler?: SchedulerLike | null;
  /** step the scheduler per batch (default: only for OneCycleLR) */
  schedulerByStep?: boolean;
  /** a checkpoint directory to continue from (weights, optimizer, scheduler, epoch, step); true: `${saveDir}/last` if it exists */
  resume?: string | boolean;
  /** where progress goes (default process.stdout) */
  out?: ProgressOutput;
  /** optimizer step every n batches, each batch's loss scaled by 1/n (default 1); the epoch's last, partial group is stepped too */
  accumulateSteps?: number;
  /** applied to each training batch before the forward pass: MixUp / CutMix (data.Mixup), giving soft targets */
  mixing?: BatchMixer | null;
  /**
   * draw every class equally often: a WeightedRandomSampler weighting each sample 1 / (its class's count), with
   * replacement, as many samples per epoch as the data has (instead of shuffle). The data must be a Dataset whose
   * `targets` are known (ImageFolder, MNIST, CIFAR and their Subset / withTransform views).
   */
  balance?: boolean;
  /**
   * stop with a DivergenceError at the first NaN or infinite training loss, validation loss or
   * weight, before any checkpoint holds it (default true; false leaves it to callbacks such as TerminateOnNaN)
   */
  stopOnDivergence?: boolean;
}

export interface EvaluateOptions extends LoaderOptions {
  verbose?: 0 | 1 | 2;
  logFreq?: number;
  callbacks?: Callback[];
  out?: ProgressOutput;
  /** test-time augmentation: probabilities averaged over views (the loss and metrics see their logarithm) */
  tta?: TTA;
}

export interface PredictOptions extends LoaderOptions {
  /** softmax over dimension 1 (probabilities instead of logits) */
  softmax?: boolean;
  /** test-time augmentation: the averaged probabilities (with softmax), else their logarithm */
  tta?: TTA;
}

export interface SaveOptions {
  metrics?: Logs;
  /** include the optimizer and scheduler state (default true) */
  training?: boolean;
}

export interface LoadOptions {
  /** the network to load the weights into */
  net?: Module;
  /** builds the network from the recorded architecture (default: getModel(name, config)) */
  builder?: (architecture: Architecture) => Module;
  /** 'ema': the checkpoint's moving average of the weights (an error if it has none); default 'raw' */
  weights?: 'raw' | 'ema';
}

function isDataset(d: unknown): d is Dataset<unknown> {
  return typeof d === 'object' && d !== null && typeof (d as Dataset<unknown>).getItem === 'function' && Number.isInteger((d as Dataset<unknown>).length);
}

function splitBatch(batch: unknown, where: string): [Tensor, Tensor | null] {
  if (batch instanceof Tensor) return [batch, null];
  if (Array.isArray(batch) && batch[0] instanceof Tensor) {
    const y = batch[1];
    if (y !== undefined && !(y instanceof Tensor)) throw new TypeError(`${where}: the batch's target is not a Tensor`);
    return [batch[0], (y as Tensor | undefined) ?? null];
  }
  throw new TypeError(`${where}: expected batches [x, y] or x of Tensors, got ${batch === null ? 'null' : typeof batch}`);
}

function batchesOf(data: unknown): number | null {
  const n = (data as { length?: unknown }).length;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
}

export class Model implements CallbackHost {
  readonly net: Module;
  optimizer: AnyOptimizer | null = null;
  lossFn: LossFn | null = null;
  metrics: Metric[] = [];
  scheduler: SchedulerLike | null = null;
  stopTraining = false;
  /** epochs completed */
  epoch = 0;
  /** optimizer steps completed */
  step = 0;
  architecture: Architecture | null;
  classes: string[] | null;
  preprocessing: PreprocessConfig | null;
  /** one entry per epoch of fit: the epoch's logs */
  history: Logs[] = [];
  /** the ModelEma among fit's callbacks (null without one): evaluated each epoch, saved in checkpoints, and what `best` is chosen by */
  ema: ModelEma | null = null;
  /** prepare's evalLoss: the loss of evaluations when it differs from training's */
  evalLossFn: LossFn | null = null;
  #accumulate = 1;
  #mixing: BatchMixer | null = null;

  constructor(net: Module, { architecture, classes = null, preprocessing = null }: ModelOptions = {}) {
    if (!net || typeof (net as Module).stateDict !== 'function') throw new TypeError('Model: expected an nn.Module');
    this.net = net;
    this.architecture = architecture ?? architectureOf(net);
    this.classes = classes;
    this.preprocessing = preprocessing;
  }

  prepare({ optimizer = null, loss = null, metrics = [], scheduler = null, evalLoss = null }: PrepareOptions = {}): this {
    this.optimizer = optimizer;
    this.lossFn = loss;
    this.evalLossFn = evalLoss;
    this.metrics = Array.isArray(metrics) ? metrics : [metrics];
    this.scheduler = scheduler;
    return this;
  }

  #loss(output: Tensor, target: Tensor, f = this.lossFn): Tensor {
    if (!f) throw new Error('Model: no loss; call prepare({ loss })');
    const loss = typeof f === 'function' ? f(output, target) : f.call(output, target);
    if (!(loss instanceof Tensor) || loss.size !== 1) throw new TypeError('Model: the loss must return a one-element Tensor');
    return loss;
  }

  #metricNames(): string[] {
    return this.metrics.flatMap((m) => m.names());
  }

  #metricLogs(into: Logs): Logs {
    for (const m of this.metrics) {
      const names = m.names();
      const values = m.accumulate();
      names.forEach((n, i) => {
        into[n] = values[i];
      });
    }
    return into;
  }

  #loader(
    data: Data,
    {
      batchSize = 32,
      prefetch,
      numWorkers,
      shuffle = false,
      dropLast = false,
      seed,
      balance = false,
    }: LoaderOptions & { shuffle?: boolean; dropLast?: boolean; seed?: number; balance?: boolean },
  ): Iterable<unknown> | AsyncIterable<unknown> {
    const need = 'a Dataset whose targets are known (ImageFolder, MNIST, CIFAR, their Subset and withTransform views)';
    if (data instanceof DataLoader) {
      if (balance) throw new TypeError(`Model.fit: balance needs ${need}, not a DataLoader (give the DataLoader a sampler: balancedSampler(targets))`);
      return data;
    }
    if (isDataset(data)) {
      const targets = balance ? (data as MaybeLabeled<unknown>).targets : undefined;
      if (balance && targets === undefined) throw new TypeError(`Model.fit: balance needs ${need}; this dataset has no targets`);
      return new DataLoader(data, {
        batchSize,
        shuffle: shuffle && !balance,
        ...(targets !== undefined ? { sampler: balancedSampler(targets) } : {}),
        dropLast,
        prefetch: prefetch ?? 2,
        numWorkers: numWorkers ?? 0,
        ...(seed !== undefined ? { seed } : {}),
      });
    }
    if (balance) throw new TypeError(`Model.fit: balance needs ${need}, not an iterable of batches`);
    if (data && (Symbol.iterator in (data as object) || Symbol.asyncIterator in (data as object))) return data as Iterable<unknown>;
    throw new TypeError('Model: expected a DataLoader, a Dataset or an iterable of batches');
  }

  /** Ends the worker threads of a DataLoader this model made for `data` (not of one it was given). */
  async #release(loader: unknown, data: unknown): Promise<void> {
    if (loader instanceof DataLoader && loader !== data) await loader.close();
  }

  /** Trains; returns the history (one logs object per epoch). */
  async fit(trainData: Data, options: FitOptions = {}): Promise<Logs[]> {
    const {
      epochs = 1,
      evalData,
      evalFreq = 1,
      saveDir,
      saveFreq = 1,
      verbose = 2,
      logFreq = 10,
      callbacks = [],
      shuffle = true,
      dropLast = false,
      seed,
      resume,
      out = process.stdout,
      stopOnDivergence = true,
    } = options;
    if (!this.optimizer) throw new Error('Model.fit: no optimizer; call prepare({ optimizer, loss })');
    if (!this.lossFn) throw new Error('Model.fit: no loss; call prepare({ optimizer, loss })');
    if (options.scheduler !== undefined) this.scheduler = options.scheduler;
    const accumulateSteps = options.accumulateSteps ?? 1;
    if (!(Number.isInteger(accumulateSteps) && accumulateSteps >= 1))
      throw new RangeError(`Model.fit: accumulateSteps must be a positive integer, got ${accumulateSteps}`);
    this.#accumulate = accumulateSteps;
    this.#mixing = options.mixing ?? null;
    // before resuming, which restores the average too
    this.ema = (callbacks.find((c) => c instanceof ModelEma) as ModelEma | undefined) ?? null;
    if (this.classes === null) {
      const ds = (trainData instanceof DataLoader ? trainData.dataset : trainData) as { classes?: unknown };
      if (Array.isArray(ds.classes)) this.classes = ds.classes.map(String);
    }

    if (resume) {
      const dir = resume === true ? (saveDir ? `${saveDir}/last` : null) : resume;
      if (dir === null) throw new Error('Model.fit: resume: true needs saveDir');
      if (resume !== true || resolveCheckpoint(dir) !== null) this.#restore(loadCheckpoint(dir), { training: true });
    }
    const initialEpoch = this.epoch;

    const byStep = options.schedulerByStep ?? this.scheduler instanceof OneCycleLR;
    const progress = new ProgBarLogger({ verbose, logFreq, out });
    progress.setKeys(['loss', ...this.#metricNames()]);
    const all: Callback[] = [progress, ...callbacks];
    if (this.scheduler && !callbacks.some((c) => c instanceof LRSchedulerCallback)) all.push(new LRSchedulerCallback({ byStep }));
    // with an average, `best` is the epoch whose average scored best: that is what gets deployed
    if (saveDir) all.push(new ModelCheckpoint({ dir: saveDir, saveFreq, ...(this.ema && evalData !== undefined ? { monitor: 'eval_ema_loss' } : {}) }));
    const cbks = new CallbackList(all);
    // one loader for the whole run (its workers serve every epoch); with a seed, epoch e
    // draws its order and augmentation from (seed, e), so a resumed run sees the same batches
    const epochSeed = (epoch: number) => (Math.imul(seed ?? 0, 1000003) + epoch) >>> 0;
    const trainLoader = this.#loader(trainData, { ...options, shuffle, dropLast, ...(seed !== undefined ? { seed: epochSeed(initialEpoch) } : {}) });
    const evalLoader = evalData === undefined ? undefined : this.#loader(evalData, { ...options, shuffle: false, dropLast: false, balance: false });
    cbks.setModel(this);
    cbks.setParams({ epochs, steps: batchesOf(trainLoader), verbose, initialEpoch });
    this.stopTraining = false;

    await cbks.call('onTrainBegin', {});
    let logs: Logs = {};
    try {
      for (let epoch = initialEpoch; epoch < epochs && !this.stopTraining; epoch++) {
        await cbks.call('onEpochBegin', epoch, {});
        if (seed !== undefined && trainLoader instanceof DataLoader && trainLoader !== trainData) trainLoader.reseed(epochSeed(epoch));
        logs = await this.#trainEpoch(trainLoader, cbks, batchesOf(trainLoader), epoch, stopOnDivergence);
        if (stopOnDivergence) this.#checkWeights(epoch);
        if (evalLoader !== undefined && (epoch + 1 - initialEpoch) % evalFreq === 0) {
          const ev = await this.#evaluateWith(evalLoader as Data, options, cbks, progress);
          if (stopOnDivergence && typeof ev.loss === 'number' && !Number.isFinite(ev.loss))
            throw new DivergenceError({ what: 'eval_loss', value: ev.loss, epoch: epoch + 1, step: 0, lr: this.#lr() });
          for (const [k, v] of Object.entries(ev)) logs[`eval_${k}`] = v;
          if (this.ema?.ready) Object.assign(logs, await this.#evaluateEma(evalLoader as Data, options, verbose, out));
        }
        const lr = this.optimizer.paramGroups[0]?.lr;
        if (typeof lr === 'number') logs.lr = lr;
        this.epoch = epoch + 1;
        this.history.push({ ...logs });
        await cbks.call('onEpochEnd', epoch, logs);
      }
    } finally {
      await this.#release(trainLoader, trainData);
      await this.#release(evalLoader, evalData);
    }
    await cbks.call('onTrainEnd', logs);
    return this.history;
  }

  #lr(): number | null {
    const lr = this.optimizer?.paramGroups[0]?.lr;
    return typeof lr === 'number' ? lr : null;
  }

  /** Throws a DivergenceError when a weight is no longer finite, before any callback could save it. */
  #checkWeights(epoch: number): void {
    const bad = firstNonFinite(this.net);
    if (bad) throw new DivergenceError({ what: 'weights', value: bad.value, epoch: epoch + 1, step: 0, lr: this.#lr(), parameter: bad.name });
  }

  /** The average's evaluation as `eval_ema_*` logs (one line of progress). */
  async #evaluateEma(data: Data, options: LoaderOptions, verbose: 0 | 1 | 2, out: ProgressOutput): Promise<Logs> {
    const ev = await this.ema!.withWeights(this.net, () => this.#evaluateWith(data, options, new CallbackList([]), null));
    if (verbose > 0) out.write(`Eval of the weights' moving average:${formatLogs(ev, ['loss', ...this.#metricNames()])}\n`);
    const logs: Logs = {};
    for (const [k, v] of Object.entries(ev)) if (k !== 'samples') logs[`eval_ema_${k}`] = v;
    return logs;
  }

  /** Steps the optimizer on the gradients of the `k` batches accumulated (each loss scaled by 1 / accumulateSteps). */
  #optimizerStep(k: number): void {
    const optimizer = this.optimizer!;
    if (k < this.#accumulate) {
      // a partial group: its gradient is the mean over its own k batches
      const scale = this.#accumulate / k;
      noGrad(() => {
        for (const group of optimizer.paramGroups)
          for (const p of group.params as Tensor[]) if (p.grad) (p.grad.data as Float32Array).forEach((v, i, a) => (a[i] = v * scale));
      });
    }
    optimizer.step();
    this.step++;
  }

  async #trainEpoch(
    loader: Iterable<unknown> | AsyncIterable<unknown>,
    cbks: CallbackList,
    batches: number | null,
    epoch: number,
    stopOnDivergence: boolean,
  ): Promise<Logs> {
    const optimizer = this.optimizer!;
    const accumulate = this.#accumulate;
    this.net.train();
    for (const m of this.metrics) m.reset();
    let lossSum = 0;
    let samples = 0;
    let step = 0;
    let pending = 0;
    let logs: Logs = {};
    for await (const batch of loader as AsyncIterable<unknown>) {
      let [x, y] = splitBatch(batch, 'Model.fit');
      if (!y) throw new TypeError('Model.fit: training batches need targets ([x, y])');
      if (this.#mixing) [x, y] = this.#mixing.apply(x, y);
      await cbks.call('onBatchBegin', 'train', step, {});
      if (pending === 0) optimizer.zeroGrad();
      const output = this.net.call(x);
      const loss = this.#loss(output, y);
      const value = loss.item();
      // a NaN or infinite loss: stop before its gradient reaches the weights
      if (stopOnDivergence && !Number.isFinite(value)) throw new DivergenceError({ what: 'loss', value, epoch: epoch + 1, step: step + 1, lr: this.#lr() });
      (accumulate > 1 ? mul(loss, 1 / accumulate) : loss).backward();
      if (++pending === accumulate || step === (batches ?? 0) - 1) {
        this.#optimizerStep(pending);
        pending = 0;
      }
      const n = x.shape[0] ?? 1;
      lossSum += value * n;
      samples += n;
      for (const m of this.metrics) m.update(output, y);
      // batch_size and lr (the rate this step used) are for per-step curves (images per second, the schedule)
      logs = this.#metricLogs({ loss: lossSum / samples, batch_loss: value, batch_size: n, lr: optimizer.paramGroups[0]?.lr ?? NaN });
      await cbks.call('onBatchEnd', 'train', step, logs);
      step++;
      if (this.stopTraining) break;
    }
    // the last, partial group of an epoch of unknown length (not after a stop: its gradients may be what
    // stopped it); the callbacks but the progress bar, which has shown this batch, see the step
    if (pending > 0 && !this.stopTraining) {
      this.#optimizerStep(pending);
      await new CallbackList(cbks.callbacks.filter((c) => !(c instanceof ProgBarLogger))).call('onBatchEnd', 'train', step - 1, logs);
    }
    delete logs.batch_loss;
    delete logs.batch_size;
    delete logs.lr;
    logs.samples = samples;
    return logs;
  }

  async #evaluateWith(data: Data, options: LoaderOptions & { tta?: TTA }, cbks: CallbackList, progress: ProgBarLogger | null): Promise<Logs> {
    const tta = checkTTA(options.tta ?? 'none', 'Model.evaluate');
    const lossFn = this.evalLossFn ?? this.lossFn;
    const loader = this.#loader(data, { ...options, shuffle: false, dropLast: false, balance: false });
    for (const m of this.metrics) m.reset();
    if (progress) progress.evalSteps = batchesOf(loader);
    await cbks.call('onEvalBegin', {});
    let lossSum = 0;
    let samples = 0;
    let step = 0;
    let logs: Logs = {};
    for await (const batch of loader as AsyncIterable<unknown>) {
      const [x, y] = splitBatch(batch, 'Model.evaluate');
      if (!y) throw new TypeError('Model.evaluate: batches need targets ([x, y])');
      await cbks.call('onBatchBegin', 'eval', step, {});
      const n = x.shape[0] ?? 1;
      // each batch in eval mode, synchronously: nothing awaiting elsewhere sees the mode change
      const forward = (v: Tensor) => this.net.call(v);
      const output = inEvalMode(this.net, () => noGrad(() => (tta === 'none' ? forward(x) : ttaLogits(forward, x, tta))));
      noGrad(() => {
        if (lossFn) lossSum += this.#loss(output, y, lossFn).item() * n;
        for (const m of this.metrics) m.update(output, y);
      });
      await cbks.call('onEvalOutput', output, y);
      samples += n;
      logs = this.#metricLogs(lossFn ? { loss: lossSum / samples } : {});
      await cbks.call('onBatchEnd', 'eval', step, logs);
      step++;
    }
    logs.samples = samples;
    await cbks.call('onEvalEnd', logs);
    return logs;
  }

  /** Loss and metrics over `data` (evaluation mode, no gradients): { loss, acc, …, samples }. */
  async evaluate(data: Data, options: EvaluateOptions = {}): Promise<Logs> {
    const { verbose = 2, logFreq = 10, callbacks = [], out = process.stdout } = options;
    const progress = new ProgBarLogger({ verbose, logFreq, out });
    progress.setKeys(['loss', ...this.#metricNames()]);
    const cbks = new CallbackList([progress, ...callbacks]);
    cbks.setModel(this);
    const loader = this.#loader(data, { ...options, shuffle: false, dropLast: false });
    try {
      return await this.#evaluateWith(loader as Data, options, cbks, progress);
    } finally {
      await this.#release(loader, data);
    }
  }

  /** The network's outputs for every sample of `data`, concatenated ([N, C]); probabilities with { softmax: true }. */
  async predict(data: Data | Tensor, options: PredictOptions = {}): Promise<Tensor> {
    const tta = checkTTA(options.tta ?? 'none', 'Model.predict');
    const forward = (v: Tensor) => this.net.call(v);
    const outs: Tensor[] = [];
    const loader = data instanceof Tensor ? [data] : this.#loader(data, { ...options, shuffle: false });
    try {
      for await (const batch of loader as AsyncIterable<unknown>) {
        const [x] = splitBatch(batch, 'Model.predict');
        if (tta !== 'none') {
          outs.push(inEvalMode(this.net, () => noGrad(() => (options.softmax ? ttaProbabilities : ttaLogits)(forward, x, tta))));
          continue;
        }
        const y = inEvalMode(this.net, () => noGrad(() => this.net.call(x)));
        outs.push(options.softmax ? noGrad(() => softmax(y, 1)) : y);
      }
    } finally {
      await this.#release(loader, data);
    }
    if (outs.length === 0) throw new RangeError('Model.predict: no data');
    return outs.length === 1 ? outs[0] : concat(outs, 0);
  }

  /**
   * The learning-rate range test (lr-find.ts) with this model's optimizer and loss (prepare first): the
   * loss over a geometric sweep of rates and the suggested rate; the weights and optimizer are left as they were.
   */
  async lrFind(data: Data, options: LrFindOptions = {}): Promise<LrFindResult> {
    if (!this.optimizer || !this.lossFn) throw new Error('Model.lrFind: no optimizer or loss; call prepare({ optimizer, loss })');
    return lrFind({ net: this.net, optimizer: this.optimizer, loss: (o, t) => this.#loss(o, t) }, data as Parameters<typeof lrFind>[1], options);
  }

  /** Writes a checkpoint directory (atomically): weights, optimizer and scheduler state, architecture, classes, epoch. */
  async save(dir: string, { metrics = this.history.at(-1) ?? {}, training = true }: SaveOptions = {}): Promise<void> {
    saveCheckpoint(dir, {
      modelState: this.net.stateDict(),
      optimizer: training ? this.optimizer : null,
      scheduler: training ? (this.scheduler as { stateDict(): unknown; constructor: { name: string } } | null) : null,
      emaState: this.ema?.ready ? this.ema.stateDict() : null,
      info: {
        ...(this.ema?.ready ? { ema: this.ema.info() } : {}),
        architecture: this.architecture,
        classes: this.classes,
        preprocessing: this.preprocessing,
        epoch: this.epoch,
        step: this.step,
        metrics,
        rng: training ? defaultGenerator().getState() : null,
      },
    });
  }

  #restore(ck: CheckpointContents, { training }: { training: boolean }): void {
    try {
      this.net.loadStateDict(ck.modelState);
    } catch (e) {
      // one line naming the checkpoint: the caller may be a command printing it as is
      if (e instanceof StateDictError) throw new CheckpointError(`Model: the weights in ${ck.path} do not fit the network: ${stateDictGist(e)}`, { cause: e });
      throw e;
    }
    if (training) {
      if (this.optimizer && ck.optimizerState) {
        if (ck.optimizerName && ck.optimizerName !== this.optimizer.constructor.name) {
          throw new Error(`Model: the checkpoint at ${ck.path} holds ${ck.optimizerName} state, but the optimizer is ${this.optimizer.constructor.name}`);
        }
        this.optimizer.loadStateDict(ck.optimizerState as Parameters<AnyOptimizer['loadStateDict']>[0]);
      }
      if (this.scheduler && ck.schedulerState) this.scheduler.loadStateDict(ck.schedulerState);
      if (this.ema && ck.emaState) this.ema.load(ck.emaState, ck.info.ema?.updates ?? 0);
      if (ck.info.rng) defaultGenerator().setState(ck.info.rng);
    }
    this.epoch = ck.info.epoch;
    this.step = ck.info.step;
    this.classes = ck.info.classes ?? this.classes;
    if (ck.info.architecture) this.architecture = ck.info.architecture;
    if (ck.info.preprocessing !== null && ck.info.preprocessing !== undefined) this.preprocessing = parsePreprocess(ck.info.preprocessing, ck.path);
  }

  /**
   * Loads a checkpoint into this model: weights, and unless `resetOptimizer`, the
   * optimizer's and scheduler's state (prepare first), epoch and step.
   */
  async loadCheckpoint(dir: string, { resetOptimizer = false }: { resetOptimizer?: boolean } = {}): Promise<CheckpointContents> {
    const ck = loadCheckpoint(dir);
    this.#restore(ck, { training: !resetOptimizer });
    return ck;
  }

  /** A Model with the network of a checkpoint: `net`, `builder(architecture)`, or the registry by name. */
  static async load(dir: string, { net, builder, weights = 'raw' }: LoadOptions = {}): Promise<Model> {
    const ck = loadCheckpoint(dir);
    if (weights === 'ema') {
      if (!ck.emaState) throw new Error(`Model.load: the checkpoint at ${ck.path} holds no moving average of the weights`);
      ck.modelState = ck.emaState;
    }
    const arch = ck.info.architecture ?? null;
    if (!net) {
      if (!arch) throw new Error(`Model.load: the checkpoint at ${ck.path} records no architecture; pass { net }`);
      net = builder ? builder(arch) : getModel(arch.name, arch.config);
    }
    const model = new Model(net, { architecture: arch });
    model.#restore(ck, { training: false });
    return model;
  }
}
