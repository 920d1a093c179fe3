/**
 * Progress output in Paddle's format:
 *
 *   Epoch 1/5
 *   step 938/938 [==============================] - loss: 0.1564 - acc: 0.9289 - 15ms/step
 *
 * verbose 0: nothing; 1: the bar, redrawn in place on a TTY, else one line every
 * `logFreq` steps (and at the last); 2: the same lines without the bar.
 */

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-4 || a >= 1e5) ? v.toExponential(4) : v.toFixed(4);
}

export function formatLogs(logs: Record<string, number>, keys: readonly string[]): string {
  return keys
    .filter((k) => typeof logs[k] === 'number')
    .map((k) => ` - ${k}: ${formatValue(logs[k])}`)
    .join('');
}

export function formatStepTime(ms: number): string {
  return ms >= 1 ? `${Math.round(ms)}ms/step` : `${Math.round(ms * 1000)}us/step`;
}

export class ProgressBar {
  readonly total: number | null;
  readonly width: number;
  readonly verbose: 0 | 1 | 2;
  readonly out: ProgressOutput;
  readonly logFreq: number;
  #start = performance.now();
  #lastLen = 0;

  constructor({
    total,
    width = 30,
    verbose = 1,
    out = process.stdout,
    logFreq = 10,
  }: {
    total: number | null;
    width?: number;
    verbose?: 0 | 1 | 2;
    out?: ProgressOutput;
    logFreq?: number;
  }) {
    this.total = total;
    this.width = width;
    this.verbose = verbose;
    this.out = out;
    this.logFreq = logFreq;
  }

  line(step: number, text: string): string {
    const ms = (performance.now() - this.#start) / Math.max(step, 1);
    const count = this.total ? `step ${String(step).padStart(String(this.total).length)}/${this.total}` : `step ${step}`;
    let bar = '';
    if (this.verbose === 1) {
      if (this.total) {
        const filled = Math.floor((this.width * step) / this.total);
        bar = ' [' + (filled >= this.width ? '='.repeat(this.width) : '='.repeat(filled) + '>' + '.'.repeat(this.width - filled - 1)) + ']';
      }
    }
    return `${count}${bar}${text} - ${formatStepTime(ms)}`;
  }

  /** Reports `step` (1-based) done; `text` is formatLogs(...). */
  update(step: number, text: string): void {
    if (this.verbose === 0) return;
    const last = this.total !== null && step >= this.total;
    if (this.verbose === 1 && this.out.isTTY) {
      const l = this.line(step, text);
      const pad = this.#lastLen > l.length ? ' '.repeat(this.#lastLen - l.length) : '';
      this.#lastLen = l.length;
      this.out.write(`\r${l}${pad}${last ? '\n' : ''}`);
      return;
    }
    if (step % this.logFreq === 0 || last) this.out.write(this.line(step, text) + '\n');
  }

  /** Ends an unfinished TTY line (an epoch of unknown length, or stopped early). */
  finish(step: number, text: string): void {
    if (this.verbose === 0) return;
    const done = this.total !== null && step >= this.total;
    if (done) return;
    if (this.verbose === 1 && this.out.isTTY) this.out.write('\n');
    else if (step % this.logFreq !== 0) this.out.write(this.line(step, text) + '\n');
  }
}
