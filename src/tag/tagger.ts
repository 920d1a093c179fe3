/**
 * Tagging pictures on one machine: every file under a folder classified by a
 * Predictor, one line each appended to a TagOutput as batches finish, so that a run
 * killed at any moment resumes with the files it had not written.
 *
 * What a line says about a picture is computed here once (`outcomeOf`, `lineOf`),
 * for the local run and for the queue's workers alike.
 */
import { join, relative, sep } from 'node:path';
import { findImages } from '../data/image-folder.js';
import type { Predictor, TopClass } from '../train/predictor.js';
import type { DeployedOperatingPoint } from '../train/operating-point.js';
import { isUnreadable, type TaggedLine, type TagLine, type TagOutput } from './output.js';

/** What classifying one file gave: its top classes (and the watched class's probability), or why it could not be read. */
export type FileOutcome = { path: string; top: TopClass[]; watched?: number } | { path: string; error: string };

/** How lines are made: the top-k shown, and the class an operating point watches. */
export interface LineOptions {
  topk: number;
  /** the operating point's class index, whose full-precision probability decides `passes` */
  watch?: number;
}

/** Probabilities as the output shows them (as predict --json does). */
const shown = (p: number) => Number(p.toFixed(6));

/** The outcome of one file's probability row. */
export function outcomeOf(path: string, probs: ArrayLike<number>, predictor: Pick<Predictor, 'top'>, { topk, watch }: LineOptions): FileOutcome {
  const top = predictor.top(probs, Math.max(1, topk)).map((t) => ({ ...t, probability: shown(t.probability) }));
  return watch === undefined ? { path, top } : { path, top, watched: probs[watch] };
}

/** The output line of an outcome; `passes` when there is an operating point. */
export function lineOf(o: FileOutcome, op?: Pick<DeployedOperatingPoint, 'threshold'>): TagLine {
  if ('error' in o) return { path: o.path, error: o.error };
  const line: TaggedLine = { path: o.path, class: o.top[0].class, probability: o.top[0].probability, top: o.top };
  if (op) line.passes = (o.watched ?? Number.NEGATIVE_INFINITY) >= op.threshold;
  return line;
}

/** The pictures under `root` (recursively, in ImageFolder's order), as paths relative to it with '/' separators. */
export function listPictures(root: string): string[] {
  return findImages(root).map((p) => relative(root, p).split(sep).join('/'));
}

export interface TagCounts {
  /** pictures under the input */
  files: number;
  /** of them, lines already in the output when the run started */
  resumed: number;
  /** lines written by this run */
  written: number;
  /** of all the input's lines (earlier runs' too): tagged, unreadable, passing */
  tagged: number;
  unreadable: number;
  passing: number;
  /** files of queued jobs that failed for good: not written, retried by the next run */
  failed: number;
  seconds: number;
  /** files this run classified per second */
  imagesPerSecond: number;
}

/** The counts over the input's files as the output now holds them. */
export function countLines(files: readonly string[], output: TagOutput, resumed: number, written: number, seconds: number): TagCounts {
  let tagged = 0;
  let unreadable = 0;
  let passing = 0;
  for (const f of files) {
    const line = output.done.get(f);
    if (!line) continue;
    if (isUnreadable(line)) unreadable++;
    else {
      tagged++;
      if (line.passes) passing++;
    }
  }
  return { files: files.length, resumed, written, tagged, unreadable, passing, failed: 0, seconds, imagesPerSecond: seconds > 0 ? written / seconds : 0 };
}

export interface TagLocalInput {
  predictor: Predictor;
  /** the input folder; `files` are relative to it */
  root: string;
  files: readonly string[];
  output: TagOutput;
  batchSize: number;
  topk: number;
  op?: DeployedOperatingPoint;
  /** told of each unreadable file as it is found */
  onUnreadable?: (path: string, reason: string) => void;
  /** told after each batch is on disk */
  onBatch?: (written: number) => void;
}

/**
 * Classifies the files not yet in the output, a batch at a time, appending each batch's
 * lines (in the files' order) and fsyncing it before the next is written. Two batches
 * are in flight, so one decodes while the other runs through the network.
 */
export async function tagLocal({ predictor, root, files, output, batchSize, topk, op, onUnreadable, onBatch }: TagLocalInput): Promise<TagCounts> {
  const resumed = files.filter((f) => output.has(f)).length;
  const todo = files.filter((f) => !output.has(f));
  const options: LineOptions = { topk, watch: op?.classIndex };
  const started = performance.now();
  const classify = async (chunk: readonly string[]): Promise<TagLine[]> => {
    const errors = new Map<string, string>();
    const abs = chunk.map((f) => join(root, f));
    const results = await predictor.classifyFiles(abs, { batchSize: chunk.length, onSkip: (p, reason) => errors.set(p, reason) });
    const byIndex = new Map(results.map((r) => [r.index, r.probs]));
    return chunk.map((f, i) => {
      const probs = byIndex.get(i);
      if (probs) return lineOf(outcomeOf(f, probs, predictor, options), op);
      const reason = errors.get(abs[i]) ?? 'not read';
      onUnreadable?.(f, reason);
      return { path: f, error: reason };
    });
  };
  let written = 0;
  let next: Promise<TagLine[]> | null = null;
  for (let i = 0; i < todo.length; i += batchSize) {
    const current = next ?? classify(todo.slice(i, i + batchSize));
    next = i + batchSize < todo.length ? classify(todo.slice(i + batchSize, i + 2 * batchSize)) : null;
    // the next batch is already running; if this one fails, keep its rejection from going unhandled
    next?.catch(() => {});
    written += output.append(await current).length;
    onBatch?.(written);
  }
  const seconds = (performance.now() - started) / 1000;
  return countLines(files, output, resumed, written, seconds);
}
