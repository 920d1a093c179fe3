/**
 * The soak: long runs must stay flat. Three phases in one process, each sampling the
 * resident memory (process.memoryUsage().rss) and the native allocator's bytes
 * (memoryStats(): live + cached) after a full garbage collection, 100 times over the phase:
 *
 *   train    SOAK_TRAIN_STEPS (default 10,000) AdamW steps of small_net on fresh random
 *            batches of 16 pictures 32x32
 *   predict  SOAK_PREDICTIONS (default 100,000) predictions through Predictor: PNG bytes
 *            decoded and preprocessed (loadInput), in batches of 1 to 16
 *   serve    the HTTP server (src/serve) answering POST /v1/classify from 4 clients for
 *            SOAK_SERVE_SECONDS (default 300)
 *
 * Warm-up is the first 10% of a phase; its level is the sample taken when warm-up ends,
 * and every later sample must stay within 10% of it (SOAK_TOLERANCE, default 0.1).
 * Prints a line per phase and exits 1 if a phase grew past the tolerance.
 *
 * SOAK_PHASES (default train,predict,serve) runs some of them.
 *
 *     npm run soak                                             # the full soak (about 25 minutes on 2 cores)
 *     SOAK_TRAIN_STEPS=500 SOAK_PREDICTIONS=2000 SOAK_SERVE_SECONDS=20 npm run soak   # a short run
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { memoryStats, randn, randint, nn, optim } from '../src/index.js';
import { getModel } from '../src/models/index.js';
import { startServer } from '../src/serve/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { Predictor } from '../src/train/predictor.js';
import { stack } from '../src/tensor/ops/movement.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { PreprocessConfig } from '../src/transforms/presets.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`soak: ${name} must be a positive number, got ${raw}`);
  return v;
}

const TRAIN_STEPS = Math.round(envNumber('SOAK_TRAIN_STEPS', 10_000));
const PREDICTIONS = Math.round(envNumber('SOAK_PREDICTIONS', 100_000));
const SERVE_SECONDS = envNumber('SOAK_SERVE_SECONDS', 300);
const TOLERANCE = envNumber('SOAK_TOLERANCE', 0.1);
const SAMPLES = 100;
const WARMUP = 0.1;
const SIZE = 32;
const CLASSES = ['a', 'b', 'c'];
const CONFIG = { numClasses: CLASSES.length, inChannels: 3, imageSize: SIZE };
const PREPROCESS: PreprocessConfig = {
  resizeSize: SIZE,
  cropSize: SIZE,
  interpolation: 'bilinear',
  resizeMode: 'crop',
  channels: 3,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  augment: 'none',
};

interface Sample {
  /** how far through the phase, 0..1 */
  at: number;
  rss: number;
  native: number;
  /** the allocator's live and cached bytes apart, for SOAK_VERBOSE */
  live: number;
  cached: number;
}

/** The memory after a full collection: what the phase keeps, not what the collector has yet to free. */
function sample(at: number): Sample {
  gc();
  const s = memoryStats();
  return { at, rss: process.memoryUsage().rss, native: s.liveBytes + s.cachedBytes, live: s.liveBytes, cached: s.cachedBytes };
}

interface Verdict {
  phase: string;
  work: string;
  seconds: number;
  lines: string[];
  ok: boolean;
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;

/** Each measure's level at the end of warm-up, its least and most after it, and whether the most stays within the tolerance. */
function judge(phase: string, work: string, seconds: number, samples: Sample[]): Verdict {
  const after = samples.filter((s) => s.at >= WARMUP);
  const lines: string[] = [];
  let ok = after.length >= 2;
  for (const key of ['rss', 'native'] as const) {
    const base = after[0][key];
    const values = after.map((s) => s[key]);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const end = values[values.length - 1];
    const within = hi <= base * (1 + TOLERANCE) && lo >= base * (1 - TOLERANCE);
    ok &&= within;
    lines.push(
      `  ${key === 'rss' ? 'resident' : 'allocator'}: ${mb(base)} after warm-up, ${mb(lo)}..${mb(hi)} after it (${((hi / base - 1) * 100).toFixed(1)}% at most), ` +
        `${mb(end)} at the end: ${within ? 'flat' : `NOT within ${TOLERANCE * 100}%`}`,
    );
  }
  if (process.env.SOAK_VERBOSE) {
    // every tenth sample: the shape of the curve, not only its ends
    const f = (b: number) => (b / 2 ** 20).toFixed(1);
    lines.push(
      `  samples (MB, rss/live/cached): ${samples
        .filter((_, i) => i % 10 === 9)
        .map((s) => `${f(s.rss)}/${f(s.live)}/${f(s.cached)}`)
        .join(' ')}`,
    );
  }
  return { phase, work, seconds, lines, ok };
}

async function soakTrain(): Promise<Verdict> {
  const net = getModel('small_net', CONFIG);
  const opt = new optim.AdamW(net.parameters(), { lr: 1e-3 });
  const lossFn = new nn.CrossEntropyLoss();
  net.train();
  const samples: Sample[] = [];
  const every = Math.max(1, Math.floor(TRAIN_STEPS / SAMPLES));
  const t0 = performance.now();
  for (let step = 0; step < TRAIN_STEPS; step++) {
    const x = randn([16, 3, SIZE, SIZE]);
    const y = randint(0, CLASSES.length, [16]);
    opt.zeroGrad();
    const loss = lossFn.call(net.call(x) as Tensor, y);
    loss.backward();
    opt.step();
    if ((step + 1) % every === 0) samples.push(sample((step + 1) / TRAIN_STEPS));
  }
  return judge('train', `${TRAIN_STEPS} steps of small_net, batch 16 at ${SIZE}x${SIZE}`, (performance.now() - t0) / 1000, samples);
}

/** A few small PNGs of noise, as a client would send them. */
async function pictures(n: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const w = 24 + 8 * i;
    out.push(
      await sharp({ create: { width: w, height: 40, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 50 } } })
        .png()
        .toBuffer(),
    );
  }
  return out;
}

async function soakPredict(): Promise<Verdict> {
  const predictor = new Predictor(getModel('small_net', CONFIG), { preprocess: PREPROCESS, classes: CLASSES });
  const pngs = await pictures(8);
  const samples: Sample[] = [];
  const every = Math.max(1, Math.floor(PREDICTIONS / SAMPLES));
  let done = 0;
  let next = every;
  let seed = 1;
  const t0 = performance.now();
  while (done < PREDICTIONS) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const n = Math.min(1 + (seed % 16), PREDICTIONS - done);
    const inputs = await Promise.all(Array.from({ length: n }, (_, i) => predictor.loadInput(pngs[(done + i) % pngs.length])));
    const probs = predictor.probabilities(stack(inputs, 0));
    predictor.top(probs.data.subarray(0, CLASSES.length), 1);
    done += n;
    while (done >= next) {
      samples.push(sample(Math.min(1, next / PREDICTIONS)));
      next += every;
    }
  }
  return judge('predict', `${PREDICTIONS} predictions through Predictor (PNG decode + preprocess), batches of 1-16`, (performance.now() - t0) / 1000, samples);
}

async function soakServe(): Promise<Verdict> {
  const dir = mkdtempSync(join(tmpdir(), 'tsvision-soak-'));
  try {
    const checkpoint = join(dir, 'best');
    const net = getModel('small_net', CONFIG);
    saveCheckpoint(checkpoint, {
      modelState: net.stateDict(),
      info: { architecture: { name: 'small_net', config: CONFIG }, classes: CLASSES, preprocessing: PREPROCESS },
    });
    const server = await startServer({ checkpoint, port: 0, host: '127.0.0.1' });
    const pngs = await pictures(8);
    const ms = SERVE_SECONDS * 1000;
    const t0 = performance.now();
    let requests = 0;
    let failures = 0;
    let stop = false;
    const client = async (k: number) => {
      for (let i = k; !stop; i++) {
        const r = await fetch(`${server.url}/v1/classify`, {
          method: 'POST',
          body: new Uint8Array(pngs[i % pngs.length]),
          headers: { 'content-type': 'image/png' },
        });
        await r.arrayBuffer();
        if (r.status === 200) requests++;
        else failures++;
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    const samples: Sample[] = [];
    for (let i = 1; i <= SAMPLES; i++) {
      await sleep(Math.max(0, t0 + (ms * i) / SAMPLES - performance.now()));
      samples.push(sample(i / SAMPLES));
    }
    stop = true;
    await Promise.all(clients);
    await server.close();
    const seconds = (performance.now() - t0) / 1000;
    const v = judge(
      'serve',
      `${requests} requests answered by the server in ${SERVE_SECONDS} s from 4 clients (${(requests / seconds).toFixed(0)}/s)`,
      seconds,
      samples,
    );
    if (failures > 0) {
      v.ok = false;
      v.lines.push(`  ${failures} requests failed`);
    }
    return v;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const verdicts: Verdict[] = [];
const PHASES = { train: soakTrain, predict: soakPredict, serve: soakServe };
const chosen = (process.env.SOAK_PHASES ?? 'train,predict,serve').split(',').map((p) => p.trim());
for (const name of chosen) {
  const phase = PHASES[name as keyof typeof PHASES];
  if (!phase) throw new Error(`soak: SOAK_PHASES: unknown phase '${name}' (the phases are ${Object.keys(PHASES).join(', ')})`);
  const v = await phase();
  verdicts.push(v);
  process.stdout.write(`${v.phase}: ${v.work}, ${v.seconds.toFixed(1)} s\n${v.lines.join('\n')}\n`);
}
const failed = verdicts.filter((v) => !v.ok).map((v) => v.phase);
process.stdout.write(
  failed.length
    ? `soak: ${failed.join(', ')} did not stay within ${TOLERANCE * 100}% of the level after warm-up\n`
    : `soak: every phase stayed within ${TOLERANCE * 100}% after warm-up\n`,
);
process.exitCode = failed.length ? 1 : 0;
