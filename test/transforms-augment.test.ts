/**
 * The augmentation functions and policies against torchvision 0.14
 * (test/fixtures/transforms/augment/, written by tools/make_augment_fixtures.py):
 * affine, perspective, Gaussian blur, sharpness, autocontrast, equalize, posterize,
 * solarize, invert and erase on byte and float images; the policies' ops
 * (torchvision's _apply_op) and magnitude tables; and AutoAugment, RandAugment,
 * TrivialAugmentWide and AugMix under the random draws that were forced on torchvision.
 *
 * Byte outputs equal torchvision's exactly (AugMix included, whose ops torchvision runs
 * on tensors: applyOp's tensor kernels), except where torchvision's own float32 rounding
 * is not reproducible bit for bit, which is said at each such check: the Gaussian blur
 * (torch's convolution sums in its own order, then rounds: within 1; exact on these
 * fixtures) and perspective from corner points (torch solves for the coefficients in
 * float32 by least squares: our coefficients are within 1e-5, and with torchvision's
 * coefficients the output is exact).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';
import { assertClose } from './helpers.js';

const F = T.functional;
const DIR = new URL('../../test/fixtures/transforms/augment/', import.meta.url);

interface Case {
  name: string;
  input: 'rgb' | 'gray' | 'low';
  op: string;
  args: Record<string, any>;
  output: string;
}
interface FloatCase {
  name: string;
  op: string;
  args: Record<string, any>;
  input: { shape: number[]; data: number[] };
  expected: { shape: number[]; data: number[] };
}
type Draw = ['int', number, number] | ['uniform', number, number] | ['dirichlet', number, number[]];
interface PolicyCase {
  name: string;
  policy: 'AutoAugment' | 'RandAugment' | 'TrivialAugmentWide' | 'AugMix';
  args: Record<string, any>;
  input: 'rgb' | 'gray' | 'low';
  draws: Draw[];
  output: string;
}
interface Space {
  policy: T.PolicyName;
  bins: number;
  size: [number, number] | null;
  allOps?: boolean;
  ops: Record<string, { magnitudes: number[]; signed: boolean; scalar: boolean }>;
}
const fixture = JSON.parse(readFileSync(new URL('cases.json', DIR), 'utf8')) as {
  inputs: Record<string, string>;
  cases: Case[];
  floatCases: FloatCase[];
  coeffs: { startpoints: number[][]; endpoints: number[][]; coeffs: number[] }[];
  spaces: Space[];
  policies: PolicyCase[];
  augmixOps: Record<string, number>;
};

async function readPng(file: string): Promise<Tensor<'uint8'>> {
  const path = new URL(file, DIR).pathname;
  const gray = (await sharp(path).metadata()).channels === 1;
  const { data, info } = await sharp(path)
    .toColourspace(gray ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Tensor<'uint8'>(new Uint8Array(data), [info.height, info.width, info.channels]);
}

/** Largest absolute difference and the number of differing bytes. */
function compare(actual: Tensor, expected: Tensor): { maxDiff: number; differing: number } {
  assert.deepEqual([...actual.shape], [...expected.shape], 'shape');
  assert.equal(actual.dtype, 'uint8');
  let maxDiff = 0;
  let differing = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(actual.data[i] - expected.data[i]);
    if (d > 0) {
      differing++;
      maxDiff = Math.max(maxDiff, d);
    }
  }
  return { maxDiff, differing };
}

/** Runs one byte case; `exactCoeffs` uses torchvision's perspective coefficients instead of solving for them. */
function run(c: Case, img: Tensor<'uint8'>, exactCoeffs = false): T.ImageTensor {
  const a = c.args;
  switch (c.op) {
    case 'affine':
      return F.affine(img, a.angle, a.translate, a.scale, a.shear, { interpolation: a.interpolation, fill: a.fill, center: a.center });
    case 'perspective':
      return F.perspective(img, a.startpoints, a.endpoints, { interpolation: a.interpolation, fill: a.fill, coeffs: exactCoeffs ? a.coeffs : undefined });
    case 'gaussianBlur':
      return F.gaussianBlur(img, a.kernelSize, a.sigma ?? undefined);
    case 'adjustSharpness':
      return F.adjustSharpness(img, a.factor);
    case 'autocontrast':
      return F.autocontrast(img);
    case 'equalize':
      return F.equalize(img);
    case 'invert':
      return F.invert(img);
    case 'posterize':
      return F.posterize(img, a.bits);
    case 'solarize':
      return F.solarize(img, a.threshold);
    case 'erase':
      return F.erase(img, a.i, a.j, a.h, a.w, a.value);
    case 'applyOp':
      return T.applyOp(img, a.op, a.magnitude, { interpolation: a.interpolation, fill: a.fill ?? 0 });
    case 'applyOpTensor':
      return T.applyOp(img, a.op, a.magnitude, { interpolation: a.interpolation, fill: a.fill, kernels: 'tensor' });
    default:
      throw new Error(`no mapping for op ${c.op}`);
  }
}

const inputs = {
  rgb: await readPng(fixture.inputs.rgb),
  gray: await readPng(fixture.inputs.gray),
  low: await readPng(fixture.inputs.low),
};

describe('augmentation functions match torchvision on byte images', () => {
  for (const c of fixture.cases) {
    test(c.name, async () => {
      const expected = await readPng(c.output);
      const input = inputs[c.input];
      const before = Uint8Array.from(input.data);
      const actual = run(c, input);
      assert.deepEqual(input.data, before, 'the input was modified');
      const { maxDiff, differing } = compare(actual, expected);
      if (c.op === 'gaussianBlur') {
        // torch sums the 2D convolution in float32 in its own order before rounding: a value within
        // float32 rounding of x.5 may round the other way (at most 1 grey level, in few pixels)
        assert.ok(maxDiff <= 1 && differing <= expected.data.length / 100, `${c.name}: ${differing} bytes differ, by up to ${maxDiff}`);
      } else if (c.op === 'perspective') {
        // from the corners: our coefficients are torch's float32 least squares to about 1e-6, which can move
        // a truncating bilinear sample by one level or a nearest sample by one pixel, rarely
        assert.ok(differing <= expected.data.length / 200, `${c.name}: ${differing} bytes differ, by up to ${maxDiff}`);
        // with torchvision's own coefficients, PIL's transform is reproduced exactly
        const exact = compare(run(c, input, true), expected);
        assert.equal(exact.differing, 0, `${c.name} with torchvision's coefficients: ${exact.differing} bytes differ (max ${exact.maxDiff})`);
      } else {
        assert.equal(differing, 0, `${c.name}: ${differing} bytes differ (max ${maxDiff})`);
      }
    });
  }

  test('the fixture covers every function and every op of the policies', () => {
    const ops = new Set(fixture.cases.map((c) => c.op));
    for (const op of ['affine', 'perspective', 'gaussianBlur', 'adjustSharpness', 'autocontrast', 'equalize', 'invert', 'posterize', 'solarize', 'erase']) {
      assert.ok(ops.has(op), `no fixture case for ${op}`);
    }
    const policyOps = new Set(fixture.cases.filter((c) => c.op === 'applyOp').map((c) => c.args.op));
    assert.deepEqual([...policyOps].sort(), [...T.POLICY_OPS].sort());
  });

  test('perspective coefficients: within 1e-5 of torchvision float32 least squares', () => {
    for (const c of fixture.coeffs) assertClose(F.perspectiveCoeffs(c.startpoints, c.endpoints), c.coeffs, { rtol: 1e-5, atol: 1e-6, label: 'coeffs' });
  });
});

describe('augmentation functions match torchvision on float images', () => {
  for (const c of fixture.floatCases) {
    test(c.name, () => {
      const img = new Tensor<'float32'>(Float32Array.from(c.input.data), c.input.shape);
      const a = c.args;
      let out: T.ImageTensor;
      // affine and perspective: PIL's mode "F" (as rotate); the rest: torchvision's tensor code
      if (c.op === 'affine') out = F.affine(img, a.angle, a.translate, a.scale, a.shear, { interpolation: a.interpolation, fill: a.fill });
      else if (c.op === 'perspective') out = F.perspective(img, null, null, { interpolation: a.interpolation, fill: a.fill, coeffs: a.coeffs });
      else if (c.op === 'gaussianBlur') out = F.gaussianBlur(img, a.kernelSize, a.sigma);
      else if (c.op === 'adjustSharpness') out = F.adjustSharpness(img, a.factor);
      else if (c.op === 'autocontrast') out = F.autocontrast(img);
      else if (c.op === 'solarize') out = F.solarize(img, a.threshold);
      else if (c.op === 'invert') out = F.invert(img);
      else if (c.op === 'erase') {
        const v = Array.isArray(a.value) ? a.value : new Tensor<'float32'>(Float32Array.from(a.value.data), a.value.shape);
        out = F.erase(img, a.i, a.j, a.h, a.w, v);
      } else throw new Error(`no mapping for ${c.op}`);
      assert.equal(out.dtype, 'float32');
      assert.deepEqual([...out.shape], c.expected.shape);
      // float32 sums in another order: within a few float32 ulps
      assertClose(out.data, c.expected.data, { rtol: 1e-6, atol: 2e-6, label: c.name });
    });
  }
});

describe('policy tables', () => {
  test("ops, order, signs and magnitudes equal torchvision's _augmentation_space bit for bit", () => {
    for (const s of fixture.spaces) {
      const ours = T.augmentationSpace(s.policy, s.bins, s.size ?? [0, 0], s.allOps ?? true);
      const label = `${s.policy} bins ${s.bins} size ${s.size}`;
      assert.deepEqual(
        ours.map((o) => o.op),
        Object.keys(s.ops),
        `${label}: ops`,
      );
      for (const o of ours) {
        const t = s.ops[o.op];
        assert.equal(o.signed, t.signed, `${label} ${o.op}: signed`);
        assert.deepEqual(o.magnitudes ?? [], t.magnitudes.map(Math.fround), `${label} ${o.op}: magnitudes`);
        assert.equal(o.magnitudes === null, t.scalar, `${label} ${o.op}: takes a magnitude`);
      }
    }
  });

  test('linspace32 rounds as torch.linspace in float32', () => {
    assert.deepEqual(T.linspace32(0, 0.9, 31)[20], Math.fround(0.59999996));
    assert.deepEqual(T.linspace32(255, 0, 31).slice(0, 3), [255, 246.5, 238]);
    assert.deepEqual(T.linspace32(2, 5, 1), [2]);
  });
});

/** A PolicyDraws that replays a recorded sequence, checking that each draw is asked for with torchvision's range. */
function scripted(draws: Draw[], label: string): { source: T.DrawSource; done: () => void } {
  let k = 0;
  const next = (kind: string, n: number) => {
    const d = draws[k++];
    assert.ok(d, `${label}: draw ${k} (${kind} ${n}) beyond the ${draws.length} torchvision made`);
    assert.equal(d[0], kind, `${label}: draw ${k} is a ${kind} where torchvision drew ${d[0]}`);
    if (kind !== 'uniform') assert.equal(d[1], n, `${label}: draw ${k} ranges over ${n} where torchvision's over ${d[1]}`);
    return d[2];
  };
  const source: T.DrawSource = () => ({
    int: (n) => next('int', n) as number,
    uniform: () => next('uniform', 0) as number,
    dirichlet: (alpha, n) => {
      const v = next('dirichlet', Math.fround(alpha)) as number[];
      assert.equal(v.length, n);
      return v;
    },
  });
  return { source, done: () => assert.equal(k, draws.length, `${label}: ${k} of torchvision's ${draws.length} draws used`) };
}

function makePolicy(c: PolicyCase, draws: T.DrawSource): T.Transform {
  const a: Record<string, any> = { ...c.args, draws };
  switch (c.policy) {
    case 'AutoAugment':
      return new T.AutoAugment(a.policy, a);
    case 'RandAugment':
      return new T.RandAugment(a);
    case 'TrivialAugmentWide':
      return new T.TrivialAugmentWide(a);
    case 'AugMix':
      return new T.AugMix(a);
  }
}

describe('policies equal torchvision given the same draws', () => {
  for (const c of fixture.policies) {
    test(c.name, async () => {
      const expected = await readPng(c.output);
      const { source, done } = scripted(c.draws, c.name);
      const out = makePolicy(c, source).apply(inputs[c.input]);
      done();
      const { maxDiff, differing } = compare(out, expected);
      assert.equal(differing, 0, `${c.name}: ${differing} bytes differ (max ${maxDiff})`);
    });
  }

  test('the fixture covers every policy; AugMix needs the tensor kernels', () => {
    const kinds = new Set(fixture.policies.map((c) => c.policy));
    assert.deepEqual([...kinds].sort(), ['AugMix', 'AutoAugment', 'RandAugment', 'TrivialAugmentWide']);
    const autoPolicies = new Set(fixture.policies.filter((c) => c.policy === 'AutoAugment').map((c) => c.args.policy));
    assert.deepEqual([...autoPolicies].sort(), ['cifar10', 'imagenet', 'svhn']);
    // torchvision's AugMix runs its ops on tensors: there shears and rotations resample with grid_sample,
    // and Color / Contrast / Sharpness round differently from PIL; the rest give PIL's bytes
    const tensorOps = new Set(fixture.cases.filter((c) => c.op === 'applyOpTensor').map((c) => c.args.op));
    for (const op of ['Color', 'Contrast', 'Rotate', 'Sharpness', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY']) assert.ok(tensorOps.has(op), op);
    assert.deepEqual(
      Object.entries(fixture.augmixOps)
        .filter(([, d]) => d > 0)
        .map(([op]) => op)
        .sort(),
      ['Color', 'Contrast', 'Rotate', 'Sharpness', 'ShearX', 'ShearY'],
    );
  });
});
