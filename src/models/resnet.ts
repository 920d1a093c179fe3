/**
 * ResNet, ResNeXt and Wide ResNet, as torchvision 0.14 (same modules, state-dict keys
 * and initialisation, so its ImageNet weights load as they are).
 *
 *   stem     conv1 7x7/2 (64, no bias), bn1, relu, maxpool 3x3/2
 *   layer1…4 residual blocks of 64, 128, 256, 512 planes; layer2…4 halve the resolution
 *            in their first block, whose `downsample` (1x1 conv/2 + bn) fits the shortcut
 *   head     avgpool (global), flatten, fc
 *
 * BasicBlock: 3x3, 3x3 (expansion 1). Bottleneck: 1x1 reduce, 3x3 (grouped for ResNeXt;
 * the stride is here, "ResNet v1.5"), 1x1 expand to 4 x planes. The bottleneck's width is
 * planes x widthPerGroup / 64 x groups: ResNeXt 32x4d is groups 32, widthPerGroup 4; a wide
 * ResNet doubles widthPerGroup to 128.
 *
 * He et al., "Deep Residual Learning for Image Recognition", 2016; Xie et al., "Aggregated
 * Residual Transformations for Deep Neural Networks" (ResNeXt), 2017; Zagoruyko and
 * Komodakis, "Wide Residual Networks", 2016.
 */
import { ReLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import * as init from '../nn/init.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import '../tensor/methods.js';
import type { Tensor } from '../tensor/tensor.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from './classifier.js';
import type { ModelDefinition } from './registry.js';

/** The registered variants: blocks per stage from He et al. table 1; ResNeXt and wide variants as torchvision names them. */
const VARIANTS: readonly {
  name: string;
  block: 'basic' | 'bottleneck';
  layers: readonly [number, number, number, number];
  groups?: number;
  widthPerGroup?: number;
  /** ImageNet-1k top-1 of torchvision's weights: V1, and V2 where published */
  top1: readonly number[];
  what: string;
}[] = [
  { name: 'resnet18', block: 'basic', layers: [2, 2, 2, 2], top1: [69.758], what: 'ResNet-18' },
  { name: 'resnet34', block: 'basic', layers: [3, 4, 6, 3], top1: [73.314], what: 'ResNet-34' },
  { name: 'resnet50', block: 'bottleneck', layers: [3, 4, 6, 3], top1: [76.13, 80.858], what: 'ResNet-50' },
  { name: 'resnet101', block: 'bottleneck', layers: [3, 4, 23, 3], top1: [77.374, 81.886], what: 'ResNet-101' },
  { name: 'resnet152', block: 'bottleneck', layers: [3, 8, 36, 3], top1: [78.312, 82.284], what: 'ResNet-152' },
  { name: 'resnext50_32x4d', block: 'bottleneck', layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4, top1: [77.618, 81.198], what: 'ResNeXt-50 32x4d' },
  { name: 'resnext101_32x8d', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8, top1: [79.312, 82.834], what: 'ResNeXt-101 32x8d' },
  { name: 'resnext101_64x4d', block: 'bottleneck', layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4, top1: [83.246], what: 'ResNeXt-101 64x4d' },
  { name: 'wide_resnet50_2', block: 'bottleneck', layers: [3, 4, 6, 3], widthPerGroup: 128, top1: [78.468, 81.602], what: 'Wide ResNet-50-2' },
  { name: 'wide_resnet101_2', block: 'bottleneck', layers: [3, 4, 23, 3], widthPerGroup: 128, top1: [78.848, 82.51], what: 'Wide ResNet-101-2' },
];

export interface ResNetConfig {
  numClasses?: number;
  inChannels?: number;
  /** Start each block's last batch norm at weight 0, so every residual block begins as the identity (default false) */
  zeroInitResidual?: boolean;
  /** groups of the bottleneck's 3x3 convolution (default 1; 32 or 64 for ResNeXt) */
  groups?: number;
  /** channels per group of the bottleneck's 3x3 at 64 planes (default 64; 128 for wide ResNets) */
  widthPerGroup?: number;
  /** for layer2, layer3, layer4: dilate instead of striding, keeping the resolution (segmentation backbones) */
  replaceStrideWithDilation?: readonly [boolean, boolean, boolean];
}

/** What a block needs beyond its input planes, planes and stride. */
interface BlockOptions {
  stride: number;
  downsample: Sequential | null;
  groups: number;
  baseWidth: number;
  dilation: number;
}

const conv3x3 = (cin: number, cout: number, stride = 1, groups = 1, dilation = 1): Conv2d =>
  new Conv2d(cin, cout, 3, { stride, padding: dilation, groups, dilation, bias: false });
const conv1x1 = (cin: number, cout: number, stride = 1): Conv2d => new Conv2d(cin, cout, 1, { stride, bias: false });

/** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu = new ReLU();
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;

  constructor(inplanes: number, planes: number, { stride, downsample, groups, baseWidth, dilation }: BlockOptions) {
    super();
    if (groups !== 1 || baseWidth !== 64) throw new RangeError('BasicBlock supports only groups 1 and widthPerGroup 64');
    if (dilation > 1) throw new RangeError('BasicBlock does not support dilation (replaceStrideWithDilation needs bottleneck blocks)');
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = downsample;
  }

  /** The batch norm that ends the residual branch (zeroInitResidual sets its weight to 0). */
  get lastNorm(): BatchNorm2d {
    return this.bn2;
  }

  forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(out.add(identity));
  }
}

/** relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)), the stride on conv2 (the 3x3). */
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

  constructor(inplanes: number, planes: number, { stride, downsample, groups, baseWidth, dilation }: BlockOptions) {
    super();
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = conv1x1(inplanes, width);
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = conv3x3(width, width, stride, groups, dilation);
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = new BatchNorm2d(planes * Bottleneck.expansion);
    this.downsample = downsample;
  }

  get lastNorm(): BatchNorm2d {
    return this.bn3;
  }

  forward(x: Tensor): Tensor {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.bn3.call(this.conv3.call(out));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(out.add(identity));
  }
}

export type ResidualBlock = typeof BasicBlock | typeof Bottleneck;

/** The network: stem, four stages of `block` ([n1, n2, n3, n4] blocks), global pooling, fc. */
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
  readonly numFeatures: number;
  readonly firstConv = 'conv1';
  readonly classifier = 'fc';
  readonly featureInfo: readonly FeatureInfo[];

  constructor(block: ResidualBlock, layers: readonly number[], config: ResNetConfig = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, zeroInitResidual = false, groups = 1, widthPerGroup = 64 } = config;
    const dilate = config.replaceStrideWithDilation ?? [false, false, false];
    if (layers.length !== 4 || dilate.length !== 3) throw new RangeError('ResNet: layers needs 4 block counts and replaceStrideWithDilation 3 flags');
    this.conv1 = new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(64);
    // _makeLayer carries the running input width and dilation from stage to stage, as torchvision's.
    const state = { inplanes: 64, dilation: 1, reduction: 4 };
    const stage = (planes: number, blocks: number, stride: number, dilated: boolean): Sequential =>
      this.#makeLayer(block, planes, blocks, stride, dilated, groups, widthPerGroup, state);
    const info: FeatureInfo[] = [{ module: 'relu', channels: 64, reduction: 2 }];
    this.layer1 = stage(64, layers[0], 1, false);
    info.push({ module: 'layer1', channels: state.inplanes, reduction: state.reduction });
    this.layer2 = stage(128, layers[1], 2, dilate[0]);
    info.push({ module: 'layer2', channels: state.inplanes, reduction: state.reduction });
    this.layer3 = stage(256, layers[2], 2, dilate[1]);
    info.push({ module: 'layer3', channels: state.inplanes, reduction: state.reduction });
    this.layer4 = stage(512, layers[3], 2, dilate[2]);
    info.push({ module: 'layer4', channels: state.inplanes, reduction: state.reduction });
    this.numFeatures = 512 * block.expansion;
    this.fc = classifierLayer(this.numFeatures, numClasses);
    this.featureInfo = info;
    this.#initWeights(zeroInitResidual);
  }

  #makeLayer(
    block: ResidualBlock,
    planes: number,
    blocks: number,
    stride: number,
    dilated: boolean,
    groups: number,
    baseWidth: number,
    state: { inplanes: number; dilation: number; reduction: number },
  ): Sequential {
    const previousDilation = state.dilation;
    if (dilated) {
      state.dilation *= stride;
      stride = 1;
    }
    state.reduction *= stride;
    const out = planes * block.expansion;
    const downsample = stride !== 1 || state.inplanes !== out ? new Sequential(conv1x1(state.inplanes, out, stride), new BatchNorm2d(out)) : null;
    const list: Module[] = [new block(state.inplanes, planes, { stride, downsample, groups, baseWidth, dilation: previousDilation })];
    state.inplanes = out;
    for (let i = 1; i < blocks; i++) {
      list.push(new block(out, planes, { stride: 1, downsample: null, groups, baseWidth, dilation: state.dilation }));
    }
    return new Sequential(...list);
  }

  /** Convolutions: He normal (fan out, relu); batch norms: weight 1, bias 0 (0 for each block's last with zeroInitResidual); fc: PyTorch's default. */
  #initWeights(zeroInitResidual: boolean): void {
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        if (m.weight) init.ones(m.weight);
        if (m.bias) init.zeros(m.bias);
      }
    }
    if (!zeroInitResidual) return;
    for (const m of this.modules()) {
      if ((m instanceof BasicBlock || m instanceof Bottleneck) && m.lastNorm.weight) init.zeros(m.lastNorm.weight);
    }
  }

  get numClasses(): number {
    return this.fc instanceof Linear ? this.fc.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this.fc = classifierLayer(this.numFeatures, numClasses);
  }

  forwardFeatures(x: Tensor): Tensor {
    let y: Tensor = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) y = layer.call(y);
    return y;
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    const pooled = this.avgpool.call(features).flatten(1);
    return preLogits ? pooled : this.fc.call(pooled);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }
}

const BLOCKS: Record<'basic' | 'bottleneck', ResidualBlock> = { basic: BasicBlock, bottleneck: Bottleneck };

/** Builds a registered variant; the groups and widthPerGroup a ResNeXt or wide variant names are fixed (another value is an error, as torchvision's). */
export function resnet(name: string, config: ResNetConfig = {}): ResNet {
  const v = VARIANTS.find((r) => r.name === name);
  if (!v) throw new RangeError(`resnet: no variant "${name}"; variants: ${VARIANTS.map((r) => r.name).join(', ')}`);
  const fixed: Pick<ResNetConfig, 'groups' | 'widthPerGroup'> = {};
  for (const k of ['groups', 'widthPerGroup'] as const) {
    const value = v[k];
    if (value === undefined) continue;
    if (config[k] !== undefined && config[k] !== value) throw new RangeError(`${name}: ${k} is ${value}, not ${config[k]}`);
    fixed[k] = value;
  }
  return new ResNet(BLOCKS[v.block], v.layers, { ...config, ...fixed });
}

function blockText(v: (typeof VARIANTS)[number]): string {
  if (v.block === 'basic') return 'basic blocks';
  const width = v.groups ? `, ${v.groups} groups of ${v.widthPerGroup}` : v.widthPerGroup ? ', twice as wide' : '';
  return `bottleneck blocks${width}`;
}

const top1Text = (top1: readonly number[]): string => `${top1.join(' / ')}% (torchvision ${top1.length > 1 ? 'V1 / V2' : 'weights'})`;

export const RESNET_MODELS: ModelDefinition[] = VARIANTS.map((v) => ({
  name: v.name,
  builder: (c: ResNetConfig) => resnet(v.name, c),
  imageSize: 224,
  description: `${v.what}: ${blockText(v)} [${v.layers.join(', ')}]; ImageNet top-1 ${top1Text(v.top1)}`,
  configFor: ({ channels, numClasses }) => ({ numClasses, inChannels: channels }),
}));
