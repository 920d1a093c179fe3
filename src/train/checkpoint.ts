/**
 * Checkpoints: a directory holding
 *
 *   model.safetensors      the model's stateDict (PyTorch's keys)
 *   optimizer.safetensors  the optimizer's state tensors ("state.0.exp_avg", …), when there is an optimizer
 *   ema.safetensors        the weights' moving average (ModelEma), under the model's keys, when training kept one
 *   checkpoint.json        architecture and config, class names, preprocessing, epoch, step,
 *                          metrics, the optimizer's and scheduler's other state (stateToJSON), version
 *
 * written atomically as a whole: everything goes into a sibling `name.tmp-<pid>`
 * (each file fsynced, then the directory), the previous checkpoint is renamed to
 * `name.old`, the new one to `name`, and `name.old` is removed. A crash at any
 * moment leaves either `name` complete or `name.old` complete; loadCheckpoint
 * falls back to `name.old` when `name` is missing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../core/atomic.js';
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js';
import type { JsonValue } from '../core/json.js';
import type { PreprocessConfig } from '../transforms/presets.js';
import { stateFromJSON, stateToJSON } from '../optim/serialize.js';
import type { GeneratorState } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { EmaInfo } from './ema.js';

export const CHECKPOINT_FORMAT = 'tsvision-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;

export interface Architecture {
  name: string;
  config: { [key: string]: JsonValue };
}

/** What checkpoint.json holds (besides the optimizer and scheduler state). */
export interface CheckpointInfo {
  architecture?: Architecture | null;
  classes?: string[] | null;
  /** a PreprocessConfig when written by tsvision; read back as the JSON it is (parsePreprocess checks it) */
  preprocessing?: PreprocessConfig | JsonValue;
  /** epochs completed */
  epoch?: number;
  /** optimizer steps completed */
  step?: number;
  metrics?: Record<string, number>;
  /** the global random generator's position, so dropout and augmentation continue identically on resume */
  rng?: GeneratorState | null;
  /** anything else worth keeping (JSON) */
  extra?: JsonValue;
  /** the moving average's settings and update count, when ema.safetensors holds one */
  ema?: EmaInfo | null;
}

export interface CheckpointContents {
  modelState: Map<string, Tensor>;
  /** an optimizer state dict (give it to optimizer.loadStateDict), or null */
  optimizerState: unknown;
  optimizerName: string | null;
  /** a scheduler state dict, or null */
  schedulerState: unknown;
  schedulerName: string | null;
  /** the weights' moving average (ModelEma), or null */
  emaState: Map<string, Tensor> | null;
  info: Required<Omit<CheckpointInfo, 'extra' | 'preprocessing' | 'architecture' | 'classes' | 'rng' | 'ema'>> & CheckpointInfo;
  tsvisionVersion: string;
  /** the directory actually read (`name` or, after an interrupted save, `name.old`) */
  path: string;
}

export interface SaveCheckpointInput {
  modelState: Map<string, Tensor>;
  optimizer?: { stateDict(): unknown; constructor: { name: string } } | null;
  scheduler?: { stateDict(): unknown; constructor: { name: string } } | null;
  /** the weights' moving average, saved beside the weights (its settings go in info.ema) */
  emaState?: Map<string, Tensor> | null;
  info?: CheckpointInfo;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

let cachedVersion: string | null = null;
/** tsvision's version, from its package.json. */
export function tsvisionVersion(): string {
  if (cachedVersion !== null) return cachedVersion;
  cachedVersion = 'unknown';
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tsvision' && pkg.version) {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      /* try the next */
    }
  }
  return cachedVersion;
}

function writeJSON(path: string, value: unknown): void {
  writeFileAtomic(path, Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8'));
}

/** Removes `name.tmp-<pid>` siblings left by processes that no longer run. */
function removeStaleTemps(dir: string): void {
  const parent = dirname(dir);
  const prefix = `${basename(dir)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const pid = Number(n.slice(prefix.length));
    if (!Number.isInteger(pid)) continue;
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) rmSync(join(parent, n), { recursive: true, force: true });
  }
}

const WRITE_FAILURES: Record<string, string> = {
  EFBIG: 'a file would exceed the size limit (ulimit -f)',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EIO: 'an input/output error',
};

/** A CheckpointError saying why a save failed and that the previous checkpoint is untouched; other errors as they are. */
function writeFailure(e: unknown, dir: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const why = code !== undefined ? WRITE_FAILURES[code] : undefined;
  if (!why) return e;
  const kept = resolveCheckpoint(dir) !== null ? `the previous checkpoint in ${dir} is kept whole` : 'nothing was written';
  return new CheckpointError(`saveCheckpoint: cannot write the checkpoint ${dir}: ${why} (${code}); ${kept}`);
}

/**
 * Test-only: TSVISION_TEST_SAVE_PAUSE_MS=N sleeps N ms between the steps of a save, so that
 * the kill tests (test/train-kill.test.ts) land a share of their kills inside checkpoint writes.
 */
const SAVE_PAUSE_MS = Number(process.env.TSVISION_TEST_SAVE_PAUSE_MS ?? 0) || 0;
function pause(): void {
  if (SAVE_PAUSE_MS > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SAVE_PAUSE_MS);
}

/** Writes a checkpoint directory atomically (see the file comment). */
export function saveCheckpoint(dir: string, { modelState, optimizer, scheduler, emaState, info = {} }: SaveCheckpointInput): void {
  dir = resolve(dir);
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  removeStaleTemps(dir);
  const tmp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old`;
  if (existsSync(dir) && !existsSync(join(dir, 'checkpoint.json')) && readdirSync(dir).length > 0) {
    // a save replaces the whole directory: never do that to one that is not a checkpoint
    throw new CheckpointError(`saveCheckpoint: ${dir} exists and is not a checkpoint (no checkpoint.json); choose a new directory`);
  }
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const version = tsvisionVersion();
    saveSafetensors(join(tmp, 'model.safetensors'), modelState, { format: 'pt', producer: `tsvision ${version}` });
    pause();
    let optimizerJSON: JsonValue = null;
    if (optimizer) {
      const tensors = new Map<string, Tensor>();
      optimizerJSON = stateToJSON(optimizer.stateDict(), { tensors });
      saveSafetensors(join(tmp, 'optimizer.safetensors'), tensors, { producer: `tsvision ${version}` });
    }
    if (emaState) saveSafetensors(join(tmp, 'ema.safetensors'), emaState, { format: 'pt', producer: `tsvision ${version}` });
    const json = {
      format: CHECKPOINT_FORMAT,
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      tsvisionVersion: version,
      architecture: info.architecture ?? null,
      classes: info.classes ?? null,
      preprocessing: info.preprocessing ?? null,
      epoch: info.epoch ?? 0,
      step: info.step ?? 0,
      metrics: stateToJSON(info.metrics ?? {}),
      rng: info.rng ?? null,
      optimizer: optimizer ? { name: optimizer.constructor.name, state: optimizerJSON } : null,
      scheduler: scheduler ? { name: scheduler.constructor.name, state: stateToJSON(scheduler.stateDict()) } : null,
      extra: info.extra ?? null,
      ema: emaState ? { ...info.ema } : null,
      savedAt: new Date().toISOString(),
    };
    pause();
    writeJSON(join(tmp, 'checkpoint.json'), json);
    fsyncDir(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw writeFailure(e, dir);
  }
  if (existsSync(dir)) {
    // `dir` is complete (it only ever appears by renaming a complete temp), so it replaces any `.old`.
    rmSync(old, { recursive: true, force: true });
    renameSync(dir, old);
    pause();
  }
  renameSync(tmp, dir);
  pause();
  fsyncDir(parent);
  rmSync(old, { recursive: true, force: true });
  fsyncDir(parent);
}

/**
 * The first float tensor of `state` holding a NaN or an infinity, with the first such value's index, or null:
 * weights like that answer NaN for every picture, so loading refuses them rather than serving nonsense.
 */
export function firstNonFinite(state: Map<string, Tensor>): { key: string; index: number; value: number } | null {
  for (const [key, t] of state) {
    if (t.dtype !== 'float32') continue;
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) {
      // v - v is 0 for a finite v, NaN for NaN and ±Infinity
      if (d[i] - d[i] !== 0) return { key, index: i, value: d[i] };
    }
  }
  return null;
}

function checkFinite(state: Map<string, Tensor>, file: string): void {
  const bad = firstNonFinite(state);
  if (bad) throw new CheckpointError(`loadCheckpoint: ${file}: tensor ${bad.key} holds ${bad.value} at index ${bad.index} (not finite)`);
}

/** Where a checkpoint can be read: `dir`, or `dir.old` after an interrupted save; null if neither. */
export function resolveCheckpoint(dir: string): string | null {
  dir = resolve(dir);
  if (existsSync(join(dir, 'checkpoint.json'))) return dir;
  if (existsSync(join(`${dir}.old`, 'checkpoint.json'))) return `${dir}.old`;
  return null;
}

function loadEma(file: string): Map<string, Tensor> {
  const state = loadSafetensors(file).tensors;
  checkFinite(state, file);
  return state;
}

/** Reads a checkpoint directory (or its `.old` sibling after an interrupted save). */
export function loadCheckpoint(dir: string): CheckpointContents {
  const path = resolveCheckpoint(dir);
  if (path === null) throw new CheckpointError(`loadCheckpoint: no checkpoint at ${resolve(dir)} (no checkpoint.json there or in ${resolve(dir)}.old)`);
  const jsonPath = join(path, 'checkpoint.json');
  let json: Record<string, any>;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`loadCheckpoint: ${jsonPath}: ${(e as Error).message}`);
  }
  if (json.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`loadCheckpoint: ${jsonPath} is not a tsvision checkpoint (format ${JSON.stringify(json.format)})`);
  if (json.formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      `loadCheckpoint: ${jsonPath} has format version ${json.formatVersion}; this tsvision (${tsvisionVersion()}) reads up to ${CHECKPOINT_FORMAT_VERSION}`,
    );
  }
  const modelState = loadSafetensors(join(path, 'model.safetensors')).tensors;
  checkFinite(modelState, join(path, 'model.safetensors'));
  let optimizerState: unknown = null;
  if (json.optimizer) {
    const tensors = loadSafetensors(join(path, 'optimizer.safetensors')).tensors;
    optimizerState = stateFromJSON(json.optimizer.state, { tensors });
  }
  return {
    modelState,
    optimizerState,
    optimizerName: json.optimizer?.name ?? null,
    schedulerState: json.scheduler ? stateFromJSON(json.scheduler.state) : null,
    schedulerName: json.scheduler?.name ?? null,
    emaState: json.ema ? loadEma(join(path, 'ema.safetensors')) : null,
    info: {
      architecture: json.architecture ?? null,
      classes: json.classes ?? null,
      preprocessing: json.preprocessing ?? null,
      epoch: json.epoch ?? 0,
      step: json.step ?? 0,
      metrics: stateFromJSON(json.metrics ?? {}),
      rng: json.rng ?? null,
      extra: json.extra ?? null,
      ema: json.ema ?? null,
    },
    tsvisionVersion: json.tsvisionVersion ?? 'unknown',
    path,
  };
}
