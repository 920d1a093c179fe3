/**
 * Kill tests: `tsvision train` killed with SIGKILL at 30 moments drawn from a seeded
 * generator, and resumed each time with the same command (`--resume`). Every resume
 * succeeds, every checkpoint on disk stays readable after every kill, and the finished
 * run's weights, optimizer state and history equal an uninterrupted run's bit for bit.
 * TSVISION_TEST_SAVE_PAUSE_MS stretches each checkpoint save so that a share of the
 * kills land inside one (counted, and checked). A second run on the same --out is
 * refused while the first lives; a killed run's lock is taken over by the next.
 * A save that hits the file size limit (`ulimit -f`) fails with EFBIG, says so in one
 * line, and leaves the previous checkpoint whole.
 *
 * Reproduce a schedule: TSVISION_KILL_SEED=<seed printed on failure> node --test dist/test/train-kill.test.js
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Generator } from '../src/tensor/random.js';
import { loadCheckpoint, resolveCheckpoint } from '../src/train/index.js';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
const SEED = Number(process.env.TSVISION_KILL_SEED ?? 20261203);
const KILLS = Number(process.env.TSVISION_KILL_COUNT ?? 30);
// a killed run finishes one epoch at most (rarely two), so the run outlasts the kills
const EPOCHS = KILLS + 10;
/** steps per epoch: 12 training pictures in batches of 4 */
const STEPS = 3;
/** ms slept between the steps of a checkpoint save (4 per save; TSVISION_TEST_SAVE_PAUSE_MS) */
const PAUSE_MS = 10;
// SIGKILL loses nothing the page cache holds, so a RAM file system tests the same thing with cheaper fsyncs
const TMP = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

let root = '';
before(async () => {
  root = mkdtempSync(join(TMP, 'tsv-kill-'));
  const writes: Promise<unknown>[] = [];
  for (const c of ['a', 'b']) {
    mkdirSync(join(root, 'data', c), { recursive: true });
    for (let i = 0; i < 8; i++) {
      const px = Buffer.alloc(16 * 16);
      for (let k = 0; k < px.length; k++) px[k] = (c === 'a' ? k * 7 + i * 13 : 255 - k * 5 - i * 11) & 255;
      writes.push(
        sharp(px, { raw: { width: 16, height: 16, channels: 1 } })
          .png()
          .toFile(join(root, 'data', c, `${i}.png`)),
      );
    }
  }
  await Promise.all(writes);
});
after(() => rmSync(root, { recursive: true, force: true }));

const trainArgs = (out: string, epochs = EPOCHS, extra: string[] = []) => [
  'train',
  '--data',
  'data',
  '--model',
  'small_net',
  '--image-size',
  '16',
  '--channels',
  '1',
  '--batch-size',
  '4',
  '--seed',
  '3',
  '--epochs',
  String(epochs),
  '--out',
  out,
  '--resume',
  ...extra,
];

interface Running {
  child: ChildProcess;
  /** resolves when the n-th progress line has been printed (true), or the process ends first (false) */
  event(n: number): Promise<boolean>;
  exit: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** The progress lines the kills are timed from: an epoch's start, each step, the end of its evaluation (its saves follow). */
const EVENT = /^(Epoch \d+\/|step \d+\/|Eval samples)/gm;

function start(args: string[], { pauseMs = 0, shell }: { pauseMs?: number; shell?: string } = {}): Running {
  const env = { ...process.env, TSVISION_DEBUG: '', TSVISION_NUM_THREADS: '1', TSVISION_TEST_SAVE_PAUSE_MS: String(pauseMs) };
  const argv = [...CLI_FLAGS, bin, ...args];
  // under a shell, "$0" "$@" is the command: the shell sets a limit, then becomes node
  const child = shell
    ? spawn('bash', ['-c', `${shell} && exec "$0" "$@"`, process.execPath, ...argv], { cwd: root, env })
    : spawn(process.execPath, argv, { cwd: root, env });
  let stdout = '';
  let stderr = '';
  let seen = 0;
  let ended = false;
  const waiters: { n: number; resolve: (v: boolean) => void }[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) {
      if (seen >= w.n || ended) w.resolve(seen >= w.n);
      else waiters.push(w);
    }
  };
  child.stdout!.on('data', (d) => {
    stdout += d;
    seen = stdout.match(EVENT)?.length ?? 0;
    wake();
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      ended = true;
      wake();
      resolve({ status, signal, stdout, stderr });
    });
  });
  const event = (n: number) =>
    new Promise<boolean>((resolve) => {
      waiters.push({ n, resolve });
      wake();
    });
  return { child, event, exit };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bytes = (path: string) => readFileSync(path);
/** What only an interrupted save leaves beside the checkpoints (and the lock of a killed run). */
const leftovers = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => /\.tmp-|\.old$/.test(n)) : []);

describe('tsvision train killed at random moments', () => {
  test(`${KILLS} SIGKILLs, each resumed: checkpoints always readable, final weights bit for bit (seed ${SEED})`, async () => {
    const ref = join(root, 'ref');
    const t0 = Date.now();
    const spawned = Date.now();
    const reference = start(trainArgs(ref), { pauseMs: PAUSE_MS });
    assert.ok(await reference.event(1));
    // from the command's start to its first epoch: reading the folder, the statistics, run.json, the lock
    const startupMs = Date.now() - spawned;
    const whole = await reference.exit;
    assert.equal(whole.status, 0, whole.stderr);
    const g = new Generator(SEED);
    const out = join(root, 'killed');
    const label = (k: number) => `kill ${k + 1} of ${KILLS} (seed ${SEED}, reproduce with TSVISION_KILL_SEED=${SEED})`;
    let insideSave = 0;
    let progressed = 0;
    let earlyKills = 0;
    for (let k = 0; k < KILLS; k++) {
      const run = start(trainArgs(out), { pauseMs: PAUSE_MS });
      // the moment: a sixth of the kills during the command's start (before training: the lock, run.json);
      // a third within the saves that follow the first epoch's evaluation; the rest shortly after one of its
      // progress lines (its start, a step, its evaluation, the next epoch's start and first step), landing in
      // steps, evaluations, saves and between
      const early = g.random() < 1 / 6;
      const inSave = !early && g.random() < 0.4;
      const at = early ? 0 : inSave ? STEPS + 2 : 1 + Math.floor(g.random() * (STEPS + 4));
      const delay = g.random() * (early ? startupMs : (inSave ? 8 : 3) * PAUSE_MS);
      const r0 = loadedEpoch(out);
      const leftBefore = leftovers(out);
      if (!(await run.event(at))) assert.fail(`${label(k)}: the run ended before progress line ${at}: ${(await run.exit).stderr}`);
      await sleep(delay);
      run.child.kill('SIGKILL');
      const ended = await run.exit;
      assert.ok(ended.signal === 'SIGKILL' || ended.status === 0, `${label(k)}: ${ended.status} ${ended.stderr}`);
      assert.equal(ended.stderr, '', `${label(k)}: nothing on stderr before the kill`);
      // the killed run's lock stays behind, naming it, for the next run to take over; a kill during the start
      // may leave an earlier run's, an empty one (between creating and writing it), or none
      const lock = join(out, 'train.lock');
      const holder = early ? '\\d+' : String(run.child.pid);
      if (!early || existsSync(lock)) assert.match(readFileSync(lock, 'utf8'), new RegExp(`^(${early ? '|' : ''}\\S+ ${holder}\n)$`), label(k));
      // a save's temporary folder of this process, or a new .old: the kill interrupted a save
      if (leftovers(out).some((n) => n.includes(`.tmp-${run.child.pid}`) || (n.endsWith('.old') && !leftBefore.includes(n)))) insideSave++;
      // every checkpoint on disk is readable, whatever the kill interrupted
      for (const name of ['last', 'best']) {
        const dir = resolveCheckpoint(join(out, name));
        if (dir !== null) assert.doesNotThrow(() => loadCheckpoint(dir), `${label(k)}: ${name}`);
      }
      if (loadedEpoch(out) > r0) progressed++;
      if (early) earlyKills++;
      assert.ok(loadedEpoch(out) < EPOCHS, `${label(k)}: the run finished before ${KILLS} kills; make it longer`);
    }
    const last = await start(trainArgs(out)).exit;
    assert.equal(last.status, 0, `the last resume (seed ${SEED}): ${last.stderr}`);
    process.stdout.write(
      `# ${KILLS} kills (seed ${SEED}): ${earlyKills} before training, ${insideSave} inside a checkpoint save, ${progressed} after an epoch's progress; ` +
        `${((Date.now() - t0) / 1000).toFixed(1)} s in all\n`,
    );
    for (const f of ['final/model.safetensors', 'last/model.safetensors', 'last/optimizer.safetensors', 'best/model.safetensors']) {
      assert.ok(bytes(join(out, f)).equals(bytes(join(ref, f))), `${f} differs from the uninterrupted run's (seed ${SEED})`);
    }
    // the history: each epoch once, as the uninterrupted run wrote it
    assert.deepEqual(readFileSync(join(out, 'history.csv'), 'utf8').split('\n'), readFileSync(join(ref, 'history.csv'), 'utf8').split('\n'), `seed ${SEED}`);
    assert.deepEqual(leftovers(out), []);
    assert.ok(!existsSync(join(out, 'train.lock')), 'the lock is released at the end');
    assert.ok(insideSave >= 1, `${insideSave} kills inside a save (seed ${SEED})`);
    assert.ok(progressed >= 1, `${progressed} kills after progress (seed ${SEED})`);
  });

  test('a second run on the same --out is refused while the first lives', async () => {
    const out = join(root, 'shared');
    const first = start(trainArgs(out, 1000, ['--schedule', 'none']));
    assert.ok(await first.event(1));
    const second = await start(trainArgs(out, 1000, ['--schedule', 'none'])).exit;
    first.child.kill('SIGKILL');
    await first.exit;
    assert.equal(second.status, 1, second.stderr);
    assert.match(
      second.stderr,
      new RegExp(`^tsvision train: \\S+ is in use by another tsvision train \\(process ${first.child.pid} on [^)]+\\); wait for it, or choose another --out`),
    );
    assert.equal(second.stderr.split('\n').length, 2, 'one line');
  });

  test('a save that hits the file size limit (ulimit -f) fails with EFBIG in one line; the previous checkpoint stays whole', async () => {
    const out = join(root, 'full');
    const first = await start(trainArgs(out, 1, ['--schedule', 'none'])).exit;
    assert.equal(first.status, 0, first.stderr);
    const before = bytes(join(out, 'last', 'model.safetensors'));
    assert.ok(before.length > 8192);
    // 8 KiB per file: run.json and history.csv fit, a checkpoint's weights do not
    const r = await start(trainArgs(out, 2, ['--schedule', 'none']), { shell: 'ulimit -f 8' }).exit;
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      /^tsvision train: cannot write the checkpoint \S+\/(best|last): a file would exceed the size limit \(ulimit -f\) \(EFBIG\); the previous checkpoint in \S+ is kept whole\n$/,
    );
    const ck = loadCheckpoint(join(out, 'last'));
    assert.equal(ck.info.epoch, 1);
    assert.ok(bytes(join(out, 'last', 'model.safetensors')).equals(before));
    assert.deepEqual(leftovers(out), []);
    assert.ok(!existsSync(join(out, 'train.lock')));
    // and without the limit the same command goes on
    const again = await start(trainArgs(out, 2, ['--schedule', 'none'])).exit;
    assert.equal(again.status, 0, again.stderr);
    assert.equal(loadCheckpoint(join(out, 'last')).info.epoch, 2);
  });
});

/** The epoch of the readable `last` checkpoint in `out` (0 when there is none). */
function loadedEpoch(out: string): number {
  const dir = resolveCheckpoint(join(out, 'last'));
  if (dir === null) return 0;
  return (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { epoch: number }).epoch;
}
