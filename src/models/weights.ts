/**
 * Weights by name or by file: the table of known published files, the cache they are
 * downloaded into, and reading a weights file whatever its format.
 *
 *   resolveWeights('runs/resnet50-11ad3fa6.pth')   a path always works, offline; a known
 *                                                  file name also says its architecture
 *   resolveWeights('resnet50.imagenet')            a known name: downloaded once into the
 *                                                  cache, checked against the SHA-256 prefix
 *                                                  in its file name, as torch.hub does
 *
 * The cache is $TSVISION_HOME/weights (default ~/.cache/tsvision/weights). A download
 * goes to a temporary file, is hashed as it arrives, and is renamed into place only
 * when its hash matches: a broken or corrupted download never lands in the cache.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { hashPrefixOf, type PretrainedWeights } from './pretrained.js';

const KNOWN: PretrainedWeights[] = [];

/** Adds rows to the table of known weights (names, aliases and file names must be new). */
export function registerWeights(rows: readonly PretrainedWeights[]): void {
  for (const row of rows) {
    for (const key of [row.name, ...(row.aliases ?? []), row.file]) {
      if (findWeights(key)) throw new Error(`registerWeights: "${key}" is already known`);
    }
    KNOWN.push(row);
  }
}

/** The known weights called `key` (a name such as 'resnet50.imagenet', an alias, or a file name such as 'resnet50-11ad3fa6.pth'), or null. */
export function findWeights(key: string): PretrainedWeights | null {
  const file = basename(key);
  return KNOWN.find((w) => w.name === key || w.aliases?.includes(key) || w.file === file) ?? null;
}

/** Every known weights row of an architecture (all architectures when absent). */
export function knownWeights(architecture?: string): PretrainedWeights[] {
  return KNOWN.filter((w) => architecture === undefined || w.architecture === architecture);
}

/** Where downloaded weights are kept. */
export function weightsCacheDir(): string {
  return join(process.env.TSVISION_HOME ?? join(homedir(), '.cache', 'tsvision'), 'weights');
}

export class WeightsError extends Error {
  override name = 'WeightsError';
}

/**
 * Downloads `url` into `dir/file` unless it is there already, checking the SHA-256
 * prefix in the file's name when it has one. Returns the path.
 */
export async function downloadWeights(url: string, file: string, { dir = weightsCacheDir() }: { dir?: string } = {}): Promise<string> {
  const path = join(dir, file);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new WeightsError(`cannot download ${file} from ${url}: ${(e as Error).message}; offline, pass the path of a local copy instead`);
  }
  if (!response.ok || !response.body) throw new WeightsError(`cannot download ${file} from ${url}: HTTP ${response.status}`);
  const hash = createHash('sha256');
  const tmp = `${path}.part-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let open = true;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      writeSync(fd, chunk);
    }
    fsyncSync(fd);
    closeSync(fd);
    open = false;
    const digest = hash.digest('hex');
    const expected = hashPrefixOf(file);
    if (expected !== null && !digest.startsWith(expected)) {
      throw new WeightsError(
        `the download of ${file} from ${url} is corrupt: its SHA-256 is ${digest.slice(0, 16)}…, the file name says ${expected}; nothing was saved`,
      );
    }
    renameSync(tmp, path);
  } finally {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
  }
  return path;
}

export interface ResolvedWeights {
  path: string;
  /** the known row when the name or the file's name is in the table */
  known: PretrainedWeights | null;
}

/** A path (used as it is) or a known name (downloaded into the cache once); see the file comment. */
export async function resolveWeights(arg: string, { dir }: { dir?: string } = {}): Promise<ResolvedWeights> {
  if (existsSync(arg)) {
    if (!statSync(arg).isFile()) throw new WeightsError(`${arg} is not a file`);
    return { path: arg, known: findWeights(basename(arg)) };
  }
  const known = findWeights(arg);
  if (!known) throw new WeightsError(`no file ${arg}, and no known weights of that name (e.g. resnet50.imagenet; tsvision models lists them)`);
  if (!known.url) throw new WeightsError(`${known.name} has no download address; pass the path of ${known.file}`);
  const cached = join(dir ?? weightsCacheDir(), known.file);
  return { path: existsSync(cached) ? cached : await downloadWeights(known.url, known.file, { dir }), known };
}
