/**
 * ConvNet: a small VGG-style classifier for any image size, the command line's
 * default for a user's own folder of pictures.
 *
 *   per stage (widths [32, 64, 128] by default):
 *     Conv2d 3x3 (padding 1, no bias) BatchNorm2d ReLU, twice, then MaxPool2d 2
 *   AdaptiveAvgPool2d 1, Flatten, Dropout, Linear(last width, numClasses)
 *
 * Global average pooling makes the head independent of the input size, so the
 * same network (and checkpoint) takes 32x32 or 224x224 pictures; batch norm lets
 * it train with a high learning rate from scratch.
 */
import { Conv2d } from '../nn/conv.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { ReLU } from '../nn/activation.js';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/pooling.js';
import { Dropout } from '../nn/dropout.js';
import { Flatten, Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { SequentialClassifier, type FeatureInfo } from './classifier.js';
import type { ModelDefinition } from './registry.js';

export interface ConvNetConfig {
  numClasses?: number;
  inChannels?: number;
  /** output channels of each stage; each stage halves the resolution (default [32, 64, 128]) */
  widths?: number[];
  /** dropout before the classifier (default 0.2) */
  dropout?: number;
}

export class ConvNet extends SequentialClassifier {
  constructor({ numClasses = 10, inChannels = 3, widths = [32, 64, 128], dropout = 0.2 }: ConvNetConfig = {}) {
    if (widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w > 0)) {
      throw new RangeError(`ConvNet: widths must be positive integers, got ${JSON.stringify(widths)}`);
    }
    const layers: Module[] = [];
    const featureInfo: FeatureInfo[] = [];
    let c = inChannels;
    for (const w of widths) {
      layers.push(
        new Conv2d(c, w, 3, { padding: 1, bias: false }),
        new BatchNorm2d(w),
        new ReLU(),
        new Conv2d(w, w, 3, { padding: 1, bias: false }),
        new BatchNorm2d(w),
        new ReLU(),
        new MaxPool2d(2),
      );
      featureInfo.push({ module: String(layers.length - 1), channels: w, reduction: 2 ** (featureInfo.length + 1) });
      c = w;
    }
    const headStart = layers.length;
    layers.push(new AdaptiveAvgPool2d(1), new Flatten(), new Dropout(dropout), new Linear(c, numClasses));
    super(layers, { headStart, firstConv: '0', featureInfo });
  }
}

export const convnet = (config: ConvNetConfig = {}): ConvNet => new ConvNet(config);

export const CONVNET_MODELS: ModelDefinition[] = [
  {
    name: 'convnet',
    builder: (c: ConvNetConfig) => convnet(c),
    imageSize: 64,
    description: 'small VGG-style CNN with batch norm and global pooling, any image size (the command line default)',
    configFor: ({ channels, imageSize, numClasses }) => {
      if (imageSize < 8) throw new RangeError(`convnet needs images of at least 8x8 pixels, not ${imageSize}x${imageSize}`);
      return { numClasses, inChannels: channels };
    },
  },
];
