/**
 * The HTTP service: a checkpoint's classifier behind fastify.
 *
 *   const server = await startServer({ checkpoint: 'runs/logos/best', port: 8080 });
 *   // POST /v1/classify, GET /health, GET /v1/model, GET /metrics
 *   await server.close();    // stops accepting, answers the requests in flight, then ends the worker
 *
 * The way of a picture: the body (raw, or multipart files) is read on the main
 * thread and decoded by sharp on libuv's threads (with a pixel limit, so a
 * decompression bomb is refused from its header); the decoded pixels join the
 * DynamicBatcher's queue; each batch goes to the inference worker thread, which
 * owns the Predictor, preprocesses with the checkpoint's transform and runs the
 * network. The main thread never runs a kernel or a resize, so /health answers
 * at once while the model is busy.
 */
import { STATUS_CODES } from 'node:http';
import { availableParallelism } from 'node:os';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ImageTooLargeError, loadImage } from '../data/decode.js';
import { operatingPointFor, OperatingPointError, type DeployedOperatingPoint, type OperatingPointRequest } from '../train/operating-point.js';
import { topK, type TopClass } from '../train/predictor.js';
import { DynamicBatcher } from './batcher.js';
import { InferenceWorker, ModelLoadError, type ImageOutcome } from './inference.js';
import { createMetrics, type ServeMetrics } from './metrics.js';
import type { DecodedImage, ModelInfo } from './protocol.js';

export interface ServeOptions {
  /** a checkpoint directory, as tsvision train writes (runs/NAME/best) */
  checkpoint: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default 8080; 0 picks a free port */
  port?: number;
  /** pictures per batch, at most (default 16; 1 turns batching off) */
  maxBatch?: number;
  /** how long a picture may wait for others to join its batch (default 5 ms) */
  maxWaitMs?: number;
  /** the largest request body, in MiB (default 20): larger is 413 */
  maxBodyMb?: number;
  /**
   * the most pixels (width x height) of one picture, and of all the pictures of one request together (default 40e6):
   * more is 413, a single picture refused from its header before decoding. Four times this may wait for the model at
   * once; past that a request gets 503.
   */
  maxPixels?: number;
  /** files per multipart request, at most (default 64) */
  maxFiles?: number;
  /**
   * pictures decoded at once (default: a quarter of the cores, at least 1). Each decode keeps a core busy on one of
   * libuv's threads; more decoders than free cores starve the main thread, and /health waits hundreds of milliseconds.
   */
  decoders?: number;
  /**
   * the network's kernel threads (default: TSVISION_NUM_THREADS, else the cores left after the main thread and the
   * decoders, at least 1). The kernels fork and join: a kernel thread that a decoder preempts stalls every layer,
   * so on 2 cores one kernel thread serves faster than two.
   */
  threads?: number;
  /** a request not answered in this time gets 503 (default 30000) */
  timeoutMs?: number;
  /** classes in each answer when the query has no ?topk (default 5) */
  topk?: number;
  /** the operating point to apply: each answer then says whether each picture passes it */
  operatingPoint?: OperatingPointRequest;
  /** told of failures the clients cannot see (a worker that died, a 500) */
  log?: (line: string) => void;
}

/** A server that cannot start: the message is one line naming the checkpoint or option. */
export class ServeError extends Error {
  override name = 'ServeError';
}

export interface Server {
  app: FastifyInstance;
  model: ModelInfo;
  operatingPoint: DeployedOperatingPoint | null;
  metrics: ServeMetrics;
  /** stops accepting connections, answers the requests in flight, then ends the inference thread */
  close(): Promise<void>;
}

export interface ListeningServer extends Server {
  /** http://host:port, with the port actually bound */
  url: string;
  port: number;
}

/** One picture of a request, before decoding. */
interface Part {
  /** the multipart file name (or field name); absent for a raw body */
  name?: string;
  /** how errors name it */
  label: string;
  bytes: Buffer;
}

export interface ClassifyResult {
  name?: string;
  top: TopClass[];
  passes?: boolean;
}

/** An answer other than 200, with its reason. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly kind: string,
  ) {
    super(message);
  }
}

const DEFAULTS = { host: '127.0.0.1', port: 8080, maxBatch: 16, maxWaitMs: 5, maxBodyMb: 20, maxPixels: 40e6, maxFiles: 64, timeoutMs: 30000, topk: 5 };

/** At most `n` calls of `fn` running at once; the others wait their turn, in order. */
function limited<A, R>(n: number, fn: (a: A) => Promise<R>): (a: A) => Promise<R> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (a) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await fn(a);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new ServeError(what);
}

/** The server, not yet listening (app.listen, or app.inject in tests); startServer listens too. */
export async function createServer(options: ServeOptions): Promise<Server> {
  const o = { ...DEFAULTS, ...options };
  check(Number.isInteger(o.maxBatch) && o.maxBatch >= 1, `maxBatch must be a positive integer, got ${o.maxBatch}`);
  check(o.maxWaitMs >= 0, `maxWaitMs must be >= 0, got ${o.maxWaitMs}`);
  check(o.maxBodyMb > 0, `maxBodyMb must be positive, got ${o.maxBodyMb}`);
  check(Number.isInteger(o.maxPixels) && o.maxPixels >= 1, `maxPixels must be a positive integer, got ${o.maxPixels}`);
  check(Number.isInteger(o.maxFiles) && o.maxFiles >= 1, `maxFiles must be a positive integer, got ${o.maxFiles}`);
  check(o.timeoutMs > 0, `timeoutMs must be positive, got ${o.timeoutMs}`);
  const cores = availableParallelism();
  const decoders = o.decoders ?? Math.max(1, Math.floor(cores / 4));
  check(Number.isInteger(decoders) && decoders >= 1, `decoders must be a positive integer, got ${decoders}`);
  const threads = o.threads ?? (Number(process.env.TSVISION_NUM_THREADS) || Math.max(1, cores - decoders - 1));
  check(Number.isInteger(threads) && threads >= 1, `threads must be a positive integer, got ${threads}`);
  check(Number.isInteger(o.topk) && o.topk >= 1, `topk must be a positive integer, got ${o.topk}`);
  const log = o.log ?? (() => {});

  let worker: InferenceWorker;
  try {
    worker = await InferenceWorker.start({ checkpoint: o.checkpoint, threads });
  } catch (e) {
    if (e instanceof ModelLoadError) throw new ServeError(e.message);
    throw e;
  }
  const model = worker.info;
  let op: DeployedOperatingPoint | null = null;
  if (o.operatingPoint) {
    try {
      op = operatingPointFor({ classes: model.classes, source: model.checkpoint }, o.operatingPoint);
    } catch (e) {
      await worker.close();
      if (e instanceof OperatingPointError) throw new ServeError(e.message);
      throw e;
    }
  }

  // pictures received and not yet in the batcher's queue (decoding, or waiting for a decoder)
  let incoming = 0;
  // Decoded pictures wait in memory for the model (3 bytes a pixel, and more in the worker): a bound on their pixels
  // keeps many large pictures at once from exhausting memory; past it a request gets 503 and may try again.
  let pixelsInFlight = 0;
  const pixelBudget = 4 * o.maxPixels;
  const batcher = new DynamicBatcher<DecodedImage, ImageOutcome>((images) => worker.run(images), {
    maxBatch: o.maxBatch,
    maxWaitMs: o.maxWaitMs,
    onBatch: (n) => metrics.batchSize.observe(n),
    incoming: () => incoming,
  });
  const metrics = createMetrics(() => batcher.queued);
  worker.onTiming = (t) => {
    metrics.preprocessSeconds.observe(t.preprocessMs / 1000);
    metrics.inferenceSeconds.observe(t.inferenceMs / 1000);
  };
  worker.onDeath = (why) => log(`the inference thread ${why}; a new one loads the checkpoint for the next batch`);

  const bodyLimit = Math.floor(o.maxBodyMb * 2 ** 20);
  // requestTimeout: node's own limit on receiving a request (a client that sends slowly gets 408)
  const app = Fastify({ bodyLimit, requestTimeout: o.timeoutMs, logger: false });
  const started = Date.now();
  const operatingPointJson = op && { class: op.class, threshold: op.threshold, goal: op.goal, target: op.target, precision: op.precision, recall: op.recall };

  // Any content type but multipart is the picture itself: curl --data-binary sends application/x-www-form-urlencoded unless told otherwise.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  await app.register(multipart, { limits: { fileSize: bodyLimit, files: o.maxFiles, fields: 32, parts: o.maxFiles + 32 } });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    let status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    let message = err.message;
    let kind = err instanceof HttpError ? err.kind : status === 413 ? 'too_large' : status >= 500 ? 'internal' : 'bad_request';
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.code === 'FST_REQ_FILE_TOO_LARGE') {
      message = `the body is larger than the limit of ${o.maxBodyMb} MiB (--max-body-mb)`;
    } else if (err.code === 'FST_FILES_LIMIT') {
      message = `more than ${o.maxFiles} files in one request (--max-files)`;
    } else if (err.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE' || err.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      status = 400;
      kind = 'bad_request';
    }
    metrics.errors.inc({ kind });
    if (status >= 500 && kind === 'internal') log(`${request.method} ${request.url}: ${err.message}`);
    if (status === 503) void reply.header('retry-after', '1');
    void reply.code(status).send({ statusCode: status, error: STATUS_CODES[status], message });
  });

  // 405 for a known path with another method, 404 for the rest
  const methods = new Map<string, string[]>();
  app.addHook('onRoute', (r) => {
    const list = methods.get(r.url) ?? [];
    for (const m of [r.method].flat()) if (!list.includes(m)) list.push(m);
    methods.set(r.url, list);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = methods.get(path);
    if (allowed) {
      metrics.errors.inc({ kind: 'method_not_allowed' });
      void reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({ statusCode: 405, error: STATUS_CODES[405], message: `${request.method} is not allowed on ${path}; use ${allowed.join(' or ')}` });
      return;
    }
    metrics.errors.inc({ kind: 'not_found' });
    void reply
      .code(404)
      .send({ statusCode: 404, error: STATUS_CODES[404], message: `no route ${request.method} ${path}; the routes are ${[...methods.keys()].join(', ')}` });
  });

  app.get('/health', async () => ({
    status: worker.ready ? 'ok' : 'loading',
    model: model.architecture?.name ?? null,
    classes: model.classes,
    uptimeSeconds: (Date.now() - started) / 1000,
  }));

  app.get('/v1/model', async () => ({
    architecture: model.architecture,
    classes: model.classes,
    preprocessing: model.preprocessing,
    epoch: model.epoch,
    checkpoint: model.checkpoint,
    backend: model.backend,
    threads: model.threads,
    operatingPoint: operatingPointJson,
    batching: { maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs },
    decoders,
    limits: { maxBodyMb: o.maxBodyMb, maxPixels: o.maxPixels, maxFiles: o.maxFiles, timeoutMs: o.timeoutMs },
  }));

  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  async function readParts(request: FastifyRequest): Promise<Part[]> {
    if (!request.isMultipart()) {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) {
        throw new HttpError(400, 'the request has no picture: send it as the body, or as files of a multipart/form-data body', 'no_image');
      }
      return [{ label: 'the body', bytes: body }];
    }
    const parts: Part[] = [];
    let total = 0;
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue; // form fields are not pictures
        const bytes = await part.toBuffer();
        total += bytes.length;
        if (total > bodyLimit) throw new HttpError(413, `the files are larger than the limit of ${o.maxBodyMb} MiB (--max-body-mb)`, 'too_large');
        const name = part.filename || part.fieldname;
        parts.push({ name, label: `part ${parts.length + 1} ('${name}')`, bytes });
      }
    } catch (e) {
      const err = e as Error & { statusCode?: number };
      if (err.statusCode !== undefined) throw err;
      throw new HttpError(400, `the multipart body could not be read: ${err.message}`, 'bad_request');
    }
    if (parts.length === 0) throw new HttpError(400, 'the multipart body has no file: send each picture as a file part', 'no_image');
    return parts;
  }

  const decode = limited(decoders, async (part: Part): Promise<DecodedImage> => {
    if (part.bytes.length === 0) throw new HttpError(400, `${part.label} is empty`, 'bad_image');
    try {
      const t = await loadImage(part.bytes, { channels: model.preprocessing.channels, maxPixels: o.maxPixels });
      // sharp's buffers cannot be transferred (postMessage would clone a whole batch in one call, blocking the
      // event loop for tens of milliseconds): a copy of each picture now, in its own turn, is transferred for free
      const data = new Uint8Array(Buffer.allocUnsafeSlow(t.data.length).buffer); // its own ArrayBuffer, not zero-filled
      data.set(t.data);
      return { data, shape: t.shape as [number, number, number] };
    } catch (e) {
      if (e instanceof ImageTooLargeError) throw new HttpError(413, `${part.label}: ${e.message} (--max-pixels ${o.maxPixels})`, 'too_many_pixels');
      throw new HttpError(400, `${part.label} is not a picture that can be decoded: ${(e as Error).message}`, 'bad_image');
    }
  });

  app.post('/v1/classify', async (request: FastifyRequest<{ Querystring: { topk?: string } }>, reply: FastifyReply) => {
    let k = o.topk;
    if (request.query.topk !== undefined) {
      k = Number(request.query.topk);
      if (!(Number.isInteger(k) && k >= 1)) throw new HttpError(400, `?topk must be a positive integer, got '${request.query.topk}'`, 'bad_request');
    }
    // the deadline counts from the request's arrival, its upload included
    const remaining = o.timeoutMs - reply.elapsedTime;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new HttpError(503, `no answer within ${o.timeoutMs} ms (--timeout-ms): the model is overloaded; try again`, 'timeout')),
      Math.max(0, remaining),
    );
    const expired = new Promise<never>((_, reject) => deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason), { once: true }));
    expired.catch(() => {});
    try {
      const parts = await Promise.race([readParts(request), expired]);
      // each picture joins the queue as soon as it is decoded; the others still decoding keep its batch open
      incoming += parts.length;
      let requestPixels = 0;
      const classified = parts.map(async (part) => {
        let decoded: DecodedImage;
        try {
          decoded = await decode(part);
        } catch (e) {
          incoming--;
          batcher.wake();
          throw e;
        }
        incoming--;
        const pixels = decoded.shape[0] * decoded.shape[1];
        requestPixels += pixels;
        if (requestPixels > o.maxPixels) {
          throw new HttpError(413, `the pictures of this request have more than ${o.maxPixels} pixels together (--max-pixels)`, 'too_many_pixels');
        }
        if (pixelsInFlight + pixels > pixelBudget) {
          throw new HttpError(503, `more than ${pixelBudget} decoded pixels are waiting for the model; try again`, 'overloaded');
        }
        pixelsInFlight += pixels;
        try {
          return await batcher.submit(decoded, deadline.signal);
        } finally {
          pixelsInFlight -= pixels;
        }
      });
      const all = Promise.all(classified);
      all.catch(() => {}); // the race below reports the first failure; the others must not be unhandled
      for (const c of classified) c.catch(() => {});
      const outcomes = await Promise.race([all, expired]);
      const results: ClassifyResult[] = outcomes.map((out, i) => {
        if ('error' in out) throw new HttpError(400, `${parts[i].label} could not be preprocessed: ${out.error}`, 'bad_image');
        const top = topK(out.probs, model.classes, k);
        const r: ClassifyResult = parts[i].name !== undefined ? { name: parts[i].name, top } : { top };
        if (op) r.passes = op.passes(out.probs);
        return r;
      });
      metrics.images.inc(results.length);
      return operatingPointJson ? { results, operatingPoint: operatingPointJson } : { results };
    } catch (e) {
      if (deadline.signal.aborted) throw deadline.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
      deadline.abort(new Error('answered'));
    }
  });

  // Node's server.close() closes the connections idle at that moment; one whose request is in flight would
  // stay open for keep-alive after its answer (fastify keeps them 72 s), so answers during shutdown close theirs.
  let closing = false;
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onClose', async () => {
    await worker.close();
  });

  return { app, model, operatingPoint: op, metrics, close: () => app.close() };
}

/** createServer, then listening on host:port (port 0: a free one). */
export async function startServer(options: ServeOptions): Promise<ListeningServer> {
  const server = await createServer(options);
  const host = options.host ?? DEFAULTS.host;
  try {
    await server.app.listen({ host, port: options.port ?? DEFAULTS.port });
  } catch (e) {
    await server.close();
    throw new ServeError(`cannot listen on ${host}:${options.port ?? DEFAULTS.port}: ${(e as Error).message}`);
  }
  const address = server.app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? DEFAULTS.port);
  const shown = host.includes(':') ? `[${host}]` : host;
  return { ...server, url: `http://${shown}:${port}`, port };
}
