/**
 * What evaluation writes and reads: the predictions file (the seeds' format),
 * worst mistakes, confused pairs, a class's operating point, the stratified
 * split and the classification presets. Expected values are worked by hand.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { stratifiedSplit } from '../src/data/split.js';
import {
  argmax,
  confusedPairs,
  ConfusionMatrix,
  formatConfusionMatrix,
  formatPrediction,
  htmlReport,
  operatingPoint,
  parsePredictions,
  readPredictions,
  scorePredictions,
  worstMistakes,
  writePredictions,
  type PredictionRecord,
} from '../src/metrics/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { evalTransform, parsePreprocess, trainTransform, type PreprocessConfig } from '../src/transforms/presets.js';
import { Generator } from '../src/tensor/random.js';

const rec = (probs: number[], target: number, path: string): PredictionRecord => ({ probs, target, predicted: argmax(probs), path });

describe('the predictions file', () => {
  test("a line in the seeds' format", () => {
    assert.equal(formatPrediction(rec([0.6446, 0.3554], 0, './data/val/logo/13.jpeg')), '0.64460 0.35540 1 0 1 0 ./data/val/logo/13.jpeg');
    assert.equal(formatPrediction(rec([0.1, 0.2, 0.7], 0, 'a b.png')), '0.10000 0.20000 0.70000 1 0 0 0 0 1 a b.png');
  });

  test("the seeds' line without a header: classes are read off the first record", () => {
    const f = parsePredictions('0.64460 0.35540 1 0 1 0 ./data/val/logo/13.jpeg\n0.20000 0.80000 1 0 0 1 ./data/val/logo/14.jpeg\n');
    assert.deepEqual(f.classes, ['0', '1']);
    assert.deepEqual(f.records[1], { probs: [0.2, 0.8], target: 0, predicted: 1, path: './data/val/logo/14.jpeg' });
  });

  test('written and read back: classes, paths with spaces, the prediction column as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvision-preds-'));
    try {
      const file = join(dir, 'p.txt');
      const records = [
        rec([0.9, 0.05, 0.05], 0, 'x/cat 1.png'),
        rec([0.3, 0.3, 0.4], 1, 'x/dog.png'),
        { probs: [0.5, 0.5, 0], target: 2, predicted: 1, path: 'y.png' },
      ];
      writePredictions(file, ['cat', 'dog', 'bird house'], records);
      assert.equal(readFileSync(file, 'utf8').split('\n')[0], '# classes: ["cat","dog","bird house"]');
      const back = readPredictions(file);
      assert.deepEqual(back.classes, ['cat', 'dog', 'bird house']);
      assert.deepEqual(back.records, records);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('malformed lines are named by file and line', () => {
    assert.throws(() => parsePredictions('# classes: ["a","b"]\n0.5 0.5 1 1 1 0 p.png', 'f'), /^SyntaxError: f:2: the truth columns are not one-hot \(1 1\)$/);
    assert.throws(() => parsePredictions('0.5 1.5 1 0 1 0 p.png', 'f'), /f:1: probability '1.5' is not a number between 0 and 1/);
    assert.throws(() => parsePredictions('0.5 0.5 1 0', 'f'), /f:1: expected each class's probability/);
    assert.throws(() => parsePredictions('# classes: oops\n', 'f'), /f:1: the classes comment is not a JSON list/);
    assert.throws(() => parsePredictions('# nothing\n', 'f'), /f: no predictions/);
    assert.throws(() => readPredictions('/nonexistent/p.txt'), /cannot read the predictions file \/nonexistent\/p.txt: ENOENT/);
  });
});

describe('reading the mistakes', () => {
  const records = [
    rec([0.9, 0.1, 0.0], 0, 'a0'),
    rec([0.2, 0.7, 0.1], 0, 'a1'),
    rec([0.1, 0.1, 0.8], 0, 'a2'),
    rec([0.6, 0.4, 0.0], 1, 'b0'),
    rec([0.1, 0.9, 0.0], 1, 'b1'),
    rec([0.05, 0.9, 0.05], 2, 'c0'),
    rec([0.0, 0.4, 0.6], 2, 'c1'),
  ];

  test('worst mistakes: the wrong predictions with the highest confidence first', () => {
    assert.deepEqual(
      worstMistakes(records, 3).map((m) => [m.path, m.predicted, m.confidence, m.targetProb]),
      [
        ['c0', 1, 0.9, 0.05],
        ['a2', 2, 0.8, 0.1],
        ['a1', 1, 0.7, 0.2],
      ],
    );
    assert.equal(worstMistakes(records).length, 4);
  });

  test('confused pairs: the largest off-diagonal cells', () => {
    const cm = new ConfusionMatrix(3).update([1, 1, 2, 0, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1, 2, 2, 2, 0]);
    // rows: true 0 -> [1, 2, 1], true 1 -> [1, 1, 0], true 2 -> [1, 2, 0]
    assert.deepEqual(
      confusedPairs(cm, 3).map((p) => [p.target, p.predicted, p.count, p.share]),
      [
        [2, 1, 2, 2 / 3],
        [0, 1, 2, 0.5],
        [1, 0, 1, 0.5],
      ],
    );
  });

  test("a class's operating point (one against the rest, by its probability)", () => {
    // class 0's scores: a0 .9 (pos), a1 .2 (pos), a2 .1 (pos), b0 .6, b1 .1, c0 .05, c1 0
    const byRecall = operatingPoint(records, 0, 'recall', 2 / 3);
    // recall >= 2/3 first at threshold 0.2: found a0, a1; false alarm b0 -> precision 2/3
    assert.deepEqual([byRecall.threshold, byRecall.truePositives, byRecall.falsePositives, byRecall.falseNegatives], [0.2, 2, 1, 1]);
    assert.ok(Math.abs(byRecall.precision - 2 / 3) < 1e-12);
    const byPrecision = operatingPoint(records, 0, 'precision', 1);
    assert.deepEqual([byPrecision.threshold, byPrecision.recall, byPrecision.falsePositives], [0.9, 1 / 3, 0]);
    const all = operatingPoint(records, 0, 'recall', 1);
    // every class-0 image: threshold 0.1 also catches b1
    assert.deepEqual([all.threshold, all.truePositives, all.falsePositives], [0.1, 3, 2]);
    assert.throws(() => operatingPoint(records, 0, 'recall', 0), /target recall must be in \(0, 1\]/);
  });

  test('the report text', () => {
    const s = scorePredictions(['cat', 'dog', 'bird'], records, { operatingPoint: { classIndex: 0, goal: 'recall', target: 0.6 } });
    assert.equal(s.report.accuracy, 3 / 7);
    assert.match(s.text, /^Accuracy: 42\.86% \(3 of 7 images\)/);
    assert.match(s.text, / {2}0\.9000 {2}said dog, is bird \(0\.0500\) {2}c0\n/);
    assert.match(s.text, /call an image 'cat' when its probability is >= 0\.20000: precision 0\.6667, recall 0\.6667 \(2 found, 1 missed, 1 false alarms\)/);
    assert.equal(
      formatConfusionMatrix(s.confusion, ['cat', 'dog', 'bird']),
      '         cat   dog  bird\n' + '  cat      1     1     1\n' + '  dog      1     1     0\n' + '  bird     0     1     1\n',
    );
  });
});

describe('the HTML report', () => {
  test('links each worst mistake by a path relative to the page, escapes names, shades the matrix', () => {
    const records = [
      rec([0.9, 0.1], 0, 'data/val/cat/1.png'),
      rec([0.2, 0.8], 0, 'data/val/cat/a b&c.png'),
      rec([0.3, 0.7], 1, 'data/val/dog/2.png'),
      rec([0.6, 0.4], 1, '/abs/dog/3.png'),
    ];
    const classes = ['cat', 'dog <3'];
    const html = htmlReport({ title: 'T', classes, scores: scorePredictions(classes, records), pageDir: 'runs/x/evaluation' });
    const imgs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(imgs, [
      '../../../data/val/cat/a%20b%26c.png',
      relative(resolve('runs/x/evaluation'), '/abs/dog/3.png').split('/').map(encodeURIComponent).join('/'),
    ]);
    assert.ok(html.includes('dog &lt;3') && !html.includes('dog <3'));
    assert.match(html, /Accuracy <b>50\.00%<\/b> \(2 of 4 images\)/);
    assert.equal((html.match(/<td style="background:hsla/g) ?? []).length, 4);
  });
});

describe('stratifiedSplit', () => {
  test("keeps each class's share, at least one per class on each side, seeded", () => {
    const targets = [...Array(50).fill(0), ...Array(10).fill(1), ...Array(2).fill(2), 3];
    const s = stratifiedSplit(targets, 0.2, { seed: 1 });
    const count = (idx: number[], k: number) => idx.filter((i) => targets[i] === k).length;
    assert.deepEqual(
      [0, 1, 2, 3].map((k) => count(s.val, k)),
      [10, 2, 1, 0],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((k) => count(s.train, k)),
      [40, 8, 1, 1],
    );
    assert.deepEqual(
      [...s.train, ...s.val].sort((a, b) => a - b),
      targets.map((_, i) => i),
    );
    assert.deepEqual(stratifiedSplit(targets, 0.2, { seed: 1 }), s);
    assert.notDeepEqual(stratifiedSplit(targets, 0.2, { seed: 2 }).val, s.val);
    assert.deepEqual(stratifiedSplit(targets, 0).val, []);
    assert.throws(() => stratifiedSplit(targets, 1), /validation fraction must be in \[0, 1\)/);
  });
});

describe('classification presets', () => {
  const preset: PreprocessConfig = {
    resizeSize: 16,
    cropSize: 16,
    interpolation: 'bilinear',
    channels: 3,
    resizeMode: 'crop',
    augment: 'standard',
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
  };
  const img = new Tensor<'uint8'>(
    Uint8Array.from({ length: 20 * 40 * 3 }, (_, i) => i % 251),
    [20, 40, 3],
  );

  test('every resize mode and augmentation gives [C, s, s]; evaluation is deterministic', () => {
    for (const resize of ['crop', 'letterbox', 'stretch'] as const) {
      for (const augment of ['standard', 'light', 'none'] as const) {
        const p = { ...preset, resize, augment };
        assert.deepEqual((trainTransform(p).apply(img, new Generator(1)) as Tensor).shape, [3, 16, 16], `${resize} ${augment}`);
      }
      const e = evalTransform({ ...preset, resizeMode: resize });
      assert.deepEqual((e.apply(img) as Tensor).data, (e.apply(img) as Tensor).data);
    }
    // normalisation: a mid-grey 128 maps to (128/255 - 0.5) / 0.25
    const grey = new Tensor<'uint8'>(new Uint8Array(16 * 16 * 3).fill(128), [16, 16, 3]);
    const x = evalTransform(preset).apply(grey) as Tensor;
    assert.ok(Math.abs((x.data as Float32Array)[0] - (128 / 255 - 0.5) / 0.25) < 1e-6);
    // letterbox keeps the whole wide picture: the padded rows are black (normalised)
    const boxed = evalTransform({ ...preset, resizeMode: 'letterbox' }).apply(img) as Tensor;
    assert.ok(Math.abs((boxed.data as Float32Array)[0] - (0 - 0.5) / 0.25) < 1e-6);
  });

  test('parsePreprocess checks what a checkpoint recorded, and reads the earlier { imageSize, resize } form', () => {
    assert.deepEqual(parsePreprocess(JSON.parse(JSON.stringify(preset)), 'ck'), preset);
    assert.throws(() => parsePreprocess(null, 'ck'), /^Error: ck: the recorded preprocessing is missing/);
    assert.throws(() => parsePreprocess({ ...preset, channels: 2 }, 'ck'), /has channels 2, not 1 or 3/);
    assert.throws(() => parsePreprocess({ ...preset, mean: [0.5] }, 'ck'), /no valid mean and std for 3 channels/);
    assert.throws(() => parsePreprocess({ ...preset, resizeMode: 'zoom' }, 'ck'), /has resizeMode "zoom"/);
    assert.throws(() => parsePreprocess({ ...preset, interpolation: 'smooth' }, 'ck'), /has interpolation "smooth"/);
    const earlier = { imageSize: 16, channels: 3, resize: 'crop', augment: 'standard', mean: preset.mean, std: preset.std };
    assert.deepEqual(parsePreprocess(earlier, 'ck'), preset);
  });
});
