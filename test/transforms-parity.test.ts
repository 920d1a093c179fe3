/**
 * The deterministic transforms against torchvision 0.14 on PIL images
 * (test/fixtures/transforms/, written by tools/make_transform_fixtures.py):
 * resize with every filter, crops, padding modes, flips, rotations, colour
 * adjustments, greyscale, ColorJitter with drawn parameters, float (mode "F")
 * images, ToTensor and Normalize. Byte outputs must equal torchvision's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';
import { assertClose } from './helpers.js';

const F = T.functional;
const DIR = new URL('../../test/fixtures/transforms/', import.meta.url);

interface Case {
  name: string;
  input: 'rgb' | 'gray';
  op: string;
  args: Record<string, any>;
  output: string;
}
interface FloatCase {
  name: string;
  op: string;
  args: Record<string, any>;
  input: { shape: number[]; data: number[] };
  toTensor?: { shape: number[]; data: number[] };
  expected: { shape: number[]; data: number[] };
}
const fixture = JSON.parse(readFileSync(new URL('cases.json', DIR), 'utf8')) as {
  inputs: Record<string, string>;
  cases: Case[];
  floatCases: FloatCase[];
};

async function readPng(file: string): Promise<Tensor<'uint8'>> {
  const path = new URL(file, DIR).pathname;
  const gray = (await sharp(path).metadata()).channels === 1;
  // sharp converts to sRGB on output unless told otherwise: keep greyscale files one channel.
  const { data, info } = await sharp(path)
    .toColourspace(gray ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Tensor<'uint8'>(new Uint8Array(data), [info.height, info.width, info.channels]);
}

/** Runs one fixture case through tsvision. */
function run(c: Case, img: Tensor<'uint8'>): T.ImageTensor {
  const a = c.args;
  switch (c.op) {
    case 'resize':
      return F.resize(img, a.size, { interpolation: a.interpolation, maxSize: a.maxSize });
    case 'centerCrop':
      return F.centerCrop(img, a.size);
    case 'crop':
      return F.crop(img, a.top, a.left, a.height, a.width);
    case 'resizedCrop':
      return F.resizedCrop(img, a.top, a.left, a.height, a.width, a.size, a.interpolation);
    case 'pad':
      return F.pad(img, a.padding, { fill: a.fill, mode: a.mode });
    case 'hflip':
      return F.hflip(img);
    case 'vflip':
      return F.vflip(img);
    case 'rotate':
      return F.rotate(img, a.angle, { interpolation: a.interpolation, expand: a.expand, center: a.center, fill: a.fill });
    case 'adjustBrightness':
      return F.adjustBrightness(img, a.factor);
    case 'adjustContrast':
      return F.adjustContrast(img, a.factor);
    case 'adjustSaturation':
      return F.adjustSaturation(img, a.factor);
    case 'adjustHue':
      return F.adjustHue(img, a.factor);
    case 'rgbToGrayscale':
      return F.rgbToGrayscale(img, a.numOutputChannels);
    case 'colorJitter':
      return T.ColorJitter.applyParams(img, a as T.ColorJitterParams) as Tensor<'uint8'>;
    default:
      throw new Error(`no mapping for op ${c.op}`);
  }
}

/** Largest absolute difference and the number of differing bytes, naming the first. */
function compare(actual: Tensor, expected: Tensor): { maxDiff: number; differing: number; first: string } {
  assert.deepEqual([...actual.shape], [...expected.shape], 'shape');
  assert.equal(actual.dtype, 'uint8');
  let maxDiff = 0;
  let differing = 0;
  let first = '';
  const [, w, c] = expected.shape;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(actual.data[i] - expected.data[i]);
    if (d > 0) {
      if (!first) first = `(y ${Math.floor(i / (w * c))}, x ${Math.floor(i / c) % w}, c ${i % c}): ${actual.data[i]} vs ${expected.data[i]}`;
      differing++;
      maxDiff = Math.max(maxDiff, d);
    }
  }
  return { maxDiff, differing, first };
}

describe('transforms match torchvision on byte images', async () => {
  const inputs = { rgb: await readPng(fixture.inputs.rgb), gray: await readPng(fixture.inputs.gray) };
  for (const c of fixture.cases) {
    test(c.name, async () => {
      const expected = await readPng(c.output);
      const input = inputs[c.input];
      const before = Uint8Array.from(input.data);
      const actual = run(c, input);
      assert.deepEqual(input.data, before, 'the input was modified');
      const { maxDiff, differing, first } = compare(actual, expected);
      assert.equal(differing, 0, `${c.name}: ${differing} bytes differ (max ${maxDiff}), first at ${first}`);
    });
  }

  test('the fixture covers every op of the mapping', () => {
    const ops = new Set(fixture.cases.map((c) => c.op));
    for (const op of [
      'resize',
      'centerCrop',
      'crop',
      'resizedCrop',
      'pad',
      'hflip',
      'vflip',
      'rotate',
      'adjustBrightness',
      'adjustContrast',
      'adjustSaturation',
      'adjustHue',
      'rgbToGrayscale',
      'colorJitter',
    ]) {
      assert.ok(ops.has(op), `no fixture case for ${op}`);
    }
    const interps = new Set(fixture.cases.filter((c) => c.op === 'resize').map((c) => c.args.interpolation ?? 'bilinear'));
    assert.deepEqual([...interps].sort(), ['bicubic', 'bilinear', 'box', 'hamming', 'lanczos', 'nearest']);
  });
});

describe('float images and conversion match torchvision', () => {
  for (const c of fixture.floatCases) {
    test(c.name, () => {
      if (c.op === 'toTensorNormalize') {
        const img = new Tensor<'uint8'>(Uint8Array.from(c.input.data), c.input.shape);
        const t = new T.ToTensor().apply(img);
        assert.deepEqual([...t.shape], c.toTensor!.shape);
        assertClose(t.data, Float32Array.from(c.toTensor!.data), { rtol: 0, atol: 0, label: 'ToTensor' });
        const n = new T.Normalize(c.args.mean, c.args.std).apply(t);
        assert.deepEqual([...n.shape], c.expected.shape);
        assertClose(n.data, Float32Array.from(c.expected.data), { rtol: 0, atol: 0, label: 'Normalize' });
        return;
      }
      const img = new Tensor<'float32'>(Float32Array.from(c.input.data), c.input.shape);
      const out =
        c.op === 'resize'
          ? F.resize(img, c.args.size, { interpolation: c.args.interpolation })
          : F.rotate(img, c.args.angle, { interpolation: c.args.interpolation, fill: c.args.fill });
      assert.equal(out.dtype, 'float32');
      assert.deepEqual([...out.shape], c.expected.shape);
      assertClose(out.data, c.expected.data, { rtol: 1e-6, atol: 1e-6, label: c.name });
    });
  }
});
