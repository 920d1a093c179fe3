/**
 * Random transforms (their distributions, and their determinism under a seed),
 * Letterbox, float [C, H, W] images through the geometric transforms,
 * Compose/Lambda, and the error messages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, manualSeed } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';

const F = T.functional;

/** A uint8 [h, w, c] image whose bytes encode their position (and so differ everywhere). */
function pattern(h: number, w: number, c = 3): Tensor<'uint8'> {
  const d = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) d[(y * w + x) * c + k] = (y * 37 + x * 11 + k * 71) & 255;
  return new Tensor<'uint8'>(d, [h, w, c]);
}

function equal(a: Tensor, b: Tensor): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]) && a.data.every((v, i) => v === b.data[i]);
}

/** Asserts |rate - p| within 4.5 standard deviations of n Bernoulli(p) draws. */
function assertRate(hits: number, n: number, p: number, label: string): void {
  const sd = Math.sqrt((p * (1 - p)) / n);
  assert.ok(Math.abs(hits / n - p) <= 4.5 * sd + 1e-12, `${label}: rate ${hits / n} vs p = ${p} (n = ${n})`);
}

describe('random flips and greyscale', () => {
  const img = pattern(3, 4);
  for (const [name, make, fn] of [
    ['RandomHorizontalFlip', (p: number, g: Generator) => new T.RandomHorizontalFlip(p, { generator: g }), F.hflip],
    ['RandomVerticalFlip', (p: number, g: Generator) => new T.RandomVerticalFlip(p, { generator: g }), F.vflip],
    ['RandomGrayscale', (p: number, g: Generator) => new T.RandomGrayscale(p, { generator: g }), (x: Tensor) => F.rgbToGrayscale(x, 3)],
  ] as const) {
    test(`${name}: applied at rate p, otherwise the input unchanged`, () => {
      const expected = fn(img);
      for (const p of [0, 0.3, 1]) {
        const t = make(p, new Generator(7));
        let hits = 0;
        const n = 2000;
        for (let i = 0; i < n; i++) {
          const out = t.apply(img);
          if (equal(out, expected)) hits++;
          else assert.ok(equal(out, img), `${name}: an output that is neither the input nor the transformed input`);
        }
        assertRate(hits, n, p, `${name} p=${p}`);
      }
    });
  }

  test("a generator passed to apply() wins over the transform's own, which wins over the global one", () => {
    const flip = new T.RandomHorizontalFlip(0.5, { generator: new Generator(1) });
    const seq = (g?: () => Generator) => Array.from({ length: 64 }, () => equal(flip.apply(img, g?.()), img));
    const g1 = new Generator(99);
    const g2 = new Generator(99);
    const a = Array.from({ length: 64 }, () => equal(flip.apply(img, g1), img));
    const b = Array.from({ length: 64 }, () => equal(new T.RandomHorizontalFlip(0.5).apply(img, g2), img));
    assert.deepEqual(a, b, 'apply(img, generator) must draw from that generator');
    const own1 = seq();
    const flip2 = new T.RandomHorizontalFlip(0.5, { generator: new Generator(1) });
    manualSeed(5);
    const own2 = Array.from({ length: 64 }, () => equal(flip2.apply(img), img));
    assert.deepEqual(own1, own2, 'the own generator must be used, not the global one');
    manualSeed(123);
    const glob1 = Array.from({ length: 64 }, () => equal(new T.RandomHorizontalFlip().apply(img), img));
    manualSeed(123);
    const glob2 = Array.from({ length: 64 }, () => equal(new T.RandomHorizontalFlip().apply(img), img));
    assert.deepEqual(glob1, glob2, 'manualSeed must repeat the global draws');
    assert.ok(glob1.includes(true) && glob1.includes(false));
  });
});

describe('RandomCrop', () => {
  test('positions are uniform over every valid offset, and the crop is the image there', () => {
    const img = pattern(6, 7);
    const t = new T.RandomCrop([4, 4], { generator: new Generator(3) });
    const counts = new Map<string, number>();
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const out = t.apply(img);
      assert.deepEqual([...out.shape], [4, 4, 3]);
      let found = '';
      for (let top = 0; top <= 2 && !found; top++)
        for (let left = 0; left <= 3 && !found; left++) if (equal(out, F.crop(img, top, left, 4, 4))) found = `${top},${left}`;
      assert.ok(found, 'the output is no crop of the input');
      counts.set(found, (counts.get(found) ?? 0) + 1);
    }
    assert.equal(counts.size, 12, 'every one of the 3 x 4 offsets should occur');
    for (const [k, c] of counts) assertRate(c, n, 1 / 12, `offset ${k}`);
  });

  test('padding, fill and padIfNeeded (the deficit padded on both sides, as torchvision)', () => {
    const img = pattern(5, 5);
    const t = new T.RandomCrop(9, { padding: 2, fill: 200 });
    const out = t.apply(img);
    assert.deepEqual([...out.shape], [9, 9, 3]);
    assert.ok(equal(out, F.pad(img, 2, { fill: 200 })), "a crop of the padded image's full size is the padded image");
    assert.throws(() => new T.RandomCrop(8).apply(img), /larger than the image 5x5 \(use padIfNeeded\)/);
    const g = new Generator(11);
    const padded = new T.RandomCrop([7, 9], { padIfNeeded: true, fill: 1 });
    for (let i = 0; i < 50; i++) {
      const o = padded.apply(img, g);
      assert.deepEqual([...o.shape], [7, 9, 3]);
    }
    // width 5 -> 5 + 2 * 4 = 13 columns, height 5 -> 5 + 2 * 2 = 9 rows: the crop's top-left can reach (2, 4).
    const [i, j] = T.RandomCrop.getParams(9, 13, [7, 9], new Generator(0));
    assert.ok(i >= 0 && i <= 2 && j >= 0 && j <= 4);
  });
});

describe('RandomResizedCrop', () => {
  test('sampled crops respect scale and ratio (up to rounding) and cover their ranges', () => {
    const g = new Generator(2024);
    const [H, W] = [400, 400];
    const scale: [number, number] = [0.08, 1];
    const ratio: [number, number] = [3 / 4, 4 / 3];
    let minS = Infinity,
      maxS = -Infinity,
      minR = Infinity,
      maxR = -Infinity,
      logSum = 0;
    const n = 4000;
    for (let k = 0; k < n; k++) {
      const [i, j, h, w] = T.RandomResizedCrop.getParams(H, W, scale, ratio, g);
      assert.ok(i >= 0 && j >= 0 && i + h <= H && j + w <= W && h > 0 && w > 0, `crop ${[i, j, h, w]} outside the image`);
      const s = (h * w) / (H * W);
      const r = w / h;
      // Rounding w and h to integers moves the area and ratio by a little.
      assert.ok(s >= scale[0] * 0.9 && s <= scale[1] * 1.001, `area fraction ${s}`);
      assert.ok(r >= ratio[0] * 0.97 && r <= ratio[1] * 1.03, `ratio ${r}`);
      minS = Math.min(minS, s);
      maxS = Math.max(maxS, s);
      minR = Math.min(minR, r);
      maxR = Math.max(maxR, r);
      logSum += Math.log(r);
    }
    assert.ok(minS < 0.1 && maxS > 0.7, `area fractions span [${minS}, ${maxS}]`);
    assert.ok(minR < 0.78 && maxR > 1.28, `ratios span [${minR}, ${maxR}]`);
    assert.ok(Math.abs(logSum / n) < 0.03, `mean log ratio ${logSum / n} should be near 0 (log-uniform)`);
  });

  test('falls back to the central crop clamped to the ratio range after 10 misses', () => {
    // A tall 100x10 strip cannot hold a crop of ratio >= 2 with area >= 90%.
    assert.deepEqual(T.RandomResizedCrop.getParams(100, 10, [0.9, 1], [2, 3], new Generator(0)), [47, 0, 5, 10]);
    assert.deepEqual(T.RandomResizedCrop.getParams(10, 100, [0.95, 1], [0.5, 0.75], new Generator(0)), [0, 46, 10, 8]);
    assert.deepEqual(T.RandomResizedCrop.getParams(20, 20, [2, 3], [1, 1], new Generator(0)), [0, 0, 20, 20]);
  });

  test('apply is the resized crop of the drawn box, repeatable with a seed', () => {
    const img = pattern(30, 40);
    const t = new T.RandomResizedCrop(16, { scale: [0.2, 0.9] });
    const a = t.apply(img, new Generator(77));
    const b = t.apply(img, new Generator(77));
    assert.ok(equal(a, b));
    const [i, j, h, w] = T.RandomResizedCrop.getParams(30, 40, [0.2, 0.9], [3 / 4, 4 / 3], new Generator(77));
    assert.ok(equal(a, F.resizedCrop(img, i, j, h, w, [16, 16])));
    assert.deepEqual([...a.shape], [16, 16, 3]);
  });
});

describe('RandomRotation', () => {
  test('angles are uniform in [-d, d] and apply rotates by the drawn angle', () => {
    const g = new Generator(5);
    let min = Infinity,
      max = -Infinity,
      sum = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const a = T.RandomRotation.getParams([-30, 30], g);
      min = Math.min(min, a);
      max = Math.max(max, a);
      sum += a;
    }
    assert.ok(min >= -30 && max <= 30 && min < -29 && max > 29, `angles span [${min}, ${max}]`);
    assert.ok(Math.abs(sum / n) < 1, `mean angle ${sum / n}`);
    const img = pattern(9, 11);
    const t = new T.RandomRotation(40, { interpolation: 'bilinear', fill: 9 });
    const angle = T.RandomRotation.getParams([-40, 40], new Generator(8));
    assert.ok(equal(t.apply(img, new Generator(8)), F.rotate(img, angle, { interpolation: 'bilinear', fill: 9 })));
    assert.throws(() => new T.RandomRotation(-5), /non-negative/);
    assert.throws(() => new T.RandomRotation(10, { interpolation: 'box' }), /'nearest', 'bilinear' or 'bicubic'/);
  });
});

describe('ColorJitter', () => {
  test('parameters: a permutation of the four adjustments, factors within their ranges', () => {
    const t = new T.ColorJitter({ brightness: 0.4, contrast: [0.5, 0.7], saturation: 0, hue: 0.1 });
    assert.equal(t.saturation, null, 'saturation 0 is the identity and is skipped');
    const g = new Generator(9);
    const orders = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const p = t.getParams(g);
      assert.deepEqual([...p.order].sort(), [0, 1, 2, 3]);
      orders.add(p.order.join(''));
      assert.ok(p.brightness! >= 0.6 && p.brightness! <= 1.4);
      assert.ok(p.contrast! >= 0.5 && p.contrast! <= 0.7);
      assert.equal(p.saturation, null);
      assert.ok(p.hue! >= -0.1 && p.hue! <= 0.1);
    }
    assert.equal(orders.size, 24, 'every order of the four adjustments should occur');
  });

  test('apply = applyParams(getParams) with the same generator; bytes only; range checks', () => {
    const img = pattern(5, 6);
    const t = new T.ColorJitter({ brightness: 0.5, contrast: 0.5, saturation: 0.5, hue: 0.2 });
    const out = t.apply(img, new Generator(4));
    assert.ok(equal(out, T.ColorJitter.applyParams(img, t.getParams(new Generator(4)))));
    assert.ok(!equal(out, img));
    assert.throws(() => t.apply(F.toTensor(img)), /expected a uint8 image \[H, W, C\].*apply ColorJitter before ToTensor/);
    assert.throws(() => new T.ColorJitter({ hue: 0.6 }), /hue values must be within \[-0.5, 0.5\]/);
    assert.throws(() => new T.ColorJitter({ brightness: -1 }), /brightness must be non-negative/);
  });
});

describe('Letterbox', () => {
  test('a wide poster keeps its whole width, centred between bands of fill', () => {
    // 40 x 100: left 10 columns red, right 10 columns blue, grey between.
    const [h, w] = [40, 100];
    const d = new Uint8Array(h * w * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d.set(x < 10 ? [255, 0, 0] : x >= 90 ? [0, 0, 255] : [128, 128, 128], (y * w + x) * 3);
    const poster = new Tensor<'uint8'>(d, [h, w, 3]);
    const out = new T.Letterbox(50, { fill: [0, 255, 0] }).apply(poster);
    assert.deepEqual([...out.shape], [50, 50, 3]);
    const px = (t: Tensor, y: number, x: number) => Array.from(t.data.subarray((y * t.shape[1] + x) * 3, (y * t.shape[1] + x) * 3 + 3));
    // Scale 0.5: the picture is 20 x 50 at rows 15..34; bands above and below are the fill.
    for (const y of [0, 14, 35, 49]) assert.deepEqual(px(out, y, 25), [0, 255, 0], `row ${y} should be fill`);
    assert.deepEqual(px(out, 25, 0), [255, 0, 0], 'the red left edge survives');
    assert.deepEqual(px(out, 25, 49), [0, 0, 255], 'the blue right edge survives');
    assert.ok(equal(F.crop(out, 15, 0, 20, 50), F.resize(poster, [20, 50])), 'the picture region is the resized poster');
    // Resize + CenterCrop, by contrast, cuts both edges away.
    const cropped = new T.Compose([new T.Resize(50), new T.CenterCrop(50)]).apply(poster);
    assert.notDeepEqual(px(cropped, 25, 0), [255, 0, 0]);
    // A tall picture gets bands left and right; [h, w] targets work too.
    const tall = new T.Letterbox([30, 60]).apply(pattern(40, 20));
    assert.deepEqual([...tall.shape], [30, 60, 3]);
    assert.deepEqual(px(tall, 10, 0), [0, 0, 0]);
  });
});

describe('float [C, H, W] images through the geometric transforms', () => {
  const img = pattern(9, 12);
  const f = F.toTensor(img);
  const cases: [string, (x: T.ImageTensor) => T.ImageTensor][] = [
    ['crop', (x) => F.crop(x, -2, 3, 6, 8)],
    ['centerCrop', (x) => F.centerCrop(x, [5, 14])],
    ['pad reflect', (x) => F.pad(x, [3, 1, 2, 4], { mode: 'reflect' })],
    ['pad symmetric', (x) => F.pad(x, 4, { mode: 'symmetric' })],
    ['hflip', F.hflip],
    ['vflip', F.vflip],
    ['rotate nearest', (x) => F.rotate(x, 33, { expand: true })],
    ['rotate 90', (x) => F.rotate(x, 90, { expand: true })],
    ['resize nearest', (x) => F.resize(x, [17, 5], { interpolation: 'nearest' })],
  ];
  for (const [name, op] of cases) {
    test(`${name}: the same pixels as on bytes`, () => {
      const viaBytes = F.toTensor(op(img));
      const viaFloat = op(f);
      assert.equal(viaFloat.dtype, 'float32');
      assert.ok(equal(viaFloat, viaBytes), `${name}: float result differs from the byte result`);
    });
  }

  test('resize bilinear and bicubic: within one byte of the byte result (which rounds twice)', () => {
    // A smooth picture: bicubic's overshoot at sharp edges is clamped in bytes but not in floats.
    const d = new Uint8Array(9 * 12 * 3);
    for (let i = 0; i < d.length; i++) d[i] = 40 + ((i * 7) % 97);
    const smooth = F.resize(new Tensor<'uint8'>(d, [9, 12, 3]), [9, 12], { interpolation: 'box' });
    const img = F.resize(F.resize(smooth, [3, 4], { interpolation: 'bilinear' }), [9, 12], { interpolation: 'bilinear' });
    const f = F.toTensor(img);
    for (const interpolation of ['bilinear', 'bicubic'] as const) {
      for (const size of [
        [5, 7],
        [20, 23],
        [20, 12],
        [9, 5],
      ]) {
        // both passes, then the vertical or the horizontal alone
        const a = F.resize(f, size, { interpolation });
        const b = F.toTensor(F.resize(img, size, { interpolation }));
        let maxDiff = 0;
        a.data.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - b.data[i]))));
        assert.ok(maxDiff <= 1 / 255 + 1e-6, `${interpolation} ${size}: max difference ${maxDiff * 255} grey levels`);
      }
    }
  });

  test('ToTensor, then Normalize on a batch', () => {
    assert.deepEqual([...f.shape], [3, 9, 12]);
    assert.equal(f.data[5], Math.fround(img.data[5 * 3] / 255));
    assert.equal(f.data[9 * 12], Math.fround(img.data[1] / 255), 'channel 1 starts after the first plane');
    const batch = new Tensor<'float32'>(new Float32Array([...f.data, ...f.data]), [2, 3, 9, 12]);
    const n = F.normalize(batch, [0.5, 0.25, 0], [0.5, 2, 1]);
    assert.equal(n.data[1], Math.fround(Math.fround(f.data[1] - 0.5) / 0.5));
    assert.equal(n.data[3 * 108 + 108 + 5], Math.fround(Math.fround(f.data[108 + 5] - 0.25) / 2));
  });
});

describe('composition and errors', () => {
  test('Compose hands its generator to every transform; Lambda and plain functions compose', () => {
    const img = pattern(12, 12);
    const pipeline = new T.Compose([
      new T.RandomCrop(8),
      (x: Tensor<'uint8'>) => F.hflip(x),
      new T.Lambda((x: Tensor<'uint8'>, g?: Generator) => (g ? F.vflip(x) : x)),
      new T.ToTensor(),
      new T.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ]);
    const a = pipeline.apply(img, new Generator(1));
    const b = pipeline.apply(img, new Generator(1));
    assert.ok(equal(a, b));
    assert.deepEqual([...a.shape], [3, 8, 8]);
    const [i, j] = T.RandomCrop.getParams(12, 12, [8, 8], new Generator(1));
    const expected = F.normalize(F.toTensor(F.vflip(F.hflip(F.crop(img, i, j, 8, 8)))), [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]);
    assert.ok(equal(a, expected));
    assert.throws(() => new T.Compose([{} as T.Transform]), /element 0 is neither a transform/);
  });

  test('messages name the parameter, what was expected and what was received', () => {
    const img = pattern(4, 4);
    assert.throws(() => new T.Resize(0), /Resize: expected a positive integer size or \[height, width\] but received 0/);
    assert.throws(
      () => new T.Resize(10, { interpolation: 'cubic' as T.Interpolation }),
      /interpolation must be one of nearest, bilinear, bicubic, box, hamming, lanczos but received 'cubic'/,
    );
    assert.throws(
      () => F.resize(new Tensor<'int32'>(new Int32Array(12), [2, 2, 3]) as unknown as T.ImageTensor, 2),
      /resize: expected an image tensor \(uint8 \[H, W, C\] or float32 \[C, H, W\]\) but received int32 \[2, 2, 3\]/,
    );
    assert.throws(() => new T.Normalize([0.5], [0.5]).apply(img), /Normalize|normalize: expected a float32 image/);
    assert.throws(() => new T.Normalize([0.5, 0.5], [1]), /same length/);
    assert.throws(() => F.pad(img, [1, 2, 3]), /padding must be a non-negative integer or a list of 1, 2 or 4/);
    assert.throws(() => F.pad(img, 1, { fill: [1, 2] }), /fill has 2 values but the image has 3 channels/);
    assert.throws(() => new T.RandomHorizontalFlip(2), /p must be a probability in \[0, 1\] but received 2/);
    assert.throws(() => new T.RandomResizedCrop(8, { scale: [0.9, 0.1] }), /scale must be \[min, max\]/);
    assert.throws(() => F.adjustHue(img, 0.7), /factor must be in \[-0.5, 0.5\]/);
    assert.throws(() => F.resize(img, 10, { maxSize: 5 }), /maxSize \(5\) must be greater/);
  });
});
