/**
 * VGG, as torchvision 0.14 (same modules, state-dict keys and initialisation).
 *
 *   features     3x3 convolutions (padding 1, with bias), each followed by ReLU (batch
 *                norm between them in the _bn variants), and five 2x2 max pools
 *   avgpool      AdaptiveAvgPool2d(7): any input of at least 32x32 gives a 512x7x7 map
 *   classifier   Linear(25088, 4096) ReLU Dropout Linear(4096, 4096) ReLU Dropout Linear(4096, numClasses)
 *
 * Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
 * Recognition", 2015: configurations A (11 layers), B (13), D (16), E (19) of table 1.
 */
import { ReLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import * as init from '../nn/init.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import type { FeatureInfo } from './classifier.js';
import { FeaturesClassifier } from './layers/features-classifier.js';
import type { ModelDefinition } from './registry.js';

/** Layer widths of table 1's configurations; 'M' is a 2x2 max pool. */
const CFGS = {
  A: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  B: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  D: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  E: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const satisfies Record<string, readonly (number | 'M')[]>;

type CfgName = keyof typeof CFGS;

/** The registered variants with the ImageNet-1k top-1 of torchvision's weights. */
const VARIANTS: readonly { name: string; cfg: CfgName; batchNorm: boolean; top1: number }[] = [
  { name: 'vgg11', cfg: 'A', batchNorm: false, top1: 69.02 },
  { name: 'vgg11_bn', cfg: 'A', batchNorm: true, top1: 70.37 },
  { name: 'vgg13', cfg: 'B', batchNorm: false, top1: 69.928 },
  { name: 'vgg13_bn', cfg: 'B', batchNorm: true, top1: 71.586 },
  { name: 'vgg16', cfg: 'D', batchNorm: false, top1: 71.592 },
  { name: 'vgg16_bn', cfg: 'D', batchNorm: true, top1: 73.36 },
  { name: 'vgg19', cfg: 'E', batchNorm: false, top1: 72.376 },
  { name: 'vgg19_bn', cfg: 'E', batchNorm: true, top1: 74.218 },
];

export interface VGGConfig {
  numClasses?: number;
  inChannels?: number;
  /** dropout of the two hidden classifier layers (default 0.5) */
  dropout?: number;
  /**
   * torchvision's initialisation (default true): He normal (fan out) convolutions, N(0, 0.01) linear layers,
   * zero biases. false keeps the layers' defaults, which is quicker when weights are loaded next.
   */
  initWeights?: boolean;
}

/** features from a configuration: [conv (bn) relu] per width, a max pool per 'M'; the stage outputs are the pools. */
export function vggFeatures(cfg: readonly (number | 'M')[], batchNorm: boolean, inChannels = 3): { features: Sequential; featureInfo: FeatureInfo[] } {
  const layers: Module[] = [];
  const featureInfo: FeatureInfo[] = [];
  let c = inChannels;
  for (const v of cfg) {
    if (v === 'M') {
      layers.push(new MaxPool2d(2, { stride: 2 }));
      featureInfo.push({ module: `features.${layers.length - 1}`, channels: c, reduction: 2 ** (featureInfo.length + 1) });
      continue;
    }
    layers.push(new Conv2d(c, v, 3, { padding: 1 }));
    if (batchNorm) layers.push(new BatchNorm2d(v));
    layers.push(new ReLU());
    c = v;
  }
  return { features: new Sequential(...layers), featureInfo };
}

export class VGG extends FeaturesClassifier {
  constructor(cfg: readonly (number | 'M')[], batchNorm: boolean, config: VGGConfig = {}) {
    const { numClasses = 1000, inChannels = 3, dropout = 0.5, initWeights = true } = config;
    const { features, featureInfo } = vggFeatures(cfg, batchNorm, inChannels);
    const head = [
      new Linear(512 * 7 * 7, 4096),
      new ReLU(),
      new Dropout(dropout),
      new Linear(4096, 4096),
      new ReLU(),
      new Dropout(dropout),
      new Linear(4096, numClasses),
    ];
    super({ features, avgpool: new AdaptiveAvgPool2d(7), classifier: head, firstConv: 'features.0', featureInfo });
    if (initWeights) initVGGWeights(this);
  }
}

/**
 * torchvision's VGG initialisation of every layer under `net`: He normal (fan out, relu) convolutions,
 * N(0, 0.01) linear layers, zero biases, unit batch-norm weights.
 */
export function initVGGWeights(net: Module): void {
  for (const m of net.modules()) {
    if (m instanceof Conv2d) {
      init.kaimingNormal(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      if (m.bias) init.zeros(m.bias);
    } else if (m instanceof BatchNorm2d) {
      if (m.weight) init.ones(m.weight);
      if (m.bias) init.zeros(m.bias);
    } else if (m instanceof Linear) {
      init.normal(m.weight, { std: 0.01 });
      if (m.bias) init.zeros(m.bias);
    }
  }
}

export function vgg(name: string, config: VGGConfig = {}): VGG {
  const v = VARIANTS.find((r) => r.name === name);
  if (!v) throw new RangeError(`vgg: no variant "${name}"; variants: ${VARIANTS.map((r) => r.name).join(', ')}`);
  return new VGG(CFGS[v.cfg], v.batchNorm, config);
}

/** Weight layers: the configuration's convolutions and the three linear layers. */
const depth = (cfg: CfgName): number => CFGS[cfg].filter((x) => x !== 'M').length + 3;

export const VGG_MODELS: ModelDefinition[] = VARIANTS.map((v) => ({
  name: v.name,
  builder: (c: VGGConfig) => vgg(v.name, c),
  imageSize: 224,
  description: `VGG-${depth(v.cfg)} (configuration ${v.cfg})${v.batchNorm ? ' with batch norm' : ''}; ImageNet top-1 ${v.top1}%`,
  configFor: ({ channels, imageSize, numClasses }) => {
    if (imageSize < 32) throw new RangeError(`${v.name} needs images of at least 32x32 pixels (five 2x2 pools), not ${imageSize}x${imageSize}`);
    return { numClasses, inChannels: channels };
  },
}));
