/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core): a short
 * `tsvision train --dashboard` run on a tiny folder of PNGs, watched from the page. The page
 * loads without console errors, the loss curve gains points while the run trains, the
 * evaluation appears (confusion matrix, worst mistakes as pictures), the threshold slider
 * changes the counts, and a screenshot is saved under the test's temporary folder.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const CLASSES = ['red', 'green', 'blue'];
let root = '';

/** A 16x16 PNG of noise tinted towards one channel. */
function tinted(channel: number, seed: number): Promise<Buffer> {
  const px = Buffer.alloc(16 * 16 * 3);
  let s = seed * 2654435761;
  for (let i = 0; i < px.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    px[i] = ((s >>> 16) % 140) + (i % 3 === channel ? 90 : 0);
  }
  return sharp(px, { raw: { width: 16, height: 16, channels: 3 } })
    .png()
    .toBuffer();
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-dashboard-browser-'));
  const writes: Promise<unknown>[] = [];
  for (const [split, n] of [
    ['train', 30],
    ['val', 10],
  ] as const) {
    CLASSES.forEach((c, k) => {
      mkdirSync(join(root, split, c), { recursive: true });
      for (let i = 0; i < n; i++) {
        // two validation pictures per class carry another class's tint: mistakes to show
        const channel = split === 'val' && i < 2 ? (k + 1) % 3 : k;
        writes.push(tinted(channel, k * 1000 + i + (split === 'val' ? 500 : 0)).then((b) => sharp(b).toFile(join(root, split, c, `${i}.png`))));
      }
    });
  }
  await Promise.all(writes);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Resolves with the first match of `re` in the child's stdout. */
function waitForOutput(child: ChildProcess, re: RegExp, output: { text: string }): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(output.text);
      if (m) {
        child.stdout!.off('data', check);
        child.off('exit', exited);
        resolve(m);
      }
    };
    const exited = (code: number | null) => reject(new Error(`tsvision train exited (${code}) before printing ${re}:\n${output.text}`));
    child.stdout!.on('data', check);
    child.on('exit', exited);
    check();
  });
}

test('tsvision train --dashboard: live curves, the evaluation, the threshold slider, no console errors', { timeout: 60000 }, async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  const browserStarting = chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  const child = spawn(
    process.execPath,
    [
      ...CLI_FLAGS,
      bin,
      'train',
      '--data',
      'train',
      '--val',
      'val',
      '--model',
      'small_net',
      '--image-size',
      '16',
      '--epochs',
      '10',
      '--batch-size',
      '8',
      '--augment',
      'none',
      '--out',
      'runs/live',
      '--dashboard',
      '--dashboard-port',
      '0',
    ],
    { cwd: root, env: { ...process.env, TSVISION_DEBUG: '1' } },
  );
  const output = { text: '' };
  let stderr = '';
  child.stdout.on('data', (d) => (output.text += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let browser: Browser | null = null;
  try {
    const url = (await waitForOutput(child, /Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/, output))[1];
    browser = await browserStarting;
    const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => {
      if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(url);

    // the curve gains points while the run trains
    const points = () => page.locator('#chart-loss').getAttribute('data-points').then(Number);
    await page.waitForFunction(() => Number(document.querySelector('#chart-loss')?.getAttribute('data-points')) > 0);
    const first = await points();
    assert.doesNotMatch(output.text, /The dashboard stays/, 'the run ended before the page saw it train; the test needs a longer run');
    await page.waitForFunction((n) => Number(document.querySelector('#chart-loss')?.getAttribute('data-points')) > n, first);
    assert.ok((await points()) > first);
    assert.equal(await page.locator('#connection').textContent(), 'live');
    // a canvas drawn by uPlot, and the run in the runs table
    assert.equal(await page.locator('#chart-loss canvas').count(), 1);
    assert.match((await page.locator('#runs').textContent()) ?? '', /live.*small_net/s);

    // the final evaluation of the best checkpoint, with pictures of the worst mistakes
    await waitForOutput(child, /The dashboard stays at/, output);
    // curves.svg, written at the end of the run, parsed as SVG by the browser: a polyline per series with a point per epoch or step
    const svg = readFileSync(join(root, 'runs', 'live', 'curves.svg'), 'utf8');
    const series = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      if (doc.querySelector('parsererror')) return null;
      return Object.fromEntries(
        [...doc.querySelectorAll('polyline')].map((p) => [p.getAttribute('data-series'), (p as SVGPolylineElement).points.numberOfItems]),
      );
    }, svg);
    assert.deepEqual(series, {
      'loss/train (per step, smoothed)': 120,
      'loss/train': 10,
      'loss/validation': 10,
      'accuracy/train (per step, smoothed)': 120,
      'accuracy/train': 10,
      'accuracy/validation': 10,
      'learning rate/lr': 120,
    });
    await page.waitForFunction(() => /best checkpoint/.test(document.querySelector('#eval-body')?.textContent ?? ''));
    assert.equal(await page.locator('#cm td').count(), 9);
    const cells = (await page.locator('#cm td').allTextContents()).map(Number);
    assert.equal(
      cells.reduce((a, b) => a + b, 0),
      30,
    );
    assert.ok((await page.locator('#mistakes img').count()) >= 1, 'the mislabelled validation pictures show as mistakes');
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#mistakes img')].every((i) => i.complete && i.naturalWidth === 128));

    // the threshold slider changes the counts
    await page.locator('#pr-class').selectOption('red');
    await page.waitForFunction(() => document.querySelector('#pr-name')?.textContent === 'red');
    const counts = async () => ({
      found: Number(await page.locator('#pr-found').textContent()),
      missed: Number(await page.locator('#pr-missed').textContent()),
      alarms: Number(await page.locator('#pr-false').textContent()),
    });
    await page.locator('#pr-threshold').fill('0.01');
    const low = await counts();
    await page.locator('#pr-threshold').fill('0.99');
    const high = await counts();
    assert.equal(low.found + low.missed, 10);
    assert.equal(high.found + high.missed, 10);
    assert.ok(low.found > high.found || low.alarms > high.alarms, `counts at 0.01 ${JSON.stringify(low)} and at 0.99 ${JSON.stringify(high)}`);
    assert.equal(await page.locator('#pr-value').textContent(), '0.990');
    await page.locator('#pr-threshold').fill('0.5');

    const shot = join(root, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20000);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, stderr);
});
