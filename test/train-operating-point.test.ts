import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePredictions, type PredictionRecord } from '../src/metrics/predictions.js';
import { operatingPointFor, defaultPredictionsFile, OperatingPointError } from '../src/train/operating-point.js';

const classes = ['logo', 'other'];
// logo probabilities of 4 logos and 4 others
const rows: [number, number][] = [
  [0.9, 0],
  [0.8, 0],
  [0.6, 0],
  [0.3, 0],
  [0.7, 1],
  [0.4, 1],
  [0.2, 1],
  [0.1, 1],
];
const records: PredictionRecord[] = rows.map(([p, t], i) => ({ probs: [p, 1 - p], target: t, predicted: p >= 0.5 ? 0 : 1, path: `img${i}.png` }));

function checkpointWithEvaluation(): string {
  const run = mkdtempSync(join(tmpdir(), 'tsv-op-'));
  const ck = join(run, 'best');
  mkdirSync(join(run, 'evaluation'), { recursive: true });
  writePredictions(defaultPredictionsFile(ck), classes, records);
  return ck;
}

test('operatingPointFor: the threshold reaching the recall target, and passes() applies it', () => {
  const source = checkpointWithEvaluation();
  const op = operatingPointFor({ classes, source }, { className: 'logo', goal: 'recall', target: 0.75 });
  // recall 3/4 needs the threshold at 0.6: precision 3/4 (0.9, 0.8, 0.7, 0.6 flagged)
  assert.equal(op.threshold, 0.6);
  assert.equal(op.recall, 0.75);
  assert.equal(op.precision, 0.75);
  assert.equal(op.passes([0.6, 0.4]), true);
  assert.equal(op.passes([0.59, 0.41]), false);
  const all = operatingPointFor({ classes, source }, { className: 'logo', goal: 'recall', target: 1 });
  assert.equal(all.threshold, 0.3);
  const precise = operatingPointFor({ classes, source }, { className: 'logo', goal: 'precision', target: 1 });
  assert.equal(precise.threshold, 0.8);
});

test('operatingPointFor: errors name the class, the file and what to run', () => {
  const source = checkpointWithEvaluation();
  assert.throws(
    () => operatingPointFor({ classes, source }, { className: 'poster', goal: 'recall', target: 0.9 }),
    /no class 'poster'; the classes are logo, other/,
  );
  const bare = join(mkdtempSync(join(tmpdir(), 'tsv-op-')), 'best');
  assert.throws(
    () => operatingPointFor({ classes, source: bare }, { className: 'logo', goal: 'recall', target: 0.9 }),
    (e: Error) => e instanceof OperatingPointError && /predictions\.txt does not exist; run tsvision evaluate/.test(e.message),
  );
  assert.throws(() => operatingPointFor({ classes: ['a', 'b', 'c'], source }, { className: 'a', goal: 'recall', target: 0.9 }), /not this model's a, b, c/);
});
