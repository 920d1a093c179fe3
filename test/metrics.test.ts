/** src/metrics: confusion matrix, sklearn-style per-class scores and report, top-k, PR curve. Expected values are worked by hand. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import {
  ConfusionMatrix,
  TopKAccuracy,
  accuracy,
  classificationReport,
  f1,
  macro,
  precision,
  precisionRecallCurve,
  recall,
  support,
  thresholdForPrecision,
  thresholdForRecall,
  weighted,
} from '../src/metrics/index.js';
import { assertClose } from './helpers.js';

const i32 = (xs: number[]): tv.Tensor => tv.tensor(new Int32Array(xs));

describe('ConfusionMatrix', () => {
  test("the seeds' logo example: 8 of 10 logos found, no false alarm", () => {
    // class 1 = logo. 10 logo images (8 predicted logo, 2 missed) and 10 other images, all predicted other.
    const targets = [...Array(10).fill(1), ...Array(10).fill(0)];
    const preds = [...Array(8).fill(1), 0, 0, ...Array(10).fill(0)];
    const cm = new ConfusionMatrix(2).update(i32(preds), i32(targets));
    assert.deepEqual(cm.matrix, [
      [10, 0],
      [2, 8],
    ]);
    assert.equal(precision(cm)[1], 1); // 8 / (8 + 0)
    assert.equal(recall(cm)[1], 0.8); // 8 / (8 + 2)
    assertClose([f1(cm)[1]], [16 / 18]); // 2*8 / (2*8 + 0 + 2)
    assert.deepEqual(support(cm), [10, 10]);
    assert.equal(accuracy(cm), 0.9); // 18 / 20
  });

  test('3 classes by hand: matrix, per-class scores, macro and weighted', () => {
    // true: 6 of class 0, 6 of class 1, 4 of class 2
    const yTrue = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2];
    const yPred = [0, 0, 1, 0, 0, 0, 0, 1, 2, 1, 0, 1, 2, 2, 2, 2];
    const cm = new ConfusionMatrix(3).update(yPred, yTrue);
    // rows = true, columns = predicted
    assert.deepEqual(cm.matrix, [
      [5, 1, 0],
      [2, 3, 1],
      [0, 0, 4],
    ]);
    // column sums (predicted counts) 7, 4, 5; row sums (support) 6, 6, 4; diagonal 12 of 16
    assert.equal(accuracy(cm), 0.75);
    assert.deepEqual(support(cm), [6, 6, 4]);
    assertClose(precision(cm), [5 / 7, 3 / 4, 4 / 5]); // 0.714286, 0.75, 0.8
    assertClose(recall(cm), [5 / 6, 3 / 6, 4 / 4]); // 0.833333, 0.5, 1
    // F1 = 2TP / (2TP + FP + FN) = 2TP / (support + predicted)
    assertClose(f1(cm), [10 / 13, 6 / 10, 8 / 9]); // 0.769231, 0.6, 0.888889
    const m = macro(cm);
    // macro P = (0.714286 + 0.75 + 0.8) / 3 = 0.754762; R = (0.833333 + 0.5 + 1) / 3 = 0.777778
    // macro F1 = (0.769231 + 0.6 + 0.888889) / 3 = 0.752707
    assertClose([m.precision, m.recall, m.f1, m.support], [0.7547619, 0.7777778, 0.7527066, 16]);
    const w = weighted(cm);
    // weighted P = (6*0.714286 + 6*0.75 + 4*0.8) / 16 = 11.985714 / 16 = 0.749107
    // weighted R = (5 + 3 + 4) / 16 = 0.75 (always the accuracy)
    // weighted F1 = (6*0.769231 + 6*0.6 + 4*0.888889) / 16 = 11.770940 / 16 = 0.735684
    assertClose([w.precision, w.recall, w.f1, w.support], [0.7491071, 0.75, 0.7356838, 16]);
  });

  test('zero_division = 0: a class never predicted has precision 0; a class with no samples has recall 0', () => {
    // class 1 has 2 samples, never predicted; class 2 has no samples, predicted once
    const cm = ConfusionMatrix.fromMatrix([
      [3, 0, 1],
      [2, 0, 0],
      [0, 0, 0],
    ]);
    assert.deepEqual(precision(cm), [3 / 5, 0, 0]);
    assert.deepEqual(recall(cm), [1 - 1 / 4, 0, 0]);
    assert.deepEqual(f1(cm), [6 / 9, 0, 0]);
    assertClose([macro(cm).precision], [0.2]); // (0.6 + 0 + 0) / 3: every class counts
  });

  test('scores [N, C] are reduced by argmax; a 2-D float tensor, number[][] and indices agree', () => {
    const scores = [
      [0.1, 0.7, 0.2],
      [0.5, 0.5, 0.0], // tie: the first largest (class 0), as argmax
      [0.0, 0.1, 0.9],
      [0.3, 0.3, 0.4],
    ];
    const targets = [1, 1, 2, 0];
    const a = new ConfusionMatrix(3).update(tv.tensor(scores), i32(targets));
    const b = new ConfusionMatrix(3).update(scores, targets);
    const c = new ConfusionMatrix(3).update([1, 0, 2, 2], targets);
    assert.deepEqual(a.matrix, [
      [0, 0, 1],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    assert.deepEqual(b.matrix, a.matrix);
    assert.deepEqual(c.matrix, a.matrix);
  });

  test('streaming in batches equals all at once; merge adds; reset clears', () => {
    const g = new tv.Generator(7);
    const n = 1000;
    const C = 5;
    const yTrue = Array.from({ length: n }, () => Math.floor(g.random() * C));
    const yPred = yTrue.map((t) => (g.random() < 0.6 ? t : Math.floor(g.random() * C)));
    const naive = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    yTrue.forEach((t, i) => naive[t][yPred[i]]++);

    const whole = new ConfusionMatrix(C).update(i32(yPred), i32(yTrue));
    assert.deepEqual(whole.matrix, naive);
    const streamed = new ConfusionMatrix(C);
    for (let s = 0, b = 1; s < n; s += b, b = ((b * 3) % 97) + 1) streamed.update(i32(yPred.slice(s, s + b)), i32(yTrue.slice(s, s + b)));
    assert.deepEqual(streamed.matrix, naive);
    assert.equal(streamed.total, n);

    const left = new ConfusionMatrix(C).update(yPred.slice(0, 400), yTrue.slice(0, 400));
    const right = new ConfusionMatrix(C).update(yPred.slice(400), yTrue.slice(400));
    assert.deepEqual(left.merge(right).matrix, naive);
    left.reset();
    assert.equal(left.total, 0);
    assert.ok(Number.isNaN(accuracy(left)));
  });

  test('errors: bad shapes, classes out of range, length mismatch; a bad batch counts nothing', () => {
    const cm = new ConfusionMatrix(3);
    assert.throws(() => new ConfusionMatrix(0), RangeError);
    assert.throws(() => cm.update([0, 3], [0, 1]), /predictions\[1\] = 3 is out of range for 3 classes/);
    assert.throws(() => cm.update([0, 1], [0, -1]), /targets\[1\] = -1 is out of range/);
    assert.throws(() => cm.update([0, 1.5], [0, 1]), /not an integer class index/);
    assert.throws(() => cm.update([0, 1, 2], [0, 1]), /3 predictions but 2 targets/);
    assert.throws(() => cm.update(tv.zeros([2, 4]), [0, 1]), /scores must have shape \[N, 3\], got \[2, 4\]/);
    assert.throws(() => cm.update(tv.zeros([2, 3, 1]), [0, 1]), /must have shape \[N\]/);
    assert.throws(
      () =>
        cm.update(
          [
            [0.1, 0.2, 0.7],
            [0.1, 0.9],
          ],
          [0, 1],
        ),
      /row 1 must have 3 values/,
    );
    assert.throws(() => cm.update([0, 1], i32([0, 1, 2, 0]).reshape([2, 2])), /targets must have shape \[N\]/);
    assert.throws(() => cm.merge(new ConfusionMatrix(4)), /ConfusionMatrix of 3 classes, got 4/);
    assert.throws(() => ConfusionMatrix.fromMatrix([[1, 2], [3]]), /row 1 has 1 values/);
    assert.equal(cm.total, 0);
  });
});

describe('classificationReport', () => {
  test("sklearn's documented example, as data and text", () => {
    // y_true = [0, 1, 2, 2, 2], y_pred = [0, 0, 2, 2, 1] (sklearn.metrics.classification_report docstring)
    const cm = new ConfusionMatrix(3).update([0, 0, 2, 2, 1], [0, 1, 2, 2, 2]);
    const r = classificationReport(cm, ['class 0', 'class 1', 'class 2']);
    assert.deepEqual(
      r.classes.map((c) => c.name),
      ['class 0', 'class 1', 'class 2'],
    );
    assertClose(
      r.classes.map((c) => c.precision),
      [0.5, 0, 1],
    );
    assertClose(
      r.classes.map((c) => c.recall),
      [1, 0, 2 / 3],
    );
    assertClose(
      r.classes.map((c) => c.f1),
      [2 / 3, 0, 0.8],
    );
    assert.equal(r.accuracy, 0.6);
    const expected = [
      '              precision    recall  f1-score   support',
      '',
      '     class 0       0.50      1.00      0.67         1',
      '     class 1       0.00      0.00      0.00         1',
      '     class 2       1.00      0.67      0.80         3',
      '',
      '    accuracy                           0.60         5',
      '   macro avg       0.50      0.56      0.49         5',
      'weighted avg       0.70      0.60      0.61         5',
      '',
    ].join('\n');
    assert.equal(r.text, expected);
  });

  test('default names, digits, half-to-even on an exact tie like Python, name count checked', () => {
    // precision of class 0 = 1/8 = 0.125 exactly: Python's '{:.2f}' gives 0.12 (toFixed would give 0.13)
    const cm = ConfusionMatrix.fromMatrix([
      [1, 0],
      [7, 0],
    ]);
    const r = classificationReport(cm);
    assert.match(r.text, /^ {11}0 {7}0\.12 {6}1\.00 {6}0\.22 {9}1$/m);
    assert.match(classificationReport(cm, undefined, { digits: 3 }).text, / 0\.125 /);
    assert.throws(() => classificationReport(cm, ['a']), /1 class names for 2 classes/);
  });
});

describe('TopKAccuracy', () => {
  const scores = [
    [0.1, 0.5, 0.3, 0.1], // target 2: one score higher -> top-2
    [0.7, 0.1, 0.1, 0.1], // target 0: highest -> top-1
    [0.2, 0.2, 0.2, 0.4], // target 1: one higher, tied with 0 and 2 -> top-2 (ties favour the target)
    [0.4, 0.3, 0.2, 0.1], // target 3: three higher -> top-4 only
  ];
  const targets = [2, 0, 1, 3];

  test('hand-checked values for k = 1..4, tensors and arrays, streaming and merge', () => {
    const expected = [1 / 4, 3 / 4, 3 / 4, 1];
    for (let k = 1; k <= 4; k++) {
      assert.equal(new TopKAccuracy(k).update(tv.tensor(scores), i32(targets)).value, expected[k - 1], `k=${k}`);
      const s = new TopKAccuracy(k).update(scores.slice(0, 1), targets.slice(0, 1)).update(scores.slice(1), targets.slice(1));
      assert.equal(s.value, expected[k - 1]);
      const m = new TopKAccuracy(k).update(scores.slice(0, 2), targets.slice(0, 2)).merge(new TopKAccuracy(k).update(scores.slice(2), targets.slice(2)));
      assert.equal(m.value, expected[k - 1]);
    }
    const t = new TopKAccuracy(2).update(scores, targets);
    assert.equal(t.correct, 3);
    assert.equal(t.count, 4);
    assert.ok(Number.isNaN(t.reset().value));
  });

  test('a NaN target score is never correct', () => {
    assert.equal(new TopKAccuracy(3).update([[NaN, 0, 1]], [0]).value, 0);
    assert.equal(new TopKAccuracy(1).update([[NaN, 2, 1]], [1]).value, 1);
  });

  test('errors', () => {
    assert.throws(() => new TopKAccuracy(0), RangeError);
    assert.throws(() => new TopKAccuracy(5).update(scores, targets), /k = 5 exceeds the 4 classes/);
    assert.throws(() => new TopKAccuracy(1).update(tv.zeros([4]), targets), /shape \[N, C\]/);
    assert.throws(() => new TopKAccuracy(1).update(scores, [0, 1, 2]), /4 score rows but 3 targets/);
    assert.throws(() => new TopKAccuracy(1).update(scores, [0, 1, 2, 4]), /out of range for 4 classes/);
    assert.throws(() => new TopKAccuracy(1).merge(new TopKAccuracy(2)), /k differs/);
  });
});

describe('precisionRecallCurve', () => {
  test("sklearn's documented example", () => {
    // y_true [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8]. By descending score: 0.8(+) 0.4(-) 0.35(+) 0.1(-)
    // cumulative TP 1,1,2,2 and FP 0,1,1,2 -> precision 1, 1/2, 2/3, 1/2; recall 1/2, 1/2, 1, 1; then reversed
    const c = precisionRecallCurve([0.1, 0.4, 0.35, 0.8], [false, false, true, true]);
    assertClose(c.precision, [0.5, 2 / 3, 0.5, 1, 1]);
    assertClose(c.recall, [1, 1, 0.5, 0.5, 0]);
    assert.deepEqual(c.thresholds, [0.1, 0.35, 0.4, 0.8]);
  });

  // scores 0.9(+) 0.8(+) 0.8(-) 0.3(+) 0.1(-): the tie at 0.8 is one threshold
  // score >= 0.9: TP 1 FP 0 -> P 1,   R 1/3
  // score >= 0.8: TP 2 FP 1 -> P 2/3, R 2/3
  // score >= 0.3: TP 3 FP 1 -> P 3/4, R 1
  // score >= 0.1: TP 3 FP 2 -> P 3/5, R 1
  const curve = precisionRecallCurve([0.3, 0.8, 0.9, 0.1, 0.8], [true, false, true, false, true]);

  test('tied scores share a threshold', () => {
    assert.deepEqual(curve.thresholds, [0.1, 0.3, 0.8, 0.9]);
    assertClose(curve.precision, [3 / 5, 3 / 4, 2 / 3, 1, 1]);
    assertClose(curve.recall, [1, 1, 2 / 3, 1 / 3, 0]);
  });

  test('thresholdForPrecision: the lowest threshold reaching the precision', () => {
    assert.deepEqual(thresholdForPrecision(curve, 0.7), { threshold: 0.3, precision: 0.75, recall: 1 });
    assert.deepEqual(thresholdForPrecision(curve, 0.6), { threshold: 0.1, precision: 0.6, recall: 1 });
    assert.deepEqual(thresholdForPrecision(curve, 0.8), { threshold: 0.9, precision: 1, recall: 1 / 3 });
    assert.equal(thresholdForPrecision(curve, 1.01), null); // the final (1, 0) point has no threshold
  });

  test('thresholdForRecall: the best precision among thresholds reaching the recall', () => {
    assert.deepEqual(thresholdForRecall(curve, 1), { threshold: 0.3, precision: 0.75, recall: 1 });
    // 0.8 is the highest threshold with recall >= 0.5 (P 2/3), but 0.3 reaches it with a higher precision (3/4)
    assert.deepEqual(thresholdForRecall(curve, 0.5), { threshold: 0.3, precision: 0.75, recall: 1 });
    assert.deepEqual(thresholdForRecall(curve, 0.2), { threshold: 0.9, precision: 1, recall: 1 / 3 });
    assert.equal(thresholdForRecall(curve, 1.01), null);
  });

  test('no positive sample: recall is 1 at every threshold, as sklearn', () => {
    const c = precisionRecallCurve([0.2, 0.6], [false, false]);
    assert.deepEqual(c.recall, [1, 1, 0]);
    assert.deepEqual(c.precision, [0, 0, 1]);
  });

  test('errors', () => {
    assert.throws(() => precisionRecallCurve([0.1, 0.2], [true]), /2 scores but 1 labels/);
    assert.throws(() => precisionRecallCurve([], []), /no samples/);
    assert.throws(() => precisionRecallCurve([0.1, NaN], [true, false]), /scores\[1\] = NaN is not finite/);
  });
});
