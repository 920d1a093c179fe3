/**
 * Lock files: `FILE` holds "HOST PID" of the process that owns what it guards (a tag
 * output, a training run's folder), so a second process is refused instead of writing
 * the same place. A lock whose process is gone (killed: it never released it) is taken
 * over, and so is an empty one (a kill between creating the file and writing it).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

export class LockError extends Error {
  override name = 'LockError';
  constructor(
    message: string,
    /** the process holding the lock */
    readonly holder: { host: string; pid: number },
  ) {
    super(message);
  }
}

export interface Lock {
  readonly file: string;
  /** Removes the lock file if it is still this process's (idempotent). */
  release(): void;
}

const owner = () => `${hostname()} ${process.pid}`;

/** Whether a process of this machine is running (EPERM: it is, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Creates the lock file `file` naming this process, taking over one whose process is gone.
 * When a live process (or one on another host, which cannot be checked) holds it, throws
 * a LockError whose message is `held(holder)`.
 */
export function acquireLock(file: string, held: (holder: { host: string; pid: number }) => string): Lock {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(file, `${owner()}\n`, { flag: 'wx' });
      return { file, release: () => releaseLock(file) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      continue; // released in between
    }
    const [host = '', pidText = ''] = text.split(' ');
    const pid = Number(pidText);
    const gone = !(Number.isInteger(pid) && pid > 0) || (host === hostname() && !processAlive(pid));
    if (!gone || attempt > 0) throw new LockError(held({ host, pid }), { host, pid });
    rmSync(file, { force: true });
  }
  throw new LockError(`cannot take the lock ${file}: other processes keep taking it`, { host: '', pid: 0 });
}

function releaseLock(file: string): void {
  try {
    if (readFileSync(file, 'utf8').trim() === owner()) rmSync(file, { force: true });
  } catch {
    /* already gone */
  }
}
