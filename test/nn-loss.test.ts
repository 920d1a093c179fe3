/**
 * Losses beyond the PyTorch fixtures: finite-difference gradient checks of every
 * loss and option, hand-derivable values, stability on huge logits, and the
 * error messages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as nn from '../src/nn/index.js';
import { record } from '../src/tensor/autograd.js';
import { assertClose, gen, gradcheck, uniform } from './helpers.js';

const F = nn.functional;
type F32 = tv.Tensor<'float32'>;

function labels(values: number[], shape?: number[]): tv.Tensor<'int32'> {
  return tv.tensor(values, { dtype: 'int32', shape });
}

function randomLabels(n: number, classes: number): number[] {
  return Array.from({ length: n }, () => gen.int(0, classes));
}

describe('gradient checks (central differences)', () => {
  const y = labels([2, 0, 3, 3, 1]);
  const w = tv.tensor([0.5, 2, 1, 1.5]);
  const y4 = labels(randomLabels(8, 3), [2, 2, 2]);
  const cases: [string, (x: F32) => tv.Tensor, () => F32][] = [
    ['crossEntropy mean', (x) => F.crossEntropy(x, y), () => uniform([5, 4], -2, 2)],
    [
      'crossEntropy weight ignore smoothing mean',
      (x) => F.crossEntropy(x, labels([2, -100, 3, 3, 1]), { weight: w, labelSmoothing: 0.2 }),
      () => uniform([5, 4], -2, 2),
    ],
    ['crossEntropy weight ignoreIndex sum', (x) => F.crossEntropy(x, y, { weight: w, ignoreIndex: 3, reduction: 'sum' }), () => uniform([5, 4], -2, 2)],
    ['crossEntropy smoothing none', (x) => F.crossEntropy(x, y, { labelSmoothing: 0.1, reduction: 'none' }), () => uniform([5, 4], -2, 2)],
    [
      'crossEntropy 4-d weight smoothing',
      (x) => F.crossEntropy(x, y4, { weight: tv.tensor([1, 2, 0.5]), labelSmoothing: 0.1 }),
      () => uniform([2, 3, 2, 2], -2, 2),
    ],
    ['nllLoss weight mean', (x) => F.nllLoss(x, y, { weight: w }), () => uniform([5, 4], -2, 0)],
    [
      'binaryCrossEntropy weight',
      (x) =>
        F.binaryCrossEntropy(
          x,
          tv.tensor([
            [0, 1, 0.3],
            [1, 0.5, 0],
          ]),
          { weight: tv.tensor([1, 2, 0.5]) },
        ),
      () => uniform([2, 3], 0.1, 0.9),
    ],
    [
      'binaryCrossEntropyWithLogits posWeight weight',
      (x) =>
        F.binaryCrossEntropyWithLogits(
          x,
          tv.tensor([
            [0, 1, 0.3],
            [1, 0.5, 0],
          ]),
          { posWeight: tv.tensor([2, 0.5, 1]), weight: tv.tensor([[1], [3]]), reduction: 'sum' },
        ),
      () => uniform([2, 3], -3, 3),
    ],
    [
      'mseLoss',
      (x) =>
        F.mseLoss(
          x,
          tv.tensor([
            [1, 2, 3],
            [0, -1, 0.5],
          ]),
        ),
      () => uniform([2, 3], -2, 2),
    ],
    [
      'l1Loss',
      (x) =>
        F.l1Loss(
          x,
          tv.tensor([
            [5, 5, 5],
            [-5, -5, -5],
          ]),
          { reduction: 'sum' },
        ),
      () => uniform([2, 3], -2, 2),
    ],
  ];
  for (const [name, f, make] of cases) test(name, () => gradcheck(f, [make()], { label: name }));

  test('class-probability targets: gradient for the input and for the target', () => {
    const p = tv.softmax(uniform([3, 4], -1, 1), 1);
    gradcheck((x, t) => F.crossEntropy(x, t, { labelSmoothing: 0.1, weight: w }), [uniform([3, 4], -2, 2), p], { label: 'crossEntropy probs' });
  });

  test('binary losses: gradient for the target too', () => {
    gradcheck((x, t) => F.binaryCrossEntropy(x, t), [uniform([2, 3], 0.1, 0.9), uniform([2, 3], 0.1, 0.9)], { label: 'bce' });
    gradcheck((x, t, pw) => F.binaryCrossEntropyWithLogits(x, t, { posWeight: pw }), [uniform([2, 3], -3, 3), uniform([2, 3], 0, 1), uniform([3], 0.5, 2)], {
      label: 'bce logits',
    });
  });

  test('the gradient check catches a wrong gradient', () => {
    // x² recorded with a backward 10% off (2.2·x instead of 2·x) must fail the check.
    const wrong = (x: F32) => record(tv.mul(tv.detach(x), tv.detach(x)), 'wrongSquare', [x], (g) => [g.mul(x).mul(2.2)]);
    assert.throws(() => gradcheck(wrong, [uniform([2, 3], 0.5, 1)]), /analytic/);
    gradcheck((x) => tv.mul(x, x), [uniform([2, 3], 0.5, 1)]);
  });
});

describe('values', () => {
  test('cross-entropy of equal logits is log C; of the right class with a large margin, ~0', () => {
    assertClose(F.crossEntropy(tv.zeros([3, 5]), labels([0, 4, 2])), [Math.log(5)], { rtol: 1e-6 });
    const confident = F.crossEntropy(tv.tensor([[20, 0, 0]]), labels([0])).item();
    assert.ok(confident >= 0 && confident < 1e-6, `loss ${confident}`);
  });

  test('label smoothing mixes the uniform cross-entropy in: (1-ε)·nll + ε·mean_c(-log p_c)', () => {
    const x = tv.tensor([[1, 2, 0.5]]);
    const logp = tv.logSoftmax(x, 1).data;
    const eps = 0.3;
    const expected = (1 - eps) * -logp[1] + (eps / 3) * -(logp[0] + logp[1] + logp[2]);
    assertClose(F.crossEntropy(x, labels([1]), { labelSmoothing: eps }), [expected], { rtol: 1e-6 });
  });

  test('weighted mean divides by the sum of the weights of the targets that count', () => {
    const x = uniform([4, 3], -2, 2);
    const y = labels([0, 2, 2, 1]);
    const w = tv.tensor([1, 3, 0.5]);
    const per = F.crossEntropy(x, y, { reduction: 'none' }).data;
    // target 1 is ignored: (1·ℓ0 + 0.5·ℓ1 + 0.5·ℓ2) / (1 + 0.5 + 0.5)
    const expected = (per[0] + 0.5 * per[1] + 0.5 * per[2]) / 2;
    assertClose(F.crossEntropy(x, y, { weight: w, ignoreIndex: 1 }), [expected], { rtol: 1e-6 });
  });

  test('huge logits stay finite, with finite gradients', () => {
    const x = tv.tensor(
      [
        [1e4, -1e4, 0],
        [-3e4, 3e4, 1e4],
      ],
      { requiresGrad: true },
    );
    const loss = F.crossEntropy(x, labels([1, 1]), { labelSmoothing: 0.1 });
    loss.backward();
    assert.ok(Number.isFinite(loss.item()));
    // log p = [0, -2e4, -1e4] and [-6e4, 0, -2e4]: nll 2e4 and 0, Σ_c -log p_c 3e4 and 8e4
    assertClose(loss, [(0.9 * (2e4 + 0) + (0.1 / 3) * (3e4 + 8e4)) / 2], { rtol: 1e-5 });
    assert.ok(x.grad!.data.every(Number.isFinite));
    const z = tv.tensor([-1e4, -100, 0, 100, 1e4], { requiresGrad: true });
    const t = tv.tensor([1, 0, 1, 1, 0]);
    const bce = F.binaryCrossEntropyWithLogits(z, t, { reduction: 'none' });
    bce.sum().backward();
    assertClose(bce, [1e4, 0, Math.log(2), 0, 1e4], { rtol: 1e-6, atol: 1e-30 });
    // d/dz = sigmoid(z) - y
    assertClose(z.grad!, [-1, 0, -0.5, 0, 1], { rtol: 1e-6, atol: 1e-30 });
  });

  test('BCE on probabilities clamps its logs at -100, as PyTorch', () => {
    assertClose(F.binaryCrossEntropy(tv.tensor([0, 1]), tv.tensor([1, 0]), { reduction: 'none' }), [100, 100]);
  });

  test('each loss module equals its function', () => {
    const x = uniform([4, 3], -2, 2);
    const y = labels([0, 2, 1, 1]);
    const w = tv.tensor([1, 2, 3]);
    const same = (a: tv.Tensor, b: tv.Tensor) => assert.deepEqual(Array.from(a.data), Array.from(b.data));
    same(
      new nn.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1, reduction: 'sum' }).call(x, y),
      F.crossEntropy(x, y, { weight: w, labelSmoothing: 0.1, reduction: 'sum' }),
    );
    same(new nn.NLLLoss({ ignoreIndex: 2 }).call(x, y), F.nllLoss(x, y, { ignoreIndex: 2 }));
    const p = uniform([4, 3], 0.1, 0.9);
    same(new nn.BCELoss({ reduction: 'none' }).call(p, p), F.binaryCrossEntropy(p, p, { reduction: 'none' }));
    same(new nn.BCEWithLogitsLoss({ posWeight: w }).call(x, p), F.binaryCrossEntropyWithLogits(x, p, { posWeight: w }));
    same(new nn.MSELoss().call(x, p), F.mseLoss(x, p));
    same(new nn.L1Loss({ reduction: 'sum' }).call(x, p), F.l1Loss(x, p, { reduction: 'sum' }));
    assert.deepEqual([...new nn.BCEWithLogitsLoss({ weight: w, posWeight: w }).stateDict().keys()], ['weight', 'pos_weight']);
    assert.equal(new nn.BCEWithLogitsLoss({ posWeight: w }).posWeight, w);
    assert.deepEqual([...new nn.CrossEntropyLoss().stateDict().keys()], []);
  });
});

describe('errors', () => {
  const x = uniform([3, 4]);
  test('class targets: dtype, shape, range, weight', () => {
    assert.throws(() => F.crossEntropy(x, tv.tensor([0, 1, 2])), /class targets must be int32, got float32.*probabilities/);
    assert.throws(() => F.crossEntropy(x, labels([0, 1])), /target shape \[2\] does not fit input shape \[3, 4\] \(expected \[3\]\)/);
    assert.throws(() => F.crossEntropy(x, labels([0, 4, 1])), /target 4 is out of bounds for 4 classes/);
    assert.throws(() => F.nllLoss(x, labels([0, -1, 1])), /nllLoss: target -1 is out of bounds/);
    assert.throws(() => F.crossEntropy(x, labels([0, 1, 1]), { weight: tv.ones([3]) }), /weight shape \[3\] does not match the 4 classes/);
    assert.throws(() => F.crossEntropy(uniform([4]), labels([1, 2])), /crossEntropy: an unbatched input of shape \[4\] needs a 0-d target/);
  });

  test('options', () => {
    assert.throws(() => F.crossEntropy(x, labels([0, 1, 1]), { reduction: 'avg' as nn.Reduction }), /reduction must be 'mean', 'sum' or 'none', got "avg"/);
    assert.throws(() => new nn.MSELoss({ reduction: 'all' as nn.Reduction }), /MSELoss: reduction/);
    assert.throws(() => new nn.CrossEntropyLoss({ labelSmoothing: 1.5 }), /labelSmoothing must be in \[0, 1\]/);
    assert.throws(() => F.crossEntropy(x, tv.softmax(x, 1), { ignoreIndex: 0 }), /ignoreIndex is not supported with class-probability targets/);
  });

  test('binary and regression losses need equal shapes and valid probabilities', () => {
    assert.throws(() => F.binaryCrossEntropy(uniform([3], 0, 1), uniform([3, 1], 0, 1)), /target shape \[3, 1\] differs from input shape \[3\]/);
    assert.throws(() => F.binaryCrossEntropy(tv.tensor([0.5, 1.5]), tv.tensor([0, 1])), /input values must be in \[0, 1\], got 1.5 at element 1/);
    assert.throws(() => F.binaryCrossEntropy(tv.tensor([0.5, 0.5]), tv.tensor([0, -1])), /target values must be in \[0, 1\]/);
    assert.throws(() => F.binaryCrossEntropyWithLogits(x, labels([0, 1, 1])), /target must be float32, got int32/);
    assert.throws(() => F.mseLoss(uniform([2, 3]), uniform([3])), /mseLoss: target shape \[3\] differs from input shape \[2, 3\]/);
    assert.throws(() => F.l1Loss(uniform([2]), uniform([2, 1])), /l1Loss: target shape/);
  });
});
