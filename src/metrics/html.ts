/**
 * The evaluation as one self-contained HTML page (report.html beside
 * predictions.txt): accuracy, the confusion matrix shaded by share of the true
 * class, the per-class table, the most confused pairs, and the worst mistakes as
 * pictures (each <img> points at the image file by a path relative to the page), each
 * with its Grad-CAM overlays when the evaluation made them.
 */
import { relative, resolve, sep } from 'node:path';
import type { EvaluationScores } from './analysis.js';

/** Text as HTML (the five special characters escaped). */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const escape = escapeHtml;
/** A share as a percentage with two decimals. */
export const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** The reports' style sheet (evaluation and audit pages look alike). */
export const REPORT_STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th{background:#f4f4f4}tr.avg th,tr.avg td{font-style:italic}
.grid{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;width:160px}
figure img{width:160px;height:160px;object-fit:contain;background:#eee;image-rendering:pixelated}
figcaption{font-size:12px;word-break:break-all}`;

/** A file path as a URL path relative to the page's folder. */
function href(path: string, pageDir: string): string {
  return relative(resolve(pageDir), resolve(path)).split(sep).map(encodeURIComponent).join('/');
}

export interface HtmlReportInput {
  title: string;
  classes: readonly string[];
  scores: EvaluationScores;
  /** the folder the page is written to (image links are relative to it) */
  pageDir: string;
  /** per worst mistake: its Grad-CAM overlays (PNG files) for the class said and the true class, or null */
  overlays?: readonly ({ said: string; truth: string } | null)[];
}

export function htmlReport({ title, classes, scores, pageDir, overlays = [] }: HtmlReportInput): string {
  const rows = scores.confusion.matrix;
  const cm = rows
    .map((row, t) => {
      const support = row.reduce((a, b) => a + b, 0);
      const cells = row
        .map((v, p) => {
          const share = support ? v / support : 0;
          const hue = p === t ? 120 : 0;
          return (
            `<td style="background:hsla(${hue},60%,50%,${(0.08 + 0.6 * share).toFixed(2)})" title="${escape(classes[t])} → ` +
            `${escape(classes[p])}: ${v} (${pct(share)})">${v}</td>`
          );
        })
        .join('');
      return `<tr><th>${escape(classes[t])}</th>${cells}</tr>`;
    })
    .join('\n');
  const perClass = scores.report.classes
    .map(
      (r) =>
        `<tr><th>${escape(r.name)}</th><td>${r.precision.toFixed(4)}</td><td>${r.recall.toFixed(4)}</td><td>${r.f1.toFixed(4)}</td><td>${r.support}</td></tr>`,
    )
    .join('\n');
  const avg = (name: string, a: { precision: number; recall: number; f1: number; support: number }) =>
    `<tr class="avg"><th>${name}</th><td>${a.precision.toFixed(4)}</td><td>${a.recall.toFixed(4)}</td><td>${a.f1.toFixed(4)}</td><td>${a.support}</td></tr>`;
  const pairs = scores.pairs
    .map(
      (p) =>
        `<li>${p.count} × <b>${escape(classes[p.target])}</b> called <b>${escape(classes[p.predicted])}</b> (${pct(p.share)} of ` +
        `${escape(classes[p.target])})</li>`,
    )
    .join('\n');
  const cams = (k: number, m: { predicted: number; target: number }): string => {
    const o = overlays[k];
    if (!o) return '';
    const img = (path: string, what: string) =>
      `<img class="cam" src="${escape(href(path, pageDir))}" alt="${escape(what)}" title="${escape(what)}" loading="lazy">`;
    return (
      `<div class="cams">${img(o.said, `Grad-CAM: where it saw ${classes[m.predicted]}`)}` +
      `${img(o.truth, `Grad-CAM: where it saw ${classes[m.target]}`)}</div>` +
      `<small>Grad-CAM: <b>${escape(classes[m.predicted])}</b> | <b>${escape(classes[m.target])}</b></small><br>`
    );
  };
  const mistakes = scores.worst
    .map(
      (m, k) =>
        `<figure><img src="${escape(href(m.path, pageDir))}" alt="${escape(m.path)}" loading="lazy">${cams(k, m)}` +
        `<figcaption>said <b>${escape(classes[m.predicted])}</b> ${m.confidence.toFixed(3)}<br>is <b>${escape(classes[m.target])}</b> ` +
        `${m.targetProb.toFixed(3)}<br><small>${escape(m.path)}</small></figcaption></figure>`,
    )
    .join('\n');
  const op = scores.operatingPoint;
  const opText =
    op === null
      ? ''
      : `<h2>Class ${escape(classes[op.classIndex])}: ${op.goal} at least ${op.target}</h2><p>${
          op.threshold === null
            ? 'No threshold reaches it.'
            : `Call an image <b>${escape(classes[op.classIndex])}</b> when its probability is ≥ ${op.threshold.toFixed(5)}: precision ` +
              `${op.precision.toFixed(4)}, recall ${op.recall.toFixed(4)} ` +
              `(${op.truePositives} found, ${op.falseNegatives} missed, ${op.falsePositives} false alarms).`
        }</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
${REPORT_STYLE}
.cams{display:flex;gap:2px}.cams img.cam{width:79px;height:79px}
</style></head><body>
<h1>${escape(title)}</h1>
<p>Accuracy <b>${pct(scores.report.accuracy)}</b> (${Math.round(scores.report.accuracy * scores.confusion.total)} of ${scores.confusion.total} images).</p>
<h2>Confusion matrix</h2><p>Rows: the true class; columns: the prediction.</p>
<table><tr><th></th>${classes.map((c) => `<th>${escape(c)}</th>`).join('')}</tr>
${cm}
</table>
<h2>Per class</h2><p>Precision: of the images called this class, the share that were. Recall: of this class's images, the share found.</p>
<table><tr><th></th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr>
${perClass}
${avg('macro avg', scores.report.macro)}
${avg('weighted avg', scores.report.weighted)}
</table>
${pairs ? `<h2>Most confused</h2><ul>\n${pairs}\n</ul>` : ''}
${opText}
<h2>Worst mistakes</h2>${mistakes ? `<p>Wrong, with the highest confidence first${overlays.some(Boolean) ? '; under each, Grad-CAM: where the network saw the class it said, and the true class (red: most evidence)' : ''}.</p><div class="grid">\n${mistakes}\n</div>` : '<p>No mistakes.</p>'}
</body></html>
`;
}
