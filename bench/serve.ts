/**
 * `node dist/bench/serve.js [--model convnet] [--image-size 64] [--picture 320x240] [--seconds 5] [--threads N]`:
 * throughput and latency of `tsvision serve` for 1 and 16 concurrent clients, with
 * dynamic batching (the defaults) and one picture at a time (--max-batch 1). The
 * checkpoint has random weights (speed does not depend on them); the pictures are
 * noise JPEGs of the given size, posted as raw bodies. The server runs as its own
 * process, the clients in this one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { getModel, modelEntry } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import type { PreprocessConfig } from '../src/transforms/presets.js';
import { NODE_FLAGS } from './models.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function startServer(checkpoint: string, args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...NODE_FLAGS, bin, 'serve', '--checkpoint', checkpoint, '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('close', () => reject(new Error('the server exited')));
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      child.on('close', () => resolve());
      child.kill('SIGTERM');
    });
  return { url, stop };
}

async function drive(url: string, body: Uint8Array, clients: number, ms: number) {
  const latencies: number[] = [];
  const end = performance.now() + ms;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        const r = await fetch(`${url}/v1/classify`, { method: 'POST', body: body as BodyInit, headers: { 'content-type': 'image/jpeg' } });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { perSecond: latencies.length / seconds, p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  const model = option('model', 'convnet');
  const imageSize = Number(option('image-size', String(modelEntry(model).imageSize)));
  const [w, h] = option('picture', '320x240').split('x').map(Number);
  const ms = 1000 * Number(option('seconds', '5'));
  const dir = mkdtempSync(join(tmpdir(), 'tsvision-bench-serve-'));
  try {
    const config = modelEntry(model).configFor({ channels: 3, imageSize, numClasses: 10 });
    const net = getModel(model, config);
    const preprocessing: PreprocessConfig = {
      resizeSize: imageSize,
      cropSize: imageSize,
      interpolation: 'bilinear',
      resizeMode: 'crop',
      channels: 3,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      augment: 'none',
    };
    const checkpoint = join(dir, 'best');
    const classes = Array.from({ length: 10 }, (_, i) => `c${i}`);
    saveCheckpoint(checkpoint, { modelState: net.stateDict(), info: { architecture: { name: model, config }, classes, preprocessing } });
    const picture = await sharp({ create: { width: w, height: h, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })
      .jpeg()
      .toBuffer();
    console.log(`${model} at ${imageSize} px, ${w}x${h} JPEG pictures (${picture.length} bytes), ${ms / 1000} s per row`);
    for (const [label, args] of [
      ['batched (--max-batch 16 --max-wait-ms 5)', []],
      ['one at a time (--max-batch 1)', ['--max-batch', '1']],
    ] as const) {
      const threads = option('threads', '');
      const server = await startServer(checkpoint, [...args, ...(threads ? ['--threads', threads] : [])]);
      await drive(server.url, picture, 4, 500); // warm up
      for (const clients of [1, 16]) {
        const r = await drive(server.url, picture, clients, ms);
        console.log(
          `${label.padEnd(42)} ${String(clients).padStart(2)} clients  ${r.perSecond.toFixed(0).padStart(5)} img/s  p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms`,
        );
      }
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
