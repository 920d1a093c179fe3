/**
 * The bad-input corpus (tools/make-bad-corpus.ts, written into a temporary folder) fed to
 * every entry point that reads that kind of file: pictures to ImageFolder, train, evaluate,
 * predict, serve and tag; checkpoints and weights to Model.load, train --weights and
 * train --resume; a predictions file to rescore. Each bad file gets a
 * one-line error or warning naming it, the run goes on where it can, no process prints a
 * stack trace, and no partial output file is left. (tsvision audit is not covered here.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ImageFolder } from '../src/data/image-folder.js';
import { loadImage } from '../src/data/decode.js';
import { startServer } from '../src/serve/index.js';
import { Model } from '../src/train/model.js';
import { BAD_CHECKPOINTS, makeBadCorpus, READABLE, UNREADABLE } from '../tools/make-bad-corpus.js';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));

let root = '';
let bad = '';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function tsvision(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_FLAGS, bin, ...args], { cwd: root, env: { ...process.env, TSVISION_DEBUG: '', TSVISION_NUM_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** No stack trace and no uncaught-error report in a process's output. */
function assertNoCrash(run: Run, what: string): void {
  const all = run.stdout + run.stderr;
  assert.doesNotMatch(all, /^\s+at .+:\d+:\d+\)?$/m, `${what}: a stack trace\n${all}`);
  assert.doesNotMatch(all, /Uncaught|TypeError|RangeError|ReferenceError|Segmentation|Aborted/, `${what}\n${all}`);
  assert.ok(run.status === 0 || run.status === 1, `${what}: exit status ${run.status}\n${all}`);
}

/** Files under dir that a write left half done (temporaries of atomic writes). */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (/\.tmp(-\d+)?$|\.tmp-|\.old$/.test(e.name)) out.push(relative(root, p));
      if (e.isDirectory()) visit(p);
    }
  };
  visit(dir);
  return out;
}

const unreadable = Object.keys(UNREADABLE);
/** --weights loads what fits: a missing tensor or one of another shape starts fresh (the fine-tuning case) */
const PARTIAL_WEIGHTS = ['missing-tensor', 'wrong-shape'];

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-bad-'));
  bad = join(root, 'bad');
  await makeBadCorpus(bad);
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('pictures', () => {
  test('loadImage: the odd formats decode to their shape; EXIF orientation is applied; the bad ones reject naming why', async () => {
    for (const [name, [h, w]] of Object.entries(READABLE)) {
      const img = await loadImage(join(bad, 'images', name));
      assert.deepEqual(img.shape, [h, w, 3], name);
    }
    const upright = await loadImage(join(bad, 'images', 'exif-rotated.jpg'));
    const px = (y: number, x: number) => Array.from(upright.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    const [tr, tg, tb] = px(5, 10);
    const [br, , bb] = px(34, 10);
    assert.ok(tr > 200 && tg < 60 && tb < 60, `the top is red: ${px(5, 10)}`);
    assert.ok(br < 60 && bb > 200, `the bottom is blue: ${px(34, 10)}`);
    for (const name of unreadable) await assert.rejects(loadImage(join(bad, 'images', name)), name);
  });

  test('ImageFolder: the symlink loop is walked once, the symlink back to the data folder is refused with a warning, every bad file is reported once', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const errors: string[] = [];
    let ds: ImageFolder;
    try {
      ds = new ImageFolder(join(bad, 'data'), { onError: (e) => errors.push(e.message) });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.ok(
      warnings.some((w) => w.includes(join(bad, 'data', 'a', 'all'))),
      `a warning names the symlink: ${warnings.join(' | ')}`,
    );
    const inA = ds.samples.filter(([, k]) => k === 0).map(([p]) => relative(join(bad, 'data', 'a'), p));
    assert.equal(inA.length, 6 + unreadable.length + Object.keys(READABLE).length, inA.join(' '));
    assert.ok(
      inA.every((p) => !p.includes('loop') && !p.includes('all')),
      inA.join(' '),
    );
    assert.equal(ds.samples.filter(([, k]) => k === 1).length, 6);
    for (let i = 0; i < ds.length; i++) {
      try {
        await ds.getItem(i);
      } catch (e) {
        assert.equal((e as Error).name, 'SampleError');
      }
    }
    assert.equal(errors.length, unreadable.length, errors.join('\n'));
    for (const [name, re] of Object.entries(UNREADABLE))
      assert.ok(
        errors.some((e) => re.test(e)),
        `${name}: ${errors.join('\n')}`,
      );
    assert.throws(() => new ImageFolder(join(bad, 'empty-class')), /'b'.*no images/);
    assert.throws(() => new ImageFolder(join(bad, 'one-class')), /only one class folder \('a'\)/);
  });
});

describe('the command line', () => {
  test('train and evaluate on the corpus: each bad file named once, the run goes on; empty and one-class folders: one line', async () => {
    const run = await tsvision(
      ...['train', '--data', 'bad/data', '--val', 'bad/data', '--model', 'small_net', '--image-size', '16', '--epochs', '1'],
      ...['--batch-size', '8', '--augment', 'none', '--out', 'run'],
    );
    assertNoCrash(run, 'train');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /bad\/data\/a\/all/);
    for (const name of unreadable) assert.match(run.stderr, new RegExp(`bad/data/a/bad/${name.replace('.', '\\.')}`), `train names ${name}`);
    assert.ok(existsSync(join(root, 'run', 'best', 'checkpoint.json')));

    const [evaluation, empty, one] = await Promise.all([
      tsvision('evaluate', '--checkpoint', 'run/best', '--data', 'bad/data', '--out', 'eval'),
      tsvision('train', '--data', 'bad/empty-class', '--model', 'small_net', '--image-size', '16', '--out', 'run-empty'),
      tsvision('train', '--data', 'bad/one-class', '--model', 'small_net', '--image-size', '16', '--out', 'run-one'),
    ]);
    assertNoCrash(evaluation, 'evaluate');
    assert.equal(evaluation.status, 0, evaluation.stderr);
    for (const name of unreadable) assert.match(evaluation.stderr, new RegExp(`${name.replace('.', '\\.')}`), `evaluate names ${name}`);
    const lines = readFileSync(join(root, 'eval', 'predictions.txt'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(lines.length, 12 + Object.keys(READABLE).length);
    for (const [r, what] of [
      [empty, 'empty class'],
      [one, 'one class'],
    ] as const) {
      assertNoCrash(r, what);
      assert.equal(r.status, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^tsvision train: /);
    }
    assert.ok(!existsSync(join(root, 'run-empty')) && !existsSync(join(root, 'run-one')), 'a refused run writes nothing');
  });

  test('predict and tag a folder of the bad pictures: the readable ones answered, each bad one named', async () => {
    rmSync(join(root, 'tags.jsonl'), { force: true });
    const [predict, tag] = await Promise.all([
      tsvision('predict', '--checkpoint', 'bad/checkpoints/good', 'bad/images', '--json'),
      tsvision('tag', '--checkpoint', 'bad/checkpoints/good', '--input', 'bad/images', '--out', 'tags.jsonl'),
    ]);
    assertNoCrash(predict, 'predict');
    assert.equal(predict.status, 1, 'predict exits 1 when it skipped a file');
    const rows = JSON.parse(predict.stdout) as { path: string }[];
    assert.deepEqual(rows.map((r) => r.path.split('/').pop()).sort(), Object.keys(READABLE).sort());
    for (const name of unreadable) assert.match(predict.stderr, new RegExp(`skipped bad/images/${name.replace('.', '\\.')}`));
    assertNoCrash(tag, 'tag');
    const tagged = readFileSync(join(root, 'tags.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { path: string; error?: string });
    assert.equal(tagged.length, unreadable.length + Object.keys(READABLE).length);
    assert.deepEqual(
      tagged
        .filter((t) => t.error)
        .map((t) => t.path)
        .sort(),
      unreadable.sort(),
    );
  });

  test('the broken checkpoints: Model.load, train --weights and train --resume each say one line naming the file', async () => {
    for (const [name, re] of Object.entries(BAD_CHECKPOINTS)) {
      await assert.rejects(Model.load(join(bad, 'checkpoints', name)), (e: Error) => {
        assert.match(e.message, re, `Model.load ${name}: ${e.message}`);
        assert.ok(e.message.includes(join(bad, 'checkpoints', name)), `Model.load ${name} names the checkpoint: ${e.message}`);
        return true;
      });
    }
    // a run to resume: each bad checkpoint takes the place of its `last`
    assert.ok(existsSync(join(root, 'run', 'run.json')), 'the train test ran first');
    const jobs: [string, Promise<Run>][] = [];
    for (const name of Object.keys(BAD_CHECKPOINTS)) {
      const out = `resume-${name}`;
      cpSync(join(root, 'run'), join(root, out), { recursive: true });
      rmSync(join(root, out, 'last'), { recursive: true });
      // the corpus's checkpoints record epoch 0, so the run's one epoch is still to train from `last`
      cpSync(join(bad, 'checkpoints', name), join(root, out, 'last'), { recursive: true });
      if (name !== 'malformed-json')
        jobs.push([
          `--weights ${name}`,
          tsvision(
            'train',
            '--data',
            'bad/data',
            '--model',
            'small_net',
            '--image-size',
            '16',
            '--epochs',
            '1',
            '--weights',
            `bad/weights/${name}.safetensors`,
            '--out',
            `w-${name}`,
          ),
        ]);
      jobs.push([`--resume ${name}`, tsvision('train', '--data', 'bad/data', '--out', out, '--resume')]);
    }
    // two at a time: the machine has few cores
    for (let i = 0; i < jobs.length; i += 2) await Promise.all(jobs.slice(i, i + 2).map(([, p]) => p));
    const problems: string[] = [];
    for (const [what, p] of jobs) {
      const r = await p;
      const name = what.split(' ')[1];
      try {
        assertNoCrash(r, what);
        if (what.startsWith('--weights') && PARTIAL_WEIGHTS.includes(name)) {
          // what does not fit starts fresh, and one line says which tensors
          assert.equal(r.status, 0, `${what}: ${r.stderr}`);
          assert.match(r.stdout, new RegExp(`^Weights: bad/weights/${name}\\.safetensors: loaded \\d+ of \\d+ tensors; newly initialised: `, 'm'), what);
          continue;
        }
        assert.equal(r.status, 1, `${what} refuses: ${r.stdout}${r.stderr}`);
        const errorLines = r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('tsvision '));
        assert.equal(errorLines.length, 1, `${what}: ${r.stderr}`);
        assert.match(errorLines[0], BAD_CHECKPOINTS[name], `${what}: ${errorLines[0]}`);
        assert.match(errorLines[0], new RegExp(name), `${what} names the file: ${errorLines[0]}`);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    assert.deepEqual(problems, []);
    for (const name of Object.keys(BAD_CHECKPOINTS)) {
      if (!PARTIAL_WEIGHTS.includes(name)) assert.ok(!existsSync(join(root, `w-${name}`, 'last')), `--weights ${name} saved nothing`);
      assert.deepEqual(
        readdirSync(join(root, `resume-${name}`, 'last')).sort(),
        readdirSync(join(bad, 'checkpoints', name)).sort(),
        `--resume ${name} left last as it was`,
      );
    }
    assert.deepEqual(leftovers(root), []);
  });

  test('rescore a predictions file with a short line: one line naming the file and the line', async () => {
    const r = await tsvision('rescore', 'bad/predictions/short-line.txt');
    assertNoCrash(r, 'rescore');
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tsvision rescore: .*short-line\.txt.*(line )?4/);
  });
});

describe('serve', () => {
  test('each picture POSTed: readable ones classified, bad ones a 4xx naming why, the server still healthy', async () => {
    const server = await startServer({ checkpoint: join(bad, 'checkpoints', 'good'), port: 0, host: '127.0.0.1' });
    try {
      for (const name of [...Object.keys(READABLE), ...unreadable]) {
        const bytes = readFileSync(join(bad, 'images', name));
        const r = await fetch(`${server.url}/v1/classify`, {
          method: 'POST',
          body: new Uint8Array(bytes),
          headers: { 'content-type': 'application/octet-stream' },
        });
        const body = (await r.json()) as { results?: unknown[]; error?: string };
        if (name in READABLE) assert.equal(r.status, 200, `${name}: ${JSON.stringify(body)}`);
        else {
          assert.ok(r.status >= 400 && r.status < 500, `${name}: ${r.status} ${JSON.stringify(body)}`);
          assert.equal(typeof body.error, 'string', name);
          assert.ok(!body.error!.includes('\n'), `${name}: one line`);
        }
      }
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
    } finally {
      await server.close();
    }
  });
});
