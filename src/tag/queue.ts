/**
 * Tagging on many machines through a BullMQ queue on Redis.
 *
 * The `tag` process plans the whole input as jobs of `jobSize` files (in the listing's
 * order), each with an id derived from its files, the input root and the line options,
 * and enqueues those with a file not yet in the output. Adding a job whose id exists is
 * a no-op in BullMQ, so running the command again enqueues nothing twice, and a job that
 * completed while no `tag` was listening is collected by the next one. Workers on any
 * number of machines take jobs, read the files from shared storage and return one
 * outcome per file as the job's return value; `tag` appends the lines of completed jobs
 * to its output, which writes each path once however often a job ran, then removes
 * the job from Redis.
 *
 * A worker killed mid-job stops renewing the job's lock; after `lockDuration` another
 * worker's stalled check (every `stalledInterval`) moves the job back to waiting and it
 * runs again elsewhere. A job that fails for good (its attempts spent, or stalled more
 * than `maxStalledCount` times) is reported and its files counted as failed, but not
 * written: the output stays the record of what was tagged, and the next run of the
 * command finds the failed job in Redis and retries it.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Redis } from 'ioredis';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { DeployedOperatingPoint } from '../train/operating-point.js';
import type { Predictor } from '../train/predictor.js';
import type { TagLine, TagOutput } from './output.js';
import { countLines, lineOf, outcomeOf, type FileOutcome, type LineOptions, type TagCounts } from './tagger.js';

export const DEFAULT_QUEUE = 'tsvision-tag';

/** What a job carries: files relative to `root` (or absolute), and how to make their outcomes. */
export interface TagJobData {
  root: string;
  paths: string[];
  /** the classes the `tag` process expects, in order: a worker with another model refuses the job */
  classes: string[];
  topk: number;
  watch?: number;
}

/** A job's return value: one outcome per file, in the job's order, and who computed them. */
export interface TagJobResult {
  worker: string;
  outcomes: FileOutcome[];
}

export interface PlannedJob {
  id: string;
  paths: string[];
}

export class TagQueueError extends Error {
  override name = 'TagQueueError';
}

/** The whole input as jobs of `jobSize` files, with ids that depend only on what the job does. */
export function planJobs(root: string, files: readonly string[], jobSize: number, classes: readonly string[], line: LineOptions): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  for (let i = 0; i < files.length; i += jobSize) {
    const paths = files.slice(i, i + jobSize);
    const digest = createHash('sha256')
      .update(JSON.stringify({ root, classes, topk: line.topk, watch: line.watch ?? null, paths }))
      .digest('hex');
    jobs.push({ id: `tag-${digest.slice(0, 40)}`, paths });
  }
  return jobs;
}

/** BullMQ's connection options for a redis:// URL (ioredis parses it). */
export function connectionFor(url: string): { url: string; maxRetriesPerRequest: null } {
  return { url, maxRetriesPerRequest: null };
}

/**
 * Connects once and pings, so that an unreachable Redis is one clear error: BullMQ's
 * clients would retry forever (and a QueueEvents that never connected cannot be closed).
 */
export async function checkRedis(url: string, ms = 10000): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: ms, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // the 'error' event has the cause (ECONNREFUSED); the rejection only says the connection closed
  let cause = '';
  client.on('error', (e: Error) => {
    cause ||= e.message;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new TagQueueError(`cannot reach Redis at ${shownUrl(url)}: ${(cause || (e as Error).message).split('\n')[0]}`);
  } finally {
    client.disconnect();
  }
}

/** A Redis URL for messages, its password hidden. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export interface EnqueueInput {
  redis: string;
  queue: string;
  root: string;
  files: readonly string[];
  output: TagOutput;
  jobSize: number;
  classes: readonly string[];
  topk: number;
  op?: DeployedOperatingPoint;
  /** how often a job may fail before its files are written as errors (default 3) */
  attempts?: number;
  /** the progress line, every `progressEvery` ms while waiting */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
  onUnreadable?: (path: string, reason: string) => void;
  /** told when a job fails for good */
  onJobFailed?: (id: string, reason: string) => void;
  /** told how many jobs were enqueued, before waiting */
  onEnqueued?: (jobs: number, files: number) => void;
}

/**
 * Enqueues the jobs with files not yet in the output, then collects completed jobs into
 * it until every file of the input has a line; returns the counts.
 */
export async function enqueueAndCollect(input: EnqueueInput): Promise<TagCounts> {
  const { redis, root, files, output, jobSize, classes, topk, op, attempts = 3 } = input;
  const line: LineOptions = { topk, watch: op?.classIndex };
  const resumed = files.filter((f) => output.has(f)).length;
  const pending = new Map(planJobs(root, files, jobSize, classes, line).map((j) => [j.id, j] as const));
  for (const [id, job] of pending) if (job.paths.every((p) => output.has(p))) pending.delete(id);

  await checkRedis(redis);
  const connection = connectionFor(redis);
  const queue = new Queue<TagJobData, TagJobResult>(input.queue, { connection });
  const events = new QueueEvents(input.queue, { connection });
  // without listeners, an 'error' event (Redis going away) would throw; ioredis reconnects by itself
  queue.on('error', () => {});
  events.on('error', () => {});
  const started = performance.now();
  let written = 0;
  let failed = 0;
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    // events first, then the jobs: a job finishing right after it is added is heard
    const heard = new Set<string>();
    let wake: (() => void) | null = null;
    const hear = ({ jobId }: { jobId: string }) => {
      if (!pending.has(jobId)) return;
      heard.add(jobId);
      wake?.();
    };
    events.on('completed', hear);
    events.on('failed', hear);

    const opts: JobsOptions = { attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false };
    const toAdd = [...pending.values()];
    for (let i = 0; i < toAdd.length; i += 500) {
      await queue.addBulk(
        toAdd
          .slice(i, i + 500)
          .map((j) => ({ name: 'tag', data: { root, paths: j.paths, classes: [...classes], topk, watch: line.watch }, opts: { ...opts, jobId: j.id } })),
      );
    }
    input.onEnqueued?.(
      toAdd.length,
      toAdd.reduce((n, j) => n + j.paths.filter((p) => !output.has(p)).length, 0),
    );

    const collect = async (id: string, firstLook: boolean): Promise<void> => {
      const planned = pending.get(id)!;
      const state = await queue.getJobState(id);
      if (state === 'completed') {
        const job = await queue.getJob(id);
        if (!job) return; // removed in between (another tag on the same input): the next sweep re-adds it
        const result = job.returnvalue as TagJobResult | null;
        const outcomes = Array.isArray(result?.outcomes) ? result.outcomes : [];
        const byPath = new Map(outcomes.map((o) => [o.path, o]));
        const lines: TagLine[] = planned.paths.map((p) => lineOf(byPath.get(p) ?? { path: p, error: `job ${id} returned nothing for this file` }, op));
        // append skips the paths already written, so a job that ran twice (or overlaps a resumed output) adds each file once
        const added = output.append(lines);
        for (const l of added) if ('error' in l) input.onUnreadable?.(l.path, l.error);
        written += added.length;
        pending.delete(id);
        await job.remove().catch(() => {});
      } else if (state === 'failed') {
        const job = await queue.getJob(id);
        if (firstLook && job) {
          // failed in an earlier run: running the command again is the retry
          await job.retry('failed');
          return;
        }
        const left = planned.paths.filter((p) => !output.has(p)).length;
        input.onJobFailed?.(id, `job ${id} (${left} files) failed: ${job?.failedReason ?? 'unknown reason'}`);
        failed += left;
        pending.delete(id);
      } else if (state === 'unknown') {
        // gone from Redis (removed by hand, or by another tag of the same input): enqueue it again
        await queue.add('tag', { root, paths: planned.paths, classes: [...classes], topk, watch: line.watch }, { ...opts, jobId: id });
      }
    };

    for (const id of [...pending.keys()]) await collect(id, true);
    let lastSweep = performance.now();
    let lastProgress = performance.now();
    const progressEvery = input.progressEvery ?? 10000;
    while (pending.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      const ids = [...heard];
      heard.clear();
      // events can be missed (a reconnect): look at every pending job now and then
      if (performance.now() - lastSweep > 5000) {
        ids.push(...pending.keys());
        lastSweep = performance.now();
      }
      for (const id of new Set(ids)) if (pending.has(id)) await collect(id, false);
      if (input.onProgress && performance.now() - lastProgress > progressEvery) {
        input.onProgress(files.filter((f) => output.has(f)).length, files.length);
        lastProgress = performance.now();
      }
    }
  } finally {
    await Promise.allSettled([events.close(), queue.close()]);
  }
  return { ...countLines(files, output, resumed, written, (performance.now() - started) / 1000), failed };
}

export interface TagWorkerInput {
  predictor: Predictor;
  redis: string;
  queue: string;
  concurrency: number;
  batchSize: number;
  /** read the files under this folder instead of the root a job names (shared storage mounted elsewhere) */
  root?: string;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
  /** a name for this worker in job records and logs (default host:pid) */
  name?: string;
  log?: (line: string) => void;
}

/** Checks a job's data; a malformed job cannot succeed anywhere, so it is unrecoverable. */
function checkJobData(data: unknown): TagJobData {
  const d = data as Partial<TagJobData> | null;
  const ok =
    !!d &&
    typeof d.root === 'string' &&
    Array.isArray(d.paths) &&
    d.paths.every((p) => typeof p === 'string') &&
    Array.isArray(d.classes) &&
    Number.isInteger(d.topk) &&
    (d.watch === undefined || d.watch === null || Number.isInteger(d.watch));
  if (!ok) throw new UnrecoverableError('the job is not a tsvision tag job (root, paths, classes, topk)');
  return d as TagJobData;
}

/** A worker taking tag jobs until closed; `close()` lets the jobs in hand finish first. */
export async function startTagWorker(input: TagWorkerInput): Promise<Worker<TagJobData, TagJobResult>> {
  const { predictor, redis, log = () => {} } = input;
  const name = input.name ?? `${hostname()}:${process.pid}`;
  const processJob = async (job: Job<TagJobData, TagJobResult>): Promise<TagJobResult> => {
    const data = checkJobData(job.data);
    if (data.classes.length !== predictor.classes.length || data.classes.some((c, i) => c !== predictor.classes[i])) {
      throw new UnrecoverableError(
        `the worker ${name} runs ${predictor.source} with the classes ${predictor.classes.join(', ')}, the job expects ${data.classes.join(', ')}`,
      );
    }
    log(`took job ${job.id} (${data.paths.length} files)`);
    const started = performance.now();
    const root = input.root ?? data.root;
    const abs = data.paths.map((p) => (isAbsolute(p) ? p : join(root, p)));
    const errors = new Map<number, string>();
    const index = new Map(abs.map((p, i) => [p, i]));
    const results = await predictor.classifyFiles(abs, {
      batchSize: input.batchSize,
      onSkip: (p, reason) => errors.set(index.get(p) ?? -1, reason),
    });
    const byIndex = new Map(results.map((r) => [r.index, r.probs]));
    const line: LineOptions = { topk: data.topk, watch: data.watch ?? undefined };
    const outcomes = data.paths.map((p, i): FileOutcome => {
      const probs = byIndex.get(i);
      return probs ? outcomeOf(p, probs, predictor, line) : { path: p, error: errors.get(i) ?? 'not read' };
    });
    const seconds = (performance.now() - started) / 1000;
    log(`done job ${job.id}: ${results.length} tagged, ${data.paths.length - results.length} unreadable, ${seconds.toFixed(2)} s`);
    return { worker: name, outcomes };
  };
  await checkRedis(redis);
  const worker = new Worker<TagJobData, TagJobResult>(input.queue, processJob, {
    connection: connectionFor(redis),
    concurrency: input.concurrency,
    lockDuration: input.lockDuration,
    stalledInterval: input.stalledInterval,
    maxStalledCount: input.maxStalledCount,
    name,
    autorun: false,
  });
  // while Redis is away the client retries every few seconds: say so once, not at every attempt
  let lastError = '';
  worker.on('error', (e) => {
    const text = e.message.split('\n')[0];
    if (text !== lastError) log(`error: ${text}`);
    lastError = text;
  });
  worker.on('ready', () => {
    lastError = '';
  });
  worker.on('failed', (job, e) => log(`job ${job?.id ?? '?'} failed: ${e.message.split('\n')[0]}`));
  await worker.waitUntilReady();
  void worker.run().catch((e: Error) => log(`error: ${e.message.split('\n')[0]}`));
  return worker;
}
