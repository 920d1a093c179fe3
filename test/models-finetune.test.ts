/**
 * Fine-tuning: freeze / unfreeze by name, loading the weights that fit, discriminative
 * parameter groups, and transfer itself: a network pretrained on MNIST digits 0-5 and
 * fine-tuned on 240 pictures of digits 6-9 beats the same network trained from
 * scratch on them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filterClasses, MNIST, Subset, type Dataset } from '../src/data/index.js';
import { describeMatch, getModel, loadMatchingWeights, stageParamGroups, type ImageClassifier } from '../src/models/index.js';
import { BatchNorm2d, CrossEntropyLoss } from '../src/nn/index.js';
import { Adam } from '../src/optim/index.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import { Accuracy, Model } from '../src/train/index.js';
import '../src/tensor/methods.js';

const digits = (from: number, to: number) => MNIST.CLASSES.slice(from, to + 1);
const first = <X>(d: Dataset<X>, n: number) =>
  new Subset(
    d,
    Array.from({ length: Math.min(n, d.length) }, (_, i) => i),
  );
const small = (numClasses: number) => getModel('convnet', { numClasses, inChannels: 1, widths: [16, 32], dropout: 0 });

async function fit(net: ImageClassifier, data: Dataset<unknown>, epochs: number, groups: ReturnType<typeof stageParamGroups> | null, lr = 2e-3): Promise<void> {
  const optimizer = new Adam(groups ?? net.parameters(), { lr });
  const model = new Model(net).prepare({ optimizer, loss: new CrossEntropyLoss(), metrics: [new Accuracy()] });
  await model.fit(data, { epochs, batchSize: 32, seed: 3, verbose: 0 });
}

async function accuracy(net: ImageClassifier, data: Dataset<unknown>): Promise<number> {
  const model = new Model(net).prepare({ loss: new CrossEntropyLoss(), metrics: [new Accuracy()] });
  return (await model.evaluate(data, { batchSize: 250, verbose: 0 })).acc;
}

describe('fine-tuning', () => {
  test('freeze and unfreeze by name: parameters stop learning, frozen batch norm stays in eval under train()', () => {
    const net = small(3);
    net.freeze();
    assert.ok(net.parameters().every((p) => !p.requiresGrad));
    net.unfreeze(net.classifier);
    assert.deepEqual(
      net
        .namedParameters()
        .filter(([, p]) => p.requiresGrad)
        .map(([k]) => k),
      [`${net.classifier}.weight`, `${net.classifier}.bias`],
    );
    net.train();
    const bn = net.modules().find((m) => m instanceof BatchNorm2d)!;
    assert.equal(bn.training, false, 'a frozen batch norm keeps its running statistics');
    const before = Array.from(bn.buffer('running_mean')!.data);
    net.call(randn([4, 1, 16, 16]));
    assert.deepEqual(Array.from(bn.buffer('running_mean')!.data), before);
    net.unfreeze('1');
    net.train();
    assert.equal(bn.training, true);
    assert.throws(() => net.freeze('layer9'), /freeze: no module of ConvNet matches layer9/);
    net.unfreeze().freeze(/^[0-4]$/);
    assert.equal(net.getSubmodule('3').frozen, true);
    assert.equal(net.getSubmodule('5').frozen, false);
  });

  test('loadMatchingWeights copies what fits and reports the head it leaves fresh; weights of another network are refused', () => {
    const a = small(6);
    const b = small(4);
    const report = loadMatchingWeights(b, a.stateDict());
    assert.deepEqual(
      report.skipped.map((s) => s.key),
      [`${b.classifier}.weight`, `${b.classifier}.bias`],
    );
    assert.equal(report.loaded.length, a.stateDict().size - 2);
    assert.match(
      describeMatch(report),
      new RegExp(`^loaded \\d+ of \\d+ tensors; newly initialised: ${b.classifier}\\.weight \\(shape \\[6, 32\\], the network has \\[4, 32\\]\\)`),
    );
    assert.deepEqual(Array.from(b.stateDict().get('0.weight')!.data), Array.from(a.stateDict().get('0.weight')!.data));
    assert.throws(() => loadMatchingWeights(b, getModel('lenet5', { numClasses: 4 }).stateDict()), /only \d+ of the network's \d+ tensors are in the weights/);
  });

  test('stageParamGroups: the head learns at lr, earlier stages at lr / 10, lr / 100', () => {
    const net = getModel('convnet', { numClasses: 3, widths: [8, 16, 32] });
    const groups = stageParamGroups(net, 1e-2, { groups: 3, factor: 10 });
    assert.deepEqual(
      groups.map((g) => g.lr),
      [1e-4, 1e-3, 1e-2],
    );
    assert.equal(
      groups.reduce((a, g) => a + g.params.length, 0),
      net.parameters().length,
    );
    assert.deepEqual(groups[2].params, [net.getSubmodule(net.classifier).parameters()].flat());
  });

  test('transfer: pretrained on digits 0-5, fine-tuned on 240 pictures of 6-9, beats training from scratch', async () => {
    const train = new MNIST({ train: true });
    const test = new MNIST({ train: false });
    manualSeed(0);
    const pretrained = small(6);
    await fit(pretrained, first(filterClasses(train, digits(0, 5)), 3000), 1, null);

    const few = first(filterClasses(train, digits(6, 9)), 240);
    const held = first(filterClasses(test, digits(6, 9)), 1000);
    manualSeed(1);
    const tuned = small(4);
    loadMatchingWeights(tuned, pretrained.stateDict());
    tuned.freeze().unfreeze(tuned.classifier); // one epoch for the new head alone
    await fit(tuned, few, 1, null);
    tuned.unfreeze();
    await fit(tuned, few, 4, stageParamGroups(tuned, 2e-3));
    manualSeed(1);
    const scratch = small(4);
    await fit(scratch, few, 5, null);
    const [accTuned, accScratch] = [await accuracy(tuned, held), await accuracy(scratch, held)];
    console.log(`# fine-tuned ${accTuned.toFixed(4)}, from scratch ${accScratch.toFixed(4)} on ${held.length} test pictures of 6-9`);
    assert.ok(accTuned > accScratch + 0.03, `fine-tuned ${accTuned} beats scratch ${accScratch}`);
  });
});
