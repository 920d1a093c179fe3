/**
 * The dashboard without a browser: the per-step records and steps.csv, curves.svg, the
 * Dashboard callback pushing a Model.fit run as server-sent events, the JSON endpoints on
 * a finished run's files, and the file watching that pushes a run trained elsewhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Dashboard } from '../src/dashboard/callback.js';
import { startDashboard, type DashboardServer } from '../src/dashboard/server.js';
import { watchRuns } from '../src/dashboard/watch.js';
import type { Dataset } from '../src/data/dataset.js';
import { writeFileAtomic } from '../src/core/atomic.js';
import { getModel } from '../src/models/index.js';
import { CrossEntropyLoss } from '../src/nn/loss.js';
import { Adam } from '../src/optim/index.js';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { curvesSvg, parseNumberCsv, StepLogger, StepMeter } from '../src/train/curves.js';
import { Accuracy } from '../src/train/metrics.js';
import { Model } from '../src/train/model.js';
import { CLI_FLAGS } from './helpers.js';

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-dashboard-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

function blobs(n: number, seed = 3): Dataset<[Tensor<'float32'>, number]> & { classes: string[] } {
  const g = new Generator(seed);
  const centres = [
    [2, 0],
    [-2, 1],
    [0, -2],
  ];
  const items = Array.from({ length: n }, (_, i) => {
    const c = i % 3;
    return [new Tensor(Float32Array.from([centres[c][0] + g.random() - 0.5, centres[c][1] + g.random() - 0.5]), [2]), c] as [Tensor<'float32'>, number];
  });
  return { length: n, getItem: (i: number) => items[i], classes: ['a', 'b', 'c'] };
}

function prepared(): Model {
  manualSeed(0);
  const net = getModel('mlp', { inputSize: 2, hidden: [16], numClasses: 3 });
  return new Model(net).prepare({ optimizer: new Adam(net.parameters(), { lr: 0.05 }), loss: new CrossEntropyLoss(), metrics: [new Accuracy()] });
}

/** The polylines of an SVG by data-series name: their points as [x, y] pairs. */
function polylines(svg: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const m of svg.matchAll(/<polyline data-series="([^"]+)" points="([^"]*)"/g)) {
    out.set(
      m[1],
      m[2].split(' ').map((p) => p.split(',').map(Number) as [number, number]),
    );
  }
  return out;
}

interface EventStream {
  messages: any[];
  waitFor(pred: (m: any) => boolean, what: string): Promise<any>;
  close(): void;
}

/** A client of the server's event stream, as a browser's EventSource reads it. */
async function events(url: string): Promise<EventStream> {
  const ac = new AbortController();
  const res = await fetch(`${url}api/events`, { signal: ac.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const messages: any[] = [];
  let wake: () => void = () => {};
  void (async () => {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const data = buf
            .slice(0, i)
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          buf = buf.slice(i + 2);
          if (data) messages.push(JSON.parse(data));
          wake();
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return {
    messages,
    async waitFor(pred, what) {
      const deadline = Date.now() + 10000;
      for (;;) {
        const m = messages.find(pred);
        if (m) return m;
        if (Date.now() > deadline) assert.fail(`no ${what} event in ${JSON.stringify(messages.map((x) => x.type))}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    },
    close: () => ac.abort(),
  };
}

const getJSON = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as any };
};

describe('per-step records, steps.csv and curves.svg', () => {
  test("StepMeter: a batch's own accuracy from fit's running means, the lr, images per second", () => {
    const meter = new StepMeter();
    meter.epochBegin();
    const a = meter.batchEnd(0, 0, 2, { loss: 1, batch_loss: 1, batch_size: 4, lr: 0.1, acc: 0.5 });
    // 4 right of 6 after the second batch: the second batch (2 images) had both right
    const b = meter.batchEnd(0, 1, 2, { loss: 0.8, batch_loss: 0.4, batch_size: 2, lr: 0.05, acc: 4 / 6 });
    assert.deepEqual({ ...a, images_per_sec: 0 }, { epoch: 1, batch: 1, batches: 2, loss: 1, acc: 0.5, lr: 0.1, images_per_sec: 0 });
    assert.equal(b.acc, 1);
    assert.equal(b.loss, 0.4);
    assert.equal(b.lr, 0.05);
    assert.ok(b.images_per_sec > 0 && Number.isFinite(b.images_per_sec));
  });

  test('parseNumberCsv leaves out a torn last line; empty cells are absent', () => {
    assert.deepEqual(parseNumberCsv('epoch,loss,eval_loss\n1,0.5,\n2,0.25,0.3\n3,0.1'), [
      { epoch: 1, loss: 0.5 },
      { epoch: 2, loss: 0.25, eval_loss: 0.3 },
    ]);
  });

  test('fit with a StepLogger writes a row per step; resuming keeps the rows of the epochs it keeps', async () => {
    const file = join(root, 'steps', 'steps.csv');
    await prepared().fit(blobs(24), { epochs: 2, batchSize: 8, verbose: 0, callbacks: [new StepLogger(file)] });
    const rows = parseNumberCsv(readFileSync(file, 'utf8'));
    assert.deepEqual(
      rows.map((r) => [r.epoch, r.batch, r.batches]),
      [
        [1, 1, 3],
        [1, 2, 3],
        [1, 3, 3],
        [2, 1, 3],
        [2, 2, 3],
        [2, 3, 3],
      ],
    );
    for (const r of rows) assert.ok(r.lr === 0.05 && r.loss > 0 && r.acc >= 0 && r.acc <= 1 && r.images_per_sec > 0, JSON.stringify(r));
    const again = new StepLogger(file);
    again.setParams({ epochs: 3, steps: 3, verbose: 0, initialEpoch: 1 });
    again.onTrainBegin();
    assert.deepEqual(
      parseNumberCsv(readFileSync(file, 'utf8')).map((r) => r.epoch),
      [1, 1, 1],
    );
  });

  test('curvesSvg: a polyline per series, with a point per row, inside the picture', () => {
    const epochs = [1, 2, 3].map((e) => ({ epoch: e, loss: 1 / e, acc: 0.3 * e, eval_loss: 1.2 / e, eval_acc: 0.25 * e, lr: 0.01 / e }));
    const steps = Array.from({ length: 6 }, (_, i) => ({
      epoch: 1 + Math.floor(i / 2),
      batch: 1 + (i % 2),
      batches: 2,
      loss: 2 - 0.3 * i,
      acc: 0.1 * i,
      lr: 0.01,
    }));
    const svg = curvesSvg({ epochs, steps, title: 'a <run>' });
    assert.match(svg, /^<\?xml[^>]*>\s*<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="(\d+)" height="(\d+)"/);
    assert.match(svg, /<title>a &lt;run&gt;<\/title>/);
    const [, w, h] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    const lines = polylines(svg);
    assert.deepEqual(
      [...lines.keys()].sort(),
      [
        'accuracy/train',
        'accuracy/train (per step, smoothed)',
        'accuracy/validation',
        'learning rate/lr',
        'loss/train',
        'loss/train (per step, smoothed)',
        'loss/validation',
      ].sort(),
    );
    assert.equal(lines.get('loss/train')!.length, 3);
    assert.equal(lines.get('loss/train (per step, smoothed)')!.length, 6);
    assert.equal(lines.get('learning rate/lr')!.length, 6);
    for (const pts of lines.values()) for (const [x, y] of pts) assert.ok(x >= 0 && x <= w && y >= 0 && y <= h, `${x},${y}`);
    // a falling loss is drawn going down the page (SVG's y grows downwards), from left to right
    const loss = lines.get('loss/train')!;
    assert.ok(loss[0][0] < loss[1][0] && loss[1][0] < loss[2][0]);
    assert.ok(loss[0][1] < loss[1][1] && loss[1][1] < loss[2][1]);
  });
});

describe('the Dashboard callback', () => {
  let server: DashboardServer;
  before(async () => {
    server = await startDashboard({ port: 0 });
  });
  after(() => server.close());

  test('a Model.fit run goes out as events: every step, every epoch, every validation pass scored', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const stream = await events(server.url);
    await stream.waitFor((m) => m.type === 'snapshot', 'snapshot');
    // validation blobs, three of them labelled as the next class (mistakes to show), and paths that name each label
    const clean = blobs(12, 9);
    const items = Array.from({ length: 12 }, (_, i) => {
      const [x, y] = clean.getItem(i) as [Tensor<'float32'>, number];
      return [x, i < 3 ? (y + 1) % 3 : y] as [Tensor<'float32'>, number];
    });
    const evalData = { length: 12, getItem: (i: number) => items[i] };
    const evalPaths = items.map(([, y], i) => `${clean.classes[y]}/${i}.png`);
    const dashboard = new Dashboard({ server, name: 'blobs', settings: { lr: 0.05 }, evalPaths });
    await prepared().fit(blobs(24), { epochs: 2, batchSize: 8, verbose: 0, evalData, callbacks: [dashboard] });
    await stream.waitFor((m) => m.type === 'run' && m.run.status === 'finished', 'finished');
    const id = dashboard.run!.id;
    const steps = stream.messages.filter((m) => m.type === 'steps' && m.run === id).flatMap((m) => m.rows);
    assert.deepEqual(
      steps.map((r) => `${r.epoch}.${r.batch}`),
      ['1.1', '1.2', '1.3', '2.1', '2.2', '2.3'],
    );
    const epochs = stream.messages.filter((m) => m.type === 'epoch' && m.run === id).map((m) => m.row);
    assert.deepEqual(
      epochs.map((r) => r.epoch),
      [1, 2],
    );
    assert.ok(epochs.every((r) => typeof r.eval_acc === 'number' && typeof r.lr === 'number'));
    const evals = stream.messages.filter((m) => m.type === 'evaluation' && m.run === id).map((m) => m.evaluation);
    assert.deepEqual(
      evals.map((e) => e.label),
      ['validation after epoch 1', 'validation after epoch 2'],
    );
    const last = evals[1];
    assert.deepEqual(last.classes, ['a', 'b', 'c']);
    assert.equal(
      last.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0),
      12,
    );
    // the same accuracy as fit's own evaluation
    assert.ok(Math.abs(last.accuracy - epochs[1].eval_acc) < 1e-9, `${last.accuracy} vs ${epochs[1].eval_acc}`);
    const first = evals[0];
    assert.ok(first.worstMistakes.length > 0, 'the mislabelled blobs are mistakes');
    for (const m of first.worstMistakes) {
      assert.equal(m.path.split('/')[0], m.true);
      assert.notEqual(m.predicted, m.true);
    }
    stream.close();

    const { body: full } = await getJSON(`${server.url}api/runs/${id}`);
    assert.equal(full.steps.length, 6);
    assert.equal(full.epochs.length, 2);
    assert.deepEqual(full.settings, { lr: 0.05 });
    const { body: pr } = await getJSON(`${server.url}api/runs/${id}/pr?class=b`);
    assert.equal(pr.positives, 4);
    assert.equal(pr.thresholds.length, pr.found.length);
    // the lowest threshold passes every picture: all 4 found, the 8 others false alarms
    assert.equal(pr.found[0], 4);
    assert.equal(pr.falseAlarms[0], 8);
  });
});

describe('a run from its files', () => {
  let server: DashboardServer;
  let runs = '';
  const predictions = (rows: string[]) => `# classes: ["cat","dog"]\n${rows.join('\n')}\n`;

  before(async () => {
    runs = join(root, 'runs');
    const run = join(runs, 'r1');
    mkdirSync(join(run, 'evaluation'), { recursive: true });
    mkdirSync(join(root, 'pics'), { recursive: true });
    for (const n of ['a', 'b', 'c', 'd']) {
      await sharp({ create: { width: 20, height: 10, channels: 3, background: '#808000' } })
        .png()
        .toFile(join(root, 'pics', `${n}.png`));
    }
    writeFileSync(join(run, 'run.json'), JSON.stringify({ command: ['tsvision', 'train'], settings: { model: 'convnet', lr: 0.001 } }));
    writeFileSync(join(run, 'history.csv'), 'epoch,loss,acc,eval_loss,eval_acc,lr\n1,0.9,0.5,0.8,0.6,0.001\n2,0.6,0.7,0.7,0.65,0.0005\n');
    writeFileSync(join(run, 'steps.csv'), 'epoch,batch,batches,loss,acc,lr,images_per_sec\n1,1,2,1,0.5,0.001,100\n1,2,2,0.8,0.5,0.001,120\n');
    // picture paths as evaluate writes them: relative to where train ran (here, two levels above the run)
    writeFileSync(
      join(run, 'evaluation', 'predictions.txt'),
      predictions([
        '0.90000 0.10000 1 0 1 0 pics/a.png',
        '0.60000 0.40000 0 1 1 0 pics/b.png',
        '0.30000 0.70000 1 0 0 1 pics/c.png',
        '0.20000 0.80000 0 1 0 1 pics/d.png',
      ]),
    );
    server = await startDashboard({ port: 0 });
    assert.deepEqual(
      watchRuns(server, [runs]).map((r) => r.name),
      ['r1'],
    );
  });
  after(() => server.close());

  test('the JSON endpoints: runs, a run, its evaluation, a class precision-recall curve, a thumbnail', async () => {
    const { body: list } = await getJSON(`${server.url}api/runs`);
    assert.equal(list.length, 1);
    assert.deepEqual(
      { id: list[0].id, status: list[0].status, epochsDone: list[0].epochsDone, settings: list[0].settings },
      { id: 'r1', status: 'unfinished', epochsDone: 2, settings: { model: 'convnet', lr: 0.001 } },
    );
    const { body: run } = await getJSON(`${server.url}api/runs/r1`);
    assert.deepEqual(
      run.steps.map((r: any) => r.loss),
      [1, 0.8],
    );
    assert.deepEqual(
      run.epochs.map((r: any) => r.eval_acc),
      [0.6, 0.65],
    );
    const { body: ev } = await getJSON(`${server.url}api/runs/r1/evaluation`);
    assert.deepEqual(ev.confusionMatrix, [
      [1, 1],
      [1, 1],
    ]);
    assert.equal(ev.accuracy, 0.5);
    assert.deepEqual(
      ev.worstMistakes.map((m: any) => [m.path, m.true, m.predicted, m.confidence, m.thumbnail]),
      [
        ['pics/c.png', 'cat', 'dog', 0.7, true],
        ['pics/b.png', 'dog', 'cat', 0.6, true],
      ],
    );
    assert.deepEqual(
      ev.mostConfused.map((p: any) => [p.true, p.predicted, p.count]),
      [
        ['cat', 'dog', 1],
        ['dog', 'cat', 1],
      ],
    );
    // cat's scores: 0.9 (cat), 0.6 (dog), 0.3 (cat), 0.2 (dog)
    const { body: pr } = await getJSON(`${server.url}api/runs/r1/pr?class=cat`);
    assert.deepEqual(
      { thresholds: pr.thresholds, found: pr.found, falseAlarms: pr.falseAlarms, positives: pr.positives },
      { thresholds: [0.2, 0.3, 0.6, 0.9], found: [2, 2, 1, 1], falseAlarms: [2, 1, 1, 0], positives: 2 },
    );
    assert.deepEqual(pr.precision, [0.5, 2 / 3, 0.5, 1, 1]);
    assert.equal((await getJSON(`${server.url}api/runs/r1/pr?class=cow`)).status, 400);
    assert.equal((await getJSON(`${server.url}api/runs/nope`)).status, 404);

    const thumb = await fetch(`${server.url}api/runs/r1/thumb/${ev.version}/0`);
    assert.equal(thumb.headers.get('content-type'), 'image/png');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 128, 128]);
    assert.equal((await fetch(`${server.url}api/runs/r1/thumb/${ev.version}/5`)).status, 404);

    const page = await (await fetch(server.url)).text();
    assert.match(page, /<script src="\/uplot\.js"><\/script>/);
    assert.match(page, /id="chart-loss"/);
    const uplot = await fetch(`${server.url}uplot.js`);
    assert.equal(uplot.status, 200);
    assert.match(await uplot.text(), /uPlot/);
    assert.match(await (await fetch(`${server.url}app.js`)).text(), /new EventSource\('\/api\/events'\)/);
    assert.equal((await fetch(`${server.url}uplot.css`)).status, 200);
  });

  test('a run trained elsewhere: appended rows, a new evaluation and a new run folder arrive as events', async () => {
    const stream = await events(server.url);
    const snapshot = await stream.waitFor((m) => m.type === 'snapshot', 'snapshot');
    assert.equal(snapshot.runs[0].epochs.length, 2);
    const run = join(runs, 'r1');
    appendFileSync(join(run, 'steps.csv'), '2,1,2,0.5,1,0.0005,130\n');
    appendFileSync(join(run, 'history.csv'), '3,0.4,0.9,0.5,0.75,0.0001\n');
    const epoch = await stream.waitFor((m) => m.type === 'epoch', 'epoch');
    assert.deepEqual(epoch, { type: 'epoch', run: 'r1', row: { epoch: 3, loss: 0.4, acc: 0.9, eval_loss: 0.5, eval_acc: 0.75, lr: 0.0001 } });
    const steps = await stream.waitFor((m) => m.type === 'steps', 'steps');
    assert.deepEqual(
      steps.rows.map((r: any) => r.loss),
      [0.5],
    );
    writeFileAtomic(
      join(run, 'evaluation', 'predictions.txt'),
      Buffer.from(predictions(['0.90000 0.10000 1 0 1 0 pics/a.png', '0.10000 0.90000 0 1 0 1 pics/b.png'])),
    );
    const ev = await stream.waitFor((m) => m.type === 'evaluation', 'evaluation');
    assert.deepEqual(ev.evaluation.confusionMatrix, [
      [1, 0],
      [0, 1],
    ]);
    mkdirSync(join(runs, 'r2'));
    writeFileSync(join(runs, 'r2', 'run.json'), JSON.stringify({ settings: { model: 'lenet5' } }));
    const added = await stream.waitFor((m) => m.type === 'run' && m.run.name === 'r2', 'new run');
    assert.deepEqual(added.run.settings, { model: 'lenet5' });
    stream.close();
  });

  test('tsvision dashboard: one-line errors', () => {
    const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
    const r = spawnSync(process.execPath, [...CLI_FLAGS, bin, 'dashboard', join(root, 'nowhere')], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `tsvision dashboard: the run folder ${join(root, 'nowhere')} does not exist`);
    const port = new URL(server.url).port;
    const busy = spawnSync(process.execPath, [...CLI_FLAGS, bin, 'dashboard', runs, '--port', port], { encoding: 'utf8' });
    assert.equal(busy.status, 1);
    assert.equal(busy.stderr.trim(), `tsvision dashboard: port ${port} on 127.0.0.1 is in use (choose another, or 0 for a free one)`);
  });
});
