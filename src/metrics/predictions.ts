/**
 * The predictions file, one line per image:
 *
 *   0.64460 0.35540 1 0 1 0 ./data/val/logo/13.jpeg
 *
 * each class's probability (5 decimals), the one-hot truth, the one-hot
 * prediction, then the path (the rest of the line, so spaces survive). Lines
 * starting with '#' are comments; tsvision writes one naming the classes
 * (`# classes: ["logo","poster"]`) so that the file alone can be re-scored.
 * Without that line the number of classes is read off the first record.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';

export interface PredictionRecord {
  /** each class's probability */
  probs: number[];
  /** the true class index */
  target: number;
  /** the predicted class index */
  predicted: number;
  path: string;
}

export interface PredictionsFile {
  /** class names from the header, or '0', '1', … when the file has none */
  classes: string[];
  records: PredictionRecord[];
}

/** The index of the largest probability (the first of equals). */
export function argmax(probs: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
  return best;
}

const oneHot = (k: number, c: number): string => Array.from({ length: c }, (_, j) => (j === k ? '1' : '0')).join(' ');

/** One record as a line of the predictions file (no newline). */
export function formatPrediction({ probs, target, predicted, path }: PredictionRecord): string {
  const c = probs.length;
  return `${Array.from(probs, (p) => p.toFixed(5)).join(' ')} ${oneHot(target, c)} ${oneHot(predicted, c)} ${path}`;
}

/** The whole file's text: the classes comment, then a line per record. */
export function formatPredictions(classes: readonly string[], records: readonly PredictionRecord[]): string {
  for (const r of records) {
    if (r.probs.length !== classes.length)
      throw new RangeError(`formatPredictions: ${r.path} has ${r.probs.length} probabilities for ${classes.length} classes`);
  }
  return `# classes: ${JSON.stringify(classes)}\n${records.map((r) => `${formatPrediction(r)}\n`).join('')}`;
}

/** Writes the predictions file atomically. */
export function writePredictions(file: string, classes: readonly string[], records: readonly PredictionRecord[]): void {
  writeFileAtomic(file, Buffer.from(formatPredictions(classes, records), 'utf8'));
}

function oneHotIndex(tokens: string[], where: string, what: string): number {
  let k = -1;
  for (let j = 0; j < tokens.length; j++) {
    if (tokens[j] === '1' && k < 0) k = j;
    else if (tokens[j] !== '0') k = -2;
    if (k === -2) break;
  }
  if (k < 0) throw new SyntaxError(`${where}: the ${what} columns are not one-hot (${tokens.join(' ')})`);
  return k;
}

/** Parses a predictions file's text; `name` is used in error messages (file:line). */
export function parsePredictions(text: string, name = 'predictions'): PredictionsFile {
  let classes: string[] | null = null;
  const records: PredictionRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    const where = `${name}:${i + 1}`;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*classes:\s*(.*)$/.exec(line);
      if (m) {
        try {
          const parsed: unknown = JSON.parse(m[1]);
          if (!Array.isArray(parsed) || parsed.length < 2 || !parsed.every((s) => typeof s === 'string')) throw new Error('not a list of two or more names');
          classes = parsed as string[];
        } catch (e) {
          throw new SyntaxError(`${where}: the classes comment is not a JSON list of names (${(e as Error).message})`, { cause: e });
        }
      }
      continue;
    }
    const tokens = line.split(' ');
    let c = classes?.length ?? records[0]?.probs.length;
    if (c === undefined) {
      // no header: the path is taken to hold no spaces
      if ((tokens.length - 1) % 3 !== 0 || tokens.length < 7) {
        throw new SyntaxError(`${where}: expected each class's probability, the one-hot truth, the one-hot prediction and a path; got ${tokens.length} fields`);
      }
      c = (tokens.length - 1) / 3;
    }
    if (tokens.length < 3 * c + 1) throw new SyntaxError(`${where}: expected ${3 * c} numbers and a path for ${c} classes, got ${tokens.length} fields`);
    const probs = tokens.slice(0, c).map(Number);
    const bad = probs.findIndex((p) => !(p >= 0 && p <= 1));
    if (bad >= 0) throw new SyntaxError(`${where}: probability '${tokens[bad]}' is not a number between 0 and 1`);
    const target = oneHotIndex(tokens.slice(c, 2 * c), where, 'truth');
    const predicted = oneHotIndex(tokens.slice(2 * c, 3 * c), where, 'prediction');
    const path = tokens.slice(3 * c).join(' ');
    if (path === '') throw new SyntaxError(`${where}: no path`);
    records.push({ probs, target, predicted, path });
  }
  if (records.length === 0) throw new SyntaxError(`${name}: no predictions`);
  return { classes: classes ?? Array.from({ length: records[0].probs.length }, (_, k) => String(k)), records };
}

/** Reads and parses a predictions file. */
export function readPredictions(file: string): PredictionsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the predictions file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  return parsePredictions(text, file);
}
