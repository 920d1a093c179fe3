/** Durable file writes: a crash leaves the old file or the new one, never a mixture. */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processAlive } from './lock.js';

/** Removes the temporary files of `path` left by processes killed while writing it (writeFileAtomic does this first). */
export function removeStaleTemps(path: string): void {
  const prefix = `.${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    try {
      unlinkSync(join(dirname(path), n));
    } catch {
      /* removed by another process */
    }
  }
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in the same directory,
 * fsync, rename over `path`, fsync the directory. A crash leaves the old file or
 * the new one, never a mixture (and a temporary file, removed by the next write of `path`).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  removeStaleTemps(path);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** fsync of a directory, so a rename in it is durable (a no-op where the OS refuses). */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    /* e.g. Windows: directories cannot be fsynced */
  } finally {
    closeSync(fd);
  }
}
