/**
 * ShuffleNet V2: Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design", ECCV 2018.
 *
 *   conv1 3x3/2 (24) + BN + ReLU, maxpool 3x3/2
 *   stage2, stage3, stage4: one downsampling unit then 3, 7, 3 basic units
 *   conv5 1x1 + BN + ReLU, global average pool, fc
 * A basic unit (stride 1) splits the channels in two halves, leaves one as it is and passes the
 * other through 1x1 conv, 3x3 depthwise conv, 1x1 conv; a downsampling unit (stride 2) sends the
 * whole input through two branches (3x3 depthwise /2, 1x1; and 1x1, 3x3 depthwise /2, 1x1),
 * doubling the channels. Either way the halves are concatenated and channel-shuffled (2 groups),
 * so information crosses between the halves at the next unit.
 *
 * The width multiplier changes the stage widths only (the table below). State-dict keys and
 * forward are torchvision 0.14's ShuffleNetV2; layers keep PyTorch's default initialisation.
 */
import { ReLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { channelShuffle } from '../nn/functional.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { MaxPool2d } from '../nn/pooling.js';
import { concat } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import '../tensor/methods.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from './classifier.js';
import type { ModelDefinition } from './registry.js';

/** Units per stage (stage2, stage3, stage4), the downsampling unit included: the paper's Table 5. */
const STAGE_REPEATS = [4, 8, 4] as const;

/**
 * Output channels of conv1, stage2, stage3, stage4 and conv5 per width multiplier (the paper's
 * Table 5), with torchvision's ImageNet top-1 (%) of each variant.
 */
const VARIANTS = [
  { name: 'shufflenet_v2_x0_5', width: '0.5x', channels: [24, 48, 96, 192, 1024], top1: 60.552 },
  { name: 'shufflenet_v2_x1_0', width: '1.0x', channels: [24, 116, 232, 464, 1024], top1: 69.362 },
  { name: 'shufflenet_v2_x1_5', width: '1.5x', channels: [24, 176, 352, 704, 1024], top1: 72.996 },
  { name: 'shufflenet_v2_x2_0', width: '2.0x', channels: [24, 244, 488, 976, 2048], top1: 76.23 },
] as const;

const depthwise = (channels: number, stride: number) => new Conv2d(channels, channels, 3, { stride, padding: 1, groups: channels, bias: false });
const pointwise = (inChannels: number, outChannels: number) => new Conv2d(inChannels, outChannels, 1, { bias: false });

/** A ShuffleNet V2 unit: stride 1 keeps the shape (inChannels = outChannels); stride 2 halves the size. */
export class InvertedResidual extends Module {
  readonly stride: number;
  branch1: Sequential;
  branch2: Sequential;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    if (!(Number.isInteger(stride) && stride >= 1 && stride <= 3)) throw new RangeError(`InvertedResidual: stride must be 1, 2 or 3, got ${stride}`);
    const half = outChannels >> 1;
    if (stride === 1 && inChannels !== half << 1) {
      throw new RangeError(`InvertedResidual: with stride 1, inChannels (${inChannels}) must equal outChannels (${outChannels}) rounded down to even`);
    }
    this.stride = stride;
    // a basic unit's first branch is the identity on its half (an empty Sequential, as torchvision)
    this.branch1 =
      stride > 1
        ? new Sequential(depthwise(inChannels, stride), new BatchNorm2d(inChannels), pointwise(inChannels, half), new BatchNorm2d(half), new ReLU())
        : new Sequential();
    this.branch2 = new Sequential(
      pointwise(stride > 1 ? inChannels : half, half),
      new BatchNorm2d(half),
      new ReLU(),
      depthwise(half, stride),
      new BatchNorm2d(half),
      pointwise(half, half),
      new BatchNorm2d(half),
      new ReLU(),
    );
  }

  forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.stride === 1) {
      const [x1, x2] = x.split(x.shape[1] / 2, 1);
      out = concat([x1, this.branch2.call(x2)], 1);
    } else {
      out = concat([this.branch1.call(x), this.branch2.call(x)], 1);
    }
    return channelShuffle(out, 2);
  }
}

export interface ShuffleNetV2Config {
  numClasses?: number;
  /** image channels (default 3) */
  inChannels?: number;
  /** units per stage (default [4, 8, 4]) */
  stagesRepeats?: readonly number[];
  /** output channels of conv1, stage2, stage3, stage4, conv5 (default: the 1.0x row) */
  stagesOutChannels?: readonly number[];
}

export class ShuffleNetV2 extends Module implements ImageClassifier {
  conv1: Sequential;
  maxpool: MaxPool2d;
  stage2: Sequential;
  stage3: Sequential;
  stage4: Sequential;
  conv5: Sequential;
  fc: Linear | Identity;

  readonly firstConv = 'conv1.0';
  readonly classifier = 'fc';
  readonly numFeatures: number;
  readonly featureInfo: readonly FeatureInfo[];

  constructor({ numClasses = 1000, inChannels = 3, stagesRepeats = STAGE_REPEATS, stagesOutChannels = VARIANTS[1].channels }: ShuffleNetV2Config = {}) {
    super();
    if (stagesRepeats.length !== 3 || !stagesRepeats.every((r) => Number.isInteger(r) && r >= 1)) {
      throw new RangeError(`ShuffleNetV2: stagesRepeats must be 3 positive integers, got ${JSON.stringify(stagesRepeats)}`);
    }
    if (stagesOutChannels.length !== 5) throw new RangeError(`ShuffleNetV2: stagesOutChannels must list 5 widths, got ${JSON.stringify(stagesOutChannels)}`);
    const [c1, c2, c3, c4, c5] = stagesOutChannels;
    this.conv1 = new Sequential(new Conv2d(inChannels, c1, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(c1), new ReLU());
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    const stage = (from: number, to: number, repeats: number) =>
      new Sequential(new InvertedResidual(from, to, 2), ...Array.from({ length: repeats - 1 }, () => new InvertedResidual(to, to, 1)));
    this.stage2 = stage(c1, c2, stagesRepeats[0]);
    this.stage3 = stage(c2, c3, stagesRepeats[1]);
    this.stage4 = stage(c3, c4, stagesRepeats[2]);
    this.conv5 = new Sequential(pointwise(c4, c5), new BatchNorm2d(c5), new ReLU());
    this.fc = classifierLayer(c5, numClasses);
    this.numFeatures = c5;
    this.featureInfo = [
      { module: 'conv1', channels: c1, reduction: 2 },
      { module: 'maxpool', channels: c1, reduction: 4 },
      { module: 'stage2', channels: c2, reduction: 8 },
      { module: 'stage3', channels: c3, reduction: 16 },
      { module: 'conv5', channels: c5, reduction: 32 },
    ];
  }

  get numClasses(): number {
    return this.fc instanceof Linear ? this.fc.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this.fc = classifierLayer(this.numFeatures, numClasses);
  }

  forwardFeatures(x: Tensor): Tensor {
    const y = this.stage4.call(this.stage3.call(this.stage2.call(this.maxpool.call(this.conv1.call(x)))));
    return this.conv5.call(y);
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    const x = features.mean([2, 3]);
    return preLogits ? x : this.fc.call(x);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }
}

export const shufflenetV2 = (config: ShuffleNetV2Config = {}): ShuffleNetV2 => new ShuffleNetV2(config);

export const SHUFFLENET_MODELS: ModelDefinition[] = VARIANTS.map(({ name, width, channels, top1 }) => ({
  name,
  builder: (c: Omit<ShuffleNetV2Config, 'stagesOutChannels'>) => shufflenetV2({ ...c, stagesOutChannels: channels }),
  imageSize: 224,
  description: `ShuffleNet V2 ${width}: split, depthwise convolutions and channel shuffle, for mobile; ImageNet top-1 ${top1}%`,
  configFor: ({ channels: inChannels, numClasses }) => ({ numClasses, inChannels }),
}));
