/**
 * GoogLeNet (Inception v1): Szegedy et al., "Going Deeper with Convolutions", CVPR 2015.
 *
 *   conv1 7x7/2, maxpool, conv2 1x1, conv3 3x3, maxpool         (stride 4, 192 channels)
 *   inception3a-3b, maxpool, inception4a-4e, maxpool, inception5a-5b
 *   avgpool (global), flatten, dropout, fc
 * An Inception block concatenates four branches: 1x1; 1x1 then 3x3; 1x1 then "5x5" (a 3x3,
 * as in torchvision's weights); 3x3 max pool then 1x1. Every convolution is a BasicConv2d
 * (conv without bias, batch norm with eps 0.001, ReLU); max pools round up (ceilMode).
 *
 * Auxiliary classifiers (auxLogits, default true): aux1 reads inception4a's output and aux2
 * inception4d's, each through a small head (4x4 average pool, 1x1 conv, two Linears). They
 * only help training: forward(x) returns the main logits alone, in every mode (the classifier
 * contract); forwardWithAux(x) returns { logits, aux1, aux2 }, the aux logits computed in
 * training mode only (null in eval or without heads), for a loss that weighs them, e.g. the
 * paper's loss + 0.3·(loss(aux1) + loss(aux2)). resetClassifier(n) resets the aux heads' final
 * Linears too, so their outputs keep the main head's classes.
 *
 * State-dict keys and forward are torchvision 0.14's GoogLeNet; transformInput re-normalises
 * input prepared with ImageNet's mean and std to the [-1, 1] range torchvision's ported
 * weights expect.
 */
import { Conv2d, type ConvLayerOptions } from '../nn/conv.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Sequential } from '../nn/containers.js';
import { Dropout } from '../nn/dropout.js';
import { adaptiveAvgPool2d } from '../nn/functional.js';
import * as init from '../nn/init.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import type { PerAxis } from '../nn/args.js';
import { concat } from '../tensor/ops/movement.js';
import { Tensor } from '../tensor/tensor.js';
import '../tensor/methods.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from './classifier.js';
import type { ModelDefinition } from './registry.js';

/**
 * Inception block widths, the paper's Table 1: [inChannels, #1x1, #3x3 reduce, #3x3,
 * #5x5 reduce, #5x5, pool proj]; the output has #1x1 + #3x3 + #5x5 + pool proj channels.
 */
type InceptionWidths = [number, number, number, number, number, number, number];
const BLOCKS: Record<string, InceptionWidths> = {
  inception3a: [192, 64, 96, 128, 16, 32, 32],
  inception3b: [256, 128, 128, 192, 32, 96, 64],
  inception4a: [480, 192, 96, 208, 16, 48, 64],
  inception4b: [512, 160, 112, 224, 24, 64, 64],
  inception4c: [512, 128, 128, 256, 24, 64, 64],
  inception4d: [512, 112, 144, 288, 32, 64, 64],
  inception4e: [528, 256, 160, 320, 32, 128, 128],
  inception5a: [832, 256, 160, 320, 32, 128, 128],
  inception5b: [832, 384, 192, 384, 48, 128, 128],
};

/** Conv2d (no bias) + BatchNorm2d (eps 0.001) + ReLU: every convolution of GoogLeNet and Inception v3. */
export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;

  constructor(inChannels: number, outChannels: number, kernelSize: PerAxis, options: Omit<ConvLayerOptions, 'bias'> = {}) {
    super();
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, { ...options, bias: false });
    this.bn = new BatchNorm2d(outChannels, { eps: 0.001 });
  }

  forward(x: Tensor): Tensor {
    return this.bn.call(this.conv.call(x)).relu();
  }
}

/** Four parallel branches over the same input, concatenated along channels. */
export class Inception extends Module {
  branch1: BasicConv2d;
  branch2: Sequential;
  branch3: Sequential;
  branch4: Sequential;

  constructor(inChannels: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = new BasicConv2d(inChannels, ch1x1, 1);
    this.branch2 = new Sequential(new BasicConv2d(inChannels, ch3x3red, 1), new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1 }));
    // the "5x5" branch convolves 3x3: the layout of the weights torchvision published
    this.branch3 = new Sequential(new BasicConv2d(inChannels, ch5x5red, 1), new BasicConv2d(ch5x5red, ch5x5, 3, { padding: 1 }));
    this.branch4 = new Sequential(new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(inChannels, poolProj, 1));
  }

  forward(x: Tensor): Tensor {
    return concat([this.branch1.call(x), this.branch2.call(x), this.branch3.call(x), this.branch4.call(x)], 1);
  }
}

/** An auxiliary classifier: 4x4 average pool, 1x1 conv to 128, fc1 (2048 → 1024) + ReLU, dropout, fc2. */
export class InceptionAux extends Module {
  conv: BasicConv2d;
  fc1: Linear;
  fc2: Linear | Identity;
  dropout: Dropout;

  constructor(inChannels: number, numClasses: number, dropout = 0.7) {
    super();
    this.conv = new BasicConv2d(inChannels, 128, 1);
    this.fc1 = new Linear(2048, 1024);
    this.fc2 = classifierLayer(1024, numClasses);
    this.dropout = new Dropout(dropout);
  }

  forward(x: Tensor): Tensor {
    const f = this.conv.call(adaptiveAvgPool2d(x, 4)).flatten(1);
    return this.fc2.call(this.dropout.call(this.fc1.call(f).relu()));
  }
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * x·(std/0.5) + (mean - 0.5)/0.5 per channel: maps input normalised with ImageNet's mean and
 * std to input normalised with mean 0.5 and std 0.5, which weights ported from TensorFlow expect.
 */
export function transformImagenetInput(x: Tensor): Tensor {
  if (x.ndim !== 4 || x.shape[1] !== 3) throw new RangeError(`transformImagenetInput: expected an RGB input [N, 3, H, W], got [${x.shape.join(', ')}]`);
  const scale = new Tensor<'float32'>(
    Float32Array.from(IMAGENET_STD, (s) => s / 0.5),
    [1, 3, 1, 1],
  );
  const shift = new Tensor<'float32'>(
    Float32Array.from(IMAGENET_MEAN, (m) => (m - 0.5) / 0.5),
    [1, 3, 1, 1],
  );
  return x.mul(scale).add(shift);
}

export interface GoogLeNetConfig {
  numClasses?: number;
  /** image channels (default 3); transformInput needs 3 */
  inChannels?: number;
  /** build the auxiliary classifiers aux1 and aux2 (default true) */
  auxLogits?: boolean;
  /** re-normalise ImageNet-normalised input as the ported weights expect (default false) */
  transformInput?: boolean;
  /** truncated-normal (std 0.01) convolutions and linears (default true); false keeps PyTorch's layer defaults */
  initWeights?: boolean;
  /** dropout before fc (default 0.2) */
  dropout?: number;
  /** dropout in the auxiliary heads (default 0.7) */
  dropoutAux?: number;
}

/** What forwardWithAux returns: the main logits, and the aux logits in training mode (else null). */
export interface GoogLeNetOutputs {
  logits: Tensor;
  aux1: Tensor | null;
  aux2: Tensor | null;
}

export class GoogLeNet extends Module implements ImageClassifier {
  readonly transformInput: boolean;
  conv1: BasicConv2d;
  maxpool1: MaxPool2d;
  conv2: BasicConv2d;
  conv3: BasicConv2d;
  maxpool2: MaxPool2d;
  inception3a: Inception;
  inception3b: Inception;
  maxpool3: MaxPool2d;
  inception4a: Inception;
  inception4b: Inception;
  inception4c: Inception;
  inception4d: Inception;
  inception4e: Inception;
  maxpool4: MaxPool2d;
  inception5a: Inception;
  inception5b: Inception;
  aux1: InceptionAux | null;
  aux2: InceptionAux | null;
  avgpool: AdaptiveAvgPool2d;
  dropout: Dropout;
  fc: Linear | Identity;

  readonly firstConv = 'conv1.conv';
  readonly classifier = 'fc';
  readonly numFeatures = 1024;
  readonly featureInfo: readonly FeatureInfo[] = [
    { module: 'conv1', channels: 64, reduction: 2 },
    { module: 'conv3', channels: 192, reduction: 4 },
    { module: 'inception3b', channels: 480, reduction: 8 },
    { module: 'inception4e', channels: 832, reduction: 16 },
    { module: 'inception5b', channels: 1024, reduction: 32 },
  ];

  constructor({
    numClasses = 1000,
    inChannels = 3,
    auxLogits = true,
    transformInput = false,
    initWeights = true,
    dropout = 0.2,
    dropoutAux = 0.7,
  }: GoogLeNetConfig = {}) {
    super();
    if (transformInput && inChannels !== 3) throw new RangeError(`googlenet: transformInput needs 3 input channels, not ${inChannels}`);
    this.transformInput = transformInput;
    const pool = (k: number) => new MaxPool2d(k, { stride: 2, ceilMode: true });
    const block = (name: string) => new Inception(...BLOCKS[name]);
    this.conv1 = new BasicConv2d(inChannels, 64, 7, { stride: 2, padding: 3 });
    this.maxpool1 = pool(3);
    this.conv2 = new BasicConv2d(64, 64, 1);
    this.conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
    this.maxpool2 = pool(3);
    this.inception3a = block('inception3a');
    this.inception3b = block('inception3b');
    this.maxpool3 = pool(3);
    this.inception4a = block('inception4a');
    this.inception4b = block('inception4b');
    this.inception4c = block('inception4c');
    this.inception4d = block('inception4d');
    this.inception4e = block('inception4e');
    this.maxpool4 = pool(2);
    this.inception5a = block('inception5a');
    this.inception5b = block('inception5b');
    this.aux1 = auxLogits ? new InceptionAux(512, numClasses, dropoutAux) : null;
    this.aux2 = auxLogits ? new InceptionAux(528, numClasses, dropoutAux) : null;
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.dropout = new Dropout(dropout);
    this.fc = classifierLayer(1024, numClasses);
    if (initWeights) truncNormalInit(this, () => 0.01);
  }

  get numClasses(): number {
    return this.fc instanceof Linear ? this.fc.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this.fc = classifierLayer(this.numFeatures, numClasses);
    if (this.aux1) this.aux1.fc2 = classifierLayer(1024, numClasses);
    if (this.aux2) this.aux2.fc2 = classifierLayer(1024, numClasses);
  }

  /** The trunk, with the aux heads' logits when `withAux` (training mode and heads present). */
  #trunk(input: Tensor, withAux: boolean): { features: Tensor; aux1: Tensor | null; aux2: Tensor | null } {
    let x = this.transformInput ? transformImagenetInput(input) : input;
    x = this.maxpool1.call(this.conv1.call(x));
    x = this.maxpool2.call(this.conv3.call(this.conv2.call(x)));
    x = this.maxpool3.call(this.inception3b.call(this.inception3a.call(x)));
    x = this.inception4a.call(x);
    const aux1 = withAux && this.aux1 ? this.aux1.call(x) : null;
    x = this.inception4d.call(this.inception4c.call(this.inception4b.call(x)));
    const aux2 = withAux && this.aux2 ? this.aux2.call(x) : null;
    x = this.maxpool4.call(this.inception4e.call(x));
    x = this.inception5b.call(this.inception5a.call(x));
    return { features: x, aux1, aux2 };
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.#trunk(x, false).features;
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    const x = this.dropout.call(this.avgpool.call(features).flatten(1));
    return preLogits ? x : this.fc.call(x);
  }

  /** The main logits: the aux heads are not run (see forwardWithAux). */
  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  /** The main logits and, in training mode, the aux heads' logits, for a loss that weighs them. */
  forwardWithAux(x: Tensor): GoogLeNetOutputs {
    const { features, aux1, aux2 } = this.#trunk(x, this.training);
    return { logits: this.forwardHead(features), aux1, aux2 };
  }
}

/**
 * Truncated-normal init within ±2 of every Conv2d and Linear weight of `net`, std per layer (at
 * most 0.1); biases and batch norms keep theirs. With std <= 0.1 the bounds lie 20 std or more
 * away, where the normal has no mass a float32 can see, so normal() draws the same distribution
 * (clamped for the record) at a third of init.truncNormal's cost (an inverse CDF per value).
 */
export function truncNormalInit(net: Module, std: (name: string) => number): void {
  for (const [name, m] of net.namedModules()) {
    if (!(m instanceof Conv2d || m instanceof Linear)) continue;
    const s = std(name);
    if (!(s > 0 && s <= 0.1)) throw new RangeError(`truncNormalInit: std ${s} of ${name} is not in (0, 0.1]`);
    const w = init.normal(m.weight, { std: s }).data as Float32Array;
    for (let i = 0; i < w.length; i++) w[i] = Math.min(2, Math.max(-2, w[i]));
  }
}

export const googlenet = (config: GoogLeNetConfig = {}): GoogLeNet => new GoogLeNet(config);

export const GOOGLENET_MODELS: ModelDefinition[] = [
  {
    name: 'googlenet',
    builder: (c: GoogLeNetConfig) => googlenet(c),
    imageSize: 224,
    minImageSize: 15,
    description: 'GoogLeNet (Inception v1), auxiliary classifiers for training; 6.6M parameters without them; ImageNet top-1 69.8%',
    configFor: ({ channels, imageSize, numClasses }) => {
      if (imageSize < 15) throw new RangeError(`googlenet needs images of at least 15x15 pixels, not ${imageSize}x${imageSize}`);
      return { numClasses, inChannels: channels };
    },
  },
];
