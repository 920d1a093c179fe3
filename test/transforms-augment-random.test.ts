/**
 * The random augmentations and the policies as random transforms: their rates and
 * parameter ranges over many seeded draws, determinism under a seed, the policies'
 * choices (op, magnitude level, sign) and AugMix's Dirichlet weights; every new
 * transform rebuilt from its portable spec (as a DataLoader worker does) and giving the
 * same output; the training presets --augment trivial | rand | auto; and the errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';

const F = T.functional;

/** A uint8 [h, w, c] image whose bytes encode their position, within [20, 220) (so autocontrast changes it). */
function pattern(h: number, w: number, c = 3): Tensor<'uint8'> {
  const d = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) d[(y * w + x) * c + k] = ((y * 37 + x * 11 + k * 71) % 200) + 20;
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

describe('the p-transforms', () => {
  const img = pattern(20, 24); // equalize leaves images of fewer than 256 pixels alone, as PIL
  const cases: [string, (p: number, g: Generator) => T.Transform, (x: T.ImageTensor) => T.ImageTensor][] = [
    ['RandomInvert', (p, g) => new T.RandomInvert(p, { generator: g }), F.invert],
    ['RandomPosterize', (p, g) => new T.RandomPosterize(3, p, { generator: g }), (x) => F.posterize(x, 3)],
    ['RandomSolarize', (p, g) => new T.RandomSolarize(100, p, { generator: g }), (x) => F.solarize(x, 100)],
    ['RandomAdjustSharpness', (p, g) => new T.RandomAdjustSharpness(3, p, { generator: g }), (x) => F.adjustSharpness(x, 3)],
    ['RandomAutocontrast', (p, g) => new T.RandomAutocontrast(p, { generator: g }), F.autocontrast],
    ['RandomEqualize', (p, g) => new T.RandomEqualize(p, { generator: g }), F.equalize],
  ];
  for (const [name, make, fn] of cases) {
    test(`${name}: applied at rate p, otherwise the input unchanged`, () => {
      const expected = fn(img);
      assert.ok(!equal(expected, img), `${name} changes the test image`);
      for (const p of [0, 0.3, 1]) {
        const t = make(p, new Generator(11));
        let hits = 0;
        const n = 800;
        for (let i = 0; i < n; i++) {
          const out = t.apply(img);
          if (equal(out, expected)) hits++;
          else assert.ok(equal(out, img), `${name}: an output that is neither the input nor the transformed input`);
        }
        assertRate(hits, n, p, `${name} p=${p}`);
      }
    });
  }
});

describe('RandomAffine, RandomPerspective, GaussianBlur', () => {
  test('RandomAffine: angle, shift (rounded half to even), scale and shears uniform in their ranges; apply = affine(getParams)', () => {
    const g = new Generator(3);
    const n = 3000;
    const seen = { angle: [Infinity, -Infinity], tx: new Set<number>(), scale: [Infinity, -Infinity], sx: [Infinity, -Infinity], sy: [Infinity, -Infinity] };
    let angleSum = 0;
    for (let i = 0; i < n; i++) {
      const p = T.RandomAffine.getParams([-20, 40], [0.1, 0.2], [0.8, 1.2], [-5, 5, 10, 15], [40, 30], g);
      seen.angle = [Math.min(seen.angle[0], p.angle), Math.max(seen.angle[1], p.angle)];
      angleSum += p.angle;
      assert.ok(Number.isInteger(p.translate[0]) && Math.abs(p.translate[0]) <= 4 && Math.abs(p.translate[1]) <= 6);
      seen.tx.add(p.translate[0]);
      seen.scale = [Math.min(seen.scale[0], p.scale), Math.max(seen.scale[1], p.scale)];
      seen.sx = [Math.min(seen.sx[0], p.shear[0]), Math.max(seen.sx[1], p.shear[0])];
      seen.sy = [Math.min(seen.sy[0], p.shear[1]), Math.max(seen.sy[1], p.shear[1])];
    }
    assert.ok(seen.angle[0] >= -20 && seen.angle[0] < -19.5 && seen.angle[1] <= 40 && seen.angle[1] > 39.5, `angles ${seen.angle}`);
    assert.ok(Math.abs(angleSum / n - 10) < 1, `mean angle ${angleSum / n}`);
    assert.deepEqual(
      [...seen.tx].sort((a, b) => a - b),
      [-4, -3, -2, -1, 0, 1, 2, 3, 4],
    );
    assert.ok(seen.scale[0] >= 0.8 && seen.scale[0] < 0.81 && seen.scale[1] <= 1.2 && seen.scale[1] > 1.19);
    assert.ok(seen.sx[0] >= -5 && seen.sx[1] <= 5 && seen.sy[0] >= 10 && seen.sy[1] <= 15 && seen.sy[0] < 10.1 && seen.sy[1] > 14.9);
    const none = T.RandomAffine.getParams([0, 0], undefined, undefined, undefined, [40, 30], new Generator(1));
    assert.deepEqual(none, { angle: 0, translate: [0, 0], scale: 1, shear: [0, 0] });

    const img = pattern(12, 16);
    const t = new T.RandomAffine(30, { translate: [0.2, 0.1], scale: [0.9, 1.1], shear: 10, interpolation: 'bilinear', fill: 7 });
    const p = T.RandomAffine.getParams(t.degrees, t.translate, t.scale, t.shear, [16, 12], new Generator(5));
    assert.ok(equal(t.apply(img, new Generator(5)), F.affine(img, p.angle, p.translate, p.scale, p.shear, { interpolation: 'bilinear', fill: 7 })));
  });

  test('RandomPerspective: corners within distortionScale of half the size, at rate p', () => {
    const g = new Generator(4);
    const [w, h] = [40, 30];
    for (let i = 0; i < 500; i++) {
      const [start, end] = T.RandomPerspective.getParams(w, h, 0.5, g);
      assert.deepEqual(start, [
        [0, 0],
        [39, 0],
        [39, 29],
        [0, 29],
      ]);
      const [tl, tr, br, bl] = end;
      // half width 20 * 0.5 = 10, half height 15 * 0.5 = 7 (truncated)
      assert.ok(tl[0] >= 0 && tl[0] <= 10 && tl[1] >= 0 && tl[1] <= 7, `top-left ${tl}`);
      assert.ok(tr[0] >= 29 && tr[0] <= 39 && tr[1] >= 0 && tr[1] <= 7, `top-right ${tr}`);
      assert.ok(br[0] >= 29 && br[0] <= 39 && br[1] >= 22 && br[1] <= 29, `bottom-right ${br}`);
      assert.ok(bl[0] >= 0 && bl[0] <= 10 && bl[1] >= 22 && bl[1] <= 29, `bottom-left ${bl}`);
    }
    const img = pattern(10, 12);
    const t = new T.RandomPerspective({ p: 0.4, generator: new Generator(8) });
    let changed = 0;
    for (let i = 0; i < 1000; i++) if (!equal(t.apply(img), img)) changed++;
    // a draw of all-zero shifts leaves the image as it is: rare at this size
    assert.ok(Math.abs(changed / 1000 - 0.4) < 0.07, `applied ${changed / 1000}`);
  });

  test('GaussianBlur: sigma uniform in its range, the blur of that sigma', () => {
    const img = pattern(9, 9);
    const t = new T.GaussianBlur(5, [0.5, 1.5]);
    const g1 = new Generator(6);
    const s = 0.5 + (1.5 - 0.5) * g1.random();
    assert.ok(equal(t.apply(img, new Generator(6)), F.gaussianBlur(img, [5, 5], [s, s])));
    assert.throws(() => new T.GaussianBlur(4), /odd positive integer/);
    assert.throws(() => new T.GaussianBlur(3, [2, 1]), /0 < min <= max/);
  });
});

describe('RandomErasing', () => {
  const img = F.normalize(F.toTensor(pattern(40, 50)), [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);

  test('boxes: area and aspect ratio in their ranges, inside the image, at rate p; fill by value', () => {
    const g = new Generator(12);
    let areaMin = Infinity;
    let areaMax = 0;
    for (let k = 0; k < 2000; k++) {
      const [i, j, h, w, v] = T.RandomErasing.getParams(3, 40, 50, [0.02, 0.33], [0.3, 3.3], [0], g);
      if (v === null) continue;
      assert.ok(i >= 0 && j >= 0 && i + h <= 40 && j + w <= 50 && h < 40 && w < 50, `box ${[i, j, h, w]}`);
      const area = (h * w) / 2000;
      areaMin = Math.min(areaMin, area);
      areaMax = Math.max(areaMax, area);
      // h = sqrt(area * r), w = sqrt(area / r), so h / w is the ratio, up to rounding
      assert.ok(h / w >= 0.3 * 0.6 && h / w <= 3.3 / 0.6, `ratio ${h / w}`);
    }
    assert.ok(areaMin < 0.03 && areaMax > 0.25, `areas span [${areaMin}, ${areaMax}]`);
    const t = new T.RandomErasing({ p: 0.35, value: [1, 2, 3], generator: new Generator(2) });
    let erased = 0;
    for (let k = 0; k < 1500; k++) {
      const out = t.apply(img);
      if (equal(out, img)) continue;
      erased++;
      for (let c = 0; c < 3; c++)
        assert.ok(
          Array.from(out.data.subarray(c * 2000, (c + 1) * 2000)).some((x) => x === c + 1),
          'the box holds its channel value',
        );
    }
    assertRate(erased, 1500, 0.35, 'RandomErasing p=0.35');
  });

  test("value 'random': standard normal values; 0 by default; apply = erase(getParams); nothing erased after 10 misses", () => {
    const t = new T.RandomErasing({ p: 1, value: 'random', scale: [0.3, 0.33] });
    const out = t.apply(img, new Generator(3));
    const [i, j, h, w, v] = T.RandomErasing.getParams(
      3,
      40,
      50,
      [0.3, 0.33],
      [0.3, 3.3],
      null,
      (() => {
        const g = new Generator(3);
        g.random(); // the p draw
        return g;
      })(),
    );
    assert.ok(v instanceof Tensor);
    assert.ok(equal(out, F.erase(img, i, j, h, w, v)));
    const vals = Array.from(v.data);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
    assert.ok(vals.length > 1000 && Math.abs(mean) < 0.1 && Math.abs(sd - 1) < 0.1, `mean ${mean}, sd ${sd}`);
    const zero = new T.RandomErasing({ p: 1 }).apply(img, new Generator(9));
    assert.ok(Array.from(zero.data).filter((x) => x === 0).length > 0.02 * zero.data.length);
    // a box of at least the whole area never fits
    assert.deepEqual(T.RandomErasing.getParams(3, 40, 50, [1, 1], [1, 1], [0], new Generator(0)).slice(0, 4), [0, 0, 40, 50]);
    assert.ok(equal(new T.RandomErasing({ p: 1, scale: [1, 1], ratio: [1, 1] }).apply(img), img));
  });
});

/** Draws from a generator, recording every int draw with its range. */
function recording(): { source: T.DrawSource; ints: [number, number][]; dirichlet: number[][] } {
  const ints: [number, number][] = [];
  const dirichlet: number[][] = [];
  const source: T.DrawSource = (g) => {
    const d = T.generatorDraws(g);
    return {
      int: (n) => {
        const v = d.int(n);
        ints.push([n, v]);
        return v;
      },
      uniform: d.uniform,
      dirichlet: (a, k) => {
        const v = d.dirichlet(a, k);
        dirichlet.push(v);
        return v;
      },
    };
  };
  return { source, ints, dirichlet };
}

describe('the policies as random transforms', () => {
  const img = pattern(8, 10);

  test('TrivialAugmentWide: each of the 14 ops at rate 1/14, each of the 31 levels at 1/31, signs at 1/2', () => {
    const r = recording();
    const t = new T.TrivialAugmentWide({ draws: r.source, generator: new Generator(21) });
    const n = 3000;
    for (let i = 0; i < n; i++) t.apply(img);
    const space = T.augmentationSpace('trivial', 31);
    const ops = r.ints.filter(([range]) => range === 14).map(([, v]) => v);
    assert.equal(ops.length, n);
    for (let k = 0; k < 14; k++) assertRate(ops.filter((v) => v === k).length, n, 1 / 14, `op ${space[k].op}`);
    const levels = r.ints.filter(([range]) => range === 31).map(([, v]) => v);
    assert.equal(levels.length, ops.filter((k) => space[k].magnitudes !== null).length, 'a level is drawn exactly for the ops with magnitudes');
    for (const k of [0, 15, 30]) assertRate(levels.filter((v) => v === k).length, levels.length, 1 / 31, `level ${k}`);
    const signs = r.ints.filter(([range]) => range === 2).map(([, v]) => v);
    assert.equal(signs.length, ops.filter((k) => space[k].signed).length, 'a sign is drawn exactly for the signed ops');
    assertRate(signs.filter((v) => v === 1).length, signs.length, 0.5, 'negative sign');
  });

  test('RandAugment: numOps op draws per image over 14 ops; AutoAugment: the 25 sub-policies uniformly', () => {
    const r = recording();
    const t = new T.RandAugment({ numOps: 3, magnitude: 12, draws: r.source, generator: new Generator(2) });
    for (let i = 0; i < 1000; i++) t.apply(img);
    const ops = r.ints.filter(([range]) => range === 14);
    assert.equal(ops.length, 3000);
    for (let k = 0; k < 14; k++) assertRate(ops.filter(([, v]) => v === k).length, 3000, 1 / 14, `RandAugment op ${k}`);
    const a = recording();
    const auto = new T.AutoAugment('svhn', { draws: a.source, generator: new Generator(3) });
    for (let i = 0; i < 2500; i++) auto.apply(img);
    const ids = a.ints.filter(([range]) => range === 25).map(([, v]) => v);
    assert.equal(ids.length, 2500);
    for (let k = 0; k < 25; k++) assertRate(ids.filter((v) => v === k).length, 2500, 1 / 25, `sub-policy ${k}`);
  });

  test("AugMix: Dirichlet weights with the distribution's mean and variance; the result lies between the chains", () => {
    const r = recording();
    // severity 5: its level draws (range 5) are told apart from the chain depths (range 3)
    const t = new T.AugMix({ alpha: 0.5, mixtureWidth: 4, severity: 5, draws: r.source, generator: new Generator(5) });
    for (let i = 0; i < 1500; i++) t.apply(img);
    const w4 = r.dirichlet.filter((v) => v.length === 4);
    assert.equal(w4.length, 1500);
    // Dirichlet(0.5 x 4): mean 1/4, variance (1/4)(3/4) / (4 * 0.5 + 1) = 0.0625
    const first = w4.map((v) => v[0]);
    const mean = first.reduce((a, b) => a + b, 0) / first.length;
    const variance = first.reduce((a, b) => a + (b - mean) ** 2, 0) / first.length;
    assert.ok(Math.abs(mean - 0.25) < 0.025, `mean ${mean}`);
    assert.ok(Math.abs(variance - 0.0625) < 0.012, `variance ${variance}`);
    for (const v of r.dirichlet) assert.ok(Math.abs(v.reduce((a, b) => a + b, 0) - 1) < 1e-5 && v.every((x) => x >= 0));
    // a depth of 1-3 drawn per chain (chainDepth -1), uniformly; each of the 13 ops at rate 1/13
    const depths = r.ints.filter(([range]) => range === 3).map(([, v]) => v);
    assert.equal(depths.length, 1500 * 4);
    for (let k = 0; k < 3; k++) assertRate(depths.filter((v) => v === k).length, depths.length, 1 / 3, `depth ${k + 1}`);
    const ops = r.ints.filter(([range]) => range === 13).map(([, v]) => v);
    assert.equal(
      ops.length,
      depths.reduce((a, v) => a + v + 1, 0),
      'one op draw per step of each chain',
    );
    for (let k = 0; k < 13; k++) assertRate(ops.filter((v) => v === k).length, ops.length, 1 / 13, `AugMix op ${k}`);
    // a mixture of the image with itself is the image
    const still = new T.AugMix({ draws: () => ({ int: () => 0, uniform: () => 0, dirichlet: (_a, k) => Array.from({ length: k }, () => 1 / k) }) });
    const gray = new Tensor<'uint8'>(new Uint8Array(8 * 10 * 3).fill(100), [8, 10, 3]);
    // op 0 (ShearX) at level 0: a shear of 0 leaves a flat image flat
    assert.ok(equal(still.apply(gray), gray));
  });

  test('a seed repeats a policy; bytes only; argument checks', () => {
    for (const t of [new T.AutoAugment('cifar10'), new T.RandAugment(), new T.TrivialAugmentWide(), new T.AugMix()]) {
      const a = t.apply(img, new Generator(77));
      assert.ok(equal(a, t.apply(img, new Generator(77))), `${t.constructor.name} repeats under a seed`);
      assert.throws(() => t.apply(F.toTensor(img)), /expected a uint8 image/);
    }
    assert.throws(() => new T.AutoAugment('mnist' as T.AutoAugmentPolicy), /policy must be one of imagenet, cifar10, svhn/);
    assert.throws(() => new T.RandAugment({ magnitude: 31 }), /magnitude must be an integer in \[0, 30\]/);
    assert.throws(() => new T.AugMix({ severity: 0 }), /severity must be an integer in \[1, 10\]/);
    assert.throws(() => T.applyOp(img, 'Blur' as T.PolicyOp, 1), /unknown op "Blur"/);
    assert.throws(() => F.posterize(img, 9), /bits must be an integer in \[0, 8\]/);
    assert.throws(() => F.solarize(F.toTensor(img), 2), /at most 1 for a float image/);
    assert.throws(() => F.erase(img, 5, 5, 4, 4, 0), /must lie inside the 8x10 image/);
    assert.throws(() => F.perspective(img, [[0, 0]], [[0, 0]]), /four \[x, y\] corners/);
  });
});

describe('portable specs and presets', () => {
  test('every new transform is rebuilt by transformFromSpec and gives the same output', () => {
    const img = pattern(20, 24);
    const float = F.normalize(F.toTensor(img), [0.5, 0.5, 0.5], [0.2, 0.2, 0.2]);
    const cases: [T.Transform, Tensor][] = [
      [
        new T.RandomAffine([-10, 30], {
          translate: [0.1, 0.2],
          scale: [0.8, 1.1],
          shear: [-5, 5, 0, 8],
          interpolation: 'bilinear',
          fill: [1, 2, 3],
          center: [4, 5],
        }),
        img,
      ],
      [new T.RandomAffine(15), F.toTensor(img)],
      [new T.RandomPerspective({ distortionScale: 0.4, p: 0.8, interpolation: 'nearest', fill: 9 }), img],
      [new T.GaussianBlur([3, 5], [0.3, 1.4]), img],
      [new T.RandomAdjustSharpness(2.5, 0.7), img],
      [new T.RandomAutocontrast(0.6), img],
      [new T.RandomEqualize(0.6), img],
      [new T.RandomPosterize(2, 0.6), img],
      [new T.RandomSolarize(90, 0.6), img],
      [new T.RandomInvert(0.6), img],
      [new T.RandomErasing({ p: 0.9, scale: [0.1, 0.3], ratio: [0.5, 2], value: 'random' }), float],
      [new T.RandomErasing({ p: 0.9, value: [0.1, 0.2, 0.3] }), float],
      [new T.AutoAugment('svhn', { interpolation: 'bilinear', fill: [10, 20, 30] }), img],
      [new T.RandAugment({ numOps: 3, magnitude: 5, numMagnitudeBins: 11 }), img],
      [new T.TrivialAugmentWide({ numMagnitudeBins: 15, fill: 128 }), img],
      [new T.AugMix({ severity: 4, mixtureWidth: 2, chainDepth: 2, alpha: 0.7, allOps: false, interpolation: 'nearest' }), img],
    ];
    for (const [t, input] of cases) {
      const spec = t.spec!();
      assert.ok(spec, `${t.constructor.name} has a spec`);
      const copy = T.transformFromSpec(structuredClone(spec));
      assert.equal(copy.constructor, t.constructor);
      assert.deepEqual(copy.spec!(), spec, `${spec!.name}: the rebuilt transform describes itself the same way`);
      let changed = false;
      for (let seed = 0; seed < 5; seed++) {
        const a = t.apply(input, new Generator(seed));
        const b = copy.apply(input, new Generator(seed));
        assert.deepEqual([...b.shape], [...a.shape], `${spec!.name}, seed ${seed}`);
        assert.deepEqual(b.data, a.data, `${spec!.name}, seed ${seed}`);
        changed ||= !equal(a, input);
      }
      assert.ok(changed, `${spec!.name} changed the input for one of the seeds`);
    }
    // the draws source is code, like a generator: not part of the spec
    const draws = T.generatorDraws;
    assert.deepEqual(new T.TrivialAugmentWide({ draws }).spec(), new T.TrivialAugmentWide().spec());
  });

  test('--augment trivial | rand | auto: the crop and flip, then the policy, then ToTensor and Normalize; recorded as a preprocessing', () => {
    const base: T.PreprocessConfig = {
      resizeSize: 16,
      cropSize: 16,
      interpolation: 'bilinear',
      resizeMode: 'crop',
      channels: 3,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.25, 0.25],
      augment: 'standard',
    };
    const names = (p: T.PreprocessConfig) => (T.trainTransform(p).spec()!.args[0] as T.TransformSpec[]).map((s) => s.name);
    assert.deepEqual(names(base), ['RandomResizedCrop', 'RandomHorizontalFlip', 'ColorJitter', 'ToTensor', 'Normalize'], 'standard is unchanged');
    assert.deepEqual(names({ ...base, augment: 'trivial' }), ['RandomResizedCrop', 'RandomHorizontalFlip', 'TrivialAugmentWide', 'ToTensor', 'Normalize']);
    assert.deepEqual(names({ ...base, augment: 'rand' }), ['RandomResizedCrop', 'RandomHorizontalFlip', 'RandAugment', 'ToTensor', 'Normalize']);
    assert.deepEqual(names({ ...base, augment: 'auto', resizeMode: 'letterbox' }), [
      'Letterbox',
      'RandomResizedCrop',
      'RandomHorizontalFlip',
      'AutoAugment',
      'ToTensor',
      'Normalize',
    ]);
    const grey = { ...base, channels: 1 as const, mean: [0.5], std: [0.25], augment: 'rand' as const };
    const out = T.trainTransform(grey).apply(pattern(20, 24, 1), new Generator(1));
    assert.deepEqual([...out.shape], [1, 16, 16]);
    for (const a of ['trivial', 'rand', 'auto'] as const) {
      assert.ok(T.AUGMENTATIONS.includes(a));
      assert.equal(T.parsePreprocess({ ...base, augment: a }, 'test').augment, a, `${a} survives a checkpoint's preprocessing`);
    }
  });
});
