/**
 * Grad-CAM: on a task where the class is a small bright patch at a known place, a model
 * trained here looks at the patch (the map's peak falls inside it); every registered
 * model with a convolution names a stage Grad-CAM can use; `tsvision explain` writes
 * the overlay and prints the top classes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { camAt, gradCam, gradCamLayer, GradCamError, upsampleBilinear } from '../src/metrics/gradcam.js';
import { getModel, listModels, modelEntry } from '../src/models/index.js';
import { CrossEntropyLoss } from '../src/nn/loss.js';
import { skipInit } from '../src/nn/init.js';
import { Adam } from '../src/optim/adam.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { Model } from '../src/train/model.js';
import { loadFormulaWeights } from './formula-weights.js';
import { assertClose, gen, tsvision } from './helpers.js';
import { SequentialClassifier } from '../src/models/classifier.js';
import { AdaptiveAvgPool2d, Conv2d, Flatten, Linear, ReLU } from '../src/nn/index.js';

const S = 32;
const P = 6;

/**
 * n pictures [n, 3, S, S] in [0, 1]: grey noise up to 0.5, and a 6x6 patch at a random place,
 * red for class A, green for class B (labels alternate); the patches' corners are returned.
 */
function patches(n: number): { x: Tensor; y: Tensor<'int32'>; corners: [number, number][]; bytes: Uint8Array[] } {
  const plane = S * S;
  const data = new Float32Array(n * 3 * plane);
  const labels = new Int32Array(n);
  const corners: [number, number][] = [];
  const bytes: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 2;
    labels[i] = k;
    const [r0, c0] = [2 + Math.floor(gen.random() * (S - P - 3)), 2 + Math.floor(gen.random() * (S - P - 3))];
    corners.push([r0, c0]);
    const hwc = new Uint8Array(plane * 3);
    for (let r = 0; r < S; r++)
      for (let c = 0; c < S; c++) {
        const inPatch = r >= r0 && r < r0 + P && c >= c0 && c < c0 + P;
        const grey = Math.round(gen.random() * 127) / 255;
        for (let ch = 0; ch < 3; ch++) {
          const v = inPatch ? (ch === k ? 1 : 0) : grey;
          data[(i * 3 + ch) * plane + r * S + c] = v;
          hwc[(r * S + c) * 3 + ch] = Math.round(v * 255);
        }
      }
    bytes.push(hwc);
  }
  return { x: new Tensor(data, [n, 3, S, S]), y: new Tensor(labels, [n]), corners, bytes };
}

const config = { numClasses: 2, inChannels: 3, widths: [16] };
const preprocessing = {
  resizeSize: S,
  cropSize: S,
  interpolation: 'bilinear',
  resizeMode: 'crop',
  channels: 3,
  mean: [0, 0, 0],
  std: [1, 1, 1],
  augment: 'none',
};
let net: ReturnType<typeof getModel>;
let dir = '';

describe('Grad-CAM', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsv-gradcam-'));
    manualSeed(3);
    net = getModel('convnet', config);
    const train = patches(256);
    const batches: [Tensor, Tensor][] = [];
    for (let i = 0; i < 256; i += 32) {
      const rows = Array.from({ length: 32 }, (_, j) => i + j);
      const xs = new Float32Array(32 * 3 * S * S);
      rows.forEach((r, j) => xs.set(train.x.data.subarray(r * 3 * S * S, (r + 1) * 3 * S * S) as Float32Array, j * 3 * S * S));
      batches.push([new Tensor(xs, [32, 3, S, S]), new Tensor(new Int32Array(rows.map((r) => train.y.data[r])), [32])]);
    }
    const model = new Model(net).prepare({ optimizer: new Adam(net.parameters(), { lr: 1e-2 }), loss: new CrossEntropyLoss() });
    const history = await model.fit(batches, { epochs: 8, verbose: 0 });
    assert.ok(history.at(-1)!.loss < 0.1, `the patch task is learnt (loss ${history.at(-1)!.loss})`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a model trained to find a patch looks at the patch: the map's peak lies inside it, for every held-out picture", () => {
    const test = patches(16);
    const result = gradCam(net, test.x);
    assert.equal(result.layer, '6', 'the last stage of convnet([16]): its max pool');
    assert.deepEqual([result.height, result.width], [S / 2, S / 2]);
    assert.deepEqual(result.classIndex, Array.from(test.y.data), 'each picture explained for its predicted class, which is right');
    for (let i = 0; i < 16; i++) {
      const cam = camAt(result, i, S, S);
      let peak = 0;
      for (let j = 1; j < cam.length; j++) if (cam[j] > cam[peak]) peak = j;
      const [r, c] = [Math.floor(peak / S), peak % S];
      const [r0, c0] = test.corners[i];
      assert.ok(r >= r0 && r < r0 + P && c >= c0 && c < c0 + P, `picture ${i}: peak at (${r}, ${c}), the patch is at (${r0}, ${c0}) + ${P}`);
      assert.equal(cam[peak], 1, 'normalised to a maximum of 1');
      // the evidence is the patch: its mean weight is several times the rest's
      let inside = 0;
      let outside = 0;
      cam.forEach((v, j) => {
        const [y, x] = [Math.floor(j / S), j % S];
        if (y >= r0 && y < r0 + P && x >= c0 && x < c0 + P) inside += v / (P * P);
        else outside += v / (S * S - P * P);
      });
      assert.ok(inside > 3 * outside, `picture ${i}: mean ${inside.toFixed(3)} inside the patch, ${outside.toFixed(3)} outside`);
    }
    // explaining the other class moves the map: it is not the picture's brightness alone
    const other = gradCam(net, test.x, { classIndex: Array.from(test.y.data, (k) => 1 - k) });
    assert.deepEqual(
      other.classIndex,
      Array.from(test.y.data, (k) => 1 - k),
    );
    assert.notDeepEqual(Array.from(other.maps), Array.from(result.maps));
  });

  test('leaves the network as it was: no parameter gradient, the same mode and requiresGrad flags', () => {
    for (const p of net.parameters()) p.grad = null;
    net.train();
    net.getSubmodule('0').parameters()[0].requiresGrad = false;
    gradCam(net, patches(2).x);
    assert.ok(net.training);
    assert.equal(net.getSubmodule('0').parameters()[0].requiresGrad, false);
    net.getSubmodule('0').parameters()[0].requiresGrad = true;
    for (const p of net.parameters()) assert.equal(p.grad, null);
    assert.ok(
      net
        .parameters()
        .slice(1)
        .every((p) => p.requiresGrad),
    );
    net.eval();
  });

  test("bilinear upsampling is PyTorch's interpolate with align_corners=False", () => {
    // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode='bilinear', align_corners=False)
    const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    assert.deepEqual(Array.from(upsampleBilinear(new Float32Array([0, 1, 2, 3]), 2, 2, 4, 4)), expected);
  });

  test("the arithmetic is PyTorch's: the map, the normalised upsampled map and the probabilities of a tiny network (fixture)", () => {
    const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../../test/fixtures/gradcam.json', import.meta.url)), 'utf8'));
    const tiny = new SequentialClassifier(
      [
        new Conv2d(2, 3, 3, { padding: 1 }),
        new ReLU(),
        new Conv2d(3, 4, 3, { padding: 1 }),
        new ReLU(),
        new AdaptiveAvgPool2d(1),
        new Flatten(),
        new Linear(4, 3),
      ],
      { headStart: 4, firstConv: '0', featureInfo: [{ module: '3', channels: 4, reduction: 1 }] },
    );
    for (const [k, t] of tiny.stateDict()) (t.data as Float32Array).set(fx.params[k]);
    const r = gradCam(tiny, new Tensor(new Float32Array(fx.input), [2, 2, 6, 6]), { classIndex: 2 });
    assert.deepEqual([r.height, r.width, r.layer], [6, 6, '3']);
    assertClose(r.maps, fx.maps, { rtol: 1e-4, atol: 1e-6, label: 'maps' });
    assertClose([...camAt(r, 0, 9, 9), ...camAt(r, 1, 9, 9)], fx.cam9, { rtol: 1e-4, atol: 1e-6, label: 'upsampled' });
    assertClose(r.probs, fx.probs, { rtol: 1e-5, atol: 1e-7, label: 'probabilities' });
  });

  test('every registered model with a convolution names its last stage; Grad-CAM weighs it in one of each family; an MLP is refused by name', () => {
    // a forward and backward of every large network would take a minute: one per family runs
    const run = new Set(['efficientnet_b0', 'mobilenet_v3_small', 'resnet18', 'shufflenet_v2_x0_5']);
    for (const name of listModels()) {
      const entry = modelEntry(name);
      const size = Math.max(Math.min(entry.imageSize, 64), entry.minImageSize);
      manualSeed(0);
      const m = skipInit(() => getModel(name, entry.configFor({ channels: 3, imageSize: size, numClasses: 3 })));
      if (name === 'mlp') {
        assert.throws(() => gradCamLayer(m), GradCamError);
        continue;
      }
      assert.ok(m.getSubmodule(gradCamLayer(m)), name);
      if (entry.imageSize > 64 && !run.has(name)) continue;
      loadFormulaWeights(m);
      const r = gradCam(m, randn([1, 3, size, size]), { classIndex: 1 });
      assert.equal(r.layer, m.featureInfo.at(-1)!.module, name);
      assert.ok(r.height >= 1 && r.width >= 1 && r.maps.every(Number.isFinite), `${name}: a finite ${r.height}x${r.width} map`);
    }
  });

  test('tsvision explain writes the overlay atomically and prints the top classes; a bad --class is one line', async () => {
    const ck = join(dir, 'ck');
    saveCheckpoint(ck, { modelState: net.stateDict(), info: { architecture: { name: 'convnet', config }, classes: ['A', 'B'], preprocessing } });
    const pic = patches(2);
    const image = join(dir, 'b.png');
    await sharp(Buffer.from(pic.bytes[1]), { raw: { width: S, height: S, channels: 3 } })
      .png()
      .toFile(image);
    const out = join(dir, 'overlay.png');
    const run = await tsvision(dir, 'explain', '--checkpoint', ck, image, '--out', out);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /b\.png {2}B 0\.\d{4} {2}A 0\.\d{4}/);
    assert.match(run.stdout, /Grad-CAM of 'B' \(\d+\.\d%\) over stage '6': .*overlay\.png \(224x224\)/);
    const meta = await sharp(readFileSync(out)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 224, 224]);
    // the overlay turns the green patch red (the hot end of the colour map) and barely tints a far corner
    const { data } = await sharp(readFileSync(out)).raw().toBuffer({ resolveWithObject: true });
    const red = (r: number, c: number) => data[((r * 7 + 3) * 224 + c * 7 + 3) * 3] - pic.bytes[1][(r * S + c) * 3];
    const [r0, c0] = pic.corners[1];
    const far = (v: number) => (v < S / 2 ? S - 3 : 2);
    assert.ok(red(r0 + 3, c0 + 3) > 50, `red added at the patch: ${red(r0 + 3, c0 + 3)}`);
    assert.ok(Math.abs(red(far(r0), far(c0))) < 25, `red changed far from it: ${red(far(r0), far(c0))}`);
    // the evaluation report shows the worst mistakes with their overlays: a B picture filed under A is one
    for (const [k, name] of [
      [0, 'A'],
      [1, 'A'],
      [1, 'B'],
    ] as const) {
      const to = join(dir, 'val', name, `${k}-${name}.png`);
      mkdirSync(join(dir, 'val', name), { recursive: true });
      await sharp(Buffer.from(pic.bytes[k]), { raw: { width: S, height: S, channels: 3 } })
        .png()
        .toFile(to);
    }
    const ev = await tsvision(dir, 'evaluate', '--checkpoint', ck, '--data', join(dir, 'val'), '--out', join(dir, 'ev'));
    assert.equal(ev.status, 0, ev.stderr);
    const html = readFileSync(join(dir, 'ev', 'report.html'), 'utf8');
    assert.match(html, /<img class="cam" src="gradcam\/1-said\.png" alt="Grad-CAM: where it saw B"/);
    assert.match(html, /<img class="cam" src="gradcam\/1-true\.png" alt="Grad-CAM: where it saw A"/);
    assert.equal((await sharp(readFileSync(join(dir, 'ev', 'gradcam', '1-said.png'))).metadata()).width, 160);
    const bad = await tsvision(dir, 'explain', '--checkpoint', ck, image, '--class', 'C');
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, "tsvision explain: --class: no class 'C'; the classes are A, B\n");
  });
});
