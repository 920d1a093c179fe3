/**
 * tsvision serve against the real server on 127.0.0.1 (port 0), with a small_net
 * checkpoint of random weights on 32-pixel RGB input and pictures written with
 * sharp: answers equal Predictor.classifyFiles', raw and multipart bodies, the
 * operating point, every kind of bad request, batching, /health while the model
 * is saturated, /metrics, graceful shutdown, a load test and the command itself.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { writePredictions, type PredictionRecord } from '../src/metrics/predictions.js';
import { getModel } from '../src/models/index.js';
import { createServer, DynamicBatcher, ServeError, startServer, type ListeningServer, type ServeOptions } from '../src/serve/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { defaultPredictionsFile, operatingPointFor } from '../src/train/operating-point.js';
import { Predictor } from '../src/train/predictor.js';
import type { PreprocessConfig } from '../src/transforms/presets.js';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
const CLASSES = ['logo', 'poster', 'other'];

let root = '';
let checkpoint = '';
/** picture name → its bytes and every class's probability by Predictor.classifyFiles */
const pictures = new Map<string, { bytes: Buffer; probs: number[]; type: string }>();
let big: Buffer; // a 1600x1200 JPEG: tens of milliseconds of preprocessing each
/** a 7000x5000 JPEG (35 megapixels: the resize alone takes a second here) and its probabilities: keeps the worker busy */
let huge: { bytes: Buffer; probs: number[] };
const servers: ListeningServer[] = [];

async function serve(options: Partial<ServeOptions> = {}): Promise<ListeningServer> {
  const s = await startServer({ checkpoint, port: 0, host: '127.0.0.1', ...options });
  servers.push(s);
  return s;
}

/** A PNG of side x side 1-bit grey pixels, all black, written by hand: 48 KB on disk, 400 million pixels decoded. */
function pngBomb(side: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth 1, colour type 0 (grey)
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * side); // filter byte 0 and black pixels: all zeros
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const noise = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: 'black', noise: { type: 'gaussian', mean: 128, sigma: 60 } } });

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-serve-'));
  checkpoint = join(root, 'run', 'best');
  const config = { numClasses: 3, inChannels: 3, imageSize: 32 };
  const net = getModel('small_net', config);
  const preprocessing: PreprocessConfig = {
    resizeSize: 36,
    cropSize: 32,
    interpolation: 'bilinear',
    resizeMode: 'crop',
    channels: 3,
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
    augment: 'none',
  };
  saveCheckpoint(checkpoint, { modelState: net.stateDict(), info: { architecture: { name: 'small_net', config }, classes: CLASSES, preprocessing } });
  const dir = join(root, 'pictures');
  mkdirSync(dir);
  const made: [string, Buffer, string][] = [
    ['a.png', await noise(48, 40).png().toBuffer(), 'image/png'],
    ['b.jpg', await noise(30, 64).jpeg().toBuffer(), 'image/jpeg'],
    ['c.webp', await noise(100, 100).webp().toBuffer(), 'image/webp'],
    ['d.png', await noise(20, 20).png().toBuffer(), 'image/png'],
    [
      'e.png',
      await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 250, g: 30, b: 10, alpha: 0.5 } } })
        .png()
        .toBuffer(),
      'image/png',
    ],
    ['f.jpg', await noise(640, 480).jpeg().toBuffer(), 'image/jpeg'],
  ];
  const paths = made.map(([name, bytes]) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  });
  const results = await Predictor.fromCheckpoint(checkpoint).classifyFiles(paths, { batchSize: 4 });
  assert.equal(results.length, made.length);
  for (const r of results) pictures.set(made[r.index][0], { bytes: made[r.index][1], probs: r.probs, type: made[r.index][2] });
  big = await noise(1600, 1200).jpeg({ quality: 80 }).toBuffer();
  const hugeBytes = await sharp({ create: { width: 7000, height: 5000, channels: 3, background: { r: 40, g: 200, b: 90 } } })
    .jpeg()
    .toBuffer();
  writeFileSync(join(dir, 'huge.jpg'), hugeBytes);
  const [hugeResult] = await Predictor.fromCheckpoint(checkpoint).classifyFiles([join(dir, 'huge.jpg')]);
  huge = { bytes: hugeBytes, probs: hugeResult.probs };

  // an evaluation beside the checkpoint: the pictures' own logo probabilities, the upper half labelled logo
  const byLogo = [...pictures.values()].map((p) => p.probs[0]).sort((a, b) => b - a);
  const records: PredictionRecord[] = byLogo.map((p, i) => ({ probs: [p, (1 - p) / 2, (1 - p) / 2], target: i < 3 ? 0 : 2, predicted: 0, path: `v${i}.png` }));
  mkdirSync(join(root, 'run', 'evaluation'));
  writePredictions(defaultPredictionsFile(checkpoint), CLASSES, records);
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

interface Answer {
  results: { name?: string; top: { class: string; index: number; probability: number }[]; passes?: boolean }[];
  operatingPoint?: { class: string; threshold: number; goal: string; target: number };
}

function post(url: string, body: Uint8Array | FormData, type?: string): Promise<Response> {
  return fetch(url, { method: 'POST', body: body as BodyInit, headers: type ? { 'content-type': type } : {} });
}

/** A file part (Blob wants a Uint8Array of its own ArrayBuffer). */
const blob = (bytes: Uint8Array, type?: string) => new Blob([new Uint8Array(bytes)], { type });

function form(names: string[]): FormData {
  const f = new FormData();
  for (const n of names) f.append('file', blob(pictures.get(n)!.bytes, pictures.get(n)!.type), n);
  return f;
}

/** Every class of the answer has the reference probability (1e-5), the classes sorted by it. */
function assertMatches(top: Answer['results'][number]['top'], name: string, k = 3): void {
  const probs = name === 'huge.jpg' ? huge.probs : pictures.get(name)!.probs;
  assert.equal(top.length, Math.min(k, CLASSES.length), name);
  for (const t of top) {
    assert.equal(t.class, CLASSES[t.index], name);
    assert.ok(Math.abs(t.probability - probs[t.index]) <= 1e-5, `${name} ${t.class}: ${t.probability} vs ${probs[t.index]}`);
  }
  for (let i = 1; i < top.length; i++) assert.ok(top[i - 1].probability >= top[i].probability, name);
  assert.equal(top[0].index, probs.indexOf(Math.max(...probs)), name);
}

async function json<T>(r: Response): Promise<T> {
  return (await r.json()) as T;
}

describe('DynamicBatcher', () => {
  test('batches what arrives together, up to maxBatch; a lone item waits maxWaitMs unless nothing is on its way; an abort takes a waiting item out', async () => {
    const sizes: number[] = [];
    const b = new DynamicBatcher<number, number>(async (xs) => xs.map((x) => x * 2), { maxBatch: 4, maxWaitMs: 30, onBatch: (n) => sizes.push(n) });
    assert.deepEqual(await Promise.all([1, 2, 3, 4, 5, 6].map((x) => b.submit(x))), [2, 4, 6, 8, 10, 12]);
    assert.deepEqual(sizes, [4, 2]);
    const t = performance.now();
    assert.equal(await b.submit(7), 14);
    assert.ok(performance.now() - t >= 25, 'a lone item waits for company');
    const ac = new AbortController();
    const waiting = b.submit(8, ac.signal);
    ac.abort(new Error('gone'));
    await assert.rejects(waiting, /gone/);
    assert.equal(b.queued, 0);
    // with nothing on its way, a lone item starts at once; with something on its way, it waits for it
    let incoming = 0;
    const eager = new DynamicBatcher<number, number>(async (xs) => xs, {
      maxBatch: 4,
      maxWaitMs: 60000,
      incoming: () => incoming,
      onBatch: (n) => sizes.push(n),
    });
    sizes.length = 0;
    const t1 = performance.now();
    assert.equal(await eager.submit(1), 1);
    assert.ok(performance.now() - t1 < 1000);
    incoming = 1;
    const first = eager.submit(2);
    await new Promise((r) => setTimeout(r, 20));
    incoming = 0;
    assert.deepEqual(await Promise.all([first, eager.submit(3)]), [2, 3]);
    assert.deepEqual(sizes, [1, 2]);
    incoming = 1;
    const lone = eager.submit(4);
    incoming = 0; // what was on its way never came
    eager.wake();
    assert.equal(await lone, 4);
    const failing = new DynamicBatcher<number, number>(async () => [], { maxBatch: 2, maxWaitMs: 0 });
    await assert.rejects(failing.submit(1), /a batch of 1 items got 0 outputs/);
  });
});

describe('tsvision serve', () => {
  let s: ListeningServer;
  before(async () => {
    s = await serve();
  });

  test('a raw body: the top classes with the probabilities of Predictor.classifyFiles', async () => {
    for (const [name, { bytes, type }] of pictures) {
      const r = await post(`${s.url}/v1/classify`, bytes, type);
      assert.equal(r.status, 200, name);
      const a = await json<Answer>(r);
      assert.equal(a.results.length, 1);
      assert.equal(a.results[0].name, undefined);
      assert.equal(a.results[0].passes, undefined);
      assertMatches(a.results[0].top, name);
    }
    // octet-stream, no content type at all, and ?topk
    const b = pictures.get('b.jpg')!.bytes;
    const r1 = await json<Answer>(await post(`${s.url}/v1/classify?topk=1`, b, 'application/octet-stream'));
    assertMatches(r1.results[0].top, 'b.jpg', 1);
    const r2 = await json<Answer>(await post(`${s.url}/v1/classify?topk=2`, b));
    assertMatches(r2.results[0].top, 'b.jpg', 2);
  });

  test('multipart: several files in one request, answered in order with their names', async () => {
    const names = ['a.png', 'b.jpg', 'c.webp', 'd.png', 'e.png', 'f.jpg'];
    const r = await post(`${s.url}/v1/classify`, form(names));
    assert.equal(r.status, 200);
    const a = await json<Answer>(r);
    assert.deepEqual(
      a.results.map((x) => x.name),
      names,
    );
    a.results.forEach((x, i) => assertMatches(x.top, names[i]));
    const one = await json<Answer>(await post(`${s.url}/v1/classify?topk=2`, form(['e.png'])));
    assertMatches(one.results[0].top, 'e.png', 2);
  });

  test('GET /health and GET /v1/model', async () => {
    const h = await json<{ status: string; model: string; classes: string[]; uptimeSeconds: number }>(await fetch(`${s.url}/health`));
    assert.equal(h.status, 'ok');
    assert.equal(h.model, 'small_net');
    assert.deepEqual(h.classes, CLASSES);
    assert.ok(h.uptimeSeconds >= 0);
    const m = await json<Record<string, any>>(await fetch(`${s.url}/v1/model`));
    assert.deepEqual(m.architecture, { name: 'small_net', config: { numClasses: 3, inChannels: 3, imageSize: 32 } });
    assert.deepEqual(m.classes, CLASSES);
    assert.equal(m.preprocessing.resizeSize, 36);
    assert.equal(m.operatingPoint, null);
    assert.deepEqual(m.batching, { maxBatch: 16, maxWaitMs: 5 });
    // the kernels run in the worker thread: the native addon loads there too
    if (process.env.TSVISION_BACKEND !== 'reference') assert.equal(m.backend, 'native');
  });

  test('bad requests get 400/404/405/413 with a reason, and the server goes on serving', async () => {
    const expect = async (r: Response, status: number, message: RegExp) => {
      const body = await json<{ statusCode: number; message: string }>(r);
      assert.equal(r.status, status, body.message);
      assert.equal(body.statusCode, status);
      assert.match(body.message, message);
    };
    const url = `${s.url}/v1/classify`;
    await expect(await post(url, new Uint8Array(0), 'image/png'), 400, /the request has no picture/);
    await expect(await fetch(url, { method: 'POST' }), 400, /the request has no picture/);
    await expect(
      await post(url, Buffer.from('this is not a picture at all'), 'image/jpeg'),
      400,
      /the body is not a picture that can be decoded: .*unsupported image format/,
    );
    const png = pictures.get('a.png')!.bytes;
    await expect(await post(url, png.subarray(0, Math.floor(png.length / 2)), 'image/png'), 400, /the body is not a picture that can be decoded/);
    const f = form(['a.png']);
    f.append('file', blob(Buffer.from('garbage')), 'bad.bin');
    await expect(await post(url, f), 400, /part 2 \('bad\.bin'\) is not a picture/);
    const fields = new FormData();
    fields.append('note', 'no file here');
    await expect(await post(url, fields), 400, /the multipart body has no file/);
    await expect(await post(`${url}?topk=0`, png, 'image/png'), 400, /\?topk must be a positive integer/);
    const get = await fetch(url);
    assert.equal(get.headers.get('allow'), 'POST');
    await expect(get, 405, /GET is not allowed on \/v1\/classify; use POST/);
    await expect(await post(`${s.url}/v2/classify`, png), 404, /no route POST \/v2\/classify/);
    await expect(await fetch(`${s.url}/health`, { method: 'DELETE' }), 405, /use GET/);
    // the decompression bomb is refused from its header, by the default limit of 40 million pixels too
    await expect(await post(url, pngBomb(20000), 'image/png'), 413, /the picture has more than 40000000 pixels/);
    const after = await json<Answer>(await post(url, png, 'image/png'));
    assertMatches(after.results[0].top, 'a.png');
  });

  test('/health answers in milliseconds while a burst saturates the model', async () => {
    // the server in a process of its own, so that its event loop is not this one's, busy sending the burst
    const server = await spawnServer();
    const url = server.url;
    const burst = Array.from({ length: 24 }, () => post(`${url}/v1/classify`, big, 'image/jpeg'));
    let done = 0;
    for (const p of burst) void p.then(() => done++);
    const t0 = performance.now();
    // a health check every 20 ms while the burst is answered: received, decoded, then preprocessed and classified in the worker
    const latencies: number[] = [];
    while (done < burst.length && latencies.length < 500) {
      const t = performance.now();
      const h = await fetch(`${url}/health`);
      assert.equal(h.status, 200);
      assert.equal((await json<{ status: string }>(h)).status, 'ok');
      if (done < burst.length) latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    const answers = await Promise.all(burst);
    const burstMs = performance.now() - t0;
    assert.ok(answers.every((r) => r.status === 200));
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
    const answeredDuringBurst = latencies.length;
    console.log(
      `# /health during a burst of 24 1600x1200 JPEGs (answered in ${burstMs.toFixed(0)} ms): ${answeredDuringBurst} checks, ` +
        `median ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms`,
    );
    // the burst takes seconds of preprocessing in the worker; health checks answered while it was still queued
    assert.ok(answeredDuringBurst >= 5, `only ${answeredDuringBurst} health checks answered during the burst`);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^tsvision_images_classified_total 24$/m);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.out.stderr);
  });

  test('GET /metrics: Prometheus text with requests, latency, batch sizes, images and errors', async () => {
    const r = await fetch(`${s.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    assert.ok(value(/^tsvision_http_requests_total\{method="POST",route="\/v1\/classify",status="200"\} (\d+)$/m) >= 10);
    assert.ok(value(/^tsvision_http_requests_total\{method="POST",route="\/v1\/classify",status="400"\} (\d+)$/m) >= 6);
    assert.ok(value(/^tsvision_http_requests_total\{method="GET",route="\/health",status="200"\} (\d+)$/m) >= 1);
    assert.ok(value(/^tsvision_images_classified_total (\d+)$/m) >= 6 + 6 + 3);
    assert.match(text, /^tsvision_http_request_duration_seconds_bucket\{le="0\.005",route="\/health"\} \d+$/m);
    const batches = value(/^tsvision_batch_size_count (\d+)$/m);
    const images = value(/^tsvision_batch_size_sum (\d+)$/m);
    assert.ok(batches >= 1 && images >= 15, `${batches} batches of ${images} pictures`);
    assert.ok(value(/^tsvision_errors_total\{kind="bad_image"\} (\d+)$/m) >= 3);
    assert.equal(value(/^tsvision_errors_total\{kind="too_many_pixels"\} (\d+)$/m), 1);
    assert.equal(value(/^tsvision_errors_total\{kind="method_not_allowed"\} (\d+)$/m), 2);
    assert.equal(value(/^tsvision_queue_depth (\d+)$/m), 0);
    assert.ok(value(/^process_resident_memory_bytes (\d+)$/m) > 1e6);
    assert.match(text, /^tsvision_inference_seconds_count \d+$/m);
  });
});

describe('tsvision serve: options', () => {
  test('the operating point: passes per picture, and the point in each answer and in /v1/model', async () => {
    const s = await serve({ operatingPoint: { className: 'logo', goal: 'recall', target: 0.6 } });
    const ref = operatingPointFor({ classes: CLASSES, source: checkpoint }, { className: 'logo', goal: 'recall', target: 0.6 });
    const names = [...pictures.keys()];
    const a = await json<Answer>(await post(`${s.url}/v1/classify?topk=1`, form(names)));
    assert.deepEqual(a.operatingPoint, { class: 'logo', threshold: ref.threshold, goal: 'recall', target: 0.6, precision: ref.precision, recall: ref.recall });
    const passes = a.results.map((r) => r.passes);
    assert.deepEqual(
      passes,
      names.map((n) => pictures.get(n)!.probs[0] >= ref.threshold),
    );
    assert.ok(passes.includes(true) && passes.includes(false), `the threshold ${ref.threshold} splits the pictures: ${passes}`);
    const m = await json<Record<string, any>>(await fetch(`${s.url}/v1/model`));
    assert.equal(m.operatingPoint.threshold, ref.threshold);
    await assert.rejects(
      createServer({ checkpoint, operatingPoint: { className: 'banner', goal: 'recall', target: 0.9 } }),
      (e: Error) => e instanceof ServeError && /no class 'banner'; the classes are logo, poster, other/.test(e.message),
    );
  });

  test('limits: an oversized body and too many pixels are 413; a bad checkpoint is a one-line ServeError', async () => {
    const s = await serve({ maxBodyMb: 0.25, maxPixels: 1e6, maxFiles: 2 });
    const three = await post(`${s.url}/v1/classify`, form(['a.png', 'b.jpg', 'd.png']));
    assert.equal(three.status, 413);
    assert.match((await json<{ message: string }>(three)).message, /more than 2 files in one request \(--max-files\)/);
    const large = await noise(1200, 900).png().toBuffer(); // ~3 MB of noise
    assert.ok(large.length > 0.25 * 2 ** 20);
    const r = await post(`${s.url}/v1/classify`, large, 'image/png');
    assert.equal(r.status, 413);
    assert.match((await json<{ message: string }>(r)).message, /larger than the limit of 0\.25 MiB \(--max-body-mb\)/);
    const mp = new FormData();
    mp.append('file', blob(large), 'large.png');
    const r2 = await post(`${s.url}/v1/classify`, mp);
    assert.equal(r2.status, 413);
    const wide = await sharp({ create: { width: 1500, height: 800, channels: 3, background: 'white' } })
      .png()
      .toBuffer(); // 1.2 million pixels, a few KB
    const r3 = await post(`${s.url}/v1/classify`, wide, 'image/png');
    assert.equal(r3.status, 413);
    assert.match((await json<{ message: string }>(r3)).message, /the body: the picture has more than 1000000 pixels \(--max-pixels 1000000\)/);
    const r4 = await post(`${s.url}/v1/classify`, pngBomb(20000), 'image/png');
    assert.equal(r4.status, 413);
    // two 640x480 pictures are 614,400 pixels together, within the limit; four are not
    const s2 = await serve({ maxPixels: 1e6 });
    const two = await post(`${s2.url}/v1/classify`, form(['f.jpg', 'f.jpg']));
    assert.equal(two.status, 200);
    const four = await post(`${s2.url}/v1/classify`, form(['f.jpg', 'f.jpg', 'f.jpg', 'f.jpg']));
    assert.equal(four.status, 413);
    assert.match((await json<{ message: string }>(four)).message, /the pictures of this request have more than 1000000 pixels together \(--max-pixels\)/);
    const ok = await json<Answer>(await post(`${s.url}/v1/classify`, pictures.get('c.webp')!.bytes, 'image/webp'));
    assertMatches(ok.results[0].top, 'c.webp');
    await assert.rejects(
      createServer({ checkpoint: join(root, 'nothing') }),
      (e: Error) => e instanceof ServeError && /no checkpoint at .*nothing/.test(e.message),
    );
  });

  test('a request not answered in --timeout-ms gets 503 and leaves the queue; the server goes on', async () => {
    const s = await serve({ timeoutMs: 250 });
    const metric = async (re: RegExp) => Number(re.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1]);
    // 35 megapixels take far longer than 250 ms to decode and resize; the small picture sent meanwhile waits behind it
    const slow = post(`${s.url}/v1/classify`, huge.bytes, 'image/jpeg');
    await new Promise((r) => setTimeout(r, 50));
    const queued = post(`${s.url}/v1/classify`, pictures.get('a.png')!.bytes, 'image/png');
    for (const r of [await slow, await queued]) {
      assert.equal(r.status, 503);
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match((await json<{ message: string }>(r)).message, /no answer within 250 ms \(--timeout-ms\): the model is overloaded/);
    }
    assert.equal(await metric(/^tsvision_queue_depth (\d+)$/m), 0);
    assert.equal(await metric(/^tsvision_errors_total\{kind="timeout"\} (\d+)$/m), 2);
    // once the worker is free, answers come again
    const t = performance.now();
    while (!((await metric(/^tsvision_inference_seconds_count (\d+)$/m)) >= 1) && performance.now() - t < 30000) await new Promise((r) => setTimeout(r, 50));
    const names = ['a.png', 'b.jpg', 'c.webp', 'd.png'];
    const answers = await Promise.all(names.map((n) => post(`${s.url}/v1/classify`, pictures.get(n)!.bytes, pictures.get(n)!.type)));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 200);
      assertMatches((await json<Answer>(a)).results[0].top, names[i]);
    }
  });

  test('batching: pictures arriving while the model works run as one batch; --max-batch 1 runs them one at a time', async () => {
    const sizes = async (s: ListeningServer) => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      return [Number(/^tsvision_batch_size_count (\d+)$/m.exec(text)?.[1]), Number(/^tsvision_batch_size_sum (\d+)$/m.exec(text)?.[1])];
    };
    const names = [...pictures.keys()];
    const batched = await serve();
    const one = await serve({ maxBatch: 1 });
    for (const s of [batched, one]) {
      // the huge picture keeps the worker busy for a second; the six small ones queue meanwhile
      const first = post(`${s.url}/v1/classify`, huge.bytes, 'image/jpeg');
      await new Promise((r) => setTimeout(r, 50));
      const answers = await Promise.all(names.map((n) => post(`${s.url}/v1/classify`, pictures.get(n)!.bytes, pictures.get(n)!.type)));
      for (const [i, a] of answers.entries()) assertMatches((await json<Answer>(a)).results[0].top, names[i]);
      assertMatches((await json<Answer>(await first)).results[0].top, 'huge.jpg');
    }
    assert.deepEqual(await sizes(batched), [2, 7]);
    assert.deepEqual(await sizes(one), [7, 7]);
  });

  test('close(): stops accepting, answers the request in flight, then ends', async () => {
    const s = await startServer({ checkpoint, port: 0 });
    const inFlight = post(`${s.url}/v1/classify`, huge.bytes, 'image/jpeg');
    await new Promise((r) => setTimeout(r, 100));
    const closing = s.close();
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(fetch(`${s.url}/health`), 'a new connection is refused while closing');
    const r = await inFlight;
    assert.equal(r.status, 200);
    assertMatches((await json<Answer>(r)).results[0].top, 'huge.jpg');
    await closing;
  });
});

/** `tsvision serve --checkpoint CHECKPOINT --port 0 ...args` as a child process, once it listens. */
async function spawnServer(...args: string[]) {
  const child = spawn(process.execPath, [...CLI_FLAGS, bin, 'serve', '--checkpoint', checkpoint, '--port', '0', ...args], {
    env: { ...process.env, TSVISION_DEBUG: '' },
  });
  const out = { stdout: '', stderr: '' };
  child.stderr.on('data', (d) => (out.stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out.stdout += d;
      const m = /tsvision serve: listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out.stdout);
      if (m) resolve(m[1]);
    });
    child.on('close', () => reject(new Error(`exited before listening: ${out.stderr}`)));
  });
  return { child, url, out, exited };
}

describe('tsvision serve: load', () => {
  /** `clients` loops posting pictures for `ms`; every answer checked; throughput and latency percentiles. */
  async function load(url: string, clients: number, ms: number) {
    const names = ['a.png', 'b.jpg', 'c.webp', 'd.png', 'e.png', 'f.jpg'];
    const latencies: number[] = [];
    let wrong = 0;
    const end = performance.now() + ms;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = c; performance.now() < end; i++) {
          const n = names[i % names.length];
          const t = performance.now();
          const r = await post(`${url}/v1/classify`, pictures.get(n)!.bytes, pictures.get(n)!.type);
          const a = await json<Answer>(r);
          latencies.push(performance.now() - t);
          const probs = pictures.get(n)!.probs;
          if (r.status !== 200 || a.results[0].top.some((x) => Math.abs(x.probability - probs[x.index]) > 1e-5)) wrong++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
    return { requests: latencies.length, wrong, perSecond: latencies.length / seconds, p50: q(0.5), p99: q(0.99) };
  }

  /** The server's own resident memory and batch sizes, from its /metrics. */
  async function scrape(url: string) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(text)?.[1]);
    return { rss: value('process_resident_memory_bytes'), meanBatch: value('tsvision_batch_size_sum') / value('tsvision_batch_size_count') };
  }

  test('1 and 16 concurrent clients, batched and one at a time: every answer right, memory flat', async () => {
    const rows: string[] = [];
    for (const [label, args] of [
      ['batched (--max-batch 16 --max-wait-ms 5)', []],
      ['one at a time (--max-batch 1)', ['--max-batch', '1']],
    ] as const) {
      const server = await spawnServer(...args);
      await load(server.url, 4, 300); // warm up: connections, the worker's first batches
      const rssStart = (await scrape(server.url)).rss;
      for (const clients of [1, 16]) {
        const r = await load(server.url, clients, clients === 1 ? 2000 : 5000);
        assert.equal(r.wrong, 0, `${label}, ${clients} clients: ${r.wrong} wrong answers`);
        assert.ok(r.requests > 0);
        rows.push(
          `# ${label}, ${clients} client(s): ${r.perSecond.toFixed(0)} img/s, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (${r.requests} requests)`,
        );
      }
      const { rss: rssEnd, meanBatch } = await scrape(server.url);
      const mib = (b: number) => (b / 2 ** 20).toFixed(0);
      rows.push(`#   mean batch ${meanBatch.toFixed(2)}; server RSS ${mib(rssStart)} MiB after warming up, ${mib(rssEnd)} MiB at the end`);
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0, server.out.stderr);
      // Throughput is printed, not compared: on 2 shared cores, with one kernel thread and a network this small, a batch
      // costs about as much per picture as single pictures, and which mode wins changes from run to run (by a quarter or
      // more, with the machine's other work). What batching must do is asserted instead: 16 clients form batches, and
      // --max-batch 1 never does.
      if (args.length === 0) assert.ok(meanBatch > 1.5, `mean batch ${meanBatch} with 16 clients`);
      else assert.equal(meanBatch, 1);
      // The server's RSS climbs for its first seconds of load (heaps, libvips' and the allocator's caches, one malloc
      // arena per decoding thread), then levels off: about +100 MiB after 5 s and +190 MiB after 40 s with 16 clients, flat
      // from 25 s on. The bound catches a leak of the order of a request's pictures (f.jpg's 900 KiB of pixels is among
      // them, every sixth request); smaller leaks need a longer run than a test.
      assert.ok(rssEnd < rssStart + 300 * 2 ** 20, `the server's RSS grew from ${mib(rssStart)} to ${mib(rssEnd)} MiB`);
    }
    for (const r of rows) console.log(r);
  });
});

describe('tsvision serve, the command', () => {
  test('prints the bound address, serves, and on SIGTERM answers the request in flight and exits 0', async () => {
    const { child, url, out, exited } = await spawnServer();
    assert.equal((await fetch(`${url}/health`)).status, 200);
    const inFlight = post(`${url}/v1/classify`, huge.bytes, 'image/jpeg');
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGTERM');
    const r = await inFlight;
    assert.equal(r.status, 200);
    assertMatches((await json<Answer>(r)).results[0].top, 'huge.jpg');
    assert.equal(await exited, 0, out.stderr);
    assert.match(out.stdout, /SIGTERM: finishing the requests in flight\ntsvision serve: stopped\n$/);
    assert.equal(out.stderr, '');
  });

  test('errors are one line: no checkpoint, an operating point without evaluation, a bad option', async () => {
    const run = (...args: string[]) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [...CLI_FLAGS, bin, 'serve', ...args], { env: { ...process.env, TSVISION_DEBUG: '' } });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (status) => resolve({ status, stderr }));
      });
    const none = await run('--checkpoint', join(root, 'nothing'), '--port', '0');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^tsvision serve: no checkpoint at .*nothing.*\n$/);
    const bare = join(root, 'bare', 'best');
    // a copy of the checkpoint with no evaluation beside it
    mkdirSync(bare, { recursive: true });
    for (const f of ['checkpoint.json', 'model.safetensors']) writeFileSync(join(bare, f), readFileSync(join(checkpoint, f)));
    const noEval = await run('--checkpoint', bare, '--port', '0', '--class', 'logo', '--target-recall', '0.9');
    assert.equal(noEval.status, 1);
    assert.match(
      noEval.stderr,
      /^tsvision serve: the threshold for 'logo' is chosen on an evaluation's predictions, and .* does not exist; run tsvision evaluate/,
    );
    const opt = await run('--checkpoint', checkpoint, '--class', 'logo');
    assert.equal(opt.status, 2, 'a usage error');
    assert.equal(opt.stderr, 'tsvision serve: --class needs --target-precision P or --target-recall R\n');
    const port = await run('--checkpoint', checkpoint, '--port', '70000');
    assert.equal(port.status, 2, 'a usage error');
    assert.match(port.stderr, /^tsvision serve: --port must be a port number \(0 to 65535\), got 70000\n$/);
  });
});
