/**
 * An AuditReport (src/data/audit.ts) as terminal text and as one self-contained HTML page
 * (thumbnails inlined as data URIs, the evaluation report's style and helpers).
 */
import { escapeHtml as escape, pct, REPORT_STYLE } from './html.js';
import { ASPECT_BINS, thumbnailDataUri, type AuditReport, type Finding, type FindingKind } from '../data/audit.js';

/** Each finding kind's heading, in the order the report shows them. */
export const FINDING_TITLES: Record<FindingKind, string> = {
  layout: 'folder layout',
  unreadable: 'unreadable files',
  'zero-byte': 'zero-byte files',
  'wrong-extension': 'content and extension disagree',
  'not-read': 'images under an extension training skips',
  cmyk: 'CMYK images',
  '16-bit': '16-bit images',
  palette: 'palette images',
  alpha: 'images with transparency',
  'exif-rotated': 'EXIF-rotated images',
  animated: 'animated images',
  imbalance: 'class imbalance',
  'crop-loss': 'pictures the centre crop cuts',
  duplicate: 'exact duplicates',
  'near-duplicate': 'near duplicates',
  'label-suspect': 'label-noise suspects',
};

const fixed = (x: number, d = 2) => x.toFixed(d);

/** The report as terminal lines; at most `maxFiles` files are listed per finding. */
export function formatAudit(report: AuditReport, { maxFiles = 10 }: { maxFiles?: number } = {}): string[] {
  const lines: string[] = [];
  const { classes, counts } = report;
  lines.push(
    `tsvision audit: ${report.root} (${report.files.train} image files, ${classes.length} classes)` +
      (report.val !== null ? `, validation ${report.val} (${report.files.val} image files)` : ''),
  );
  lines.push('');
  const w = Math.max(5, ...classes.map((c) => c.length));
  lines.push(`${'class'.padEnd(w)}  ${'train'.padStart(6)}${counts.val ? `  ${'val'.padStart(6)}` : ''}  ${'weight'.padStart(6)}`);
  classes.forEach((c, k) => {
    lines.push(
      `${c.padEnd(w)}  ${String(counts.train[k]).padStart(6)}${counts.val ? `  ${String(counts.val[k]).padStart(6)}` : ''}  ${fixed(report.balance.weights[k]).padStart(6)}`,
    );
  });
  const b = report.balance;
  if (b.largest) lines.push(`largest / smallest class: ${fixed(b.ratio, 1)}:1 (${b.largest} / ${b.smallest}); weight = images / (classes x class images)`);
  lines.push('');
  lines.push(`sizes (width x height: median, min-max) and aspect ratios (w:h) per class; ${ASPECT_BINS.map((x) => x.label).join(' | ')}`);
  for (const s of report.sizes) {
    lines.push(
      `${s.class.padEnd(w)}  ${s.width.median}x${s.height.median}  (${s.width.min}-${s.width.max} x ${s.height.min}-${s.height.max})  ` +
        `aspect ${fixed(s.aspect)}  [${s.aspectBins.join(' | ')}]  centre crop cuts ${(100 * s.medianCropLoss).toFixed(0)}% of the median picture`,
    );
  }
  const kinds = Object.entries(report.kinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  lines.push(`formats: ${kinds || 'none'}`);
  lines.push('');
  if (report.findings.length === 0) {
    lines.push(`No findings: ${report.readable} readable images, nothing to fix.`);
    return lines;
  }
  lines.push(`Findings (${report.findings.length}):`);
  for (const f of sortFindings(report.findings)) {
    lines.push(`- ${FINDING_TITLES[f.kind]}${f.scope ? ` (${f.scope.join(', ')})` : ''}: ${f.message}`);
    f.files.slice(0, maxFiles).forEach((file, i) => lines.push(`    ${file.path}${f.details?.[i] ? `: ${f.details[i]}` : ''}`));
    if (f.files.length > maxFiles) lines.push(`    ... and ${f.files.length - maxFiles} more (the HTML report and --json list them all)`);
  }
  return lines;
}

/** Findings in FINDING_TITLES order, stably. */
function sortFindings(findings: readonly Finding[]): Finding[] {
  const order = Object.keys(FINDING_TITLES);
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => order.indexOf(a.f.kind) - order.indexOf(b.f.kind) || a.i - b.i)
    .map((x) => x.f);
}

/** Thumbnails (data URIs) of the files the page shows as pictures: duplicates and suspects, at most `limit`. */
export async function auditThumbnails(report: AuditReport, { limit = 300, size = 96 }: { limit?: number; size?: number } = {}): Promise<Map<string, string>> {
  const paths: string[] = [];
  for (const f of report.findings)
    if (f.kind === 'duplicate' || f.kind === 'near-duplicate' || f.kind === 'label-suspect') paths.push(...f.files.map((x) => x.path));
  const out = new Map<string, string>();
  for (const p of [...new Set(paths)].slice(0, limit)) {
    const uri = await thumbnailDataUri(p, size);
    if (uri) out.set(p, uri);
  }
  return out;
}

/** The report as one HTML page; `thumbs` maps paths to data URIs (auditThumbnails). */
export function auditHtml(report: AuditReport, thumbs: ReadonlyMap<string, string> = new Map()): string {
  const { classes, counts } = report;
  const classRows = classes
    .map(
      (c, k) =>
        `<tr><th>${escape(c)}</th><td>${counts.train[k]}</td>${counts.val ? `<td>${counts.val[k]}</td>` : ''}<td>${fixed(report.balance.weights[k])}</td></tr>`,
    )
    .join('\n');
  const maxBin = Math.max(1, ...report.sizes.flatMap((s) => s.aspectBins));
  const sizeRows = report.sizes
    .map((s) => {
      const bars = s.aspectBins
        .map(
          (n, i) =>
            `<td title="${escape(ASPECT_BINS[i].label)}: ${n}"><div style="background:#69c;height:10px;width:${Math.round((60 * n) / maxBin)}px"></div>${n}</td>`,
        )
        .join('');
      return (
        `<tr><th>${escape(s.class)}</th><td>${s.images}</td><td>${s.width.median}x${s.height.median}</td><td>${s.width.min}-${s.width.max} x ` +
        `${s.height.min}-${s.height.max}</td><td>${fixed(s.aspect)}</td>${bars}<td>${pct(s.medianCropLoss)}</td></tr>`
      );
    })
    .join('\n');
  const figure = (path: string, caption: string) =>
    `<figure>${thumbs.has(path) ? `<img src="${thumbs.get(path)}" alt="${escape(path)}">` : ''}<figcaption>${caption}<br><small>${escape(path)}</small></figcaption></figure>`;
  const findings = sortFindings(report.findings)
    .map((f) => {
      const head = `<h3>${escape(FINDING_TITLES[f.kind])}${f.scope ? ` (${escape(f.scope.join(', '))})` : ''}</h3><p>${escape(f.message)}</p>`;
      if (f.files.length === 0) return head;
      const pictures = f.kind === 'duplicate' || f.kind === 'near-duplicate' || f.kind === 'label-suspect';
      if (pictures) {
        const figs = f.files.map((file, i) =>
          figure(file.path, `${escape(file.split)} / ${escape(file.class)}${f.details?.[i] ? `<br>${escape(f.details[i])}` : ''}`),
        );
        return `${head}<div class="grid">\n${figs.join('\n')}\n</div>`;
      }
      const items = f.files.map((file, i) => `<li>${escape(file.path)}${f.details?.[i] ? `: ${escape(f.details[i])}` : ''}</li>`);
      return `${head}<ul>\n${items.join('\n')}\n</ul>`;
    })
    .join('\n');
  const s = report.settings;
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audit of ${escape(report.root)}</title>
<style>
${REPORT_STYLE}
h3{margin-bottom:0.2em}
</style></head><body>
<h1>Audit of ${escape(report.root)}</h1>
<p>${report.files.train} image files in ${classes.length} classes${report.val !== null ? `; validation ${escape(report.val)}, ${report.files.val} image files` : ''}; ` +
    `${report.readable} readable. ${report.findings.length === 0 ? '<b>No findings.</b>' : `<b>${report.findings.length} findings</b> below.`}</p>
<h2>Classes</h2><p>Readable images per class; the weight that balances them is images / (classes × class images). Largest / smallest: ${fixed(report.balance.ratio, 1)}:1.</p>
<table><tr><th></th><th>train</th>${counts.val ? '<th>val</th>' : ''}<th>weight</th></tr>
${classRows}
</table>
<h2>Sizes and aspect ratios</h2><p>Width × height (median; range) and width / height in bins; the last column is the share of the median picture that resize-then-centre-crop cuts away.</p>
<table><tr><th></th><th>images</th><th>median</th><th>range</th><th>aspect</th>${ASPECT_BINS.map((b) => `<th>${escape(b.label)}</th>`).join('')}<th>crop cuts</th></tr>
${sizeRows}
</table>
<h2>Findings</h2>
${findings || '<p>None.</p>'}
<h2>Settings</h2><p>Near duplicates: dHashes within ${s.nearDistance} of 64 bits, and 16×16 grey thumbnails whose difference is at most ` +
    `${s.nearDifference} of their contrast. ` +
    `Crop advice above ${pct(s.cropLossLimit)} of the median picture cut; imbalance from ${s.imbalanceLimit}:1.</p>
</body></html>
`
  );
}
