/**
 * Squeeze-and-excitation (Hu et al. 2017, "Squeeze-and-Excitation Networks"): each
 * channel is scaled by a gate computed from the whole feature map,
 *
 *   s = scale_activation(fc2(activation(fc1(avgpool(x)))))     [N, C, 1, 1]
 *   y = s · x
 *
 * fc1 and fc2 are 1x1 convolutions (with bias) through `squeezeChannels`. The gate is
 * a sigmoid (EfficientNet) or a hard sigmoid (MobileNetV3).
 */
import { AdaptiveAvgPool2d, Conv2d, ReLU, Sigmoid, Module } from '../../nn/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import '../../tensor/methods.js';
import type { ActivationFactory } from './conv-norm-activation.js';

export interface SqueezeExcitationOptions {
  /** after fc1 (default ReLU) */
  activation?: ActivationFactory;
  /** the gate, after fc2 (default Sigmoid) */
  scaleActivation?: ActivationFactory;
}

export class SqueezeExcitation extends Module {
  avgpool = new AdaptiveAvgPool2d(1);
  fc1: Conv2d;
  fc2: Conv2d;
  activation: Module;
  scale_activation: Module;

  constructor(
    inputChannels: number,
    squeezeChannels: number,
    { activation = () => new ReLU(), scaleActivation = () => new Sigmoid() }: SqueezeExcitationOptions = {},
  ) {
    super();
    this.fc1 = new Conv2d(inputChannels, squeezeChannels, 1);
    this.fc2 = new Conv2d(squeezeChannels, inputChannels, 1);
    this.activation = activation();
    this.scale_activation = scaleActivation();
  }

  forward(x: Tensor): Tensor {
    const s = this.fc2.call(this.activation.call(this.fc1.call(this.avgpool.call(x))));
    return this.scale_activation.call(s).mul(x);
  }
}
