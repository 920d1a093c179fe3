/**
 * tsvision audit: a folder with each planted problem is reported with exactly those
 * findings (and none on the clean files); the command end to end (text, HTML, JSON,
 * usage errors); label-noise suspects from a checkpoint with a hand-set classifier.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { audit } from '../src/cli/audit.js';
import { auditFolder, hammingDistance, nearPairs, perceptualHash, type AuditReport } from '../src/data/audit.js';
import { loadImage } from '../src/data/decode.js';
import { getModel } from '../src/models/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { Predictor } from '../src/train/predictor.js';
import { findLabelSuspects } from '../src/train/label-noise.js';
import { picture, plantedFolder, tinted, type Planted } from './audit-fixtures.js';
import { tsvision } from './helpers.js';

let root = '';
let planted: Planted;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-audit-'));
  planted = await plantedFolder(join(root, 'data'));
});
after(() => rmSync(root, { recursive: true, force: true }));

/** Each finding as "kind [scopes]: files relative to the data folder", sorted. */
function summary(report: AuditReport, base: string): string[] {
  return report.findings
    .map(
      (f) =>
        `${f.kind}${f.scope ? ` [${f.scope.join(',')}]` : ''}${f.class ? ` ${f.class}` : ''}: ${f.files
          .map((x) => relative(base, x.path))
          .sort()
          .join(' ')}`,
    )
    .sort();
}

describe('auditFolder on a folder with planted problems', () => {
  let report: AuditReport;
  before(async () => {
    report = await auditFolder(planted.train, { val: planted.val });
  });

  test('reports every planted problem, and nothing else', () => {
    const p = planted.files;
    const expected = [
      `unreadable: ${p.broken}`,
      `zero-byte: ${p.empty}`,
      `wrong-extension: ${p.pngNamedJpg}`,
      `cmyk: ${p.cmyk}`,
      `16-bit: ${p.deep}`,
      `palette: ${p.palette}`,
      `alpha: ${p.alpha}`,
      `exif-rotated: ${p.rotated}`,
      'imbalance: ',
      'crop-loss pano: ',
      `duplicate [train-val]: ${[p.leakTrain, p.leakVal].sort().join(' ')}`,
      `near-duplicate [across-classes]: ${[p.nearA, p.nearB].sort().join(' ')}`,
    ].sort();
    assert.deepEqual(summary(report, planted.root), expected);
  });

  test('counts, imbalance and class weights', () => {
    assert.deepEqual(report.classes, ['apple', 'pano', 'pear']);
    assert.deepEqual(report.counts, { train: [40, 6, 4], val: [5, 5, 5] });
    assert.deepEqual(report.files, { train: 52, val: 15 });
    assert.equal(report.readable, 65);
    assert.equal(report.balance.ratio, 10);
    assert.equal(report.balance.largest, 'apple');
    assert.equal(report.balance.smallest, 'pear');
    // N / (K n_c): 50 / (3 * 40), 50 / (3 * 6), 50 / (3 * 4); every class then weighs N / K
    const w = report.balance.weights;
    [50 / 120, 50 / 18, 50 / 12].forEach((x, k) => assert.ok(Math.abs(w[k] - x) < 1e-12, `weight ${k}`));
    report.counts.train.forEach((n, k) => assert.ok(Math.abs(n * w[k] - 50 / 3) < 1e-9));
    const imbalance = report.findings.find((f) => f.kind === 'imbalance')!;
    assert.match(imbalance.message, /10\.0:1 \(apple 40, pear 4\).*--balance/);
  });

  test('sizes, aspect ratios and the crop advice', () => {
    const pano = report.sizes.find((s) => s.class === 'pano')!;
    assert.deepEqual([pano.width.median, pano.height.median, pano.aspect, pano.medianCropLoss, pano.heavyCropShare], [400, 100, 4, 0.75, 1]);
    assert.deepEqual(pano.aspectBins, [0, 0, 0, 0, 11]);
    const apple = report.sizes.find((s) => s.class === 'apple')!;
    assert.equal(apple.images, 45);
    assert.deepEqual(apple.aspectBins, [0, 2, 0, 43, 0], 'two tall: a 48x64 picture and the 64x48 one EXIF turns upright; the rest 64x48');
    assert.equal(apple.medianCropLoss, 0.25);
    const crop = report.findings.find((f) => f.kind === 'crop-loss')!;
    assert.match(crop.message, /400x100 \(4\.0:1\).*keeps 25%.*letterbox/);
  });

  test('what decoding does, and why a file is unreadable', () => {
    const detail = (kind: string) => report.findings.find((f) => f.kind === kind)!;
    assert.match(detail('unreadable').details![0], /starts with text: "<!DOCTYPE html>/);
    assert.match(detail('wrong-extension').details![0], /a PNG named \.jpg/);
    assert.match(detail('exif-rotated').details![0], /orientation 6/);
    assert.match(detail('alpha').details![0], /alpha down to 127/);
    assert.match(detail('cmyk').message, /converted to sRGB/);
    assert.match(detail('16-bit').message, /reduced to 8 bits/);
  });
});

describe('auditFolder: layout and files training skips', () => {
  test('one class, an image outside class folders, validation classes that differ, an image under .bmp; a text file is no finding', async () => {
    const odd = join(root, 'odd');
    const oddVal = join(root, 'odd-val');
    mkdirSync(join(odd, 'only'), { recursive: true });
    mkdirSync(join(oddVal, 'other'), { recursive: true });
    await picture(501)
      .png()
      .toFile(join(odd, 'only', 'x.png'));
    await picture(502)
      .png()
      .toFile(join(odd, 'only', 'photo.bmp'));
    await picture(503).png().toFile(join(odd, 'loose.png'));
    await picture(504)
      .png()
      .toFile(join(oddVal, 'other', 'y.png'));
    writeFileSync(join(odd, 'only', 'notes.txt'), 'where these came from\n');
    const report = await auditFolder(odd, { val: oddVal });
    assert.deepEqual(
      report.findings.map((f) => [f.kind, f.message.replace(root, 'ROOT'), f.files.map((x) => relative(root, x.path))]),
      [
        ['layout', "ROOT/odd has one class folder ('only'); a classifier needs at least two", []],
        ['layout', '1 image(s) directly in ROOT/odd, outside any class folder: training never sees them; move them into their class folder', ['odd/loose.png']],
        ['layout', "validation class folder(s) 'other' are not in ROOT/odd: tsvision train refuses them", []],
        ['layout', "class(es) 'only' have no folder in ROOT/odd-val: they are never validated", []],
        ['not-read', report.findings[4].message, ['odd/only/photo.bmp']],
      ],
    );
    assert.deepEqual(report.findings[4].details, ['a PNG under .bmp']);
    assert.deepEqual(report.counts, { train: [1], val: [0] });
    await assert.rejects(auditFolder(join(odd, 'only')), {
      name: 'AuditError',
      message: `${join(odd, 'only')} has no class folders; expected one subfolder per class, e.g. ${join(odd, 'only', 'cat', '001.jpg')}`,
    });
  });
});

describe('perceptual hashes', () => {
  test('a resized, re-encoded copy is within a few bits; different pictures are far apart; flat pictures are not near', async () => {
    const a = await loadImage(await picture(7, 128, 96).png().toBuffer());
    const b = await loadImage(await picture(7, 128, 96).resize(80, 60).jpeg({ quality: 60 }).toBuffer());
    const c = await loadImage(await picture(8, 128, 96).png().toBuffer());
    const [ha, hb, hc] = await Promise.all([a, b, c].map((x) => perceptualHash(x)));
    assert.ok(hammingDistance(ha.hash, hb.hash) <= 4, `copy: ${hammingDistance(ha.hash, hb.hash)} bits`);
    assert.ok(hammingDistance(ha.hash, hc.hash) >= 16, `other picture: ${hammingDistance(ha.hash, hc.hash)} bits`);
    const flat = (v: number) => perceptualHash(new Tensor<'uint8'>(new Uint8Array(32 * 32 * 3).fill(v), [32, 32, 3]));
    const [black, white] = await Promise.all([flat(0), flat(255)]);
    assert.equal(hammingDistance(black.hash, white.hash), 0, 'both hash to 0');
    assert.deepEqual(
      nearPairs([black, white, ha, hb, hc], 6, 0.05),
      [{ a: 2, b: 3, distance: hammingDistance(ha.hash, hb.hash) }],
      'the thumbnails tell flat pictures apart',
    );
  });
});

describe('tsvision audit (the command)', () => {
  test('text, HTML and JSON; exit 0 with findings', async () => {
    const r = await tsvision(planted.root, 'audit', 'train', '--val', 'val', '--out', 'report.html');
    assert.equal(r.status, 0, r.stderr);
    for (const heading of [
      'unreadable files',
      'zero-byte files',
      'content and extension disagree',
      'CMYK images',
      '16-bit images',
      'palette images',
      'images with transparency',
      'EXIF-rotated images',
      'class imbalance',
      'pictures the centre crop cuts',
      'exact duplicates (train-val)',
      'near duplicates (across-classes)',
    ])
      assert.ok(r.stdout.includes(`- ${heading}`), `${heading} in\n${r.stdout}`);
    assert.match(r.stdout, /^apple +40 +5 +0\.42$/m);
    assert.match(r.stdout, /Findings \(12\):/);
    assert.match(r.stdout, /HTML report: report\.html/);
    const html = readFileSync(join(planted.root, 'report.html'), 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /<h3>near duplicates \(across-classes\)<\/h3>/);
    assert.equal((html.match(/<img src="data:image\/jpeg;base64,/g) ?? []).length, 4, 'the two duplicate pairs as inline thumbnails');
    assert.ok(!/src="(?!data:)/.test(html), 'self-contained: no image links');
  });

  test('--json prints the report as JSON (in process)', async () => {
    const lines: string[] = [];
    const out = join(root, 'again.html');
    const status = await audit([planted.train, '--val', planted.val, '--json', '--out', out], (l = '') => lines.push(l));
    assert.equal(status, 0);
    const parsed = JSON.parse(lines.join('\n')) as AuditReport;
    assert.equal(parsed.findings.length, 12);
    assert.deepEqual(parsed.counts.train, [40, 6, 4]);
    assert.ok(existsSync(out));
  });

  test('usage errors are one line naming the command; exit status 2', async () => {
    const say = () => {};
    await assert.rejects(audit([], say), { name: 'UsageError', message: 'tsvision audit: give one folder (one subfolder per class), got 0' });
    await assert.rejects(audit([join(root, 'nowhere')], say), {
      name: 'CommandError',
      message: `tsvision audit: the folder ${join(root, 'nowhere')} does not exist`,
    });
    const file = join(planted.train, 'apple', 'a00.png');
    await assert.rejects(audit([planted.train, '--val', file], say), { name: 'CommandError', message: `tsvision audit: --val ${file} is not a folder` });
    await assert.rejects(audit([planted.train, '--near-distance', '40'], say), {
      name: 'UsageError',
      message: 'tsvision audit: --near-distance must be an integer from 0 to 31, got 40',
    });
    const none = await tsvision(root, 'audit');
    assert.equal(none.status, 2);
    assert.equal(none.stderr, 'tsvision audit: give one folder (one subfolder per class), got 0\n');
  });
});

describe('label-noise suspects', () => {
  let dir = '';
  let ckpt = '';
  before(async () => {
    dir = join(root, 'colours');
    const writes: Promise<unknown>[] = [];
    for (const colour of ['red', 'blue'] as const) {
      mkdirSync(join(dir, colour), { recursive: true });
      for (let i = 0; i < 8; i++)
        writes.push(
          tinted(100 * (colour === 'red' ? 1 : 2) + i, colour)
            .png()
            .toFile(join(dir, colour, `${colour}${i}.png`)),
        );
    }
    // a red picture filed as blue
    writes.push(
      tinted(999, 'red')
        .png()
        .toFile(join(dir, 'blue', 'mislabelled.png')),
    );
    await Promise.all(writes);
    // a hand-set linear classifier on 4x4 pictures: logit(red) - logit(blue) = 2 (sum of R - sum of B) over the 16 pixels, in [0, 1]
    const net = getModel('mlp', { inputSize: 48, hidden: [], numClasses: 2 });
    const state = net.stateDict();
    const w = new Float32Array(96);
    // input [C, H, W] flattened: R at 0..15, B at 32..47; row 0 is blue (+B -R), row 1 red (+R -B)
    for (let i = 0; i < 16; i++) {
      w[i] = -1;
      w[32 + i] = 1;
      w[48 + i] = 1;
      w[48 + 32 + i] = -1;
    }
    state.set('1.weight', new Tensor<'float32'>(w, [2, 48]));
    state.set('1.bias', new Tensor<'float32'>(new Float32Array(2), [2]));
    ckpt = join(root, 'colour-model');
    const preprocessing = {
      resizeSize: 4,
      cropSize: 4,
      interpolation: 'bilinear',
      resizeMode: 'stretch',
      channels: 3,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      augment: 'none',
    };
    saveCheckpoint(ckpt, {
      modelState: state,
      info: { architecture: { name: 'mlp', config: { inputSize: 48, hidden: [], numClasses: 2 } }, classes: ['blue', 'red'], preprocessing },
    });
  });

  test('findLabelSuspects: the red picture filed as blue, and only it', async () => {
    const predictor = Predictor.fromCheckpoint(ckpt);
    const files = ['blue', 'red'].flatMap((c) =>
      [...Array(8).keys()]
        .map((i) => ({ path: join(dir, c, `${c}${i}.png`), class: c }))
        .concat(c === 'blue' ? [{ path: join(dir, 'blue', 'mislabelled.png'), class: 'blue' }] : []),
    );
    const r = await findLabelSuspects(predictor, [...files, { path: join(dir, 'green', 'x.png'), class: 'green' }]);
    assert.equal(r.checked, 17);
    assert.deepEqual(r.unknownClasses, ['green']);
    assert.equal(r.suspects.length, 1);
    const s = r.suspects[0];
    assert.equal(s.path, join(dir, 'blue', 'mislabelled.png'));
    assert.equal(s.predicted, 'red');
    assert.ok(s.confidence > 0.99 && Math.abs(s.loss + Math.log(s.labelProb)) < 1e-9);
  });

  test('tsvision audit --checkpoint lists it, with its thumbnail in the HTML', async () => {
    const r = await tsvision(root, 'audit', 'colours', '--checkpoint', 'colour-model', '--out', 'colours.html');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /- label-noise suspects: .*\n {4}colours\/blue\/mislabelled\.png: said red 1\.000, blue 0\.000 \(loss \d+\.\d\d\)\n/);
    const html = readFileSync(join(root, 'colours.html'), 'utf8');
    assert.match(html, /<h3>label-noise suspects<\/h3>/);
    assert.match(html, /<img src="data:image\/jpeg;base64,[A-Za-z0-9+/=]+" alt="colours\/blue\/mislabelled\.png">/);
  });
});
