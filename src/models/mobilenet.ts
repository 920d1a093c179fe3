/**
 * MobileNetV2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear
 * Bottlenecks") and MobileNetV3 (Howard et al. 2019, "Searching for MobileNetV3"),
 * with torchvision's module tree:
 *
 *   features.0        3x3 convolution, stride 2 (ReLU6 in V2, hard swish in V3)
 *   features.1…n      inverted residual blocks (layers/inverted-residual.ts), one per table row
 *   features.(n+1)    1x1 convolution to the last width (1280 in V2; 6x the last block's in V3)
 *   head              global average pool, then V2: dropout, Linear;
 *                     V3: Linear to 1280 (large) or 1024 (small), hard swish, dropout, Linear
 *
 * widthMult scales every width (rounded to a multiple of 8). V3's hard swish, x·relu6(x+3)/6,
 * is swish without the exponential; its squeeze-excitation gates with a hard sigmoid. V3's
 * `reducedTail` halves the last stage's widths and `dilated` replaces its stride by dilation 2
 * (for dense prediction backbones).
 */
import { Dropout, Hardswish, Linear, ReLU6, Sequential, AdaptiveAvgPool2d, type Module } from '../nn/index.js';
import {
  Conv2dNormActivation,
  FeaturesClassifier,
  InvertedResidual,
  InvertedResidualV3,
  batchNorm2d,
  featureStages,
  initMobileWeights,
  makeDivisible,
  type FeaturesClassifierParts,
  type InvertedResidualConfig,
} from './layers/index.js';
import type { ModelDefinition } from './registry.js';

/** MobileNetV2's body, Table 2 of the paper: expansion t, output channels c, blocks n, stride s of the first block. */
const V2_SETTING: readonly (readonly [t: number, c: number, n: number, s: number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export interface MobileNetV2Config {
  numClasses?: number;
  /** multiplies every width (default 1) */
  widthMult?: number;
  /** widths are rounded to a multiple of this (default 8; 1 turns rounding off) */
  roundNearest?: number;
  /** before the classifier (default 0.2) */
  dropout?: number;
  inChannels?: number;
}

type Stage = { module: string; channels: number; stride: number };

export class MobileNetV2 extends FeaturesClassifier {
  constructor(config: MobileNetV2Config = {}) {
    super(MobileNetV2.#parts(config));
    initMobileWeights(this, 'normal0.01');
  }

  static #parts({ numClasses = 1000, widthMult = 1, roundNearest = 8, dropout = 0.2, inChannels = 3 }: MobileNetV2Config): FeaturesClassifierParts {
    const relu6 = () => new ReLU6();
    let input = makeDivisible(32 * widthMult, roundNearest);
    const lastChannel = makeDivisible(1280 * Math.max(1, widthMult), roundNearest);
    const features = new Sequential(new Conv2dNormActivation(inChannels, input, { stride: 2, activation: relu6 }));
    const stages: Stage[] = [{ module: 'features.0', channels: input, stride: 2 }];
    for (const [t, c, n, s] of V2_SETTING) {
      const output = makeDivisible(c * widthMult, roundNearest);
      for (let i = 0; i < n; i++) {
        const stride = i === 0 ? s : 1;
        features.append(new InvertedResidual(input, output, stride, t));
        stages.push({ module: `features.${features.length - 1}`, channels: output, stride });
        input = output;
      }
    }
    features.append(new Conv2dNormActivation(input, lastChannel, { kernelSize: 1, activation: relu6 }));
    stages.push({ module: `features.${features.length - 1}`, channels: lastChannel, stride: 1 });
    return {
      features,
      avgpool: null,
      classifier: [new Dropout(dropout), new Linear(lastChannel, numClasses)],
      firstConv: 'features.0.0',
      featureInfo: featureStages(stages),
    };
  }
}

/** A row of MobileNetV3's Tables 1 and 2: input, kernel, expanded and output channels, SE, nonlinearity, stride. */
type V3Row = readonly [inp: number, kernel: number, expanded: number, out: number, se: boolean, nl: 'RE' | 'HS', stride: number];

/** The bodies of MobileNetV3-Large (Table 1) and -Small (Table 2), and the width of the classifier's hidden layer. */
const V3_SETTINGS: Record<'mobilenet_v3_large' | 'mobilenet_v3_small', { rows: readonly V3Row[]; lastChannel: number }> = {
  mobilenet_v3_large: {
    rows: [
      [16, 3, 16, 16, false, 'RE', 1],
      [16, 3, 64, 24, false, 'RE', 2],
      [24, 3, 72, 24, false, 'RE', 1],
      [24, 5, 72, 40, true, 'RE', 2],
      [40, 5, 120, 40, true, 'RE', 1],
      [40, 5, 120, 40, true, 'RE', 1],
      [40, 3, 240, 80, false, 'HS', 2],
      [80, 3, 200, 80, false, 'HS', 1],
      [80, 3, 184, 80, false, 'HS', 1],
      [80, 3, 184, 80, false, 'HS', 1],
      [80, 3, 480, 112, true, 'HS', 1],
      [112, 3, 672, 112, true, 'HS', 1],
      [112, 5, 672, 160, true, 'HS', 2],
      [160, 5, 960, 160, true, 'HS', 1],
      [160, 5, 960, 160, true, 'HS', 1],
    ],
    lastChannel: 1280,
  },
  mobilenet_v3_small: {
    rows: [
      [16, 3, 16, 16, true, 'RE', 2],
      [16, 3, 72, 24, false, 'RE', 2],
      [24, 3, 88, 24, false, 'RE', 1],
      [24, 5, 96, 40, true, 'HS', 2],
      [40, 5, 240, 40, true, 'HS', 1],
      [40, 5, 240, 40, true, 'HS', 1],
      [40, 5, 120, 48, true, 'HS', 1],
      [48, 5, 144, 48, true, 'HS', 1],
      [48, 5, 288, 96, true, 'HS', 2],
      [96, 5, 576, 96, true, 'HS', 1],
      [96, 5, 576, 96, true, 'HS', 1],
    ],
    lastChannel: 1024,
  },
};

export type MobileNetV3Name = keyof typeof V3_SETTINGS;

export interface MobileNetV3Config {
  numClasses?: number;
  widthMult?: number;
  /** halve the widths of the last stage (the last 3 blocks) and of the classifier's hidden layer (default false) */
  reducedTail?: boolean;
  /** dilation 2 instead of stride 2 in the last stage, for an output stride of 16 (default false) */
  dilated?: boolean;
  /** before the classifier's last Linear (default 0.2) */
  dropout?: number;
  inChannels?: number;
}

/** The table of `name` scaled: widths by widthMult (multiples of 8); the last 3 blocks reduced and dilated as asked. */
function v3Setting(name: MobileNetV3Name, { widthMult = 1, reducedTail = false, dilated = false }: MobileNetV3Config) {
  const { rows, lastChannel } = V3_SETTINGS[name];
  const rd = reducedTail ? 2 : 1;
  const adjust = (c: number) => makeDivisible(c * widthMult, 8);
  const tail = rows.length - 3;
  const blocks = rows.map(([inp, kernel, expanded, out, useSE, activation, stride], i): InvertedResidualConfig => {
    // the tail's first block keeps its input and expansion, and reduces only its output
    const r = i > tail ? rd : 1;
    return {
      inputChannels: adjust(Math.floor(inp / r)),
      kernel,
      expandedChannels: adjust(Math.floor(expanded / r)),
      outChannels: adjust(Math.floor(out / (i >= tail ? rd : 1))),
      useSE,
      activation,
      stride,
      dilation: i >= tail && dilated ? 2 : 1,
    };
  });
  return { blocks, lastChannel: adjust(Math.floor(lastChannel / rd)) };
}

export class MobileNetV3 extends FeaturesClassifier {
  constructor(name: MobileNetV3Name, config: MobileNetV3Config = {}) {
    super(MobileNetV3.#parts(name, config));
    initMobileWeights(this, 'normal0.01');
  }

  static #parts(name: MobileNetV3Name, config: MobileNetV3Config): FeaturesClassifierParts {
    const { numClasses = 1000, dropout = 0.2, inChannels = 3 } = config;
    const { blocks, lastChannel } = v3Setting(name, config);
    // TensorFlow's batch-norm defaults, which the published weights were trained with
    const norm = batchNorm2d({ eps: 1e-3, momentum: 0.01 });
    const hardswish = () => new Hardswish();
    const features = new Sequential(new Conv2dNormActivation(inChannels, blocks[0].inputChannels, { stride: 2, norm, activation: hardswish }));
    const stages: Stage[] = [{ module: 'features.0', channels: blocks[0].inputChannels, stride: 2 }];
    for (const cnf of blocks) {
      features.append(new InvertedResidualV3(cnf, norm));
      stages.push({ module: `features.${features.length - 1}`, channels: cnf.outChannels, stride: cnf.dilation > 1 ? 1 : cnf.stride });
    }
    const lastConv = 6 * blocks[blocks.length - 1].outChannels;
    features.append(new Conv2dNormActivation(blocks[blocks.length - 1].outChannels, lastConv, { kernelSize: 1, norm, activation: hardswish }));
    stages.push({ module: `features.${features.length - 1}`, channels: lastConv, stride: 1 });
    const classifier: Module[] = [new Linear(lastConv, lastChannel), new Hardswish(), new Dropout(dropout), new Linear(lastChannel, numClasses)];
    return { features, avgpool: new AdaptiveAvgPool2d(1), classifier, firstConv: 'features.0.0', featureInfo: featureStages(stages) };
  }
}

export const mobilenetV2 = (config: MobileNetV2Config = {}): MobileNetV2 => new MobileNetV2(config);
export const mobilenetV3Large = (config: MobileNetV3Config = {}): MobileNetV3 => new MobileNetV3('mobilenet_v3_large', config);
export const mobilenetV3Small = (config: MobileNetV3Config = {}): MobileNetV3 => new MobileNetV3('mobilenet_v3_small', config);

const forData = ({ channels, numClasses }: { channels: number; numClasses: number }) => ({ numClasses, inChannels: channels });

/** ImageNet top-1 of torchvision's default weights. */
export const MOBILENET_MODELS: ModelDefinition[] = [
  {
    name: 'mobilenet_v2',
    builder: (c: MobileNetV2Config) => mobilenetV2(c),
    imageSize: 224,
    configFor: forData,
    description: "MobileNetV2: inverted residuals with linear bottlenecks, 3.5M parameters (ImageNet top-1 72.154% with torchvision's weights)",
  },
  {
    name: 'mobilenet_v3_large',
    builder: (c: MobileNetV3Config) => mobilenetV3Large(c),
    imageSize: 224,
    configFor: forData,
    description: "MobileNetV3-Large: searched inverted residuals, hard swish and squeeze-excitation (ImageNet top-1 75.274% with torchvision's weights)",
  },
  {
    name: 'mobilenet_v3_small',
    builder: (c: MobileNetV3Config) => mobilenetV3Small(c),
    imageSize: 224,
    configFor: forData,
    description: "MobileNetV3-Small: the low-resource MobileNetV3, 2.5M parameters (ImageNet top-1 67.668% with torchvision's weights)",
  },
];
