/**
 * Inverted residual blocks of MobileNetV2 and MobileNetV3: a 1x1 expansion to a wide
 * hidden width, a depthwise k x k convolution (carrying the stride), then a linear
 * 1x1 projection back to a narrow width, with the input added when the shapes agree.
 * The residual joins the narrow ends, the opposite of ResNet's bottleneck, and the
 * projection has no activation since a ReLU on few channels would destroy information.
 *
 *   MobileNetV2 (Sandler et al. 2018):  conv = [expand 1x1, ReLU6] (when t != 1), depthwise 3x3 ReLU6, 1x1, BN
 *   MobileNetV3 (Howard et al. 2019):   block = [expand 1x1] (when wider), depthwise k x k, [SE], project 1x1
 *                                        with ReLU or hard swish, and a hard-sigmoid squeeze-excitation
 */
import { Conv2d, Hardsigmoid, Hardswish, ReLU, ReLU6, Sequential, Module } from '../../nn/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import '../../tensor/methods.js';
import { Conv2dNormActivation, batchNorm2d, type NormFactory } from './conv-norm-activation.js';
import { makeDivisible } from './make-divisible.js';
import { SqueezeExcitation } from './squeeze-excitation.js';

function checkStride(block: string, stride: number): void {
  if (stride !== 1 && stride !== 2) throw new RangeError(`${block}: stride must be 1 or 2, got ${stride}`);
}

/** MobileNetV2's block: expand by `expandRatio` (1x1, ReLU6), depthwise 3x3 (ReLU6), project 1x1 (no activation). */
export class InvertedResidual extends Module {
  conv: Sequential;
  readonly stride: number;
  readonly outChannels: number;
  readonly useResConnect: boolean;

  constructor(inp: number, oup: number, stride: number, expandRatio: number, norm: NormFactory = batchNorm2d()) {
    super();
    checkStride('InvertedResidual', stride);
    const hidden = Math.round(inp * expandRatio);
    const relu6 = () => new ReLU6();
    this.conv = new Sequential();
    if (expandRatio !== 1) this.conv.append(new Conv2dNormActivation(inp, hidden, { kernelSize: 1, norm, activation: relu6 }));
    this.conv.append(new Conv2dNormActivation(hidden, hidden, { stride, groups: hidden, norm, activation: relu6 }));
    this.conv.append(new Conv2d(hidden, oup, 1, { bias: false }));
    this.conv.append(norm(oup));
    this.stride = stride;
    this.outChannels = oup;
    this.useResConnect = stride === 1 && inp === oup;
  }

  forward(x: Tensor): Tensor {
    return this.useResConnect ? x.add(this.conv.call(x)) : this.conv.call(x);
  }
}

/** A row of MobileNetV3's tables (Tables 1 and 2 of the paper), channels already scaled. */
export interface InvertedResidualConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSE: boolean;
  /** 'RE' ReLU, 'HS' hard swish */
  activation: 'RE' | 'HS';
  stride: number;
  dilation: number;
}

/** MobileNetV3's block; a dilated block keeps the resolution (stride 1) and widens the kernel's reach instead. */
export class InvertedResidualV3 extends Module {
  block: Sequential;
  readonly outChannels: number;
  readonly useResConnect: boolean;

  constructor(cnf: InvertedResidualConfig, norm: NormFactory) {
    super();
    checkStride('InvertedResidualV3', cnf.stride);
    const activation = cnf.activation === 'HS' ? () => new Hardswish() : () => new ReLU();
    const e = cnf.expandedChannels;
    this.block = new Sequential();
    if (e !== cnf.inputChannels) this.block.append(new Conv2dNormActivation(cnf.inputChannels, e, { kernelSize: 1, norm, activation }));
    const stride = cnf.dilation > 1 ? 1 : cnf.stride;
    this.block.append(new Conv2dNormActivation(e, e, { kernelSize: cnf.kernel, stride, dilation: cnf.dilation, groups: e, norm, activation }));
    if (cnf.useSE) this.block.append(new SqueezeExcitation(e, makeDivisible(Math.floor(e / 4), 8), { scaleActivation: () => new Hardsigmoid() }));
    this.block.append(new Conv2dNormActivation(e, cnf.outChannels, { kernelSize: 1, norm, activation: null }));
    this.outChannels = cnf.outChannels;
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
  }

  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    return this.useResConnect ? y.add(x) : y;
  }
}
