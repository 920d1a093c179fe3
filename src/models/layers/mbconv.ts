/**
 * EfficientNet's blocks, with SiLU activations and stochastic depth on the residual branch:
 *
 *   MBConv (Tan and Le 2019, "EfficientNet"; the MnasNet block):
 *     block = [expand 1x1] (when the expansion widens), depthwise k x k (the stride),
 *             squeeze-excitation (sigmoid gate, squeezing to a quarter of the *input* channels),
 *             project 1x1 (no activation)
 *   FusedMBConv (Tan and Le 2021, "EfficientNetV2"): the expansion and the depthwise
 *     convolution fused into one regular k x k convolution, faster on accelerators in early
 *     stages; block = [k x k expand (the stride), project 1x1], or one k x k when expandRatio is 1
 *
 * When stride is 1 and the widths agree, y = x + stochastic_depth(block(x)): in training
 * the whole branch of a sample is dropped with probability p (deeper blocks get a larger p).
 */
import { SiLU, StochasticDepth, Sequential, Module } from '../../nn/index.js';
import type { Tensor } from '../../tensor/tensor.js';
import '../../tensor/methods.js';
import { Conv2dNormActivation, type NormFactory } from './conv-norm-activation.js';
import { makeDivisible } from './make-divisible.js';
import { SqueezeExcitation } from './squeeze-excitation.js';

/** A stage of blocks: a row of Table 1 of EfficientNet or Table 4 of EfficientNetV2, channels already scaled. */
export interface MBConvConfig {
  block: 'MBConv' | 'FusedMBConv';
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
  numLayers: number;
}

const silu = () => new SiLU();

abstract class EfficientBlock extends Module {
  block = new Sequential();
  stochastic_depth: StochasticDepth;
  readonly outChannels: number;
  readonly useResConnect: boolean;

  constructor(cnf: MBConvConfig, stochasticDepthProb: number) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`${cnf.block}: stride must be 1 or 2, got ${cnf.stride}`);
    this.stochastic_depth = new StochasticDepth(stochasticDepthProb, 'row');
    this.outChannels = cnf.outChannels;
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
  }

  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    return this.useResConnect ? this.stochastic_depth.call(y).add(x) : y;
  }
}

/** Mobile inverted bottleneck with squeeze-excitation. */
export class MBConv extends EfficientBlock {
  constructor(cnf: MBConvConfig, stochasticDepthProb: number, norm: NormFactory) {
    super(cnf, stochasticDepthProb);
    const cin = cnf.inputChannels;
    const expanded = makeDivisible(cin * cnf.expandRatio, 8);
    if (expanded !== cin) this.block.append(new Conv2dNormActivation(cin, expanded, { kernelSize: 1, norm, activation: silu }));
    this.block.append(new Conv2dNormActivation(expanded, expanded, { kernelSize: cnf.kernel, stride: cnf.stride, groups: expanded, norm, activation: silu }));
    this.block.append(new SqueezeExcitation(expanded, Math.max(1, Math.floor(cin / 4)), { activation: silu }));
    this.block.append(new Conv2dNormActivation(expanded, cnf.outChannels, { kernelSize: 1, norm, activation: null }));
  }
}

/** Fused inverted bottleneck: a regular k x k expansion, then a 1x1 projection. */
export class FusedMBConv extends EfficientBlock {
  constructor(cnf: MBConvConfig, stochasticDepthProb: number, norm: NormFactory) {
    super(cnf, stochasticDepthProb);
    const cin = cnf.inputChannels;
    const expanded = makeDivisible(cin * cnf.expandRatio, 8);
    const spatial = { kernelSize: cnf.kernel, stride: cnf.stride, norm, activation: silu };
    if (expanded !== cin) {
      this.block.append(new Conv2dNormActivation(cin, expanded, spatial));
      this.block.append(new Conv2dNormActivation(expanded, cnf.outChannels, { kernelSize: 1, norm, activation: null }));
    } else {
      this.block.append(new Conv2dNormActivation(cin, cnf.outChannels, spatial));
    }
  }
}
