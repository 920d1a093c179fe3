/**
 * EfficientNet B0-B7 (Tan and Le 2019, "EfficientNet: Rethinking Model Scaling for
 * Convolutional Neural Networks") and EfficientNetV2 S/M/L (Tan and Le 2021,
 * "EfficientNetV2: Smaller Models and Faster Training"), with torchvision's module tree:
 *
 *   features.0       3x3 convolution, stride 2, batch norm, SiLU
 *   features.1…k     one Sequential per stage (a table row) of MBConv / FusedMBConv blocks
 *                    (layers/mbconv.ts); a stage's first block carries its stride
 *   features.(k+1)   1x1 convolution to 4x the last stage's width (V1) or to 1280 (V2)
 *   avgpool, classifier = [Dropout, Linear]
 *
 * Stochastic depth drops block b's residual branch (of B blocks) with probability
 * stochasticDepthProb · b / B, so deeper blocks are dropped more often.
 *
 * Compound scaling (V1): B0 was found by architecture search; a coefficient phi scales
 * depth, width and resolution together,
 *
 *   depth d = alpha^phi, width w = beta^phi, resolution r = gamma^phi,
 *   alpha = 1.2, beta = 1.1, gamma = 1.15, with alpha·beta²·gamma² ≈ 2,
 *
 * so each step of phi about doubles the FLOPs. Blocks per stage are ceil(n·d), widths
 * round(c·w) to a multiple of 8. The released models use these rounded multipliers:
 *
 *   variant   width  depth  resolution  dropout
 *   B0        1.0    1.0    224         0.2
 *   B1        1.0    1.1    240         0.2
 *   B2        1.1    1.2    260         0.3
 *   B3        1.2    1.4    300         0.3
 *   B4        1.4    1.8    380         0.4
 *   B5        1.6    2.2    456         0.4
 *   B6        1.8    2.6    528         0.5
 *   B7        2.0    3.1    600         0.5
 *
 * V2 has its own table per size (Fused-MBConv in the first stages, no width or depth
 * multipliers) and progressive resizing in training. B5-B7 (weights trained in TensorFlow)
 * and V2 use batch norm with eps 1e-3.
 */
import { AdaptiveAvgPool2d, Dropout, Linear, SiLU, Sequential } from '../nn/index.js';
import {
  Conv2dNormActivation,
  FeaturesClassifier,
  FusedMBConv,
  MBConv,
  batchNorm2d,
  featureStages,
  initMobileWeights,
  makeDivisible,
  type FeaturesClassifierParts,
  type MBConvConfig,
  type NormFactory,
} from './layers/index.js';
import type { ModelDefinition } from './registry.js';

/** A stage: block type, expansion ratio, kernel, stride, input and output channels, blocks. */
type StageRow = readonly [block: 'MBConv' | 'FusedMBConv', expandRatio: number, kernel: number, stride: number, input: number, output: number, layers: number];

/** EfficientNet-B0's stages 2-8, Table 1 of the EfficientNet paper (stage 1 is the stem, stage 9 the head). */
const B0: readonly StageRow[] = [
  ['MBConv', 1, 3, 1, 32, 16, 1],
  ['MBConv', 6, 3, 2, 16, 24, 2],
  ['MBConv', 6, 5, 2, 24, 40, 2],
  ['MBConv', 6, 3, 2, 40, 80, 3],
  ['MBConv', 6, 5, 1, 80, 112, 3],
  ['MBConv', 6, 5, 2, 112, 192, 4],
  ['MBConv', 6, 3, 1, 192, 320, 1],
];

/** EfficientNetV2-S, Table 4 of the EfficientNetV2 paper; M and L from its reference implementation. */
const V2_S: readonly StageRow[] = [
  ['FusedMBConv', 1, 3, 1, 24, 24, 2],
  ['FusedMBConv', 4, 3, 2, 24, 48, 4],
  ['FusedMBConv', 4, 3, 2, 48, 64, 4],
  ['MBConv', 4, 3, 2, 64, 128, 6],
  ['MBConv', 6, 3, 1, 128, 160, 9],
  ['MBConv', 6, 3, 2, 160, 256, 15],
];
const V2_M: readonly StageRow[] = [
  ['FusedMBConv', 1, 3, 1, 24, 24, 3],
  ['FusedMBConv', 4, 3, 2, 24, 48, 5],
  ['FusedMBConv', 4, 3, 2, 48, 80, 5],
  ['MBConv', 4, 3, 2, 80, 160, 7],
  ['MBConv', 6, 3, 1, 160, 176, 14],
  ['MBConv', 6, 3, 2, 176, 304, 18],
  ['MBConv', 6, 3, 1, 304, 512, 5],
];
const V2_L: readonly StageRow[] = [
  ['FusedMBConv', 1, 3, 1, 32, 32, 4],
  ['FusedMBConv', 4, 3, 2, 32, 64, 7],
  ['FusedMBConv', 4, 3, 2, 64, 96, 7],
  ['MBConv', 4, 3, 2, 96, 192, 10],
  ['MBConv', 6, 3, 1, 192, 224, 19],
  ['MBConv', 6, 3, 2, 224, 384, 25],
  ['MBConv', 6, 3, 1, 384, 640, 7],
];

interface Variant {
  stages: readonly StageRow[];
  widthMult?: number;
  depthMult?: number;
  /** the head's width (default 4x the last stage's) */
  lastChannel?: number;
  dropout: number;
  /** default resolution */
  imageSize: number;
  norm?: 'tf' | 'eps1e-3';
  /** ImageNet top-1 of torchvision's default weights */
  top1: number;
}

const b = (widthMult: number, depthMult: number, dropout: number, imageSize: number, top1: number, norm?: 'tf'): Variant => ({
  stages: B0,
  widthMult,
  depthMult,
  dropout,
  imageSize,
  top1,
  norm,
});

const VARIANTS = {
  efficientnet_b0: b(1.0, 1.0, 0.2, 224, 77.692),
  efficientnet_b1: b(1.0, 1.1, 0.2, 240, 79.838),
  efficientnet_b2: b(1.1, 1.2, 0.3, 260, 80.608),
  efficientnet_b3: b(1.2, 1.4, 0.3, 300, 82.008),
  efficientnet_b4: b(1.4, 1.8, 0.4, 380, 83.384),
  efficientnet_b5: b(1.6, 2.2, 0.4, 456, 83.444, 'tf'),
  efficientnet_b6: b(1.8, 2.6, 0.5, 528, 84.008, 'tf'),
  efficientnet_b7: b(2.0, 3.1, 0.5, 600, 84.122, 'tf'),
  efficientnet_v2_s: { stages: V2_S, lastChannel: 1280, dropout: 0.2, imageSize: 384, norm: 'eps1e-3', top1: 84.228 },
  efficientnet_v2_m: { stages: V2_M, lastChannel: 1280, dropout: 0.3, imageSize: 480, norm: 'eps1e-3', top1: 85.112 },
  efficientnet_v2_l: { stages: V2_L, lastChannel: 1280, dropout: 0.4, imageSize: 480, norm: 'eps1e-3', top1: 85.808 },
} as const satisfies Record<string, Variant>;

export type EfficientNetName = keyof typeof VARIANTS;

export interface EfficientNetConfig {
  numClasses?: number;
  /** before the classifier (default: the variant's, 0.2 to 0.5) */
  dropout?: number;
  /** the last block's probability of dropping its residual branch in training (default 0.2) */
  stochasticDepthProb?: number;
  inChannels?: number;
}

const NORMS: Record<NonNullable<Variant['norm']> | 'torch', NormFactory> = {
  torch: batchNorm2d(),
  tf: batchNorm2d({ eps: 1e-3, momentum: 0.01 }),
  'eps1e-3': batchNorm2d({ eps: 1e-3 }),
};

/** The variant's stages with widths and depths scaled. */
function scaledStages({ stages, widthMult = 1, depthMult = 1 }: Variant): MBConvConfig[] {
  return stages.map(([block, expandRatio, kernel, stride, input, output, layers]) => ({
    block,
    expandRatio,
    kernel,
    stride,
    inputChannels: makeDivisible(input * widthMult, 8),
    outChannels: makeDivisible(output * widthMult, 8),
    numLayers: Math.ceil(layers * depthMult),
  }));
}

export class EfficientNet extends FeaturesClassifier {
  constructor(name: EfficientNetName, config: EfficientNetConfig = {}) {
    super(EfficientNet.#parts(VARIANTS[name], config));
    initMobileWeights(this, 'uniformFanOut');
  }

  static #parts(variant: Variant, config: EfficientNetConfig): FeaturesClassifierParts {
    const { numClasses = 1000, dropout = variant.dropout, stochasticDepthProb = 0.2, inChannels = 3 } = config;
    const norm = NORMS[variant.norm ?? 'torch'];
    const silu = () => new SiLU();
    const setting = scaledStages(variant);
    const stem = setting[0].inputChannels;
    const features = new Sequential(new Conv2dNormActivation(inChannels, stem, { stride: 2, norm, activation: silu }));
    const stages = [{ module: 'features.0', channels: stem, stride: 2 }];
    const total = setting.reduce((n, s) => n + s.numLayers, 0);
    let id = 0;
    for (const cnf of setting) {
      const stage = new Sequential();
      for (let i = 0; i < cnf.numLayers; i++) {
        const c = i === 0 ? cnf : { ...cnf, inputChannels: cnf.outChannels, stride: 1 };
        const p = (stochasticDepthProb * id++) / total;
        stage.append(cnf.block === 'MBConv' ? new MBConv(c, p, norm) : new FusedMBConv(c, p, norm));
      }
      features.append(stage);
      stages.push({ module: `features.${features.length - 1}`, channels: cnf.outChannels, stride: cnf.stride });
    }
    const lastIn = setting[setting.length - 1].outChannels;
    const lastOut = variant.lastChannel ?? 4 * lastIn;
    features.append(new Conv2dNormActivation(lastIn, lastOut, { kernelSize: 1, norm, activation: silu }));
    stages.push({ module: `features.${features.length - 1}`, channels: lastOut, stride: 1 });
    return {
      features,
      avgpool: new AdaptiveAvgPool2d(1),
      classifier: [new Dropout(dropout), new Linear(lastOut, numClasses)],
      firstConv: 'features.0.0',
      featureInfo: featureStages(stages),
    };
  }
}

export const efficientnet = (name: EfficientNetName, config: EfficientNetConfig = {}): EfficientNet => new EfficientNet(name, config);

function describeVariant(name: EfficientNetName): string {
  const v: Variant = VARIANTS[name];
  const label = name.replace('efficientnet_', '').toUpperCase().replace('V2_', 'V2-');
  const what = v.widthMult === undefined ? 'Fused-MBConv and MBConv stages' : `B0 scaled by width ${v.widthMult.toFixed(1)}, depth ${v.depthMult?.toFixed(1)}`;
  return `EfficientNet${label.startsWith('V2') ? '' : '-'}${label}: ${what}, ${v.imageSize} px (ImageNet top-1 ${v.top1}% with torchvision's weights)`;
}

export const EFFICIENTNET_MODELS: ModelDefinition[] = (Object.keys(VARIANTS) as EfficientNetName[]).map((name) => ({
  name,
  builder: (c: EfficientNetConfig) => efficientnet(name, c),
  description: describeVariant(name),
  imageSize: VARIANTS[name].imageSize,
  configFor: ({ channels, numClasses }) => ({ numClasses, inChannels: channels }),
}));
