/**
 * Defaults that fit the data: the survey of a folder's pictures, the input size, channels
 * and augmentation chosen from it (with their reasons), `--recipe strong`, and `tsvision
 * train` on folders of 28x28 grey PNGs and 300x200 colour JPEGs, where explicit options win.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { inputDefaults, type DefaultsContext } from '../src/cli/data-defaults.js';
import { applyRecipe, MIXING_MIN_IMAGES, RECIPES } from '../src/cli/recipe.js';
import { surveyImages, type ImageSurvey } from '../src/data/survey.js';
import { modelEntry } from '../src/models/index.js';
import { tsvision } from './helpers.js';

let root = '';

/** n pictures per class: 28x28 one-channel PNGs (left or right half bright) and 300x200 colour JPEGs (red or green). */
async function writeFolders(n: number): Promise<void> {
  const writes: Promise<unknown>[] = [];
  for (const [k, cls] of ['left', 'right'].entries()) {
    mkdirSync(join(root, 'grey', cls), { recursive: true });
    mkdirSync(join(root, 'colour', cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      const g = Buffer.alloc(28 * 28);
      for (let p = 0; p < g.length; p++) g[p] = p % 28 < 14 === (k === 0) ? 200 : 20 + ((p * 7 + i) % 30);
      writes.push(
        sharp(g, { raw: { width: 28, height: 28, channels: 1 } })
          .png()
          .toFile(join(root, 'grey', cls, `${i}.png`)),
      );
      const c = Buffer.alloc(300 * 200 * 3);
      for (let p = 0; p < c.length; p++) c[p] = (p % 3 === k ? 170 : 40) + ((p * 13 + i) % 60);
      writes.push(
        sharp(c, { raw: { width: 300, height: 200, channels: 3 } })
          .jpeg()
          .toFile(join(root, 'colour', cls, `${i}.jpg`)),
      );
    }
  }
  // a grey picture stored as RGB, and a small colour one
  const grey3 = Buffer.alloc(40 * 30 * 3);
  for (let p = 0; p < grey3.length; p += 3) grey3.fill((p * 5) % 256, p, p + 3);
  writes.push(
    sharp(grey3, { raw: { width: 40, height: 30, channels: 3 } })
      .jpeg()
      .toFile(join(root, 'grey-as-rgb.jpg')),
  );
  const small = Buffer.alloc(32 * 32 * 3);
  for (let p = 0; p < small.length; p++) small[p] = p % 3 === 0 ? 200 : 30;
  writes.push(
    sharp(small, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toFile(join(root, 'small-colour.png')),
  );
  await Promise.all(writes);
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-defaults-'));
  await writeFolders(10);
});
after(() => rmSync(root, { recursive: true, force: true }));

const survey = (over: Partial<ImageSurvey>): ImageSurvey => ({
  sampled: 20,
  read: 20,
  medianWidth: 28,
  medianHeight: 28,
  medianShortSide: 28,
  medianLongSide: 28,
  grey: 20,
  ...over,
});
const context = (model: string, over: Partial<DefaultsContext> = {}): DefaultsContext => ({
  model: modelEntry(model),
  pretrained: null,
  resizeMode: 'crop',
  numClasses: 10,
  given: {},
  ...over,
});

describe('the survey of a folder', () => {
  test('sizes, and grey told from colour (one channel, or three that agree)', async () => {
    const grey = await surveyImages([join(root, 'grey/left/0.png'), join(root, 'grey/right/1.png'), join(root, 'grey-as-rgb.jpg')]);
    assert.deepEqual(grey, { sampled: 3, read: 3, medianWidth: 28, medianHeight: 28, medianShortSide: 28, medianLongSide: 28, grey: 3 });
    const mixed = await surveyImages([
      join(root, 'colour/left/0.jpg'),
      join(root, 'small-colour.png'),
      join(root, 'grey/left/0.png'),
      join(root, 'nothing.png'),
    ]);
    assert.deepEqual(mixed, { sampled: 4, read: 3, medianWidth: 32, medianHeight: 32, medianShortSide: 32, medianLongSide: 32, grey: 1 });
    // evenly spaced: every tenth of 100, so the colour picture at every twentieth is half the sample
    const paths = Array.from({ length: 100 }, (_, i) => join(root, i % 20 === 0 ? 'colour/left/0.jpg' : 'nothing.png'));
    const sampled = await surveyImages(paths, { sample: 10 });
    assert.deepEqual([sampled.sampled, sampled.read, sampled.medianShortSide, sampled.medianLongSide, sampled.grey], [10, 5, 200, 300, 0]);
  });
});

describe('the input chosen from the survey', () => {
  test('28 px grey pictures: 28 px, 1 channel, light augmentation, with the reasons', () => {
    const d = inputDefaults(survey({}), context('convnet'));
    assert.deepEqual([d.imageSize, d.channels, d.augment], [28, 1, 'light']);
    assert.match(d.why.imageSize, /^28 px, the pictures' own \(median 28x28 over 20 sampled pictures\); small pictures are not upscaled to convnet's 64\.$/);
    assert.equal(d.why.channels, '1 (grey): all 20 sampled pictures are grey.');
    assert.match(d.why.augment, /^light \(shifts of up to 4 px, no flips\): small \(28 px\) grey pictures/);
  });

  test("photos: the model's default size, RGB, standard augmentation; small colour pictures get light", () => {
    const photos = survey({ medianWidth: 300, medianHeight: 200, medianShortSide: 200, medianLongSide: 300, grey: 0 });
    const d = inputDefaults(photos, context('convnet'));
    assert.deepEqual([d.imageSize, d.channels, d.augment], [64, 3, 'standard']);
    assert.match(d.why.imageSize, /convnet's default \(the pictures, median 300x200 over 20 sampled pictures, are scaled down to it\)/);
    assert.equal(d.why.channels, '3 (RGB): 20 of 20 sampled pictures are in colour.');
    // letterboxed, the long side counts
    assert.equal(inputDefaults(survey({ medianShortSide: 20, medianLongSide: 50, grey: 0 }), context('convnet', { resizeMode: 'letterbox' })).imageSize, 50);
    const cifar = inputDefaults(survey({ medianWidth: 32, medianHeight: 32, medianShortSide: 32, medianLongSide: 32, grey: 3 }), context('resnet18'));
    assert.deepEqual([cifar.imageSize, cifar.channels, cifar.augment], [32, 3, 'light']);
    assert.match(cifar.why.augment, /^light \(shifts of up to 4 px, no flips\): small \(32 px\) pictures: /);
  });

  test("the model's limits: a smallest input, sizes it cannot take, pretrained weights' resolution and colour", () => {
    const inception = inputDefaults(survey({}), context('inception_v3'));
    assert.equal(inception.imageSize, 75);
    assert.match(inception.why.imageSize, /^75 px, inception_v3's smallest input/);
    const lenet = inputDefaults(survey({ medianWidth: 20, medianHeight: 20, medianShortSide: 20, medianLongSide: 20 }), context('lenet5'));
    assert.equal(lenet.imageSize, 28);
    assert.match(lenet.why.imageSize, /^28 px, lenet5's default: lenet5 takes 28x28 or 32x32 images, not 20x20/);
    assert.equal(inputDefaults(survey({ medianShortSide: 5, medianLongSide: 5 }), context('convnet')).imageSize, 64);
    const tuned = inputDefaults(survey({}), context('resnet18', { pretrained: { cropSize: 224, name: 'resnet18.imagenet' } }));
    assert.deepEqual([tuned.imageSize, tuned.channels, tuned.augment], [224, 3, 'light']);
    assert.match(tuned.why.imageSize, /^224 px, the resolution resnet18\.imagenet were trained at/);
    assert.match(tuned.why.channels, /pretrained first convolution takes colour \(grey pictures are given as three equal channels\)/);
    // the given size sets the shift
    assert.match(inputDefaults(survey({}), context('convnet', { given: { imageSize: 64 } })).why.augment, /shifts of up to 8 px/);
  });
});

describe('--recipe', () => {
  test('strong sets its table where the command line is silent; mixing only with enough images; none sets nothing', () => {
    const values: Record<string, unknown> = { recipe: 'strong', 'label-smoothing': 0.05, mixup: 0, cutmix: 0 };
    const r = applyRecipe(values, new Set(['label-smoothing']), { trainImages: MIXING_MIN_IMAGES });
    assert.deepEqual(r.set, ['mixup', 'cutmix', 'ema', 'augment']);
    assert.deepEqual([values['label-smoothing'], values.mixup, values.cutmix, values.ema, values.augment], [0.05, 0.2, 1, 0.999, 'trivial']);
    assert.equal(r.line, 'Recipe strong: sets --mixup 0.2 --cutmix 1 --ema 0.999 --augment trivial; given: --label-smoothing 0.05.');
    const few: Record<string, unknown> = { recipe: 'strong', mixup: 0, cutmix: 0 };
    const s = applyRecipe(few, new Set(), { trainImages: MIXING_MIN_IMAGES - 1 });
    assert.deepEqual([few['label-smoothing'], few.mixup, few.cutmix, few.ema], [0.1, 0, 0, 0.999]);
    assert.match(s.line!, /no --mixup or --cutmix: 999 training images, fewer than the 1,000 mixing needs\.$/);
    const none: Record<string, unknown> = { recipe: 'none', mixup: 0 };
    assert.deepEqual(applyRecipe(none, new Set(), { trainImages: 5000 }), { set: [], line: null });
    assert.deepEqual(none, { recipe: 'none', mixup: 0 });
    assert.deepEqual(Object.keys(RECIPES), ['none', 'strong']);
  });
});

describe('tsvision train chooses what it is not told', () => {
  test('a folder of 28x28 grey PNGs: 28 px, 1 channel, light augmentation, the reasons in the header', async () => {
    const r = await tsvision(root, 'train', '--data', 'grey', '--epochs', '1', '--out', 'runs/grey');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Input: 28x28 grey, resize crop, augmentation light,/m);
    assert.match(r.stdout, /^Image size: 28 px, the pictures' own \(median 28x28 over 20 sampled pictures\); small pictures are not upscaled/m);
    assert.match(r.stdout, /^Channels: 1 \(grey\): all 20 sampled pictures are grey\.$/m);
    assert.match(r.stdout, /^Augmentation: light \(shifts of up to 4 px, no flips\): small \(28 px\) grey pictures/m);
    const run = JSON.parse(readFileSync(join(root, 'runs/grey/run.json'), 'utf8')).settings;
    assert.deepEqual([run['image-size'], run.channels, run.augment, run.recipe], [28, 1, 'light', 'none']);
    const ck = JSON.parse(readFileSync(join(root, 'runs/grey/final/checkpoint.json'), 'utf8'));
    assert.deepEqual([ck.preprocessing.cropSize, ck.preprocessing.channels], [28, 1]);
  });

  test("a folder of 300x200 colour JPEGs: the model's default size, RGB, standard augmentation", async () => {
    const r = await tsvision(root, 'train', '--data', 'colour', '--epochs', '1', '--out', 'runs/colour');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Input: 64x64 RGB, resize crop, augmentation standard,/m);
    assert.match(r.stdout, /^Image size: 64 px, convnet's default \(the pictures, median 300x200 over 20 sampled pictures, are scaled down to it\)\.$/m);
    assert.match(r.stdout, /^Augmentation: standard \(random-resized crops, flips, colour jitter\): the pictures are photo-sized/m);
  });

  test('explicit options win over the data and the recipe', async () => {
    const r = await tsvision(
      root,
      ...['train', '--data', 'grey', '--epochs', '1', '--out', 'runs/told', '--image-size', '32', '--channels', '3', '--augment', 'none'],
      ...['--recipe', 'strong', '--label-smoothing', '0.05'],
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Input: 32x32 RGB, resize crop, augmentation none,/m);
    assert.doesNotMatch(r.stdout, /^(Image size|Channels|Augmentation): /m);
    assert.match(r.stdout, /^Recipe strong: sets --ema 0\.999; given: --label-smoothing 0\.05 --augment none; no --mixup or --cutmix: 16 training images/m);
    assert.match(r.stdout, /^Recipe: label smoothing 0\.05, moving average of the weights \(decay 0\.999, with warmup\)\.$/m);
    const run = JSON.parse(readFileSync(join(root, 'runs/told/run.json'), 'utf8')).settings;
    assert.deepEqual(
      [run['image-size'], run.channels, run.augment, run.recipe, run['label-smoothing'], run.ema, run.mixup],
      [32, 3, 'none', 'strong', 0.05, 0.999, 0],
    );
    // the recipe is part of the run: --resume keeps it
    const other = await tsvision(root, 'train', '--data', 'grey', '--out', 'runs/told', '--resume', '--recipe', 'none');
    assert.equal(other.status, 1);
    assert.match(other.stderr, /^tsvision train: --recipe none differs from the run in runs\/told \(strong\): a resumed run keeps its settings/);
  });
});
