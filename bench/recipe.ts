/**
 * Workload `recipe-fashion`: does `--recipe strong` help? A 10-class folder of Fashion-MNIST
 * PNGs (Debian's dataset-fashion-mnist: the first RECIPE_FASHION_TRAIN training pictures,
 * default 6000, and the first RECIPE_FASHION_VAL test pictures, default 1000), written once
 * into a cache folder; then `tsvision train` on it for RECIPE_FASHION_EPOCHS epochs (default
 * 10) with its defaults, and again with `--recipe strong`, each in its own process. Rows: the
 * validation accuracy of each run's best checkpoint (evaluation/metrics.json) and its wall
 * time. One run each (training results, not timings, so `--reps` is not used).
 *
 *   node dist/bench/recipe.js write DIR TRAIN VAL   writes the folder (what the workload runs first)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads } from '../src/index.js';
import { readIdx } from '../src/data/mnist.js';
import { NODE_FLAGS } from './models.js';
import type { Row } from './report.js';

const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
const PLACES = ['/usr/share/datasets/fashion-mnist', '/usr/share/dataset-fashion-mnist', '/usr/share/fashion-mnist'];
const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

const here = fileURLToPath(import.meta.url);
const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));

/** The idx file `name` in `dir`, raw or gzipped, or null. */
function idxFile(dir: string, name: string): string | null {
  for (const ext of ['', '.gz']) if (existsSync(join(dir, name + ext))) return join(dir, name + ext);
  return null;
}

/** The folder holding the four idx files (FASHION_MNIST_DIR first, then Debian's places), or null. */
export function fashionDir(): string | null {
  const dirs = [process.env.FASHION_MNIST_DIR, ...PLACES].filter((d): d is string => !!d);
  return dirs.find((d) => FILES.every((f) => idxFile(d, f) !== null)) ?? null;
}

/** Writes split/<class>/<i>.png for the first `count` pictures of the idx pair `images`, `labels`. */
async function writeSplit(src: string, images: string, labels: string, count: number, dir: string): Promise<void> {
  const { default: sharp } = await import('sharp');
  const x = readIdx(idxFile(src, images)!).data;
  const y = readIdx(idxFile(src, labels)!).data;
  for (const c of CLASSES) mkdirSync(join(dir, c), { recursive: true });
  const n = Math.min(count, y.length);
  for (let start = 0; start < n; start += 256) {
    const writes: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(n, start + 256); i++) {
      const raw = Buffer.from(x.subarray(i * 784, (i + 1) * 784));
      writes.push(
        sharp(raw, { raw: { width: 28, height: 28, channels: 1 } })
          .png()
          .toFile(join(dir, CLASSES[y[i]], `${i}.png`)),
      );
    }
    await Promise.all(writes);
  }
}

/** The cached folder of `train` + `val` pictures, written (into a temporary name, then renamed) when absent. */
function cachedFolder(src: string, train: number, val: number): string {
  const root = join(process.env.TSVISION_HOME ?? join(homedir(), '.cache', 'tsvision'), 'bench-recipe', `fashion-${train}-${val}`);
  if (existsSync(join(root, 'val'))) return root;
  const partial = `${root}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [here, 'write', partial, String(train), String(val)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`recipe-fashion: writing the folder into ${partial} failed`);
  renameSync(partial, root);
  return root;
}

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1) throw new Error(`recipe-fashion: ${name} must be a positive integer, got ${process.env[name]}`);
  return v;
}

/** One `tsvision train` run: its best checkpoint's validation accuracy and its wall time. */
function trainRun(folder: string, out: string, epochs: number, extra: string[]): { accuracy: number; seconds: number } {
  const args = [...NODE_FLAGS, bin, 'train', '--data', join(folder, 'train'), '--val', join(folder, 'val'), '--epochs', String(epochs), '--out', out, ...extra];
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0) throw new Error(`recipe-fashion: tsvision train ${extra.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').at(-1)}`);
  // the run's header: what the defaults and the recipe chose
  for (const line of r.stdout.split('\n')) if (/^(Input|Image size|Channels|Augmentation|Recipe)/.test(line)) console.log(`  ${line}`);
  const metrics = JSON.parse(readFileSync(join(out, 'evaluation', 'metrics.json'), 'utf8')) as { accuracy: number };
  return { accuracy: metrics.accuracy, seconds };
}

export function recipeFashion(): Row[] {
  const src = fashionDir();
  if (!src) {
    console.log(
      `recipe-fashion: Fashion-MNIST's idx files are not in ${[process.env.FASHION_MNIST_DIR, ...PLACES].filter(Boolean).join(', ')}; ` +
        '`apt-get install -y dataset-fashion-mnist` (or set FASHION_MNIST_DIR); skipped',
    );
    return [];
  }
  const train = envInt('RECIPE_FASHION_TRAIN', 6000);
  const val = envInt('RECIPE_FASHION_VAL', 1000);
  const epochs = envInt('RECIPE_FASHION_EPOCHS', 10);
  const folder = cachedFolder(src, train, val);
  const outs = mkdtempSync(join(tmpdir(), 'tsvision-bench-recipe-'));
  const rows: Row[] = [];
  try {
    for (const [name, extra] of [
      ['plain', []],
      ['strong', ['--recipe', 'strong']],
    ] as const) {
      console.log(`recipe-fashion: ${name}, ${train} training and ${val} validation pictures, ${epochs} epochs`);
      const r = trainRun(folder, join(outs, name), epochs, [...extra]);
      const row = (what: string, unit: string, value: number, lowerIsBetter = false): Row => ({
        workload: 'recipe-fashion',
        case: `${name} ${what}`,
        unit,
        tsvision: value,
        tsvisionThreads: getNumThreads(),
        pytorch: null,
        pytorchThreads: null,
        ...(lowerIsBetter ? { lowerIsBetter } : {}),
      });
      rows.push(row('val acc', '%', r.accuracy * 100), row('time', 's', r.seconds, true));
    }
  } finally {
    rmSync(outs, { recursive: true, force: true });
  }
  return rows;
}

// `node dist/bench/recipe.js write DIR TRAIN VAL`: the folder, written by a process of its own (sharp is asynchronous; workloads are not)
if (process.argv[1] === here && process.argv[2] === 'write') {
  const [dir, train, val] = [process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
  const src = fashionDir();
  if (!src) throw new Error('recipe-fashion: no Fashion-MNIST idx files found');
  await writeSplit(src, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', train, join(dir, 'train'));
  await writeSplit(src, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte', val, join(dir, 'val'));
  console.log(`recipe-fashion: wrote ${train} training and ${val} validation PNGs into ${dir}`);
}
