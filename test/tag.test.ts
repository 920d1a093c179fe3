/**
 * tsvision tag and tsvision worker as a user runs them: a checkpoint with random
 * weights, a folder of small PNGs in subfolders (some unreadable), and the command in
 * a child process. One machine: every file tagged once with Predictor's
 * probabilities, unreadable files accounted for, resume after SIGKILL and after a torn
 * last line. Many machines: a real redis-server on a free local port, two workers, one
 * of them killed mid-job, its job run again by the other, every file written once.
 * The rates printed at the end are the ones docs/deploy.md quotes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { writePredictions } from '../src/metrics/predictions.js';
import { getModel } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { defaultPredictionsFile, operatingPointFor } from '../src/train/operating-point.js';
import { Predictor } from '../src/train/predictor.js';
import { TagOutput } from '../src/tag/output.js';
import { planJobs } from '../src/tag/queue.js';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
const CLASSES = ['logo', 'poster', 'photo'];
const UNREADABLE = ['broken.png', 'b/empty.jpg', 'b/c/truncated.png'];

let root = '';
let input = '';
let checkpoint = '';
/** every picture, relative to input, and each readable one's probabilities from Predictor.classifyFiles */
let files: string[] = [];
const expected = new Map<string, number[]>();

interface Child {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [...CLI_FLAGS, bin, ...args], { cwd: root, env: { ...process.env, TSVISION_DEBUG: '', ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exit = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal }));
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

async function run(args: string[]) {
  const c = start(args);
  const { status } = await c.exit;
  return { status, stdout: c.stdout(), stderr: c.stderr() };
}

/** Resolves when check() holds (polled every 10 ms), or fails after ms naming what it waited for. */
async function until(check: () => boolean, what: string, ms = 60000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) assert.fail(`waited ${ms / 1000} s for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The output's lines, parsed; asserts each path appears once. */
function linesOf(file: string): Map<string, Record<string, unknown>> {
  const text = readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the output ends with a whole line');
  const byPath = new Map<string, Record<string, unknown>>();
  for (const l of text.split('\n').filter(Boolean)) {
    const o = JSON.parse(l) as Record<string, unknown>;
    assert.ok(!byPath.has(o.path as string), `${o.path as string} is written once`);
    byPath.set(o.path as string, o);
  }
  return byPath;
}

/** Every file has exactly one line, the readable ones the probabilities Predictor.classifyFiles gives, the others an error. */
function checkComplete(file: string, tol = 1e-6): Map<string, Record<string, unknown>> {
  const lines = linesOf(file);
  assert.deepEqual([...lines.keys()].sort(), [...files].sort());
  for (const f of files) {
    const line = lines.get(f)!;
    const probs = expected.get(f);
    if (!probs) {
      assert.equal(typeof line.error, 'string', `${f} is unreadable`);
      continue;
    }
    const top = line.top as { class: string; index: number; probability: number }[];
    assert.equal(top.length, 3);
    const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    assert.equal(line.class, CLASSES[order[0][1]], f);
    assert.ok(Math.abs((line.probability as number) - order[0][0]) <= tol, `${f}: ${line.probability as number} vs ${order[0][0]}`);
    for (const t of top) assert.ok(Math.abs(t.probability - probs[t.index]) <= tol && t.class === CLASSES[t.index], f);
  }
  return lines;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-tag-'));
  input = join(root, 'uploads');
  // a checkpoint with random weights: nothing here depends on what the network has learnt
  const size = 64;
  const net = getModel('convnet', { numClasses: CLASSES.length, inChannels: 3 });
  checkpoint = join(root, 'runs', 'x', 'best');
  saveCheckpoint(checkpoint, {
    modelState: net.stateDict(),
    info: {
      architecture: { name: 'convnet', config: { numClasses: CLASSES.length, inChannels: 3 } },
      classes: CLASSES,
      preprocessing: {
        resizeSize: size,
        cropSize: size,
        interpolation: 'bilinear',
        resizeMode: 'stretch',
        channels: 3,
        mean: [0.5, 0.5, 0.5],
        std: [0.25, 0.25, 0.25],
      },
    },
  });
  // 150 small PNGs of coloured noise in nested folders (one name with a space)
  const writes: Promise<unknown>[] = [];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 256;
  for (let i = 0; i < 150; i++) {
    const rel = [`${i}.png`, `a/${i}.png`, `b/c/pic ${i}.png`][i % 3];
    const w = 24 + (i % 17);
    const h = 20 + (i % 11);
    const px = Buffer.alloc(w * h * 3);
    for (let k = 0; k < px.length; k++) px[k] = rand();
    mkdirSync(join(input, rel, '..'), { recursive: true });
    writes.push(
      sharp(px, { raw: { width: w, height: h, channels: 3 } })
        .png()
        .toFile(join(input, rel)),
    );
  }
  await Promise.all(writes);
  writeFileSync(join(input, UNREADABLE[0]), 'this is not a PNG');
  writeFileSync(join(input, UNREADABLE[1]), '');
  writeFileSync(join(input, UNREADABLE[2]), readFileSync(join(input, '0.png')).subarray(0, 60));

  const predictor = Predictor.fromCheckpoint(checkpoint);
  const { listPictures } = await import('../src/tag/tagger.js');
  files = listPictures(input);
  assert.equal(files.length, 153);
  const results = await predictor.classifyFiles(
    files.map((f) => join(input, f)),
    { batchSize: 16 },
  );
  assert.equal(results.length, 150);
  for (const r of results) expected.set(files[r.index], r.probs);
  // an evaluation beside the checkpoint, for --class logo --target-recall: truths made up from the probabilities
  mkdirSync(join(checkpoint, '..', 'evaluation'));
  writePredictions(
    defaultPredictionsFile(checkpoint),
    CLASSES,
    results.map((r, i) => ({ probs: r.probs, target: i % 4 === 0 ? 0 : r.probs[0] > 0.34 ? i % 3 : 1 + (i % 2), predicted: 0, path: r.path })),
  );
});
after(() => rmSync(root, { recursive: true, force: true }));

const TAG = () => ['tag', '--checkpoint', checkpoint, '--input', input];

describe('tsvision tag on one machine', () => {
  test('every file once, with the probabilities of Predictor.classifyFiles; unreadable files reported and written as errors', async () => {
    const out = join(root, 'one.jsonl');
    const r = await run([...TAG(), '--out', out, '--class', 'logo', '--target-recall', '0.9']);
    assert.equal(r.status, 1, r.stderr);
    const lines = checkComplete(out);
    assert.ok(!existsSync(`${out}.lock`), 'the lock is gone after the run');
    for (const u of UNREADABLE) assert.match(r.stderr, new RegExp(`tsvision tag: unreadable ${u.replace('.', '\\.')}: `));
    assert.equal(r.stderr.trim().split('\n').length, 3, r.stderr);
    // the threshold printed and applied is the operating point's
    const op = operatingPointFor(Predictor.fromCheckpoint(checkpoint), { className: 'logo', goal: 'recall', target: 0.9 });
    assert.match(r.stdout, new RegExp(`'logo' passes at probability >= ${op.threshold} \\(target recall 0\\.9`));
    let passing = 0;
    for (const [f, probs] of expected) {
      assert.equal(lines.get(f)!.passes, probs[0] >= op.threshold, f);
      if (probs[0] >= op.threshold) passing++;
    }
    assert.ok(passing > 0 && passing < 150, `${passing} pass`);
    const summary = new RegExp(
      `153 files: 150 tagged, 3 unreadable, ${passing} passing \\(logo >= ${op.threshold}\\); 153 written by this run in [\\d.]+ s, ([\\d.]+) images/s`,
    );
    assert.match(r.stdout, summary);
    console.log(`tag on one machine: ${summary.exec(r.stdout)![1]} images/s (${files.length} files)`);

    // again: everything is done, nothing is written
    const again = await run([...TAG(), '--out', out]);
    assert.equal(again.status, 1);
    assert.match(again.stdout, /resuming: 153 of 153 files are already in /);
    assert.match(again.stdout, /0 written by this run/);
    assert.equal(again.stderr, '');
    assert.deepEqual(linesOf(out), lines);
  });

  test('resumes after SIGKILL and after a torn last line: every file exactly once, none lost', async () => {
    const out = join(root, 'resume.jsonl');
    const first = start([...TAG(), '--out', out, '--batch-size', '1']);
    const count = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
    await until(() => count() >= 10, 'the first lines');
    first.child.kill('SIGKILL');
    assert.equal((await first.exit).signal, 'SIGKILL');
    const before = linesOf(out);
    assert.ok(before.size < files.length, `killed after ${before.size} of ${files.length} files`);

    // a kill in the middle of a write: half a line without its newline
    const torn = '{"path":"a/99.png","class":"lo';
    appendFileSync(out, torn);
    const second = await run([...TAG(), '--out', out]);
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stdout, new RegExp(`cut a torn last line \\(${torn.length} bytes\\)`));
    assert.match(second.stdout, new RegExp(`resuming: ${before.size} of 153 files are already in `));
    assert.match(second.stdout, new RegExp(`153 files: 150 tagged, 3 unreadable; ${153 - before.size} written by this run`));
    const lines = checkComplete(out);
    for (const [f, line] of before) assert.deepEqual(lines.get(f), line, `${f} kept as first written`);
  });

  test('the output refuses a file that is not a tag output; the options are checked', async () => {
    const bad = join(root, 'bad.jsonl');
    writeFileSync(bad, '{"path":"x.png","class":"logo","probability":1,"top":[]}\nhello\n');
    const r = await run([...TAG(), '--out', bad]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^tsvision tag: .*bad\.jsonl line 2 is not a tag line/);
    assert.match((await run(['tag', '--checkpoint', checkpoint, '--out', bad])).stderr, /--input DIR is required/);
    assert.match((await run([...TAG(), '--out', bad, '--job-size', '4'])).stderr, /--job-size needs --redis URL/);
    assert.match((await run([...TAG(), '--out', bad, '--redis', 'http://x'])).stderr, /--redis needs a redis:\/\/ or rediss:\/\/ URL/);
    assert.match(
      (await run([...TAG(), '--out', bad, '--class', 'cat', '--target-recall', '0.9'])).stderr,
      /no class 'cat'; the classes are logo, poster, photo/,
    );
  });

  test('TagOutput: append writes a path once, reopening finds every line, and one process writes at a time', () => {
    const file = join(root, 'unit.jsonl');
    const o = TagOutput.open(file);
    assert.equal(
      o.append([
        { path: 'a', error: 'x' },
        { path: 'b', class: 'logo', probability: 0.5, top: [] },
      ]).length,
      2,
    );
    assert.equal(o.append([{ path: 'a', error: 'again' }]).length, 0);
    o.close();
    const again = TagOutput.open(file);
    assert.deepEqual([...again.done.keys()], ['a', 'b']);
    assert.equal(again.resumed, 2);
    // a second writer is refused while the first has the file open
    assert.throws(() => TagOutput.open(file), /unit\.jsonl is being written by another tsvision tag \(process \d+ on /);
    again.close();
    assert.ok(!existsSync(`${file}.lock`));
    // the lock of a process that is gone (killed) is taken over
    writeFileSync(`${file}.lock`, `${hostname()} 999999999\n`);
    const third = TagOutput.open(file);
    assert.equal(readFileSync(`${file}.lock`, 'utf8'), `${hostname()} ${process.pid}\n`);
    third.close();
  });

  test('planJobs: ids depend on the files and the options only', () => {
    const a = planJobs('/data', ['1', '2', '3', '4', '5'], 2, CLASSES, { topk: 3 });
    assert.deepEqual(
      a.map((j) => j.paths),
      [['1', '2'], ['3', '4'], ['5']],
    );
    assert.deepEqual(
      planJobs('/data', ['1', '2', '3', '4', '5'], 2, CLASSES, { topk: 3 }).map((j) => j.id),
      a.map((j) => j.id),
    );
    assert.equal(new Set(a.map((j) => j.id)).size, 3);
    assert.notEqual(planJobs('/data', ['1', '2'], 2, CLASSES, { topk: 3, watch: 0 })[0].id, a[0].id);
    assert.notEqual(planJobs('/other', ['1', '2'], 2, CLASSES, { topk: 3 })[0].id, a[0].id);
  });
});

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// CI installs redis-server (.ci/run), so there a missing one fails instead of skipping
const skipRedis = hasRedis || process.env.CI ? false : 'redis-server is not installed (apt-get install redis-server; CI installs it: .ci/run)';

describe('tsvision tag --redis with tsvision worker', { skip: skipRedis }, () => {
  let redis: ChildProcess | null = null;
  let url = '';
  let dir = '';
  const workers: Child[] = [];

  before(async () => {
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'tsvision-redis-'));
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    redis.stdout!.on('data', (d) => {
      log += d;
    });
    await until(() => /Ready to accept connections/.test(log), 'redis-server to start', 20000);
    url = `redis://127.0.0.1:${port}`;
  });
  after(() => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    redis?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A worker; by default with locks short enough that a dead worker's job runs again within
   * seconds (the defaults, 30 s, for measuring: a lock shorter than a batch's forward pass,
   * which holds the event loop, would expire under a live worker and have its job run twice).
   */
  const startWorker = async (
    queue: string,
    {
      batchSize = 4,
      env = {},
      shortLocks = true,
      ck = checkpoint,
    }: { batchSize?: number; env?: Record<string, string>; shortLocks?: boolean; ck?: string } = {},
  ): Promise<Child> => {
    const w = start(
      [
        'worker',
        '--checkpoint',
        ck,
        '--redis',
        url,
        '--queue',
        queue,
        '--batch-size',
        String(batchSize),
        ...(shortLocks ? ['--lock-duration', '3000', '--stalled-interval', '1000'] : []),
      ],
      env,
    );
    workers.push(w);
    await until(() => /waiting for jobs/.test(w.stdout()) || w.child.exitCode !== null, 'the worker to start');
    assert.match(w.stdout(), /waiting for jobs on queue /, w.stderr());
    return w;
  };
  const took = (w: Child) => new Set([...w.stdout().matchAll(/took job (\S+)/g)].map((m) => m[1]));
  const done = (w: Child) => new Set([...w.stdout().matchAll(/done job (\S+):/g)].map((m) => m[1]));

  test('two workers, one killed mid-job: its job runs again on the other, and every file is written exactly once', async () => {
    const out = join(root, 'redis.jsonl');
    const a = await startWorker('kill');
    const b = await startWorker('kill');
    const tag = start([...TAG(), '--out', out, '--redis', url, '--queue', 'kill', '--job-size', '8']);
    await until(() => took(a).size > 0, 'worker A to take a job');
    a.child.kill('SIGKILL');
    await a.exit;
    const orphans = [...took(a)].filter((id) => !done(a).has(id));
    assert.ok(orphans.length > 0, 'worker A was killed in the middle of a job');
    const { status } = await tag.exit;
    assert.equal(status, 1, tag.stderr());
    for (const id of orphans) assert.ok(took(b).has(id), `job ${id} of the killed worker ran again on the other`);
    assert.match(tag.stdout(), /20 jobs \(153 files\) on queue kill/);
    assert.match(tag.stdout(), /153 files: 150 tagged, 3 unreadable; 153 written by this run/);
    checkComplete(out, 2e-6);

    // running the command again enqueues nothing: every file is in the output
    const again = await run([...TAG(), '--out', out, '--redis', url, '--queue', 'kill', '--job-size', '8']);
    assert.match(again.stdout, /0 jobs \(0 files\)/);
    assert.match(again.stdout, /0 written by this run/);

    // SIGTERM: the worker exits cleanly
    b.child.kill('SIGTERM');
    assert.equal((await b.exit).status, 0);
    assert.match(b.stdout(), /SIGTERM: finishing the jobs in hand/);
    assert.match(b.stdout(), /stopped/);
  });

  test('tag --redis killed and run again: the jobs that finished meanwhile are collected, none is enqueued or run twice', async () => {
    const out = join(root, 'redis-resume.jsonl');
    // the default 30 s locks: short ones can expire under a loaded machine and run a job twice, which is allowed but not what this counts
    const w = await startWorker('resume', { shortLocks: false });
    const first = start([...TAG(), '--out', out, '--redis', url, '--queue', 'resume', '--job-size', '8']);
    const count = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
    await until(() => count() >= 8, 'the first lines');
    first.child.kill('SIGKILL');
    await first.exit;
    // the worker goes on with the queued jobs while no tag is listening
    await until(() => done(w).size === 20, 'the worker to finish the 20 jobs');
    const written = linesOf(out).size;
    assert.ok(written < 153, `killed after ${written} lines`);
    const second = await run([...TAG(), '--out', out, '--redis', url, '--queue', 'resume', '--job-size', '8']);
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stdout, new RegExp(`resuming: ${written} of 153 files`));
    assert.match(second.stdout, new RegExp(`153 files: 150 tagged, 3 unreadable; ${153 - written} written by this run`));
    checkComplete(out, 2e-6);
    assert.equal(took(w).size, 20);
    assert.equal([...w.stdout().matchAll(/took job/g)].length, 20, `no job ran twice:\n${w.stdout()}`);
  });

  test('SIGTERM in the middle of a job: the worker finishes it, then exits; another worker does the rest', async () => {
    const out = join(root, 'sigterm.jsonl');
    const a = await startWorker('term');
    const tag = start([...TAG(), '--out', out, '--redis', url, '--queue', 'term', '--job-size', '16']);
    await until(() => took(a).size > 0, 'the worker to take a job');
    a.child.kill('SIGTERM');
    assert.equal((await a.exit).status, 0, a.stderr());
    // the signal came while a job was in hand; that job, and any taken before, were finished, and none was taken after
    const log = a.stdout();
    const signalAt = log.indexOf('SIGTERM: finishing the jobs in hand');
    assert.ok(signalAt > 0, log);
    assert.deepEqual(done(a), took(a), log);
    assert.ok(!/took job/.test(log.slice(signalAt)), log);
    assert.match(log.slice(signalAt), /done job \S+:/);
    assert.match(log, /stopped\n$/);
    await startWorker('term');
    assert.equal((await tag.exit).status, 1, tag.stderr());
    checkComplete(out, 2e-6);
  });

  test('a worker with another model refuses the jobs: they fail, nothing is written, and the next run retries them', async () => {
    const other = join(root, 'runs', 'y', 'best');
    const net = getModel('convnet', { numClasses: 2, inChannels: 3 });
    saveCheckpoint(other, {
      modelState: net.stateDict(),
      info: {
        architecture: { name: 'convnet', config: { numClasses: 2, inChannels: 3 } },
        classes: ['cat', 'dog'],
        preprocessing: {
          resizeSize: 32,
          cropSize: 32,
          interpolation: 'bilinear',
          resizeMode: 'stretch',
          channels: 3,
          mean: [0.5, 0.5, 0.5],
          std: [0.25, 0.25, 0.25],
        },
      },
    });
    const out = join(root, 'failed.jsonl');
    const wrong = await startWorker('fail', { ck: other });
    const r = await run([...TAG(), '--out', out, '--redis', url, '--queue', 'fail', '--job-size', '64']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /153 files: 0 tagged, 0 unreadable, 153 in failed jobs \(run the command again to retry them\); 0 written/);
    assert.match(
      r.stderr,
      /tsvision tag: job tag-\w+ \(64 files\) failed: the worker \S+ runs .* with the classes cat, dog, the job expects logo, poster, photo/,
    );
    assert.equal(readFileSync(out, 'utf8'), '');
    wrong.child.kill('SIGTERM');
    await wrong.exit;
    await startWorker('fail');
    const again = await run([...TAG(), '--out', out, '--redis', url, '--queue', 'fail', '--job-size', '64']);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stdout, /153 files: 150 tagged, 3 unreadable; 153 written by this run/);
    checkComplete(out, 2e-6);
  });

  test('images per second: one machine, one worker, two workers', async () => {
    const rate = (s: string) => Number(/([\d.]+) images\/s/.exec(s)?.[1]);
    const local = await run([...TAG(), '--out', join(root, 'rate-local.jsonl')]);
    const rates = [`one machine ${rate(local.stdout)}`];
    for (const n of [1, 2]) {
      const queue = `rate${n}`;
      const ws = [];
      // two workers on this machine's two cores: one kernel thread each, as one worker's pool has two
      for (let i = 0; i < n; i++) ws.push(await startWorker(queue, { batchSize: 32, env: n > 1 ? { TSVISION_NUM_THREADS: '1' } : {}, shortLocks: false }));
      const r = await run([...TAG(), '--out', join(root, `rate-${n}.jsonl`), '--redis', url, '--queue', queue, '--job-size', '16']);
      assert.equal(r.status, 1, r.stderr);
      rates.push(`${n} worker${n > 1 ? 's' : ''} ${rate(r.stdout)}`);
      for (const w of ws) w.child.kill('SIGTERM');
      for (const w of ws) await w.exit;
    }
    const load = loadavg()[0].toFixed(1);
    console.log(`tag images/s on ${files.length} files (convnet, 64 px, batches of 32, jobs of 16): ${rates.join(', ')} (load average ${load})`);
    for (const r of rates) assert.ok(Number(r.split(' ').pop()) > 0, r);
  });
});
