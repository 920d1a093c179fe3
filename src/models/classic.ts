/**
 * Small classic networks, each one nn.Sequential (state-dict keys are PyTorch's for
 * the same Sequential) with the classifier contract (SequentialClassifier):
 *   mlp         Flatten, (Linear ReLU Dropout)*, Linear
 *   lenet5      LeNet-5 for 28x28 (padding 2) or 32x32 input
 *   mnist_cnn   two 3x3 convolutions, max pooling, two linear layers: the classic MNIST CNN
 *   cifar_cnn   a CIFAR-10 CNN: two conv-pool-dropout blocks, three linear layers
 *   small_net   a small two-class CNN with tanh activations
 */
import { Linear, Flatten } from '../nn/linear.js';
import { Conv2d } from '../nn/conv.js';
import { MaxPool2d, AvgPool2d } from '../nn/pooling.js';
import { ReLU, Tanh } from '../nn/activation.js';
import { Dropout } from '../nn/dropout.js';
import type { Module } from '../nn/module.js';
import { SequentialClassifier } from './classifier.js';
import type { ModelDefinition } from './registry.js';

export interface MLPConfig {
  inputSize: number;
  hidden?: number[];
  numClasses: number;
  /** dropout after each hidden activation (default 0: none) */
  dropout?: number;
}

/** Flatten, then Linear + ReLU (+ Dropout) per hidden size, then Linear to numClasses; the features are the last hidden layer's. */
export class MLP extends SequentialClassifier {
  constructor({ inputSize, hidden = [], numClasses, dropout = 0 }: MLPConfig) {
    const layers: Module[] = [new Flatten()];
    let last = inputSize;
    for (const h of hidden) {
      layers.push(new Linear(last, h), new ReLU());
      if (dropout > 0) layers.push(new Dropout(dropout));
      last = h;
    }
    layers.push(new Linear(last, numClasses));
    super(layers, { headStart: layers.length - 1, firstConv: null });
  }
}

export interface LeNet5Config {
  /** 28 (MNIST: the first convolution pads by 2) or 32 (the original) */
  inputSize?: 28 | 32;
  inChannels?: number;
  numClasses?: number;
  /** 'relu' + max pooling (the modern form, default) or 'tanh' + average pooling (LeCun 1998) */
  activation?: 'relu' | 'tanh';
}

/** LeNet-5: conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, numClasses. */
export class LeNet5 extends SequentialClassifier {
  constructor({ inputSize = 28, inChannels = 1, numClasses = 10, activation = 'relu' }: LeNet5Config = {}) {
    if (inputSize !== 28 && inputSize !== 32) throw new RangeError(`lenet5: inputSize must be 28 or 32, got ${inputSize}`);
    const act = (): Module => (activation === 'tanh' ? new Tanh() : new ReLU());
    const pool = (): Module => (activation === 'tanh' ? new AvgPool2d(2) : new MaxPool2d(2));
    super(
      [
        new Conv2d(inChannels, 6, 5, { padding: inputSize === 28 ? 2 : 0 }),
        act(),
        pool(),
        new Conv2d(6, 16, 5),
        act(),
        pool(),
        new Flatten(),
        new Linear(16 * 5 * 5, 120),
        act(),
        new Linear(120, 84),
        act(),
        new Linear(84, numClasses),
      ],
      {
        headStart: 6,
        firstConv: '0',
        featureInfo: [
          { module: '2', channels: 6, reduction: 2 },
          { module: '5', channels: 16, reduction: 4 },
        ],
      },
    );
  }
}

export interface SmallCNNConfig {
  numClasses?: number;
  /** input channels */
  inChannels?: number;
  /** the square input's side; it sets the first linear layer's size */
  imageSize?: number;
}

/** The side after `blocks` rounds of a 3x3 convolution (padding `pad`) and a 2x2 max pool; a RangeError when it vanishes. */
function featureSide(model: string, imageSize: number, pad: number, blocks: number): number {
  let s = imageSize;
  for (let i = 0; i < blocks; i++) s = Math.floor((s - 2 + 2 * pad) / 2);
  if (!Number.isInteger(imageSize) || s < 1) throw new RangeError(`${model}: imageSize ${imageSize} is too small (at least ${pad ? 4 : 10} pixels)`);
  return s;
}

/** The classic MNIST CNN (1x28x28 by default): conv 32, conv 64, max pool, dropout 0.25, 128, dropout 0.5, numClasses. */
export class MnistCNN extends SequentialClassifier {
  constructor({ numClasses = 10, inChannels = 1, imageSize = 28 }: SmallCNNConfig = {}) {
    const s = Math.floor((imageSize - 4) / 2);
    if (!Number.isInteger(imageSize) || s < 1) throw new RangeError(`mnist_cnn: imageSize ${imageSize} is too small (at least 6 pixels)`);
    super(
      [
        new Conv2d(inChannels, 32, 3),
        new ReLU(),
        new Conv2d(32, 64, 3),
        new ReLU(),
        new MaxPool2d(2),
        new Dropout(0.25),
        new Flatten(),
        new Linear(64 * s * s, 128),
        new ReLU(),
        new Dropout(0.5),
        new Linear(128, numClasses),
      ],
      { headStart: 6, firstConv: '0', featureInfo: [{ module: '4', channels: 64, reduction: 2 }] },
    );
  }
}

/** A CIFAR-10 CNN for 3x32x32 input (other sizes: the first linear layer follows). */
export class CifarCNN extends SequentialClassifier {
  constructor({ numClasses = 10, inChannels = 3, imageSize = 32 }: SmallCNNConfig = {}) {
    const s = featureSide('cifar_cnn', imageSize, 0, 2);
    super(
      [
        new Conv2d(inChannels, 32, 3),
        new ReLU(),
        new MaxPool2d(2),
        new Dropout(0.25),
        new Conv2d(32, 128, 3),
        new ReLU(),
        new MaxPool2d(2),
        new Dropout(0.25),
        new Flatten(),
        new Linear(128 * s * s, 2048),
        new ReLU(),
        new Dropout(0.5),
        new Linear(2048, 1024),
        new ReLU(),
        new Dropout(0.5),
        new Linear(1024, numClasses),
      ],
      {
        headStart: 8,
        firstConv: '0',
        featureInfo: [
          { module: '2', channels: 32, reduction: 2 },
          { module: '6', channels: 128, reduction: 4 },
        ],
      },
    );
  }
}

/** A small two-class CNN with tanh activations, for 3x32x32 input (other sizes: the first linear layer follows). */
export class SmallNet extends SequentialClassifier {
  constructor({ numClasses = 2, inChannels = 3, imageSize = 32 }: SmallCNNConfig = {}) {
    const s = featureSide('small_net', imageSize, 1, 2);
    super(
      [
        new Conv2d(inChannels, 16, 3, { padding: 1 }),
        new Tanh(),
        new MaxPool2d(2),
        new Conv2d(16, 8, 3, { padding: 1 }),
        new Tanh(),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(8 * s * s, 32),
        new Tanh(),
        new Linear(32, numClasses),
      ],
      {
        headStart: 6,
        firstConv: '0',
        featureInfo: [
          { module: '2', channels: 16, reduction: 2 },
          { module: '5', channels: 8, reduction: 4 },
        ],
      },
    );
  }
}

export const mlp = (config: MLPConfig): MLP => new MLP(config);
export const lenet5 = (config: LeNet5Config = {}): LeNet5 => new LeNet5(config);
export const mnistCNN = (config: SmallCNNConfig = {}): MnistCNN => new MnistCNN(config);
export const cifarCNN = (config: SmallCNNConfig = {}): CifarCNN => new CifarCNN(config);
export const smallNet = (config: SmallCNNConfig = {}): SmallNet => new SmallNet(config);

const sized = ({ channels, imageSize, numClasses }: { channels: number; imageSize: number; numClasses: number }) => ({
  numClasses,
  inChannels: channels,
  imageSize,
});

export const CLASSIC_MODELS: ModelDefinition[] = [
  {
    name: 'mlp',
    builder: (c: MLPConfig) => mlp(c),
    imageSize: 28,
    description: 'multilayer perceptron: Flatten, (Linear ReLU Dropout)*, Linear',
    configFor: ({ channels, imageSize, numClasses }) => ({ inputSize: channels * imageSize * imageSize, hidden: [256, 128], numClasses }),
  },
  {
    name: 'lenet5',
    builder: (c: LeNet5Config) => lenet5(c),
    imageSize: 28,
    description: 'LeNet-5 for 28x28 (padding 2) or 32x32 input',
    configFor: ({ channels, imageSize, numClasses }) => {
      if (imageSize !== 28 && imageSize !== 32) throw new RangeError(`lenet5 takes 28x28 or 32x32 images, not ${imageSize}x${imageSize}`);
      return { inputSize: imageSize, inChannels: channels, numClasses };
    },
  },
  {
    name: 'mnist_cnn',
    builder: (c: SmallCNNConfig) => mnistCNN(c),
    imageSize: 28,
    description: 'the classic MNIST CNN: two 3x3 convolutions, max pooling, two linear layers',
    configFor: sized,
  },
  { name: 'cifar_cnn', builder: (c: SmallCNNConfig) => cifarCNN(c), imageSize: 32, description: 'a CIFAR-10 CNN (designed for 3x32x32)', configFor: sized },
  {
    name: 'small_net',
    builder: (c: SmallCNNConfig) => smallNet(c),
    imageSize: 32,
    description: 'a small two-class tanh CNN (designed for 3x32x32)',
    configFor: sized,
  },
];
