/**
 * Runs started elsewhere: the server watches their folders (fs.watch on the run folder
 * and its evaluation/ folder, which see the atomic renames and the appended lines),
 * re-reads what changed and pushes it to the browsers as events. A folder of runs is
 * watched too, so a run started later appears on the page.
 */
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { readNumberCsv } from '../train/curves.js';
import { findRunDirs, isRunDir, readEvaluation, readRun, readRunInfo, type Run } from './runs.js';
import type { DashboardServer } from './server.js';

const DEBOUNCE_MS = 100;

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function tryWatch(path: string, onChange: () => void): FSWatcher | null {
  try {
    const w = watch(path, { persistent: false }, onChange);
    w.on('error', () => w.close());
    return w;
  } catch {
    return null;
  }
}

/** Keeps one run folder's state in the server up to date with its files. */
class RunWatcher {
  #timer: NodeJS.Timeout | null = null;
  #watchers: FSWatcher[] = [];
  #evalWatched = false;
  #predictionsTime: number;
  #runJson: string;

  constructor(
    readonly server: DashboardServer,
    readonly run: Run,
    readonly dir: string,
  ) {
    this.#predictionsTime = mtimeOf(join(dir, 'evaluation', 'predictions.txt'));
    this.#runJson = JSON.stringify([run.settings, run.command]);
    const w = tryWatch(dir, () => this.#schedule());
    if (w) this.#watchers.push(w);
    this.#watchEvaluation();
  }

  #watchEvaluation(): void {
    if (this.#evalWatched || !existsSync(join(this.dir, 'evaluation'))) return;
    const w = tryWatch(join(this.dir, 'evaluation'), () => this.#schedule());
    if (w) {
      this.#watchers.push(w);
      this.#evalWatched = true;
    }
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.reload();
    }, DEBOUNCE_MS);
  }

  /** Re-reads the files and sends what is new; a file that shrank (a resumed run rewrote it) resends the whole run. */
  reload(): void {
    this.#watchEvaluation();
    const { server, run, dir } = this;
    const epochs = readNumberCsv(join(dir, 'history.csv'));
    const steps = readNumberCsv(join(dir, 'steps.csv'));
    if (epochs.length < run.epochs.length || steps.length < run.steps.length) {
      this.#predictionsTime = mtimeOf(join(dir, 'evaluation', 'predictions.txt'));
      server.resetRun(run, readRun(run.id, dir, server.nextVersion()));
      return;
    }
    server.pushSteps(run, steps.slice(run.steps.length));
    for (const row of epochs.slice(run.epochs.length)) server.pushEpoch(run, row);
    const next = readRunInfo(dir);
    const runJson = JSON.stringify([next.settings, next.command]);
    if (runJson !== this.#runJson || next.status !== run.status) {
      this.#runJson = runJson;
      server.updateRun(run, { status: next.status, settings: next.settings, command: next.command });
    }
    const t = mtimeOf(join(dir, 'evaluation', 'predictions.txt'));
    if (t !== this.#predictionsTime) {
      this.#predictionsTime = t;
      try {
        server.showEvaluation(run, readEvaluation(dir, server.nextVersion()));
      } catch {
        /* a predictions file being replaced: the rename's own event reads it again */
      }
    }
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
  }
}

/**
 * Shows the runs under each folder (a run folder, or a folder of run folders) and keeps
 * them current; returns the runs found now.
 */
export function watchRuns(server: DashboardServer, roots: readonly string[]): Run[] {
  const known = new Set<string>();
  const found: Run[] = [];
  const add = (dir: string) => {
    const key = resolve(dir);
    if (known.has(key)) return;
    known.add(key);
    let run: Run;
    try {
      run = readRun('', dir, server.nextVersion());
    } catch {
      known.delete(key);
      return; // a predictions file half written: the next event reads it again
    }
    const added = server.addRun({ ...run, name: run.name });
    found.push(added);
    const w = new RunWatcher(server, added, dir);
    server.onClose(() => w.close());
  };
  for (const root of roots) {
    for (const dir of findRunDirs(root)) add(dir);
    if (!isRunDir(root)) {
      let timer: NodeJS.Timeout | null = null;
      const w = tryWatch(root, () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => findRunDirs(root).forEach(add), DEBOUNCE_MS);
      });
      server.onClose(() => {
        if (timer) clearTimeout(timer);
        w?.close();
      });
    }
  }
  return found;
}
