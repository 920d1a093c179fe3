/** Finite-difference gradient checks for every differentiable op, on small shapes away from kinks. */
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import { gen, gradcheck, uniform } from './helpers.js';

type F = (...xs: tv.Tensor<'float32'>[]) => tv.Tensor;

/** Values in [lo, hi) whose magnitude is at least `gap` from zero (for abs, relu, sign kinks). */
function awayFromZero(shape: number[], gap = 0.1): tv.Tensor<'float32'> {
  const t = uniform(shape, -1, 1);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sign(t.data[i] || 1) * (gap + Math.abs(t.data[i]));
  return t;
}

/** Distinct values (no ties) for max/min and their relatives. */
function distinct(shape: number[]): tv.Tensor<'float32'> {
  const n = shape.reduce((a, d) => a * d, 1);
  const perm = tv.permutation(n, { generator: gen });
  const t = new tv.Tensor<'float32'>(new Float32Array(n), shape);
  for (let i = 0; i < n; i++) t.data[i] = (perm.data[i] - n / 2) * 0.1;
  return t;
}

const unaryCases: [string, F, () => tv.Tensor<'float32'>][] = [
  ['neg', (x) => tv.neg(x), () => uniform([3, 4])],
  ['exp', (x) => tv.exp(x), () => uniform([3, 4])],
  ['log', (x) => tv.log(x), () => uniform([3, 4], 0.5, 2)],
  ['sqrt', (x) => tv.sqrt(x), () => uniform([3, 4], 0.5, 2)],
  ['abs', (x) => tv.abs(x), () => awayFromZero([3, 4])],
  ['relu', (x) => tv.relu(x), () => awayFromZero([3, 4])],
  ['relu6', (x) => tv.relu6(x), () => uniform([3, 4], 0.1, 5.5)],
  ['leakyRelu', (x) => tv.leakyRelu(x, 0.1), () => awayFromZero([3, 4])],
  ['sigmoid', (x) => tv.sigmoid(x), () => uniform([3, 4], -4, 4)],
  ['tanh', (x) => tv.tanh(x), () => uniform([3, 4], -2, 2)],
  ['silu', (x) => tv.silu(x), () => uniform([3, 4], -4, 4)],
  ['softplus', (x) => tv.softplus(x), () => uniform([3, 4], -4, 4)],
  ['gelu', (x) => tv.gelu(x), () => uniform([3, 4], -3, 3)],
  ['gelu tanh', (x) => tv.gelu(x, 'tanh'), () => uniform([3, 4], -3, 3)],
  ['hardswish', (x) => tv.hardswish(x), () => uniform([3, 4], -2.5, 2.5)],
  ['hardsigmoid', (x) => tv.hardsigmoid(x), () => uniform([3, 4], -2.5, 2.5)],
  ['clamp', (x) => tv.clamp(x, -0.5, 0.5), () => uniform([3, 4], -0.45, 0.45)],
  ['pow scalar', (x) => tv.pow(x, 3), () => uniform([3, 4], 0.5, 1.5)],
  ['add scalar', (x) => tv.add(x, 2), () => uniform([3, 4])],
  ['sub scalar', (x) => tv.sub(3, x), () => uniform([3, 4])],
  ['mul scalar', (x) => tv.mul(x, -1.5), () => uniform([3, 4])],
  ['div scalar', (x) => tv.div(x, 4), () => uniform([3, 4])],
  ['scalar div', (x) => tv.div(2, x), () => uniform([3, 4], 0.5, 2)],
];

const binaryCases: [string, F, () => tv.Tensor<'float32'>[]][] = [
  ['binaryCrossEntropyElementwise', (x, y) => tv.binaryCrossEntropyElementwise(x, y), () => [uniform([3, 4], 0.1, 0.9), uniform([3, 4], 0.1, 0.9)]],
  ['add broadcast', (a, b) => tv.add(a, b), () => [uniform([2, 3, 4]), uniform([3, 1])]],
  ['sub broadcast', (a, b) => tv.sub(a, b), () => [uniform([4]), uniform([2, 3, 4])]],
  ['mul broadcast', (a, b) => tv.mul(a, b), () => [uniform([2, 1, 4]), uniform([3, 1])]],
  ['div broadcast', (a, b) => tv.div(a, b), () => [uniform([2, 3]), uniform([3], 0.5, 2)]],
  ['pow tensor', (a, b) => tv.pow(a, b), () => [uniform([2, 3], 0.5, 2), uniform([2, 3])]],
  ['maximum', (a, b) => tv.maximum(a, b), () => [distinct([2, 3]), tv.add(distinct([2, 3]), 0.05)]],
  ['minimum', (a, b) => tv.minimum(a, b), () => [distinct([3]), tv.add(distinct([2, 3]), 0.05)]],
  ['where', (a, b) => tv.where(tv.gt(a, b), tv.mul(a, 2), b), () => [uniform([2, 3]), uniform([3])]],
  ['matmul 2d', (a, b) => tv.matmul(a, b), () => [uniform([3, 4]), uniform([4, 5])]],
  ['matmul 1d 2d', (a, b) => tv.matmul(a, b), () => [uniform([4]), uniform([4, 3])]],
  ['matmul 2d 1d', (a, b) => tv.matmul(a, b), () => [uniform([3, 4]), uniform([4])]],
  ['matmul 1d 1d', (a, b) => tv.matmul(a, b), () => [uniform([5]), uniform([5])]],
  ['matmul batched', (a, b) => tv.matmul(a, b), () => [uniform([2, 3, 4]), uniform([2, 4, 2])]],
  ['matmul broadcast batch', (a, b) => tv.matmul(a, b), () => [uniform([2, 1, 3, 4]), uniform([3, 4, 2])]],
  ['linear', (x, w, b) => tv.linear(x, w, b), () => [uniform([2, 3, 4]), uniform([5, 4]), uniform([5])]],
  ['linear no bias', (x, w) => tv.linear(x, w), () => [uniform([3, 4]), uniform([2, 4])]],
  ['matmul shared weight', (a, b) => tv.matmul(a, b), () => [uniform([3, 2, 4]), uniform([4, 3])]],
];

const reduceCases: [string, F, () => tv.Tensor<'float32'>][] = [
  ['sum all', (x) => tv.sum(x), () => uniform([2, 3, 4])],
  ['sum axis', (x) => tv.sum(x, 1), () => uniform([2, 3, 4])],
  ['sum axes keepdim', (x) => tv.sum(x, [0, 2], { keepdim: true }), () => uniform([2, 3, 4])],
  ['mean axes', (x) => tv.mean(x, [-1, 0]), () => uniform([2, 3, 4])],
  ['max axis', (x) => tv.max(x, 1), () => distinct([2, 3, 4])],
  ['min all', (x) => tv.min(x), () => distinct([2, 3])],
  [
    'max ties',
    (x) => tv.max(x, 1),
    () =>
      tv.tensor([
        [1, 3, 3],
        [2, 0, 1],
      ]),
  ],
  ['var axis', (x) => tv.variance(x, 1), () => uniform([3, 5])],
  ['var all biased', (x) => tv.variance(x, undefined, { correction: 0 }), () => uniform([3, 5])],
  ['softmax', (x) => tv.softmax(x, 1), () => uniform([2, 4, 3], -2, 2)],
  ['softmax last', (x) => tv.softmax(x, -1), () => uniform([3, 5], -2, 2)],
  ['logSoftmax', (x) => tv.logSoftmax(x, 1), () => uniform([2, 4, 3], -2, 2)],
  ['logSoftmax last', (x) => tv.logSoftmax(x, -1), () => uniform([3, 5], -2, 2)],
];

const idx = (values: number[], shape?: number[]) => tv.tensor(values, { dtype: 'int32', shape });

const movementCases: [string, F, () => tv.Tensor<'float32'>[]][] = [
  ['reshape', (x) => tv.reshape(x, [4, -1]), () => [uniform([2, 3, 2])]],
  ['flatten', (x) => tv.flatten(x, 1), () => [uniform([2, 3, 2])]],
  ['squeeze unsqueeze', (x) => tv.unsqueeze(tv.squeeze(x), 0), () => [uniform([2, 1, 3])]],
  ['permute', (x) => tv.permute(x, [2, 0, 1]), () => [uniform([2, 3, 4])]],
  ['transpose', (x) => tv.transpose(x, 0, 1), () => [uniform([3, 4])]],
  ['broadcastTo', (x) => tv.broadcastTo(x, [2, 3, 4]), () => [uniform([3, 1])]],
  ['concat', (a, b) => tv.concat([a, b, a], 1), () => [uniform([2, 2]), uniform([2, 3])]],
  ['stack', (a, b) => tv.stack([a, b], 1), () => [uniform([2, 3]), uniform([2, 3])]],
  ['split', (x) => tv.mul(tv.split(x, 2, 1)[1], 3), () => [uniform([2, 5])]],
  ['slice step', (x) => tv.slice(x, 1, 1, -1, 2), () => [uniform([3, 7])]],
  ['pad', (x) => tv.pad(x, [1, 2, 0, 1], 0.5), () => [uniform([2, 3, 3])]],
  ['indexSelect repeated', (x) => tv.indexSelect(x, 1, idx([2, 0, 2, 1])), () => [uniform([2, 3, 2])]],
  ['gather', (x) => tv.gather(x, 1, idx([0, 2, 1, 1, 0, 0], [3, 2])), () => [uniform([3, 4])]],
  ['clone', (x) => tv.clone(x), () => [uniform([2, 2])]],
];

const convCases: [string, F, () => tv.Tensor<'float32'>[]][] = [
  ['conv2d padded', (x, w, b) => tv.conv2d(x, w, b, { padding: 1 }), () => [uniform([2, 2, 4, 5]), uniform([3, 2, 3, 3]), uniform([3])]],
  [
    'conv2d stride dilation groups',
    (x, w) => tv.conv2d(x, w, null, { stride: [2, 1], dilation: [1, 2], groups: 2, padding: [1, 0] }),
    () => [uniform([1, 4, 5, 6]), uniform([4, 2, 2, 2])],
  ],
  ['conv2d depthwise', (x, w, b) => tv.conv2d(x, w, b, { padding: 1, groups: 3 }), () => [uniform([2, 3, 4, 4]), uniform([3, 1, 3, 3]), uniform([3])]],
  ['conv2d same', (x, w) => tv.conv2d(x, w, null, { padding: 'same' }), () => [uniform([1, 2, 4, 5]), uniform([2, 2, 2, 3])]],
  ['conv1d', (x, w, b) => tv.conv1d(x, w, b, { stride: 2, padding: 1 }), () => [uniform([2, 3, 7]), uniform([2, 3, 3]), uniform([2])]],
  ['conv3d', (x, w) => tv.conv3d(x, w, null, { padding: [0, 1, 1] }), () => [uniform([1, 2, 3, 3, 4]), uniform([2, 2, 2, 2, 2])]],
  [
    'convTranspose2d',
    (x, w, b) => tv.convTranspose(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
    () => [uniform([1, 3, 3, 3]), uniform([3, 2, 3, 3]), uniform([2])],
  ],
  ['convTranspose2d groups dilation', (x, w) => tv.convTranspose(x, w, null, { groups: 2, dilation: 2 }), () => [uniform([2, 4, 3, 2]), uniform([4, 1, 2, 2])]],
];

const poolCases: [string, F, () => tv.Tensor<'float32'>][] = [
  ['maxPool2d', (x) => tv.maxPool2d(x, { kernelSize: 2 }), () => distinct([2, 2, 4, 5])],
  [
    'maxPool2d stride padding dilation ceil',
    (x) => tv.maxPool2d(x, { kernelSize: [3, 2], stride: 2, padding: [1, 0], dilation: [1, 2], ceilMode: true }),
    () => distinct([1, 2, 6, 7]),
  ],
  ['maxPool1d', (x) => tv.maxPool1d(x, { kernelSize: 3, stride: 2 }), () => distinct([2, 3, 9])],
  ['maxPool3d', (x) => tv.maxPool3d(x, { kernelSize: 2 }), () => distinct([1, 2, 4, 4, 4])],
  ['avgPool2d', (x) => tv.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), () => uniform([2, 2, 5, 6])],
  ['avgPool2d exclude pad ceil', (x) => tv.avgPool2d(x, { kernelSize: 2, padding: 1, ceilMode: true, countIncludePad: false }), () => uniform([1, 2, 5, 5])],
  ['adaptiveAvgPool2d', (x) => tv.adaptiveAvgPool2d(x, [3, 2]), () => uniform([2, 2, 7, 5])],
  ['adaptiveAvgPool2d global', (x) => tv.adaptiveAvgPool2d(x, 1), () => uniform([2, 3, 4, 4])],
  ['adaptiveMaxPool2d', (x) => tv.adaptiveMaxPool2d(x, [2, 3]), () => distinct([1, 2, 5, 7])],
];

const bnCases: [string, F, () => tv.Tensor<'float32'>[]][] = [
  [
    'batchNorm training',
    (x, w, b) => tv.batchNorm(x, null, null, w, b, { training: true }),
    () => [uniform([3, 2, 2, 3]), uniform([2], 0.5, 1.5), uniform([2])],
  ],
  ['batchNorm training no affine 2d input', (x) => tv.batchNorm(x, null, null, null, null, { training: true }), () => [uniform([5, 3])]],
  [
    'batchNorm eval',
    (x, w, b) => tv.batchNorm(x, tv.tensor([0.1, -0.2]), tv.tensor([0.5, 2]), w, b, { training: false }),
    () => [uniform([2, 2, 3]), uniform([2]), uniform([2])],
  ],
];

describe('gradcheck', () => {
  for (const [name, f, make] of bnCases) test(name, () => gradcheck(f, make(), { label: name, eps: 1e-3 }));
  for (const [name, f, make] of poolCases) test(name, () => gradcheck(f, [make()], { label: name, eps: 1e-3 }));
  for (const [name, f, make] of convCases) test(name, () => gradcheck(f, make(), { label: name }));
  for (const [name, f, make] of unaryCases) test(name, () => gradcheck(f, [make()], { label: name }));
  for (const [name, f, make] of binaryCases) test(name, () => gradcheck(f, make(), { label: name }));
  for (const [name, f, make] of reduceCases) test(name, () => gradcheck(f, [make()], { label: name, eps: name.includes('ties') ? 1e-3 : 1e-2 }));
  for (const [name, f, make] of movementCases) test(name, () => gradcheck(f, make(), { label: name }));
  test('a chain reusing an input', () => {
    gradcheck((x, w) => tv.sum(tv.mul(tv.tanh(tv.matmul(x, w)), x.slice(1, 0, 3)), 1), [uniform([4, 5]), uniform([5, 3])], { label: 'chain' });
  });
});
