/**
 * The learning-rate sweep drawn: in the terminal (asciichart; the columns are the steps,
 * evenly spaced in log(lr), with the suggestion marked below) and as an SVG (loss against
 * the learning rate on a log axis, the raw and smoothed loss, the suggestion marked).
 */
import asciichart from 'asciichart';
import type { LrFindResult } from './lr-find.js';

const fmt = (x: number): string => x.toExponential(1).replace('e-', 'e-').replace('e+', 'e');

/** The smoothed curve as lines of text, `width` columns of plot. */
export function lrFindAscii(r: LrFindResult, { width = 60, height = 12 }: { width?: number; height?: number } = {}): string {
  const n = r.smoothed.length;
  if (n === 0) return '(no steps)';
  const cols = Math.min(width, n);
  const at = (c: number) => Math.round((c * (n - 1)) / Math.max(cols - 1, 1));
  const ys = Array.from({ length: cols }, (_, c) => r.smoothed[at(c)]);
  const finite = ys.filter(Number.isFinite);
  // the exploding tail would flatten the rest: the plot is cut at twice the first loss
  const cap = Math.min(Math.max(...finite), 2 * finite[0]);
  const chart = asciichart.plot(
    ys.map((y) => (Number.isFinite(y) ? Math.min(y, cap) : cap)),
    { height, format: (v: number) => v.toFixed(3).padStart(8) },
  );
  const pad = ' '.repeat(10);
  const axis = `${pad}${fmt(r.lrs[0])}${' '.repeat(Math.max(1, cols - 14))}${fmt(r.lrs[n - 1])}`;
  let mark = '';
  if (r.suggestionIndex !== null) {
    const c = Math.round((r.suggestionIndex * (cols - 1)) / Math.max(n - 1, 1));
    mark = `\n${pad}${' '.repeat(c)}^ ${fmt(r.suggestion!)}`;
  }
  return `${chart}\n${axis}  (learning rate, log scale)${mark}`;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The sweep as an SVG document. */
export function lrFindSvg(r: LrFindResult, title = 'Learning-rate finder'): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 20, t: 36, b: 44 };
  const w = W - m.l - m.r;
  const h = H - m.t - m.b;
  const pts = r.lrs.map((lr, i) => ({ lr, raw: r.losses[i], s: r.smoothed[i] })).filter((p) => Number.isFinite(p.s));
  const lx0 = Math.log10(r.lrs[0] ?? 1e-7);
  const lx1 = Math.log10(r.lrs.at(-1) ?? 10);
  const ys = pts.map((p) => p.s);
  const ymin = Math.min(...ys);
  const first = ys[0] ?? 1;
  const ymax = Math.max(Math.min(Math.max(...ys), 2 * first), ymin + 1e-6);
  const px = (lr: number) => m.l + ((Math.log10(lr) - lx0) / Math.max(lx1 - lx0, 1e-9)) * w;
  const py = (y: number) => m.t + h - ((Math.min(Math.max(y, ymin), ymax) - ymin) / (ymax - ymin)) * h;
  const line = (key: 'raw' | 's') =>
    pts
      .filter((p) => Number.isFinite(p[key]))
      .map((p) => `${px(p.lr).toFixed(1)},${py(p[key]).toFixed(1)}`)
      .join(' ');
  let body = `<rect x="${m.l}" y="${m.t}" width="${w}" height="${h}" class="frame"/>`;
  for (let e = Math.ceil(lx0); e <= Math.floor(lx1); e++) {
    const x = px(10 ** e).toFixed(1);
    body += `<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + h}" class="grid"/><text x="${x}" y="${m.t + h + 14}" text-anchor="middle" class="tick">1e${e}</text>`;
  }
  for (let i = 0; i <= 4; i++) {
    const v = ymin + ((ymax - ymin) * i) / 4;
    const y = py(v).toFixed(1);
    body += `<line x1="${m.l}" x2="${m.l + w}" y1="${y}" y2="${y}" class="grid"/><text x="${m.l - 4}" y="${y}" text-anchor="end" class="tick">${v.toPrecision(3)}</text>`;
  }
  body += `<polyline data-series="loss" points="${line('raw')}" fill="none" stroke="#9ecae1" stroke-width="1"/>`;
  body += `<polyline data-series="smoothed" points="${line('s')}" fill="none" stroke="#1f77b4" stroke-width="2"/>`;
  if (r.suggestion !== null && r.suggestionIndex !== null) {
    const x = px(r.suggestion).toFixed(1);
    const y = py(r.smoothed[r.suggestionIndex]).toFixed(1);
    body += `<circle data-series="suggestion" cx="${x}" cy="${y}" r="5" fill="#d62728"/><text x="${x}" y="${Number(y) - 9}" text-anchor="middle" class="note">${fmt(r.suggestion)}</text>`;
  }
  body += `<text x="${m.l + w / 2}" y="${H - 8}" text-anchor="middle" class="tick">learning rate (log scale)</text>`;
  body += `<text x="${m.l}" y="20" class="title">${esc(title)}</text>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<title>${esc(title)}</title>
<style>.title{font-size:14px;font-weight:bold}.tick{font-size:10px;fill:#555}.note{font-size:11px;fill:#d62728}.frame{fill:#fff;stroke:#bbb}.grid{stroke:#eee}</style>
${body}
</svg>
`;
}
