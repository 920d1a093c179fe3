/**
 * A run's curves: per-step records (the batch's loss and metrics, the learning rate,
 * images per second), the per-step file `steps.csv` beside `history.csv`, readers of
 * both files, and the curves drawn as one SVG (`curves.svg`), so they are seen
 * without a server. The dashboard (src/dashboard/) reads and draws the same records.
 *
 *   steps.csv:  epoch,batch,batches,loss,acc,lr,images_per_sec
 *               1,1,10,2.3012,0.125,4e-05,812.3
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { Callback, type Logs, type Mode } from './callbacks.js';

/**
 * Turns fit's per-batch logs into one step's record: `epoch` and `batch` (1-based),
 * `batches` (per epoch, NaN when unknown), the batch's own `loss` and metrics, `lr`
 * and `images_per_sec` (the batch's images over the time since the previous batch
 * ended, so loading counts; evaluation does not). fit reports metrics as running
 * means over the epoch's samples; the batch's own value is recovered from two
 * consecutive means, which holds for sample means such as accuracy.
 */
export class StepMeter {
  #last = 0;
  #prev: Logs = {};
  #samples = 0;

  epochBegin(): void {
    this.#last = performance.now();
    this.#prev = {};
    this.#samples = 0;
  }

  /** epoch and step 0-based, as the hooks give them */
  batchEnd(epoch: number, step: number, batches: number | null, logs: Logs): Logs {
    const now = performance.now();
    const seconds = (now - this.#last) / 1000;
    this.#last = now;
    const n = logs.batch_size ?? NaN;
    const before = this.#samples;
    const after = before + n;
    this.#samples = after;
    const row: Logs = { epoch: epoch + 1, batch: step + 1, batches: batches ?? NaN, loss: logs.batch_loss ?? logs.loss };
    for (const [k, v] of Object.entries(logs)) {
      if (k === 'loss' || k === 'lr' || k.startsWith('batch_') || typeof v !== 'number') continue;
      const own = before === 0 || !(k in this.#prev) ? v : (v * after - this.#prev[k] * before) / n;
      row[k] = Number(own.toFixed(6));
    }
    row.lr = logs.lr ?? NaN;
    row.images_per_sec = seconds > 0 ? Number((n / seconds).toFixed(2)) : NaN;
    this.#prev = logs;
    return row;
  }
}

/** Rows of a CSV file of numbers with a header (history.csv, steps.csv); a torn last line is left out. */
export function parseNumberCsv(text: string): Logs[] {
  // the piece after the last newline is empty, or a line still being written
  const complete = text.split('\n').slice(0, -1);
  if (complete.length === 0) return [];
  const keys = complete[0].split(',');
  const rows: Logs[] = [];
  for (const line of complete.slice(1)) {
    const cells = line.split(',');
    if (cells.length !== keys.length) continue;
    const row: Logs = {};
    keys.forEach((k, i) => {
      if (cells[i] !== '') row[k] = Number(cells[i]);
    });
    rows.push(row);
  }
  return rows;
}

/** The rows of history.csv or steps.csv; [] when the file does not exist. */
export function readNumberCsv(path: string): Logs[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return parseNumberCsv(text);
}

/** The fractional epoch a step record stands at (epoch 2, batch 5 of 10: 1.5). */
export function stepX(row: Logs): number {
  const batches = row.batches > 0 ? row.batches : NaN;
  return row.epoch - 1 + (Number.isNaN(batches) ? 1 : row.batch / batches);
}

/** Writes one row per training step to a CSV file (steps.csv); a resumed run keeps the rows of the epochs it keeps. */
export class StepLogger extends Callback {
  readonly path: string;
  readonly meter = new StepMeter();
  #keys: string[] | null = null;
  #epoch = 0;

  constructor(path: string) {
    super();
    this.path = path;
  }

  override onTrainBegin(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const initial = this.params?.initialEpoch ?? 0;
    this.#keys = null;
    if (initial > 0 && existsSync(this.path)) {
      // the rows of an epoch that was cut short are dropped: the epoch runs again
      const text = readFileSync(this.path, 'utf8');
      const lines = text.split('\n').filter((l) => l !== '');
      const keys = lines[0]?.split(',') ?? [];
      const e = keys.indexOf('epoch');
      const kept = lines.filter((l, i) => i === 0 || (l.split(',').length === keys.length && Number(l.split(',')[e]) <= initial));
      writeFileAtomic(this.path, Buffer.from(kept.length ? `${kept.join('\n')}\n` : '', 'utf8'));
      if (kept.length) this.#keys = keys;
    } else {
      writeFileAtomic(this.path, Buffer.alloc(0));
    }
  }

  override onEpochBegin(epoch: number): void {
    this.#epoch = epoch;
    this.meter.epochBegin();
  }

  override onBatchEnd(mode: Mode, step: number, logs: Logs): void {
    if (mode !== 'train') return;
    const row = this.meter.batchEnd(this.#epoch, step, this.params?.steps ?? null, logs);
    if (!this.#keys) {
      this.#keys = Object.keys(row);
      if (statSync(this.path).size === 0) appendFileSync(this.path, `${this.#keys.join(',')}\n`);
    }
    appendFileSync(this.path, `${this.#keys.map((k) => (k in row ? String(row[k]) : '')).join(',')}\n`);
  }
}

/** TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled to 0. */
export function smooth(values: readonly number[], weight = 0.6): number[] {
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

export interface CurvesInput {
  /** history.csv's rows: epoch, loss, acc, eval_loss, eval_acc, lr, ... */
  epochs: readonly Logs[];
  /** steps.csv's rows (optional) */
  steps?: readonly Logs[];
  title?: string;
}

interface Series {
  name: string;
  color: string;
  dash?: boolean;
  points: [number, number][];
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const num = (x: number): string => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(1) : String(Number(x.toPrecision(3))));

/** At most `max` points, evenly taken (the last always kept), so a long run's file stays small. */
function thin(points: [number, number][], max = 600): [number, number][] {
  if (points.length <= max) return points;
  const out: [number, number][] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]);
  return out;
}

function panel(title: string, series: Series[], x0: number, width: number, height: number, log = false): string {
  const m = { l: 52, r: 10, t: 24, b: 30 };
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0));
  let body = `<g transform="translate(${x0},0)"><text x="${m.l}" y="16" class="title">${esc(title)}</text>`;
  body += `<rect x="${m.l}" y="${m.t}" width="${width - m.l - m.r}" height="${height - m.t - m.b}" class="frame"/>`;
  if (all.length === 0) return `${body}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="note">no data</text></g>`;
  const f = (y: number) => (log ? Math.log10(y) : y);
  const xmin = Math.min(0, ...all.map((p) => p[0]));
  let xmax = Math.max(...all.map((p) => p[0]));
  let ymin = Math.min(...all.map((p) => f(p[1])));
  let ymax = Math.max(...all.map((p) => f(p[1])));
  if (xmax === xmin) xmax = xmin + 1;
  if (ymax === ymin) {
    ymin -= 0.5;
    ymax += 0.5;
  }
  const pad = (ymax - ymin) * 0.05;
  ymin -= pad;
  ymax += pad;
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const px = (x: number) => m.l + ((x - xmin) / (xmax - xmin)) * w;
  const py = (y: number) => m.t + h - ((f(y) - ymin) / (ymax - ymin)) * h;
  for (let i = 0; i <= 4; i++) {
    const v = ymin + ((ymax - ymin) * i) / 4;
    const y = m.t + h - (h * i) / 4;
    body += `<line x1="${m.l}" x2="${m.l + w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" class="grid"/>`;
    body += `<text x="${m.l - 4}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="tick">${num(log ? 10 ** v : v)}</text>`;
  }
  const xt = Math.max(1, Math.ceil((xmax - xmin) / 8));
  for (let e = Math.ceil(xmin); e <= xmax; e += xt) {
    body += `<text x="${px(e).toFixed(1)}" y="${m.t + h + 14}" text-anchor="middle" class="tick">${e}</text>`;
  }
  body += `<text x="${m.l + w / 2}" y="${height - 2}" text-anchor="middle" class="tick">epoch</text>`;
  let ly = m.t + 12;
  for (const s of series) {
    const pts = thin(s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0)));
    if (pts.length === 0) continue;
    const points = pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    body += `<polyline data-series="${esc(`${title}/${s.name}`)}" points="${points}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dash ? ' stroke-dasharray="5 3"' : ''}/>`;
    if (pts.length === 1) body += `<circle cx="${px(pts[0][0]).toFixed(1)}" cy="${py(pts[0][1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`;
    body += `<line x1="${m.l + w - 120}" x2="${m.l + w - 104}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash ? ' stroke-dasharray="4 2"' : ''}/>`;
    body += `<text x="${m.l + w - 100}" y="${ly}" class="legend">${esc(s.name)}</text>`;
    ly += 13;
  }
  return `${body}</g>`;
}

/**
 * The curves of a run as one SVG: loss, accuracy (training per step smoothed, per epoch,
 * and validation) and the learning rate, against the epoch. Each series is a
 * `<polyline data-series="PANEL/SERIES">`.
 */
export function curvesSvg({ epochs, steps = [], title = 'Training curves' }: CurvesInput): string {
  const ex = (r: Logs) => r.epoch;
  const from = (rows: readonly Logs[], key: string, x: (r: Logs) => number): [number, number][] =>
    rows.filter((r) => typeof r[key] === 'number').map((r) => [x(r), r[key]]);
  const smoothed = (key: string): [number, number][] => {
    const pts = from(steps, key, stepX);
    const ys = smooth(pts.map((p) => p[1]));
    return pts.map((p, i) => [p[0], ys[i]]);
  };
  const metric = (key: string): Series[] => [
    { name: 'train (per step, smoothed)', color: '#9ecae1', points: smoothed(key) },
    { name: 'train', color: '#1f77b4', points: from(epochs, key, ex) },
    { name: 'validation', color: '#d62728', dash: true, points: from(epochs, `eval_${key}`, ex) },
  ];
  const lr = steps.some((r) => Number.isFinite(r.lr)) ? from(steps, 'lr', stepX) : from(epochs, 'lr', (r) => r.epoch - 1);
  const W = 340;
  const H = 230;
  const panels = [
    panel('loss', metric('loss'), 0, W, H),
    panel('accuracy', metric('acc'), W, W, H),
    panel(
      'learning rate',
      [{ name: 'lr', color: '#2ca02c', points: lr }],
      2 * W,
      W,
      H,
      lr.some((p) => p[1] > 0),
    ),
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${H + 20}" viewBox="0 0 ${3 * W} ${H + 20}" font-family="sans-serif">
<title>${esc(title)}</title>
<style>.title{font-size:13px;font-weight:bold}.tick{font-size:10px;fill:#555}.legend{font-size:10px}.note{font-size:12px;fill:#888}
.frame{fill:#fff;stroke:#bbb}.grid{stroke:#eee}</style>
<g transform="translate(0,10)">
${panels.join('\n')}
</g>
</svg>
`;
}

/** Writes DIR/curves.svg (atomically) from DIR/history.csv and DIR/steps.csv; returns its path. */
export function writeCurvesSvg(dir: string, title?: string): string {
  const path = `${dir}/curves.svg`;
  const svg = curvesSvg({ epochs: readNumberCsv(`${dir}/history.csv`), steps: readNumberCsv(`${dir}/steps.csv`), ...(title ? { title } : {}) });
  writeFileAtomic(path, Buffer.from(svg, 'utf8'));
  return path;
}
