/**
 * What keeps a `tsvision train` run safe: the lock on its --out folder (two runs never
 * share one; a killed run's lock is taken over), and the one-line answers when training
 * diverges or a checkpoint cannot be written.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { acquireLock, LockError, type Lock } from '../core/lock.js';
import { CheckpointError, resolveCheckpoint } from '../train/checkpoint.js';
import { describeDivergence, DivergenceError } from '../train/divergence.js';
import { CommandError } from './common.js';

/** The lock file of a training run, inside its --out folder. */
export const RUN_LOCK = 'train.lock';

/**
 * Takes OUT/train.lock for this process (creating OUT). Releasing it removes the lock,
 * and OUT too when this call created it and nothing else was written there.
 */
export function lockRunFolder(outDir: string, where: string): Lock {
  const created = !existsSync(outDir);
  mkdirSync(outDir, { recursive: true });
  let lock: Lock;
  try {
    lock = acquireLock(
      join(outDir, RUN_LOCK),
      ({ host, pid }) =>
        `${where}: ${outDir} is in use by another tsvision train (process ${pid} on ${host}); wait for it, or choose another --out ` +
        `(if no such run is going on, remove ${join(outDir, RUN_LOCK)})`,
    );
  } catch (e) {
    if (e instanceof LockError) throw new CommandError(e.message);
    throw e;
  }
  return {
    file: lock.file,
    release() {
      lock.release();
      try {
        if (created && readdirSync(outDir).length === 0) rmdirSync(outDir);
      } catch {
        /* gone already, or not ours to remove */
      }
    },
  };
}

/** A DivergenceError or CheckpointError as the command's one line (other errors as they are). */
export function trainFailure(e: unknown, where: string, outDir: string | null): unknown {
  if (e instanceof DivergenceError) {
    const best = outDir !== null ? resolveCheckpoint(join(outDir, 'best')) : null;
    const advice =
      best !== null
        ? `lower --lr and train again with another --out (${best} holds the best epoch before it)`
        : 'lower --lr and train again (no epoch finished, so no checkpoint was kept)';
    return new CommandError(`${where}: ${describeDivergence(e.info)}; ${advice}`);
  }
  if (e instanceof CheckpointError) return new CommandError(`${where}: ${e.message.replace(/^saveCheckpoint: /, '')}`);
  return e;
}
