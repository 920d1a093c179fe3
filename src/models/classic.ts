/**
 * Small classic networks: an MLP, LeNet-5, and the two CNNs of the seed projects
 * (the CIFAR-10 `ImageClassification` CNN and the bird-vs-airplane `Net`).
 * Sequential containers, so state-dict keys are PyTorch's for the same nn.Sequential.
 */
import { Sequential } from '../nn/containers.js';
import { Linear, Flatten } from '../nn/linear.js';
import { Conv2d } from '../nn/conv.js';
import { MaxPool2d, AvgPool2d } from '../nn/pooling.js';
import { ReLU, Tanh } from '../nn/activation.js';
import { Dropout } from '../nn/dropout.js';
import type { Module } from '../nn/module.js';
import { registerModel } from './registry.js';

export interface MLPConfig {
  inputSize: number;
  hidden?: number[];
  numClasses: number;
  /** dropout after each hidden activation (default 0: none) */
  dropout?: number;
}

/** Flatten, then Linear + ReLU (+ Dropout) per hidden size, then Linear to numClasses. */
function mlpLayers({ inputSize, hidden = [], numClasses, dropout = 0 }: MLPConfig): Module[] {
  const layers: Module[] = [new Flatten()];
  let last = inputSize;
  for (const h of hidden) {
    layers.push(new Linear(last, h), new ReLU());
    if (dropout > 0) layers.push(new Dropout(dropout));
    last = h;
  }
  layers.push(new Linear(last, numClasses));
  return layers;
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
function lenet5Layers({ inputSize = 28, inChannels = 1, numClasses = 10, activation = 'relu' }: LeNet5Config): Module[] {
  if (inputSize !== 28 && inputSize !== 32) throw new RangeError(`lenet5: inputSize must be 28 or 32, got ${inputSize}`);
  const act = (): Module => (activation === 'tanh' ? new Tanh() : new ReLU());
  const pool = (): Module => (activation === 'tanh' ? new AvgPool2d(2) : new MaxPool2d(2));
  return [
    new Conv2d(inChannels, 6, 5, { padding: inputSize === 28 ? 2 : 0 }), act(), pool(),
    new Conv2d(6, 16, 5), act(), pool(),
    new Flatten(),
    new Linear(16 * 5 * 5, 120), act(),
    new Linear(120, 84), act(),
    new Linear(84, numClasses),
  ];
}

export interface SeedCNNConfig {
  numClasses?: number;
  /** input channels (default 3) */
  inChannels?: number;
  /** the square input's side (default 32); it sets the first linear layer's size */
  imageSize?: number;
}

/** The side after `blocks` rounds of a 3x3 convolution (padding `pad`) and a 2x2 max pool; a RangeError when it vanishes. */
function featureSide(model: string, imageSize: number, pad: number, blocks: number): number {
  let s = imageSize;
  for (let i = 0; i < blocks; i++) s = Math.floor((s - 2 + 2 * pad) / 2);
  if (!Number.isInteger(imageSize) || s < 1) throw new RangeError(`${model}: imageSize ${imageSize} is too small (at least ${pad ? 4 : 10} pixels)`);
  return s;
}

/** The seeds' CIFAR-10 `ImageClassification` CNN, for 3x32x32 input. */
function cifarLayers({ numClasses = 10, inChannels = 3, imageSize = 32 }: SeedCNNConfig): Module[] {
  const s = featureSide('image_classification', imageSize, 0, 2);
  return [
    new Conv2d(inChannels, 32, 3), new ReLU(), new MaxPool2d(2), new Dropout(0.25),
    new Conv2d(32, 128, 3), new ReLU(), new MaxPool2d(2), new Dropout(0.25),
    new Flatten(),
    new Linear(128 * s * s, 2048), new ReLU(), new Dropout(0.5),
    new Linear(2048, 1024), new ReLU(), new Dropout(0.5),
    new Linear(1024, numClasses),
  ];
}

/** The seeds' small bird-vs-airplane `Net`, for 3x32x32 input. */
function smallNetLayers({ numClasses = 2, inChannels = 3, imageSize = 32 }: SeedCNNConfig): Module[] {
  const s = featureSide('small_net', imageSize, 1, 2);
  return [
    new Conv2d(inChannels, 16, 3, { padding: 1 }), new Tanh(), new MaxPool2d(2),
    new Conv2d(16, 8, 3, { padding: 1 }), new Tanh(), new MaxPool2d(2),
    new Flatten(),
    new Linear(8 * s * s, 32), new Tanh(),
    new Linear(32, numClasses),
  ];
}

export class MLP extends Sequential {
  constructor(config: MLPConfig) { super(...mlpLayers(config)); }
}
export class LeNet5 extends Sequential {
  constructor(config: LeNet5Config = {}) { super(...lenet5Layers(config)); }
}
/** The seeds' CIFAR-10 CNN (class name as in the seeds). */
export class ImageClassification extends Sequential {
  constructor(config: SeedCNNConfig = {}) { super(...cifarLayers(config)); }
}
/** The seeds' small Net (class name as in the seeds). */
export class Net extends Sequential {
  constructor(config: SeedCNNConfig = {}) { super(...smallNetLayers(config)); }
}

export const mlp = (config: MLPConfig): MLP => new MLP(config);
export const lenet5 = (config: LeNet5Config = {}): LeNet5 => new LeNet5(config);
export const seedCifarCNN = (config: SeedCNNConfig = {}): ImageClassification => new ImageClassification(config);
export const seedSmallNet = (config: SeedCNNConfig = {}): Net => new Net(config);

registerModel('mlp', (c: MLPConfig) => mlp(c), {
  description: 'multilayer perceptron: Flatten, (Linear ReLU Dropout)*, Linear',
  configFor: ({ channels, imageSize, numClasses }) => ({ inputSize: channels * imageSize * imageSize, hidden: [256, 128], numClasses }),
  imageSize: 28,
});
registerModel('lenet5', (c: LeNet5Config) => lenet5(c), {
  description: 'LeNet-5 for 28x28 (padding 2) or 32x32 input',
  configFor: ({ channels, imageSize, numClasses }) => {
    if (imageSize !== 28 && imageSize !== 32) throw new RangeError(`lenet5 takes 28x28 or 32x32 images, not ${imageSize}x${imageSize}`);
    return { inputSize: imageSize, inChannels: channels, numClasses };
  },
  imageSize: 28,
});
registerModel('image_classification', (c: SeedCNNConfig) => seedCifarCNN(c), {
  description: "the seeds' CIFAR-10 CNN (designed for 3x32x32)",
  configFor: ({ channels, imageSize, numClasses }) => ({ numClasses, inChannels: channels, imageSize }),
  imageSize: 32,
});
registerModel('small_net', (c: SeedCNNConfig) => seedSmallNet(c), {
  description: "the seeds' bird-vs-airplane Net (designed for 3x32x32)",
  configFor: ({ channels, imageSize, numClasses }) => ({ numClasses, inChannels: channels, imageSize }),
  imageSize: 32,
});
