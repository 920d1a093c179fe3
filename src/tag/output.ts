/**
 * The tagger's output: a JSONL file, one line per picture, appended as pictures are
 * tagged so that a killed run loses at most the batch it was writing.
 *
 *   {"path":"a/1.png","class":"logo","probability":0.93,"top":[...],"passes":true}
 *   {"path":"a/2.png","error":"Input buffer contains unsupported image format"}
 *
 * Opening reads what an earlier run wrote: a torn last line (a kill in the middle of
 * a write) is cut off, every whole line's path counts as done, and `append` never
 * writes a path twice. Each line goes out in one write, and every call to `append`
 * ends with an fsync, so after a crash the file holds whole lines of whole batches.
 *
 * While open, `FILE.lock` names the process writing it, so that a second run on the
 * same output is refused instead of appending the same files again; a lock whose
 * process is gone (killed) is taken over.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fsyncDir } from '../core/atomic.js';
import { acquireLock, LockError, type Lock } from '../core/lock.js';
import type { TopClass } from '../train/predictor.js';

/** A tagged picture. `passes` is there when an operating point was given. */
export interface TaggedLine {
  path: string;
  class: string;
  probability: number;
  top: TopClass[];
  passes?: boolean;
}

/** A picture that could not be read, so that it is accounted for too. */
export interface UnreadableLine {
  path: string;
  error: string;
}

export type TagLine = TaggedLine | UnreadableLine;

export class TagOutputError extends Error {
  override name = 'TagOutputError';
}

export const isUnreadable = (l: TagLine): l is UnreadableLine => 'error' in l;

export class TagOutput {
  readonly path: string;
  /** every path with a line in the file, earlier runs' and this one's */
  readonly done: Map<string, TagLine>;
  /** bytes of a torn last line cut off on opening (0 when the file ended cleanly) */
  readonly repairedBytes: number;
  /** paths found on opening */
  readonly resumed: number;
  private fd: number;
  private readonly lock: Lock;

  private constructor(path: string, fd: number, lock: Lock, repairedBytes: number, done: Map<string, TagLine>) {
    this.path = path;
    this.fd = fd;
    this.lock = lock;
    this.repairedBytes = repairedBytes;
    this.done = done;
    this.resumed = done.size;
  }

  /** Opens (or creates) the output, reading and repairing what an earlier run left. */
  static open(path: string): TagOutput {
    path = resolve(path);
    const fresh = !existsSync(path);
    if (fresh) mkdirSync(dirname(path), { recursive: true });
    const lock = takeLock(path);
    let fd = -1;
    try {
      fd = openSync(path, 'a+', 0o644);
      const size = fstatSync(fd).size;
      const bytes = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const n = readSync(fd, bytes, got, size - got, got);
        if (n === 0) break;
        got += n;
      }
      // a run killed mid-write leaves a last line without its newline: cut it off
      const end = bytes.lastIndexOf(0x0a, got - 1) + 1;
      if (end < got) {
        ftruncateSync(fd, end);
        fsyncSync(fd);
      }
      const done = new Map<string, TagLine>();
      const lines = bytes.subarray(0, end).toString('utf8').split('\n');
      lines.pop(); // after the last newline
      lines.forEach((text, i) => {
        const line = parseLine(text);
        if (line === null) throw new TagOutputError(`${path} line ${i + 1} is not a tag line (is this the output of tsvision tag?): ${text.slice(0, 80)}`);
        done.set(line.path, line);
      });
      if (fresh) fsyncDir(dirname(path));
      return new TagOutput(path, fd, lock, got - end, done);
    } catch (e) {
      if (fd >= 0) closeSync(fd);
      lock.release();
      throw e;
    }
  }

  has(path: string): boolean {
    return this.done.has(path);
  }

  /** Appends the lines of paths not yet in the file (each line one write), then fsyncs; returns the lines written. */
  append(lines: readonly TagLine[]): TagLine[] {
    const written: TagLine[] = [];
    for (const line of lines) {
      if (this.done.has(line.path)) continue;
      const bytes = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
      let n = 0;
      while (n < bytes.length) n += writeSync(this.fd, bytes, n, bytes.length - n);
      this.done.set(line.path, line);
      written.push(line);
    }
    if (written.length > 0) fsyncSync(this.fd);
    return written;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    this.lock.release();
  }
}

/** Takes `path.lock` (src/core/lock.ts); a live holder is refused by name. */
function takeLock(path: string): Lock {
  try {
    return acquireLock(
      `${path}.lock`,
      ({ host, pid }) => `${path} is being written by another tsvision tag (process ${pid} on ${host}); if that is not so, remove ${path}.lock`,
    );
  } catch (e) {
    if (e instanceof LockError) throw new TagOutputError(e.message);
    throw e;
  }
}

/** A line of the file, or null when it is not one. */
function parseLine(text: string): TagLine | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.path !== 'string') return null;
  if (typeof o.error === 'string') return o as unknown as UnreadableLine;
  if (typeof o.class !== 'string' || typeof o.probability !== 'number' || !Array.isArray(o.top)) return null;
  return o as unknown as TaggedLine;
}
