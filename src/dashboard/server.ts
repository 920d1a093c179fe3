/**
 * The dashboard's HTTP server (fastify, 127.0.0.1 by default): the page, its script,
 * uPlot's files from node_modules (never a CDN), JSON endpoints for the runs, and
 * server-sent events that carry every change as it happens, so the browser never polls.
 *
 *   GET /                        the page
 *   GET /api/runs                the runs (settings, status, counts)
 *   GET /api/runs/:id            a run with its step and epoch rows and its evaluation
 *   GET /api/runs/:id/evaluation the latest evaluation (confusion matrix, per class, pairs, worst mistakes)
 *   GET /api/runs/:id/pr?class=C one class's precision-recall curve with the counts at each threshold
 *   GET /api/runs/:id/thumb/:v/:i the i-th worst mistake of the run's evaluation number v, as a small PNG
 *   GET /api/events              text/event-stream: a snapshot of every run, then one message per change
 *
 * Events are JSON messages: {type: 'snapshot', runs}, {type: 'run', run} (a new run or a
 * changed status or settings), {type: 'steps', run, rows}, {type: 'epoch', run, row},
 * {type: 'evaluation', run, evaluation}, {type: 'reset', run} (a run's files were rewritten: its whole state).
 */
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import sharp from 'sharp';
import type { PredictionRecord } from '../metrics/predictions.js';
import type { Logs } from '../train/callbacks.js';
import { dashboardPage } from './page.js';
import { evaluationSummary, locateImage, makeEvaluation, prCurveData, runSummary, type Evaluation, type Run } from './runs.js';

export interface DashboardServerOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** default 6006; 0 picks a free port */
  port?: number;
}

/** A dashboard that cannot start: one line naming the port or the file. */
export class DashboardError extends Error {
  override name = 'DashboardError';
}

export interface NewRun {
  name: string;
  dir?: string | null;
  status?: Run['status'];
  settings?: Record<string, unknown>;
  command?: string[] | null;
  steps?: Logs[];
  epochs?: Logs[];
  evaluation?: Run['evaluation'];
}

const THUMB = 128;

/** The files the page loads, read once. */
function assets(): Record<string, { type: string; body: Buffer }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot'));
  const read = (path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new DashboardError(`the dashboard cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); is the package built?`);
    }
  };
  return {
    '/app.js': { type: 'text/javascript; charset=utf-8', body: read(join(here, 'app.js')) },
    '/uplot.js': { type: 'text/javascript; charset=utf-8', body: read(join(uplot, 'uPlot.iife.min.js')) },
    '/uplot.css': { type: 'text/css; charset=utf-8', body: read(join(uplot, 'uPlot.min.css')) },
  };
}

export class DashboardServer {
  readonly app: FastifyInstance;
  readonly runs = new Map<string, Run>();
  /** http://HOST:PORT/ once listening */
  url = '';
  #clients = new Set<ServerResponse>();
  #pendingSteps = new Map<string, Logs[]>();
  #flushTimer: NodeJS.Timeout | null = null;
  #keepAlive: NodeJS.Timeout | null = null;
  #versions = 0;
  #closers: (() => void)[] = [];
  /** per run, the worst mistakes' paths of its recent evaluations by version: a page may ask for a picture of the one before the latest */
  #thumbs = new Map<string, Map<number, string[]>>();

  constructor() {
    const files = assets();
    this.app = Fastify({ logger: false, forceCloseConnections: true });
    const app = this.app;
    app.get('/', (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardPage()));
    for (const [path, f] of Object.entries(files)) app.get(path, (_req, reply) => reply.type(f.type).header('cache-control', 'no-cache').send(f.body));
    app.get('/api/runs', () => [...this.runs.values()].map(runSummary));
    const runOf = (id: string) => this.runs.get(id) ?? null;
    app.get<{ Params: { id: string } }>('/api/runs/:id', (req, reply) => {
      const run = runOf(req.params.id);
      if (!run) return reply.code(404).send({ error: `no run '${req.params.id}'` });
      return this.#full(run);
    });
    app.get<{ Params: { id: string } }>('/api/runs/:id/evaluation', (req, reply) => {
      const run = runOf(req.params.id);
      if (!run) return reply.code(404).send({ error: `no run '${req.params.id}'` });
      if (!run.evaluation) return reply.code(404).send({ error: `run '${run.name}' has no evaluation yet` });
      return evaluationSummary(run);
    });
    app.get<{ Params: { id: string }; Querystring: { class?: string } }>('/api/runs/:id/pr', (req, reply) => {
      const run = runOf(req.params.id);
      if (!run) return reply.code(404).send({ error: `no run '${req.params.id}'` });
      const ev = run.evaluation;
      if (!ev) return reply.code(404).send({ error: `run '${run.name}' has no evaluation yet` });
      const name = req.query.class ?? ev.classes[0];
      const k = ev.classes.indexOf(name);
      if (k < 0) return reply.code(400).send({ error: `no class '${name}'; the classes are ${ev.classes.join(', ')}` });
      return prCurveData(ev, k);
    });
    app.get<{ Params: { id: string; v: string; i: string } }>('/api/runs/:id/thumb/:v/:i', async (req, reply) => {
      const run = runOf(req.params.id);
      const listed = this.#thumbs.get(req.params.id)?.get(Number(req.params.v))?.[Number(req.params.i)];
      // only the pictures of the listed mistakes are ever read
      const path = listed !== undefined && run ? locateImage(listed, run.dir) : null;
      if (!path) return reply.code(404).send({ error: 'no such picture' });
      try {
        const png = await sharp(path).rotate().resize(THUMB, THUMB, { fit: 'contain', background: '#eeeeee' }).png().toBuffer();
        return reply.type('image/png').header('cache-control', 'no-cache').send(png);
      } catch (e) {
        return reply.code(422).send({ error: `cannot read ${listed}: ${(e as Error).message.split('\n')[0]}` });
      }
    });
    app.get('/api/events', (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
      this.#flush();
      res.write('retry: 2000\n\n');
      res.write(`data: ${JSON.stringify({ type: 'snapshot', runs: [...this.runs.values()].map((r) => this.#full(r)) })}\n\n`);
      this.#clients.add(res);
      req.raw.on('close', () => this.#clients.delete(res));
    });
  }

  #remember(run: Run): void {
    const ev = run.evaluation;
    if (!ev) return;
    let versions = this.#thumbs.get(run.id);
    if (!versions) this.#thumbs.set(run.id, (versions = new Map()));
    versions.set(
      ev.version,
      ev.scores.worst.map((m) => m.path),
    );
    for (const v of versions.keys()) if (versions.size > 8) versions.delete(v);
  }

  #full(run: Run) {
    return { ...runSummary(run), steps: run.steps, epochs: run.epochs, evaluation: evaluationSummary(run) };
  }

  #send(message: unknown): void {
    const text = `data: ${JSON.stringify(message)}\n\n`;
    for (const c of this.#clients) c.write(text);
  }

  /** Sends the queued step rows (steps come in bursts; they go out at most every 100 ms, in order with the other events). */
  #flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = null;
    for (const [run, rows] of this.#pendingSteps) this.#send({ type: 'steps', run, rows });
    this.#pendingSteps.clear();
  }

  async listen({ host = '127.0.0.1', port = 6006 }: DashboardServerOptions = {}): Promise<string> {
    try {
      await this.app.listen({ host, port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new DashboardError(`port ${port} on ${host} is in use (choose another, or 0 for a free one)`);
      throw new DashboardError(`cannot listen on ${host}:${port}: ${(e as Error).message.split('\n')[0]}`);
    }
    const addr = this.app.server.address();
    const p = typeof addr === 'object' && addr ? addr.port : port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${p}/`;
    // a comment now and then keeps proxies and idle timeouts from closing the stream
    this.#keepAlive = setInterval(() => {
      for (const c of this.#clients) c.write(': keep-alive\n\n');
    }, 15000);
    this.#keepAlive.unref();
    return this.url;
  }

  /** Adds a run; returns it (its id is unique in this server). */
  addRun(init: NewRun): Run {
    const base =
      init.name
        .toLowerCase()
        .replace(/[^a-z0-9_-]+/g, '-')
        .replace(/^-|-$/g, '') || 'run';
    let id = base;
    for (let i = 2; this.runs.has(id); i++) id = `${base}-${i}`;
    const run: Run = {
      id,
      name: init.name,
      dir: init.dir ?? null,
      status: init.status ?? 'running',
      settings: init.settings ?? {},
      command: init.command ?? null,
      steps: init.steps ?? [],
      epochs: init.epochs ?? [],
      evaluation: init.evaluation ?? null,
    };
    this.runs.set(id, run);
    this.#remember(run);
    this.#flush();
    this.#send({ type: 'run', run: this.#full(run) });
    return run;
  }

  /** A fresh version number for an evaluation. */
  nextVersion(): number {
    return ++this.#versions;
  }

  pushSteps(run: Run, rows: Logs[]): void {
    if (rows.length === 0) return;
    run.steps.push(...rows);
    const q = this.#pendingSteps.get(run.id);
    if (q) q.push(...rows);
    else this.#pendingSteps.set(run.id, [...rows]);
    this.#flushTimer ??= setTimeout(() => this.#flush(), 100);
  }

  pushEpoch(run: Run, row: Logs): void {
    run.epochs.push(row);
    this.#flush();
    this.#send({ type: 'epoch', run: run.id, row });
  }

  setEvaluation(run: Run, label: string, classes: readonly string[], records: PredictionRecord[]): void {
    this.showEvaluation(run, makeEvaluation(label, classes, records, this.nextVersion()));
  }

  /** Makes `ev` the run's evaluation (its version from nextVersion()). */
  showEvaluation(run: Run, ev: Evaluation | null): void {
    run.evaluation = ev;
    this.#remember(run);
    this.#flush();
    this.#send({ type: 'evaluation', run: run.id, evaluation: evaluationSummary(run) });
  }

  /** A run's status or settings changed. */
  updateRun(run: Run, patch: Partial<Pick<Run, 'status' | 'settings' | 'command'>>): void {
    Object.assign(run, patch);
    this.#flush();
    this.#send({ type: 'run', run: runSummary(run) });
  }

  /** A run's whole state changed (its files were rewritten): clients replace it. */
  resetRun(run: Run, next: Run): void {
    Object.assign(run, { ...next, id: run.id, name: run.name });
    this.#remember(run);
    this.#flush();
    this.#send({ type: 'reset', run: this.#full(run) });
  }

  /** Registers something to stop at close (a file watcher). */
  onClose(fn: () => void): void {
    this.#closers.push(fn);
  }

  /** Ends the event streams, the watchers and the server. */
  async close(): Promise<void> {
    this.#flush();
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    for (const fn of this.#closers) fn();
    for (const c of this.#clients) c.end();
    this.#clients.clear();
    await this.app.close();
  }
}

/** A dashboard server listening on host:port (127.0.0.1:6006 by default). */
export async function startDashboard(options: DashboardServerOptions = {}): Promise<DashboardServer> {
  const server = new DashboardServer();
  await server.listen(options);
  return server;
}
