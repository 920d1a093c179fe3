/**
 * ResNet, ResNeXt and Wide ResNet (He et al. 2015, "Deep Residual Learning for Image
 * Recognition"; Xie et al. 2016, ResNeXt; Zagoruyko and Komodakis 2016, Wide ResNet),
 * with torchvision's module tree and its v1.5 placement of the stride on the 3x3
 * convolution of a bottleneck.
 *
 *   stem     conv1 7x7/2, bn1, relu, maxpool 3x3/2                       stride 4
 *   layer1…4 residual blocks, the first of layers 2-4 with stride 2      stride 32
 *   head     avgpool (global), fc
 *
 * A block adds its input (through `downsample`, a 1x1 conv and batch norm, when the
 * shape changes) to its branch, then applies ReLU. Variants differ in the block
 * (BasicBlock: two 3x3; Bottleneck: 1x1, 3x3, 1x1 with expansion 4), the blocks per
 * layer (Table 1 of the ResNet paper), and the bottleneck's groups and width.
 */
import { ReLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import * as init from '../nn/init.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import type { Tensor } from '../tensor/tensor.js';
import '../tensor/methods.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from './classifier.js';
import type { ModelDefinition } from './registry.js';

/** One row per variant: block type, blocks per layer, bottleneck groups and width per group. */
const VARIANTS = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2], top1: 69.758 },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3], top1: 73.314 },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3], top1: 80.858 },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3], top1: 81.886 },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3], top1: 82.284 },
  resnext50_32x4d: { block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4, top1: 81.198 },
  resnext101_32x8d: { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8, top1: 82.834 },
  resnext101_64x4d: { block: 'bottleneck', layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4, top1: 83.246 },
  wide_resnet50_2: { block: 'bottleneck', layers: [3, 4, 6, 3], widthPerGroup: 128, top1: 81.602 },
  wide_resnet101_2: { block: 'bottleneck', layers: [3, 4, 23, 3], widthPerGroup: 128, top1: 82.51 },
} as const satisfies Record<string, { block: 'basic' | 'bottleneck'; layers: readonly number[]; groups?: number; widthPerGroup?: number; top1: number }>;

export type ResNetName = keyof typeof VARIANTS;

export interface ResNetConfig {
  numClasses?: number;
  inChannels?: number;
  /** start each block's last batch norm at zero, so every block begins as the identity (default false) */
  zeroInitResidual?: boolean;
  /** groups of the bottleneck's 3x3 convolution (ResNeXt's cardinality; default 1) */
  groups?: number;
  /** channels per group of the bottleneck's 3x3 (default 64; 128 makes a wide ResNet) */
  widthPerGroup?: number;
}

const conv3x3 = (cin: number, cout: number, stride = 1, groups = 1) => new Conv2d(cin, cout, 3, { stride, padding: 1, groups, bias: false });
const conv1x1 = (cin: number, cout: number, stride = 1) => new Conv2d(cin, cout, 1, { stride, bias: false });

interface BlockArgs {
  inplanes: number;
  planes: number;
  stride: number;
  downsample: Sequential | null;
  groups: number;
  baseWidth: number;
}

/** Two 3x3 convolutions; expansion 1. */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU();
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;

  constructor({ inplanes, planes, stride, downsample, groups, baseWidth }: BlockArgs) {
    super();
    if (groups !== 1 || baseWidth !== 64) throw new RangeError('BasicBlock: only groups 1 and widthPerGroup 64 are supported');
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = downsample;
  }

  get lastNorm(): BatchNorm2d {
    return this.bn2;
  }

  forward(x: Tensor): Tensor {
    const y = this.bn2.call(this.conv2.call(this.relu.call(this.bn1.call(this.conv1.call(x)))));
    return this.relu.call(y.add(this.downsample ? this.downsample.call(x) : x));
  }
}

/** 1x1 reduce, 3x3 (grouped, carrying the stride), 1x1 expand by 4. */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  relu = new ReLU();
  downsample: Sequential | null;

  constructor({ inplanes, planes, stride, downsample, groups, baseWidth }: BlockArgs) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = conv1x1(inplanes, width);
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = conv3x3(width, width, stride, groups);
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = new BatchNorm2d(planes * Bottleneck.expansion);
    this.downsample = downsample;
  }

  get lastNorm(): BatchNorm2d {
    return this.bn3;
  }

  forward(x: Tensor): Tensor {
    let y = this.relu.call(this.bn1.call(this.conv1.call(x)));
    y = this.relu.call(this.bn2.call(this.conv2.call(y)));
    y = this.bn3.call(this.conv3.call(y));
    return this.relu.call(y.add(this.downsample ? this.downsample.call(x) : x));
  }
}

type BlockClass = (typeof BasicBlock | typeof Bottleneck) & { expansion: number };

export class ResNet extends Module implements ImageClassifier {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU();
  maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool = new AdaptiveAvgPool2d(1);
  fc: Linear | Identity;
  readonly firstConv = 'conv1';
  readonly classifier = 'fc';
  readonly numFeatures: number;
  readonly featureInfo: readonly FeatureInfo[];

  constructor(block: 'basic' | 'bottleneck', layers: readonly number[], config: ResNetConfig = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, zeroInitResidual = false, groups = 1, widthPerGroup = 64 } = config;
    const Block: BlockClass = block === 'basic' ? BasicBlock : Bottleneck;
    this.conv1 = new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    let inplanes = 64;
    const makeLayer = (planes: number, blocks: number, stride: number): Sequential => {
      const out = planes * Block.expansion;
      const downsample = stride !== 1 || inplanes !== out ? new Sequential(conv1x1(inplanes, out, stride), new BatchNorm2d(out)) : null;
      const seq = new Sequential(new Block({ inplanes, planes, stride, downsample, groups, baseWidth: widthPerGroup }));
      inplanes = out;
      for (let i = 1; i < blocks; i++) seq.append(new Block({ inplanes, planes, stride: 1, downsample: null, groups, baseWidth: widthPerGroup }));
      return seq;
    };
    this.layer1 = makeLayer(64, layers[0], 1);
    this.layer2 = makeLayer(128, layers[1], 2);
    this.layer3 = makeLayer(256, layers[2], 2);
    this.layer4 = makeLayer(512, layers[3], 2);
    this.numFeatures = 512 * Block.expansion;
    this.fc = classifierLayer(this.numFeatures, numClasses);
    this.featureInfo = [
      { module: 'relu', channels: 64, reduction: 2 },
      ...[64, 128, 256, 512].map((p, i) => ({ module: `layer${i + 1}`, channels: p * Block.expansion, reduction: 4 * 2 ** i })),
    ];
    this.#initWeights(zeroInitResidual);
  }

  /** Kaiming normal (fan out) convolutions, unit batch norms; optionally each block's last norm at zero. */
  #initWeights(zeroInitResidual: boolean): void {
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        init.ones(m.weight!);
        init.zeros(m.bias!);
      }
    }
    if (zeroInitResidual) {
      for (const m of this.modules()) if (m instanceof BasicBlock || m instanceof Bottleneck) init.zeros(m.lastNorm.weight!);
    }
  }

  get numClasses(): number {
    return this.fc instanceof Linear ? this.fc.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this.fc = classifierLayer(this.numFeatures, numClasses);
  }

  forwardFeatures(x: Tensor): Tensor {
    const y = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    return this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(y))));
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    const pooled = this.avgpool.call(features).flatten(1);
    return preLogits ? pooled : this.fc.call(pooled);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }
}

/** The ResNet variant `name` (see VARIANTS) with `config`'s options. */
export function resnet(name: ResNetName, config: ResNetConfig = {}): ResNet {
  const v: { block: 'basic' | 'bottleneck'; layers: readonly number[]; groups?: number; widthPerGroup?: number } = VARIANTS[name];
  return new ResNet(v.block, v.layers, { groups: v.groups, widthPerGroup: v.widthPerGroup, ...config });
}

const describe = (name: ResNetName): string => {
  const v = VARIANTS[name];
  const kind = name.startsWith('resnext') ? 'ResNeXt' : name.startsWith('wide') ? 'Wide ResNet' : 'ResNet';
  return `${kind}, ${v.layers.reduce((a, b) => a + b, 0) * (v.block === 'basic' ? 2 : 3) + 2} layers (ImageNet top-1 ${v.top1}% with torchvision's weights)`;
};

export const RESNET_MODELS: ModelDefinition[] = (Object.keys(VARIANTS) as ResNetName[]).map((name) => ({
  name,
  builder: (c: ResNetConfig) => resnet(name, c),
  description: describe(name),
  imageSize: 224,
  configFor: ({ channels, numClasses }) => ({ numClasses, inChannels: channels }),
}));
