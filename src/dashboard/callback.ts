/**
 * The live dashboard as a callback for Model.fit:
 *
 *   const dashboard = new train.Dashboard({ port: 6006 });
 *   await model.fit(trainSet, { epochs: 5, evalData: valSet, callbacks: [dashboard] });
 *   // the page at dashboard.url keeps showing the run; then:
 *   await dashboard.close();
 *
 * Every training step goes to the page (loss, metrics, learning rate, images per
 * second), every epoch's means and validation values too, and after each validation
 * pass its predictions, scored as `tsvision evaluate` scores them (confusion matrix,
 * per-class table, confused pairs, worst mistakes, precision-recall curves). The
 * server (fastify) is loaded when the callback starts, so importing tsvision does not
 * load it.
 */
import { argmax, readPredictions, type PredictionRecord } from '../metrics/predictions.js';
import { Callback, type Logs, type Mode } from '../train/callbacks.js';
import { StepMeter } from '../train/curves.js';
import { noGrad } from '../tensor/autograd.js';
import { softmax } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Run } from './runs.js';
import type { DashboardServer } from './server.js';

export interface DashboardOptions {
  /** default 6006; 0 picks a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** the run's name on the page (default 'run') */
  name?: string;
  /** the run's folder, if it has one (shown, and where the evaluation's picture paths are looked up) */
  dir?: string | null;
  /** the settings shown in the runs table */
  settings?: Record<string, unknown>;
  /** the evaluation set's file paths in its order, so the worst mistakes show as pictures */
  evalPaths?: readonly string[];
  /** rows of the epochs already done (a resumed run): history.csv's and steps.csv's */
  history?: { epochs: Logs[]; steps: Logs[] };
  /** class names (default: the model's) */
  classes?: readonly string[];
  /** an existing dashboard server to add this run to */
  server?: DashboardServer;
  /** where the address is printed (default: a line on stdout) */
  log?: (line: string) => void;
}

/** How long a training loop may hold the event loop before the callback lets the server answer. */
const YIELD_MS = 40;

export class Dashboard extends Callback {
  readonly options: DashboardOptions;
  server: DashboardServer | null;
  run: Run | null = null;
  #meter = new StepMeter();
  #epoch = 0;
  #inFit = false;
  #lastYield = performance.now();
  #probs: number[][] = [];
  #targets: number[] = [];
  #ownServer = false;

  constructor(options: DashboardOptions = {}) {
    super();
    this.options = options;
    this.server = options.server ?? null;
  }

  /** The page's address, once started. */
  get url(): string | null {
    return this.server?.url || null;
  }

  /** Starts the server (when not given one) and adds the run; returns the page's address. */
  async start(): Promise<string> {
    if (!this.server) {
      const { startDashboard } = await import('./server.js');
      this.server = await startDashboard({ host: this.options.host, port: this.options.port ?? 6006 });
      this.#ownServer = true;
      (this.options.log ?? ((l: string) => process.stdout.write(`${l}\n`)))(`Dashboard: ${this.server.url}`);
    }
    if (!this.run) {
      this.run = this.server.addRun({
        name: this.options.name ?? 'run',
        dir: this.options.dir ?? null,
        settings: this.options.settings ?? {},
        epochs: [...(this.options.history?.epochs ?? [])],
        steps: [...(this.options.history?.steps ?? [])],
      });
    }
    return this.server.url;
  }

  #classes(): string[] {
    const fromModel = (this.model as { classes?: unknown } | null)?.classes;
    if (this.options.classes) return [...this.options.classes];
    if (Array.isArray(fromModel)) return fromModel.map(String);
    return [];
  }

  /** Lets the server answer and send events when the training loop has held the event loop long enough. */
  async #breathe(): Promise<void> {
    const now = performance.now();
    if (now - this.#lastYield < YIELD_MS) return;
    await new Promise((r) => setImmediate(r));
    this.#lastYield = performance.now();
  }

  override async onTrainBegin(): Promise<void> {
    await this.start();
    this.#inFit = true;
    if (this.run!.status !== 'running') this.server!.updateRun(this.run!, { status: 'running' });
  }

  override onEpochBegin(epoch: number): void {
    this.#epoch = epoch;
    this.#meter.epochBegin();
  }

  override async onBatchEnd(mode: Mode, step: number, logs: Logs): Promise<void> {
    if (mode === 'train' && this.run) this.server!.pushSteps(this.run, [this.#meter.batchEnd(this.#epoch, step, this.params?.steps ?? null, logs)]);
    await this.#breathe();
  }

  override onEvalBegin(): void {
    this.#probs = [];
    this.#targets = [];
  }

  override onEvalOutput(output: Tensor, target: Tensor): void {
    if (output.shape.length !== 2) return;
    const [n, c] = output.shape;
    const p = noGrad(() => softmax(output, 1)).data;
    for (let i = 0; i < n; i++) this.#probs.push(Array.from(p.subarray(i * c, (i + 1) * c)));
    for (let i = 0; i < n; i++) this.#targets.push(Number(target.data[i]));
  }

  override async onEvalEnd(): Promise<void> {
    if (!this.run) await this.start();
    const classes = this.#classes();
    const n = this.#probs.length;
    if (n === 0 || classes.length !== this.#probs[0].length) return;
    const paths = this.options.evalPaths;
    const named = paths !== undefined && paths.length === n;
    // as the predictions file holds them (5 decimals), so the page agrees with a rescore of that file
    const records: PredictionRecord[] = this.#probs.map((probs, i) => ({
      probs: probs.map((q) => Number(q.toFixed(5))),
      target: this.#targets[i],
      predicted: argmax(probs),
      path: named ? paths[i] : `#${i + 1}`,
    }));
    const label = this.#inFit ? `validation after epoch ${this.#epoch + 1}` : 'evaluation';
    this.server!.setEvaluation(this.run!, label, classes, records);
    this.#probs = [];
    this.#targets = [];
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    if (this.run) this.server!.pushEpoch(this.run, { epoch: epoch + 1, ...logs });
  }

  override onTrainEnd(): void {
    this.#inFit = false;
    if (this.run) this.server!.updateRun(this.run, { status: 'finished' });
  }

  /** Shows an evaluation's predictions file (as `tsvision evaluate` writes it) as the run's evaluation. */
  async showPredictions(file: string, label: string): Promise<void> {
    if (!this.run) await this.start();
    const { classes, records } = readPredictions(file);
    this.server!.setEvaluation(this.run!, label, classes, records);
  }

  /** Stops the server (when this callback started it). */
  async close(): Promise<void> {
    if (this.#ownServer && this.server) await this.server.close();
  }
}
