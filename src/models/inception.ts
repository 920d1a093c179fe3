/**
 * Inception v3: Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016.
 *
 *   stem: Conv2d_1a_3x3 /2, Conv2d_2a_3x3, Conv2d_2b_3x3, maxpool1, Conv2d_3b_1x1, Conv2d_4a_3x3, maxpool2
 *   35x35: Mixed_5b-5d (InceptionA)   → Mixed_6a (InceptionB, grid reduction)
 *   17x17: Mixed_6b-6e (InceptionC, factorised 1x7 / 7x1)   → Mixed_7a (InceptionD, grid reduction)
 *   8x8:   Mixed_7b-7c (InceptionE, expanded 1x3 / 3x1 branches)
 *   avgpool (global), dropout, flatten, fc
 * (sizes for the 299x299 input the network is designed for). Every convolution is a
 * BasicConv2d (conv without bias, batch norm eps 0.001, ReLU); the stem pads nothing, so the
 * input must be at least 75x75.
 *
 * The auxiliary classifier (auxLogits, default true) AuxLogits reads Mixed_6e: a 5x5/3 average
 * pool, 1x1 conv, 5x5 conv, global pool, fc. Its 5x5 windows need Mixed_6e's 17x17, so the
 * 299x299 input. forward(x) returns the main logits alone, in every mode (the classifier
 * contract); forwardWithAux(x) returns { logits, aux }, aux computed in training mode only
 * (null in eval or without the head), for a loss such as loss + 0.4·loss(aux).
 * resetClassifier(n) resets AuxLogits.fc too.
 *
 * State-dict keys and forward are torchvision 0.14's Inception3; transformInput re-normalises
 * ImageNet-normalised input to the [-1, 1] range torchvision's ported weights expect.
 */
import { Dropout } from '../nn/dropout.js';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from '../nn/functional.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { concat } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import '../tensor/methods.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from './classifier.js';
import { BasicConv2d, transformImagenetInput, truncNormalInit } from './googlenet.js';
import type { ModelDefinition } from './registry.js';

/** The pooling branch of the A, C and E blocks: 3x3 average pool, stride 1, same size. */
const avgPool3x3 = (x: Tensor): Tensor => avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1 });
/** The pooling branch of the grid reductions B and D: 3x3 max pool, stride 2. */
const maxPool3x3s2 = (x: Tensor): Tensor => maxPool2d(x, { kernelSize: 3, stride: 2 });

/** 35x35 block: 1x1 (64), 1x1 → 5x5 (64), 1x1 → 3x3 → 3x3 (96), avg pool → 1x1 (poolFeatures). */
export class InceptionA extends Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inChannels, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inChannels, 48, 1);
    this.branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
    this.branch_pool = new BasicConv2d(inChannels, poolFeatures, 1);
  }

  forward(x: Tensor): Tensor {
    return concat(
      [
        this.branch1x1.call(x),
        this.branch5x5_2.call(this.branch5x5_1.call(x)),
        this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x))),
        this.branch_pool.call(avgPool3x3(x)),
      ],
      1,
    );
  }
}

/** Grid reduction 35 → 17: 3x3/2 (384), 1x1 → 3x3 → 3x3/2 (96), max pool /2 (the input's channels). */
export class InceptionB extends Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3: BasicConv2d;

  constructor(inChannels: number) {
    super();
    this.branch3x3 = new BasicConv2d(inChannels, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 64, 1);
    this.branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
    this.branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    return concat([this.branch3x3.call(x), this.branch3x3dbl_3.call(this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x))), maxPool3x3s2(x)], 1);
  }
}

/** 17x17 block, 7x7 convolutions factorised into 1x7 and 7x1: each branch gives 192 channels. */
export class InceptionC extends Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number, channels7x7: number) {
    super();
    const c7 = channels7x7;
    const row = { padding: [0, 3] };
    const col = { padding: [3, 0] };
    this.branch1x1 = new BasicConv2d(inChannels, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inChannels, c7, 1);
    this.branch7x7_2 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7_3 = new BasicConv2d(c7, 192, [7, 1], col);
    this.branch7x7dbl_1 = new BasicConv2d(inChannels, c7, 1);
    this.branch7x7dbl_2 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_3 = new BasicConv2d(c7, c7, [1, 7], row);
    this.branch7x7dbl_4 = new BasicConv2d(c7, c7, [7, 1], col);
    this.branch7x7dbl_5 = new BasicConv2d(c7, 192, [1, 7], row);
    this.branch_pool = new BasicConv2d(inChannels, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const b7 = this.branch7x7_3.call(this.branch7x7_2.call(this.branch7x7_1.call(x)));
    let d = this.branch7x7dbl_2.call(this.branch7x7dbl_1.call(x));
    d = this.branch7x7dbl_5.call(this.branch7x7dbl_4.call(this.branch7x7dbl_3.call(d)));
    return concat([this.branch1x1.call(x), b7, d, this.branch_pool.call(avgPool3x3(x))], 1);
  }
}

/** Grid reduction 17 → 8: 1x1 → 3x3/2 (320), 1x1 → 1x7 → 7x1 → 3x3/2 (192), max pool /2. */
export class InceptionD extends Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2: BasicConv2d;
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2: BasicConv2d;
  branch7x7x3_3: BasicConv2d;
  branch7x7x3_4: BasicConv2d;

  constructor(inChannels: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inChannels, 192, 1);
    this.branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
    this.branch7x7x3_1 = new BasicConv2d(inChannels, 192, 1);
    this.branch7x7x3_2 = new BasicConv2d(192, 192, [1, 7], { padding: [0, 3] });
    this.branch7x7x3_3 = new BasicConv2d(192, 192, [7, 1], { padding: [3, 0] });
    this.branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });
  }

  forward(x: Tensor): Tensor {
    let b7 = this.branch7x7x3_2.call(this.branch7x7x3_1.call(x));
    b7 = this.branch7x7x3_4.call(this.branch7x7x3_3.call(b7));
    return concat([this.branch3x3_2.call(this.branch3x3_1.call(x)), b7, maxPool3x3s2(x)], 1);
  }
}

/** 8x8 block: 1x1 (320); 1x1 → 1x3 ‖ 3x1 (768); 1x1 → 3x3 → 1x3 ‖ 3x1 (768); avg pool → 1x1 (192). */
export class InceptionE extends Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a: BasicConv2d;
  branch3x3_2b: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2: BasicConv2d;
  branch3x3dbl_3a: BasicConv2d;
  branch3x3dbl_3b: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inChannels: number) {
    super();
    const row = { padding: [0, 1] };
    const col = { padding: [1, 0] };
    this.branch1x1 = new BasicConv2d(inChannels, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inChannels, 384, 1);
    this.branch3x3_2a = new BasicConv2d(384, 384, [1, 3], row);
    this.branch3x3_2b = new BasicConv2d(384, 384, [3, 1], col);
    this.branch3x3dbl_1 = new BasicConv2d(inChannels, 448, 1);
    this.branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
    this.branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], row);
    this.branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], col);
    this.branch_pool = new BasicConv2d(inChannels, 192, 1);
  }

  forward(x: Tensor): Tensor {
    const b3 = this.branch3x3_1.call(x);
    const d = this.branch3x3dbl_2.call(this.branch3x3dbl_1.call(x));
    return concat(
      [
        this.branch1x1.call(x),
        concat([this.branch3x3_2a.call(b3), this.branch3x3_2b.call(b3)], 1),
        concat([this.branch3x3dbl_3a.call(d), this.branch3x3dbl_3b.call(d)], 1),
        this.branch_pool.call(avgPool3x3(x)),
      ],
      1,
    );
  }
}

/** The auxiliary classifier on Mixed_6e: 5x5/3 average pool, 1x1 conv (128), 5x5 conv (768), global pool, fc. */
export class InceptionAux extends Module {
  conv0: BasicConv2d;
  conv1: BasicConv2d;
  fc: Linear | Identity;

  constructor(inChannels: number, numClasses: number) {
    super();
    this.conv0 = new BasicConv2d(inChannels, 128, 1);
    this.conv1 = new BasicConv2d(128, 768, 5);
    this.fc = classifierLayer(768, numClasses);
  }

  forward(x: Tensor): Tensor {
    const [h, w] = x.shape.slice(-2);
    if (h < 17 || w < 17) {
      throw new RangeError(
        `inception_v3's auxiliary classifier needs Mixed_6e's map of at least 17x17 (input 299x299), got ${h}x${w}; ` +
          'build the model with auxLogits false for smaller input',
      );
    }
    const y = this.conv1.call(this.conv0.call(avgPool2d(x, { kernelSize: 5, stride: 3 })));
    return this.fc.call(adaptiveAvgPool2d(y, 1).flatten(1));
  }
}

export interface Inception3Config {
  numClasses?: number;
  /** image channels (default 3); transformInput needs 3 */
  inChannels?: number;
  /** build the auxiliary classifier AuxLogits (default true; it runs on 299x299 input and up) */
  auxLogits?: boolean;
  /** re-normalise ImageNet-normalised input as the ported weights expect (default false) */
  transformInput?: boolean;
  /** truncated-normal convolutions and linears (std 0.1; 0.001 for AuxLogits.fc) (default true) */
  initWeights?: boolean;
  /** dropout before fc (default 0.5) */
  dropout?: number;
}

/** What forwardWithAux returns: the main logits, and the aux logits in training mode (else null). */
export interface InceptionOutputs {
  logits: Tensor;
  aux: Tensor | null;
}

export class Inception3 extends Module implements ImageClassifier {
  readonly transformInput: boolean;
  Conv2d_1a_3x3: BasicConv2d;
  Conv2d_2a_3x3: BasicConv2d;
  Conv2d_2b_3x3: BasicConv2d;
  maxpool1: MaxPool2d;
  Conv2d_3b_1x1: BasicConv2d;
  Conv2d_4a_3x3: BasicConv2d;
  maxpool2: MaxPool2d;
  Mixed_5b: InceptionA;
  Mixed_5c: InceptionA;
  Mixed_5d: InceptionA;
  Mixed_6a: InceptionB;
  Mixed_6b: InceptionC;
  Mixed_6c: InceptionC;
  Mixed_6d: InceptionC;
  Mixed_6e: InceptionC;
  AuxLogits: InceptionAux | null;
  Mixed_7a: InceptionD;
  Mixed_7b: InceptionE;
  Mixed_7c: InceptionE;
  avgpool: AdaptiveAvgPool2d;
  dropout: Dropout;
  fc: Linear | Identity;

  readonly firstConv = 'Conv2d_1a_3x3.conv';
  readonly classifier = 'fc';
  readonly numFeatures = 2048;
  readonly featureInfo: readonly FeatureInfo[] = [
    { module: 'Conv2d_2b_3x3', channels: 64, reduction: 2 },
    { module: 'Conv2d_4a_3x3', channels: 192, reduction: 4 },
    { module: 'Mixed_5d', channels: 288, reduction: 8 },
    { module: 'Mixed_6e', channels: 768, reduction: 16 },
    { module: 'Mixed_7c', channels: 2048, reduction: 32 },
  ];

  /** The paper's Table 1 as torchvision builds it: three A blocks, reduction B, four C blocks, reduction D, two E blocks. */
  constructor({ numClasses = 1000, inChannels = 3, auxLogits = true, transformInput = false, initWeights = true, dropout = 0.5 }: Inception3Config = {}) {
    super();
    if (transformInput && inChannels !== 3) throw new RangeError(`inception_v3: transformInput needs 3 input channels, not ${inChannels}`);
    this.transformInput = transformInput;
    this.Conv2d_1a_3x3 = new BasicConv2d(inChannels, 32, 3, { stride: 2 });
    this.Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
    this.Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
    this.maxpool1 = new MaxPool2d(3, { stride: 2 });
    this.Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
    this.Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
    this.maxpool2 = new MaxPool2d(3, { stride: 2 });
    this.Mixed_5b = new InceptionA(192, 32);
    this.Mixed_5c = new InceptionA(256, 64);
    this.Mixed_5d = new InceptionA(288, 64);
    this.Mixed_6a = new InceptionB(288);
    this.Mixed_6b = new InceptionC(768, 128);
    this.Mixed_6c = new InceptionC(768, 160);
    this.Mixed_6d = new InceptionC(768, 160);
    this.Mixed_6e = new InceptionC(768, 192);
    this.AuxLogits = auxLogits ? new InceptionAux(768, numClasses) : null;
    this.Mixed_7a = new InceptionD(768);
    this.Mixed_7b = new InceptionE(1280);
    this.Mixed_7c = new InceptionE(2048);
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.dropout = new Dropout(dropout);
    this.fc = classifierLayer(2048, numClasses);
    // std 0.1 everywhere but AuxLogits.fc (0.001): torchvision tags AuxLogits.conv1 with 0.01,
    // but on the BasicConv2d, where its init loop (which reads the Conv2d) does not see it
    if (initWeights) truncNormalInit(this, (name) => (name === 'AuxLogits.fc' ? 0.001 : 0.1));
  }

  get numClasses(): number {
    return this.fc instanceof Linear ? this.fc.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this.fc = classifierLayer(this.numFeatures, numClasses);
    if (this.AuxLogits) this.AuxLogits.fc = classifierLayer(768, numClasses);
  }

  /** The trunk, with the aux head's logits when `withAux` (training mode and head present). */
  #trunk(input: Tensor, withAux: boolean): { features: Tensor; aux: Tensor | null } {
    let x = this.transformInput ? transformImagenetInput(input) : input;
    x = this.Conv2d_2b_3x3.call(this.Conv2d_2a_3x3.call(this.Conv2d_1a_3x3.call(x)));
    x = this.maxpool2.call(this.Conv2d_4a_3x3.call(this.Conv2d_3b_1x1.call(this.maxpool1.call(x))));
    x = this.Mixed_6a.call(this.Mixed_5d.call(this.Mixed_5c.call(this.Mixed_5b.call(x))));
    x = this.Mixed_6e.call(this.Mixed_6d.call(this.Mixed_6c.call(this.Mixed_6b.call(x))));
    const aux = withAux && this.AuxLogits ? this.AuxLogits.call(x) : null;
    x = this.Mixed_7c.call(this.Mixed_7b.call(this.Mixed_7a.call(x)));
    return { features: x, aux };
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.#trunk(x, false).features;
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    const x = this.dropout.call(this.avgpool.call(features)).flatten(1);
    return preLogits ? x : this.fc.call(x);
  }

  /** The main logits: the aux head is not run (see forwardWithAux). */
  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }

  /** The main logits and, in training mode, the aux head's logits, for a loss that weighs them. */
  forwardWithAux(x: Tensor): InceptionOutputs {
    const { features, aux } = this.#trunk(x, this.training);
    return { logits: this.forwardHead(features), aux };
  }
}

export const inceptionV3 = (config: Inception3Config = {}): Inception3 => new Inception3(config);

export const INCEPTION_MODELS: ModelDefinition[] = [
  {
    name: 'inception_v3',
    builder: (c: Inception3Config) => inceptionV3(c),
    imageSize: 299,
    minImageSize: 75,
    description: 'Inception v3 (factorised convolutions) with an auxiliary classifier for training, 27.2M parameters; ImageNet top-1 77.3%',
    configFor: ({ channels, imageSize, numClasses }) => {
      if (imageSize < 75) throw new RangeError(`inception_v3 needs images of at least 75x75 pixels, not ${imageSize}x${imageSize}`);
      // the auxiliary classifier cannot run on smaller pictures: leave it out rather than fail in training
      return { numClasses, inChannels: channels, auxLogits: imageSize >= 299 };
    },
  },
];
