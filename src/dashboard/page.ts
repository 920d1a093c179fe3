/**
 * The dashboard's page: the layout and its styles. The script (app.ts, compiled to
 * app.js beside this module) fills it from the server's events; uPlot draws the curves.
 */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tsvision dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/uplot.css">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;align-items:baseline;gap:1em;padding:.6em 1.2em;background:#263238;color:#fff}
header h1{font-size:18px;margin:0}#connection{font-size:12px;opacity:.8}
main{padding:0 1.2em 2em}section{background:#fff;border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.6em 1em}
h2{font-size:15px;margin:.2em 0 .6em}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}td.text,th.text{text-align:left}td.differs{background:#fff3cd}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px}
.chart h3{font-size:13px;margin:.2em 0}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:middle;margin-right:4px}
#cm td{min-width:2.4em;text-align:center}
.grid{display:flex;flex-wrap:wrap;gap:10px}figure{margin:0;width:128px;font-size:11px}
figure img,figure .missing{width:128px;height:128px;background:#eee;image-rendering:pixelated;display:block}
figcaption{word-break:break-all}
.row{display:flex;flex-wrap:wrap;gap:2em;align-items:flex-start}
#pr-counts b{font-size:16px}#pr-threshold{width:320px}
.muted{color:#777}#runs{overflow-x:auto}
</style></head><body>
<header><h1>tsvision dashboard</h1><span id="connection">connecting…</span></header>
<main>
<section><h2>Runs</h2><div id="runs" class="muted">No runs yet.</div></section>
<section><h2>Curves</h2>
<p class="muted">Against the epoch. Thin lines: each training step (smoothed); lines with points: each epoch's training mean; dashed: validation.
Smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01" value="0.6"> <span id="smoothing-value">0.6</span></p>
<div class="charts">
<div class="chart"><h3>Loss</h3><div id="chart-loss" data-points="0"></div></div>
<div class="chart"><h3>Accuracy</h3><div id="chart-acc" data-points="0"></div></div>
<div class="chart"><h3>Learning rate</h3><div id="chart-lr" data-points="0"></div></div>
<div class="chart"><h3>Images per second</h3><div id="chart-ips" data-points="0"></div></div>
</div></section>
<section id="evaluation"><h2>Evaluation <select id="eval-run"></select></h2><div id="eval-body" class="muted">No evaluation yet: one appears after each validation pass.</div></section>
<section id="pr"><h2>Precision and recall of one class <select id="pr-class"></select></h2>
<div class="row"><div id="pr-plot"></div>
<div><p>Call a picture <b id="pr-name"></b> when its probability is at least
<input id="pr-threshold" type="range" min="0" max="1" step="0.001" value="0.5"> <b id="pr-value">0.500</b></p>
<p id="pr-counts"><b id="pr-found">–</b> found, <b id="pr-missed">–</b> missed, <b id="pr-false">–</b> false alarms</p>
<p id="pr-rates" class="muted"></p></div></div></section>
</main>
<script src="/uplot.js"></script>
<script type="module" src="/app.js"></script>
</body></html>
`;
}
