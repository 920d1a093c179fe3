/**
 * AlexNet, as torchvision 0.14: the single-tower form of "One weird trick for
 * parallelizing convolutional neural networks" (Krizhevsky, 2014), with 64, 192, 384,
 * 256, 256 channels, after Krizhevsky, Sutskever and Hinton, "ImageNet Classification
 * with Deep Convolutional Neural Networks", 2012.
 *
 *   features     conv 11x11/4 (64) relu maxpool 3/2, conv 5x5 (192) relu maxpool 3/2,
 *                conv 3x3 (384) relu, conv 3x3 (256) relu, conv 3x3 (256) relu, maxpool 3/2
 *   avgpool      AdaptiveAvgPool2d(6): 256x6x6 from any input of at least 63x63
 *   classifier   Dropout Linear(9216, 4096) ReLU Dropout Linear(4096, 4096) ReLU Linear(4096, numClasses)
 *
 * PyTorch's default initialisation throughout (torchvision adds none).
 */
import { ReLU } from '../nn/activation.js';
import { Sequential } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { Linear } from '../nn/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { FeaturesClassifier } from './layers/features-classifier.js';
import type { ModelDefinition } from './registry.js';

/** ImageNet-1k top-1 of torchvision's weights. */
const TOP1 = 56.522;
/** The smallest input the three 3/2 pools leave a pixel of: 11x11/4 gives 15, the pools 7, 3, 1. */
const MIN_SIZE = 63;

export interface AlexNetConfig {
  numClasses?: number;
  inChannels?: number;
  /** dropout before each hidden classifier layer (default 0.5) */
  dropout?: number;
}

export class AlexNet extends FeaturesClassifier {
  constructor({ numClasses = 1000, inChannels = 3, dropout = 0.5 }: AlexNetConfig = {}) {
    const pool = (): MaxPool2d => new MaxPool2d(3, { stride: 2 });
    const features = new Sequential(
      new Conv2d(inChannels, 64, 11, { stride: 4, padding: 2 }),
      new ReLU(),
      pool(),
      new Conv2d(64, 192, 5, { padding: 2 }),
      new ReLU(),
      pool(),
      new Conv2d(192, 384, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }),
      new ReLU(),
      pool(),
    );
    const head = [
      new Dropout(dropout),
      new Linear(256 * 6 * 6, 4096),
      new ReLU(),
      new Dropout(dropout),
      new Linear(4096, 4096),
      new ReLU(),
      new Linear(4096, numClasses),
    ];
    super({
      features,
      avgpool: new AdaptiveAvgPool2d(6),
      classifier: head,
      firstConv: 'features.0',
      featureInfo: [
        { module: 'features.2', channels: 64, reduction: 8 },
        { module: 'features.5', channels: 192, reduction: 16 },
        { module: 'features.12', channels: 256, reduction: 32 },
      ],
    });
  }
}

export const alexnet = (config: AlexNetConfig = {}): AlexNet => new AlexNet(config);

export const ALEXNET_MODELS: ModelDefinition[] = [
  {
    name: 'alexnet',
    builder: (c: AlexNetConfig) => alexnet(c),
    imageSize: 224,
    description: `AlexNet (single tower, 5 convolutions, 3 linear layers); ImageNet top-1 ${TOP1}%`,
    configFor: ({ channels, imageSize, numClasses }) => {
      if (imageSize < MIN_SIZE) throw new RangeError(`alexnet needs images of at least ${MIN_SIZE}x${MIN_SIZE} pixels, not ${imageSize}x${imageSize}`);
      return { numClasses, inChannels: channels };
    },
  },
];
