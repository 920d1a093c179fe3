/**
 * Conv2dNormActivation: the convolution, normalisation, activation triple of the
 * mobile networks, as one Sequential so that its state-dict keys are '0.weight'
 * (conv), '1.weight', '1.running_mean', ... (norm), as torchvision's.
 *
 * The padding defaults to (kernel - 1) / 2 · dilation, which keeps the size at stride 1
 * and halves it (rounding up) at stride 2; the convolution has a bias only without a norm.
 */
import { BatchNorm2d, Conv2d, ReLU, Sequential, type BatchNormLayerOptions, type Module } from '../../nn/index.js';

/** Builds the norm layer for a number of channels (e.g. batch norm with eps 1e-3). */
export type NormFactory = (channels: number) => Module;
/** Builds an activation module. */
export type ActivationFactory = () => Module;

export interface Conv2dNormActivationOptions {
  kernelSize?: number;
  stride?: number;
  /** default (kernelSize - 1) / 2 · dilation */
  padding?: number;
  groups?: number;
  dilation?: number;
  /** default BatchNorm2d with PyTorch's eps and momentum; null for none */
  norm?: NormFactory | null;
  /** default ReLU; null for none */
  activation?: ActivationFactory | null;
  /** default: a bias only when there is no norm (a norm's shift makes it redundant) */
  bias?: boolean;
}

/** A BatchNorm2d factory with `options` (eps, momentum); PyTorch's defaults without them. */
export const batchNorm2d =
  (options: BatchNormLayerOptions = {}): NormFactory =>
  (channels) =>
    new BatchNorm2d(channels, options);

const batchNorm = batchNorm2d();

export class Conv2dNormActivation extends Sequential {
  readonly outChannels: number;

  constructor(inChannels: number, outChannels: number, options: Conv2dNormActivationOptions = {}) {
    const { kernelSize = 3, stride = 1, groups = 1, dilation = 1, norm = batchNorm, activation = () => new ReLU() } = options;
    const padding = options.padding ?? Math.floor((kernelSize - 1) / 2) * dilation;
    const layers: Module[] = [new Conv2d(inChannels, outChannels, kernelSize, { stride, padding, groups, dilation, bias: options.bias ?? norm === null })];
    if (norm) layers.push(norm(outChannels));
    if (activation) layers.push(activation());
    super(...layers);
    this.outChannels = outChannels;
  }
}
