/**
 * The dashboard page's script (runs in the browser; compiled to app.js, served by the
 * dashboard server). It opens the server's event stream, keeps every run's rows, and
 * redraws: the runs table, the curves (uPlot, loaded by the page as a global), the
 * latest evaluation and one class's precision-recall curve with its threshold slider.
 */
import type uPlotType from 'uplot';

declare const uPlot: typeof uPlotType;

type Row = Record<string, number>;

interface Mistake {
  index: number;
  path: string;
  true: string;
  predicted: string;
  confidence: number;
  targetProb: number;
  thumbnail: boolean;
}

interface Scores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

interface EvaluationView {
  label: string;
  version: number;
  images: number;
  classes: string[];
  accuracy: number;
  confusionMatrix: number[][];
  perClass: (Scores & { name: string })[];
  macro: Scores;
  weighted: Scores;
  mostConfused: { true: string; predicted: string; count: number; share: number }[];
  worstMistakes: Mistake[];
}

interface RunView {
  id: string;
  name: string;
  dir: string | null;
  status: string;
  settings: Record<string, unknown>;
  command: string[] | null;
  steps: Row[];
  epochs: Row[];
  evaluation: EvaluationView | null;
  visible: boolean;
  color: string;
}

interface PRData {
  class: string;
  images: number;
  positives: number;
  thresholds: number[];
  precision: number[];
  recall: number[];
  found: number[];
  falseAlarms: number[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
const runs = new Map<string, RunView>();
let evalRun: string | null = null;
let prClass: string | null = null;
let pr: PRData | null = null;
let prKey = '';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (x: unknown, d = 4): string => (typeof x === 'number' ? (Number.isFinite(x) ? x.toFixed(d) : String(x)) : x === undefined ? '' : esc(x));
const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** TensorBoard's smoothing (a debiased exponential moving average), as curves.svg draws it. */
function smooth(values: number[], weight: number): number[] {
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

const stepX = (r: Row): number => r.epoch - 1 + (r.batches > 0 ? r.batch / r.batches : 1);

// ---------------------------------------------------------------- curves

interface SeriesDef {
  label: string;
  color: string;
  kind: 'step' | 'epoch' | 'val';
  xs: number[];
  ys: number[];
}

function seriesFor(chart: string, run: RunView, weight: number): SeriesDef[] {
  const pick = (rows: Row[], key: string, x: (r: Row) => number) => {
    const rs = rows.filter((r) => typeof r[key] === 'number' && Number.isFinite(r[key]));
    return { xs: rs.map(x), ys: rs.map((r) => r[key]) };
  };
  const stepSeries = (key: string, label: string): SeriesDef => {
    const { xs, ys } = pick(run.steps, key, stepX);
    return { label: `${run.name} ${label}`, color: run.color, kind: 'step', xs, ys: smooth(ys, weight) };
  };
  const epochX = (r: Row) => r.epoch;
  if (chart === 'loss' || chart === 'acc') {
    const e = pick(run.epochs, chart, epochX);
    const v = pick(run.epochs, `eval_${chart}`, epochX);
    return [
      stepSeries(chart, 'step'),
      { label: `${run.name} train`, color: run.color, kind: 'epoch', ...e },
      { label: `${run.name} validation`, color: run.color, kind: 'val', ...v },
    ];
  }
  if (chart === 'lr') {
    const s = pick(run.steps, 'lr', stepX);
    return [
      { label: `${run.name} lr`, color: run.color, kind: s.xs.length ? 'step' : 'epoch', ...(s.xs.length ? s : pick(run.epochs, 'lr', (r) => r.epoch - 1)) },
    ];
  }
  return [stepSeries('images_per_sec', 'images/s')];
}

const charts = new Map<string, { plot: uPlotType; key: string }>();

function drawChart(name: string): void {
  const el = $(`chart-${name}`);
  const weight = Number(($('smoothing') as HTMLInputElement).value);
  const defs = [...runs.values()].filter((r) => r.visible).flatMap((r) => seriesFor(name, r, weight));
  const tables: uPlotType.AlignedData[] = defs.map((d) => {
    const order = d.xs.map((_, i) => i).sort((a, b) => d.xs[a] - d.xs[b]);
    return [order.map((i) => d.xs[i]), order.map((i) => d.ys[i])];
  });
  let points = 0;
  for (const d of defs) points += d.ys.filter((y) => Number.isFinite(y)).length;
  el.dataset.points = String(points);
  const data: uPlotType.AlignedData = tables.length ? uPlot.join(tables) : [[]];
  const key = defs.map((d) => d.label).join('|');
  const existing = charts.get(name);
  if (existing && existing.key === key) {
    existing.plot.setData(data);
    return;
  }
  existing?.plot.destroy();
  const series: uPlotType.Series[] = [
    { label: 'epoch' },
    ...defs.map((d): uPlotType.Series => ({
      label: d.label,
      stroke: d.color,
      width: d.kind === 'step' ? 1 : 2,
      dash: d.kind === 'val' ? [6, 4] : undefined,
      alpha: d.kind === 'step' ? 0.55 : 1,
      spanGaps: true,
      points: { show: d.kind !== 'step', size: 5 },
    })),
  ];
  const opts: uPlotType.Options = {
    width: Math.max(300, el.clientWidth || 460),
    height: 240,
    series,
    scales: { x: { time: false } },
    axes: [{ label: 'epoch' }, name === 'lr' ? { values: (_u, splits) => splits.map((v) => (v === 0 ? '0' : v.toExponential(1))), size: 60 } : {}],
    legend: { show: true },
  };
  const plot = new uPlot(opts, data, el);
  charts.set(name, { plot, key });
}

let drawTimer: number | null = null;
function scheduleCurves(): void {
  if (drawTimer !== null) return;
  drawTimer = window.setTimeout(() => {
    drawTimer = null;
    for (const name of ['loss', 'acc', 'lr', 'ips']) drawChart(name);
  }, 150);
}

// ---------------------------------------------------------------- runs table

function renderRuns(): void {
  const list = [...runs.values()];
  if (list.length === 0) {
    $('runs').innerHTML = 'No runs yet.';
    return;
  }
  const keys: string[] = [];
  for (const r of list) for (const k of Object.keys(r.settings)) if (!keys.includes(k)) keys.push(k);
  const differs = (k: string) => new Set(list.map((r) => JSON.stringify(r.settings[k]))).size > 1;
  const last = (r: RunView, k: string) => [...r.epochs].reverse().find((e) => typeof e[k] === 'number')?.[k];
  let html = '<table><tr><th class="text">show</th><th class="text">run</th><th class="text">status</th><th>epochs done</th>';
  html += '<th>val loss</th><th>val acc</th>';
  html += keys.map((k) => `<th class="text">${esc(k)}</th>`).join('') + '</tr>';
  for (const r of list) {
    html += `<tr data-run="${esc(r.id)}"><td class="text"><input type="checkbox" data-show="${esc(r.id)}"${r.visible ? ' checked' : ''}>`;
    html += `<span class="swatch" style="background:${r.color}"></span></td>`;
    html += `<td class="text" title="${esc(r.dir ?? '')}">${esc(r.name)}</td><td class="text">${esc(r.status)}</td><td>${r.epochs.length}</td>`;
    html += `<td>${fmt(last(r, 'eval_loss'))}</td><td>${fmt(last(r, 'eval_acc'))}</td>`;
    html += keys.map((k) => `<td class="text${differs(k) ? ' differs' : ''}">${r.settings[k] === undefined ? '' : esc(r.settings[k])}</td>`).join('');
    html += '</tr>';
  }
  $('runs').innerHTML = `${html}</table><p class="muted">Settings that differ between runs are shaded.</p>`;
  for (const box of document.querySelectorAll<HTMLInputElement>('input[data-show]')) {
    box.addEventListener('change', () => {
      const run = runs.get(box.dataset.show!);
      if (run) run.visible = box.checked;
      scheduleCurves();
    });
  }
}

// ---------------------------------------------------------------- evaluation

function renderEvaluation(): void {
  const withEval = [...runs.values()].filter((r) => r.evaluation);
  const select = $('eval-run') as HTMLSelectElement;
  if (evalRun === null || !runs.get(evalRun)?.evaluation) evalRun = withEval.at(-1)?.id ?? null;
  select.innerHTML = withEval.map((r) => `<option value="${esc(r.id)}"${r.id === evalRun ? ' selected' : ''}>${esc(r.name)}</option>`).join('');
  const run = evalRun ? runs.get(evalRun) : undefined;
  const ev = run?.evaluation;
  if (!run || !ev) {
    $('eval-body').innerHTML = 'No evaluation yet: one appears after each validation pass.';
    $('eval-body').className = 'muted';
    renderPR();
    return;
  }
  $('eval-body').className = '';
  const c = ev.classes;
  let html = `<p>${esc(ev.label)}: accuracy <b id="eval-accuracy">${pct(ev.accuracy)}</b> on ${ev.images} images.</p><div class="row"><div>`;
  html += '<h3>Confusion matrix</h3><p class="muted">Rows: the true class; columns: the prediction; shade: share of the row.</p>';
  html += `<table id="cm"><tr><th></th>${c.map((n) => `<th>${esc(n)}</th>`).join('')}</tr>`;
  ev.confusionMatrix.forEach((row, t) => {
    const support = row.reduce((a, b) => a + b, 0);
    html += `<tr><th>${esc(c[t])}</th>`;
    row.forEach((v, p) => {
      const share = support ? v / support : 0;
      const hue = p === t ? 120 : 0;
      html += `<td style="background:hsla(${hue},60%,50%,${(0.05 + 0.75 * share).toFixed(2)})" title="${esc(c[t])} → ${esc(c[p])}: ${v} (${pct(share)})">${v}</td>`;
    });
    html += '</tr>';
  });
  html +=
    '</table></div><div><h3>Per class</h3><table id="per-class"><tr><th class="text"></th><th>precision</th><th>recall</th><th>f1</th><th>support</th></tr>';
  const line = (name: string, s: Scores, cls = '') =>
    `<tr${cls}><th class="text">${esc(name)}</th><td>${fmt(s.precision)}</td><td>${fmt(s.recall)}</td><td>${fmt(s.f1)}</td><td>${s.support}</td></tr>`;
  html +=
    ev.perClass.map((s) => line(s.name, s)).join('') + line('macro avg', ev.macro, ' class="muted"') + line('weighted avg', ev.weighted, ' class="muted"');
  html += '</table></div><div><h3>Most confused</h3>';
  html += ev.mostConfused.length
    ? `<ul id="confused">${ev.mostConfused.map((p) => `<li>${p.count} × <b>${esc(p.true)}</b> called <b>${esc(p.predicted)}</b> (${pct(p.share)})</li>`).join('')}</ul>`
    : '<p>None.</p>';
  html += '</div></div><h3>Worst mistakes</h3>';
  html += ev.worstMistakes.length
    ? `<div class="grid" id="mistakes">${ev.worstMistakes
        .map(
          (m) =>
            `<figure>${
              m.thumbnail
                ? `<img src="/api/runs/${encodeURIComponent(run.id)}/thumb/${ev.version}/${m.index}" alt="${esc(m.path)}">`
                : '<div class="missing" title="picture not found"></div>'
            }<figcaption>said <b>${esc(m.predicted)}</b> ${m.confidence.toFixed(3)}<br>is <b>${esc(m.true)}</b> ${m.targetProb.toFixed(3)}<br>` +
            `<span class="muted">${esc(m.path)}</span></figcaption></figure>`,
        )
        .join('')}</div>`
    : '<p>No mistakes.</p>';
  $('eval-body').innerHTML = html;
  renderPR();
}

// ---------------------------------------------------------------- precision-recall

async function renderPR(): Promise<void> {
  const run = evalRun ? runs.get(evalRun) : undefined;
  const ev = run?.evaluation;
  const select = $('pr-class') as HTMLSelectElement;
  if (!run || !ev) {
    select.innerHTML = '';
    $('pr-plot').innerHTML = '<p class="muted">After an evaluation.</p>';
    return;
  }
  if (prClass === null || !ev.classes.includes(prClass)) prClass = ev.classes[0];
  select.innerHTML = ev.classes.map((n) => `<option${n === prClass ? ' selected' : ''}>${esc(n)}</option>`).join('');
  const key = `${run.id}/${ev.version}/${prClass}`;
  if (key === prKey && pr) return updateThreshold();
  prKey = key;
  const res = await fetch(`/api/runs/${encodeURIComponent(run.id)}/pr?class=${encodeURIComponent(prClass)}`);
  if (!res.ok || key !== prKey) return;
  pr = (await res.json()) as PRData;
  updateThreshold();
}

function updateThreshold(): void {
  if (!pr) return;
  const t = Number(($('pr-threshold') as HTMLInputElement).value);
  // thresholds ascend; the lowest one at or above t decides which pictures pass
  const i = pr.thresholds.findIndex((x) => x >= t);
  const found = i < 0 ? 0 : pr.found[i];
  const alarms = i < 0 ? 0 : pr.falseAlarms[i];
  $('pr-name').textContent = pr.class;
  $('pr-value').textContent = t.toFixed(3);
  $('pr-found').textContent = String(found);
  $('pr-missed').textContent = String(pr.positives - found);
  $('pr-false').textContent = String(alarms);
  const precision = found + alarms ? found / (found + alarms) : 1;
  const recall = pr.positives ? found / pr.positives : 0;
  $('pr-rates').textContent = `precision ${precision.toFixed(3)}, recall ${recall.toFixed(3)} (${pr.positives} of the ${pr.images} images are ${pr.class})`;
  const W = 300;
  const H = 240;
  const m = 34;
  const x = (r: number) => m + r * (W - m - 8);
  const y = (p: number) => H - m - p * (H - m - 8);
  const pts = pr.recall.map((r, k) => `${x(r).toFixed(1)},${y(pr!.precision[k]).toFixed(1)}`).join(' ');
  let svg = `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="10"><rect x="${m}" y="8" width="${W - m - 8}" height="${H - m - 8}" fill="#fff" stroke="#bbb"/>`;
  for (const v of [0, 0.5, 1]) {
    svg += `<text x="${x(v)}" y="${H - m + 14}" text-anchor="middle">${v}</text><text x="${m - 4}" y="${y(v) + 3}" text-anchor="end">${v}</text>`;
  }
  svg += `<text x="${x(0.5)}" y="${H - 4}" text-anchor="middle">recall</text><text x="10" y="${y(0.5)}" transform="rotate(-90 10 ${y(0.5)})" text-anchor="middle">precision</text>`;
  svg += `<polyline id="pr-line" points="${pts}" fill="none" stroke="#1f77b4" stroke-width="2"/>`;
  svg += `<circle cx="${x(recall).toFixed(1)}" cy="${y(precision).toFixed(1)}" r="5" fill="#d62728"/></svg>`;
  $('pr-plot').innerHTML = svg;
}

// ---------------------------------------------------------------- events

function addRun(r: Omit<RunView, 'visible' | 'color'> & Partial<RunView>): void {
  const old = runs.get(r.id);
  runs.set(r.id, {
    ...r,
    steps: r.steps ?? [],
    epochs: r.epochs ?? [],
    evaluation: r.evaluation ?? null,
    visible: old?.visible ?? true,
    color: old?.color ?? COLORS[runs.size % COLORS.length],
  });
}

function handle(msg: any): void {
  const run = msg.run && typeof msg.run === 'string' ? runs.get(msg.run) : undefined;
  switch (msg.type) {
    case 'snapshot':
      runs.clear();
      for (const r of msg.runs) addRun(r);
      renderRuns();
      renderEvaluation();
      break;
    case 'run': {
      const old = runs.get(msg.run.id);
      addRun({ ...msg.run, steps: old?.steps ?? msg.run.steps, epochs: old?.epochs ?? msg.run.epochs, evaluation: old?.evaluation ?? msg.run.evaluation });
      renderRuns();
      break;
    }
    case 'reset':
      addRun(msg.run);
      renderRuns();
      renderEvaluation();
      break;
    case 'steps':
      run?.steps.push(...msg.rows);
      break;
    case 'epoch':
      if (run) {
        run.epochs.push(msg.row);
        renderRuns();
      }
      break;
    case 'evaluation':
      if (run) {
        run.evaluation = msg.evaluation;
        if (evalRun === null || evalRun === run.id || !runs.get(evalRun)?.evaluation) evalRun = run.id;
        renderEvaluation();
      }
      break;
  }
  scheduleCurves();
}

function connect(): void {
  const events = new EventSource('/api/events');
  events.onopen = () => {
    $('connection').textContent = 'live';
  };
  events.onerror = () => {
    $('connection').textContent = 'reconnecting…';
  };
  events.onmessage = (e) => handle(JSON.parse(e.data));
}

$('smoothing').addEventListener('input', () => {
  $('smoothing-value').textContent = ($('smoothing') as HTMLInputElement).value;
  scheduleCurves();
});
$('eval-run').addEventListener('change', () => {
  evalRun = ($('eval-run') as HTMLSelectElement).value;
  renderEvaluation();
});
$('pr-class').addEventListener('change', () => {
  prClass = ($('pr-class') as HTMLSelectElement).value;
  void renderPR();
});
$('pr-threshold').addEventListener('input', updateThreshold);
window.addEventListener('resize', () => {
  for (const [name, { plot }] of charts) plot.setSize({ width: Math.max(300, $(`chart-${name}`).clientWidth || 460), height: 240 });
});
connect();
