/**
 * Pooling layers: MaxPool1d/2d/3d, AvgPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d and
 * AdaptiveMaxPool1d/2d/3d, over the last 1-3 axes of [N, C, ...spatial] (or
 * unbatched [C, ...spatial]). They have no parameters.
 */
import { adaptiveAvgPool, adaptiveMaxPool, avgPool, maxPool } from '../tensor/ops/pool.js';
import type { Tensor } from '../tensor/tensor.js';
import { fmtAxes, perAxis, type PerAxis } from './args.js';
import { Module } from './module.js';

type Dims = 1 | 2 | 3;
type F32 = Tensor<'float32'>;

export interface MaxPoolLayerOptions {
  kernelSize?: PerAxis;
  /** Step of the window (default kernelSize). */
  stride?: PerAxis;
  /** Implicit -∞ added on both sides (default 0; at most half the effective kernel). */
  padding?: PerAxis;
  /** Spacing between window taps (default 1). */
  dilation?: PerAxis;
  /** Round the output size up, so a partial last window counts (default false). */
  ceilMode?: boolean;
}

export interface AvgPoolLayerOptions {
  kernelSize?: PerAxis;
  stride?: PerAxis;
  /** Implicit zeros added on both sides (default 0; at most half the kernel). */
  padding?: PerAxis;
  ceilMode?: boolean;
  /** Divide by the whole window, padding included (default true, as PyTorch), or only by the real elements. */
  countIncludePad?: boolean;
}

/** new MaxPool2d(3, { stride: 2 }) and new MaxPool2d({ kernelSize: 3, stride: 2 }) are the same. */
function merge<O extends { kernelSize?: PerAxis }>(layer: string, first: PerAxis | O, rest: O): O & { kernelSize: PerAxis } {
  const o = typeof first === 'number' || Array.isArray(first) ? { ...rest, kernelSize: first as PerAxis } : { ...(first as O), ...rest };
  if (o.kernelSize === undefined) throw new RangeError(`${layer}: kernelSize is required`);
  return o as O & { kernelSize: PerAxis };
}

/** What max and average pooling share: the window geometry (for summary's receptive fields too). */
export abstract class PoolNd extends Module {
  readonly dims: Dims;
  readonly kernelSize: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly number[];
  readonly dilation: readonly number[];
  readonly ceilMode: boolean;

  protected constructor(dims: Dims, o: { kernelSize: PerAxis; stride?: PerAxis; padding?: PerAxis; dilation?: PerAxis; ceilMode?: boolean }) {
    super();
    const layer = this.constructor.name;
    this.dims = dims;
    this.kernelSize = Object.freeze(perAxis(layer, 'kernelSize', o.kernelSize, dims, 1));
    this.stride = Object.freeze(perAxis(layer, 'stride', o.stride ?? this.kernelSize, dims, 1));
    this.padding = Object.freeze(perAxis(layer, 'padding', o.padding ?? 0, dims, 0));
    this.dilation = Object.freeze(perAxis(layer, 'dilation', o.dilation ?? 1, dims, 1));
    this.ceilMode = o.ceilMode ?? false;
    if (this.padding.some((p, i) => 2 * p > this.dilation[i] * (this.kernelSize[i] - 1) + 1)) {
      throw new RangeError(`${layer}: padding ${fmtAxes(this.padding)} must be at most half the effective kernel size ${fmtAxes(this.kernelSize)}`);
    }
  }

  override extraRepr(): string {
    return (
      `kernelSize=${fmtAxes(this.kernelSize)}, stride=${fmtAxes(this.stride)}, padding=${fmtAxes(this.padding)}, ` +
      `dilation=${fmtAxes(this.dilation)}, ceilMode=${this.ceilMode}`
    );
  }
}

/** y = max over each window (padding is -∞). Out size per axis ⌊(in + 2p - d(k-1) - 1)/s⌋ + 1 (⌈⌉ with ceilMode). */
export abstract class MaxPoolNd extends PoolNd {
  protected constructor(dims: Dims, kernelSize: PerAxis | MaxPoolLayerOptions, options: MaxPoolLayerOptions) {
    super(dims, merge(`MaxPool${dims}d`, kernelSize, options));
  }

  forward(x: Tensor): F32 {
    const { kernelSize, stride, padding, dilation, ceilMode } = this;
    return maxPool(x, this.dims, { kernelSize, stride, padding, dilation, ceilMode });
  }
}

/** y = mean over each window (padding counts as zeros when countIncludePad). Out size as MaxPoolNd (dilation 1). */
export abstract class AvgPoolNd extends PoolNd {
  readonly countIncludePad: boolean;

  protected constructor(dims: Dims, kernelSize: PerAxis | AvgPoolLayerOptions, options: AvgPoolLayerOptions) {
    const o = merge(`AvgPool${dims}d`, kernelSize, options);
    super(dims, { ...o, dilation: 1 });
    this.countIncludePad = o.countIncludePad ?? true;
  }

  forward(x: Tensor): F32 {
    const { kernelSize, stride, padding, ceilMode, countIncludePad } = this;
    return avgPool(x, this.dims, { kernelSize, stride, padding, ceilMode, countIncludePad });
  }

  override extraRepr(): string {
    return (
      `kernelSize=${fmtAxes(this.kernelSize)}, stride=${fmtAxes(this.stride)}, padding=${fmtAxes(this.padding)}, ` +
      `ceilMode=${this.ceilMode}, countIncludePad=${this.countIncludePad}`
    );
  }
}

/** Max pooling: [N, C, L] → [N, C, Lout] (or unbatched). See MaxPoolNd. */
export class MaxPool1d extends MaxPoolNd {
  constructor(kernelSize: PerAxis | MaxPoolLayerOptions, options: MaxPoolLayerOptions = {}) {
    super(1, kernelSize, options);
  }
}

/** Max pooling: [N, C, H, W] → [N, C, Hout, Wout] (or unbatched). See MaxPoolNd. */
export class MaxPool2d extends MaxPoolNd {
  constructor(kernelSize: PerAxis | MaxPoolLayerOptions, options: MaxPoolLayerOptions = {}) {
    super(2, kernelSize, options);
  }
}

/** Max pooling: [N, C, D, H, W] → [N, C, Dout, Hout, Wout] (or unbatched). See MaxPoolNd. */
export class MaxPool3d extends MaxPoolNd {
  constructor(kernelSize: PerAxis | MaxPoolLayerOptions, options: MaxPoolLayerOptions = {}) {
    super(3, kernelSize, options);
  }
}

/** Average pooling: [N, C, L] → [N, C, Lout] (or unbatched). See AvgPoolNd. */
export class AvgPool1d extends AvgPoolNd {
  constructor(kernelSize: PerAxis | AvgPoolLayerOptions, options: AvgPoolLayerOptions = {}) {
    super(1, kernelSize, options);
  }
}

/** Average pooling: [N, C, H, W] → [N, C, Hout, Wout] (or unbatched). See AvgPoolNd. */
export class AvgPool2d extends AvgPoolNd {
  constructor(kernelSize: PerAxis | AvgPoolLayerOptions, options: AvgPoolLayerOptions = {}) {
    super(2, kernelSize, options);
  }
}

/** Average pooling: [N, C, D, H, W] → [N, C, Dout, Hout, Wout] (or unbatched). See AvgPoolNd. */
export class AvgPool3d extends AvgPoolNd {
  constructor(kernelSize: PerAxis | AvgPoolLayerOptions, options: AvgPoolLayerOptions = {}) {
    super(3, kernelSize, options);
  }
}

/** An output size per axis; null keeps that axis's input size (PyTorch's None). */
export type AdaptiveSize = number | readonly (number | null)[];

/**
 * Pooling to a fixed output size whatever the input size: output cell i of an axis
 * of length n → out covers [⌊i·n/out⌋, ⌈(i+1)·n/out⌉). outputSize 1 is global pooling.
 */
export abstract class AdaptivePoolNd extends Module {
  readonly dims: Dims;
  readonly outputSize: readonly (number | null)[];

  protected constructor(dims: Dims, outputSize: AdaptiveSize) {
    super();
    this.dims = dims;
    const list = typeof outputSize === 'number' ? new Array<number>(dims).fill(outputSize) : Array.isArray(outputSize) ? [...outputSize] : [];
    if (list.length !== dims || list.some((v) => v !== null && !(Number.isInteger(v) && v >= 1))) {
      throw new RangeError(
        `${this.constructor.name}: outputSize must be an integer >= 1 or a list of ${dims} (integers or null), got ${JSON.stringify(outputSize)}`,
      );
    }
    this.outputSize = Object.freeze(list);
  }

  /** The output size for input x, nulls replaced by x's sizes. */
  outputSizeFor(x: Tensor): number[] {
    const spatial = x.shape.slice(x.ndim - this.dims);
    return this.outputSize.map((v, i) => v ?? spatial[i]);
  }

  override extraRepr(): string {
    return `outputSize=[${this.outputSize.map((v) => (v === null ? 'null' : v)).join(', ')}]`;
  }
}

/** Mean over each adaptive window. See AdaptivePoolNd. */
export abstract class AdaptiveAvgPoolNd extends AdaptivePoolNd {
  forward(x: Tensor): F32 {
    return adaptiveAvgPool(x, this.dims, this.outputSizeFor(x));
  }
}

/** Max over each adaptive window. See AdaptivePoolNd. */
export abstract class AdaptiveMaxPoolNd extends AdaptivePoolNd {
  forward(x: Tensor): F32 {
    return adaptiveMaxPool(x, this.dims, this.outputSizeFor(x));
  }
}

/** Adaptive average pooling: [N, C, L] → [N, C, ...outputSize] (or unbatched). See AdaptivePoolNd. */
export class AdaptiveAvgPool1d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(1, outputSize);
  }
}

/** Adaptive average pooling: [N, C, H, W] → [N, C, ...outputSize] (or unbatched). See AdaptivePoolNd. */
export class AdaptiveAvgPool2d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(2, outputSize);
  }
}

/** Adaptive average pooling: [N, C, D, H, W] → [N, C, ...outputSize] (or unbatched). See AdaptivePoolNd. */
export class AdaptiveAvgPool3d extends AdaptiveAvgPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(3, outputSize);
  }
}

/** Adaptive max pooling: [N, C, L] → [N, C, ...outputSize] (or unbatched). See AdaptivePoolNd. */
export class AdaptiveMaxPool1d extends AdaptiveMaxPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(1, outputSize);
  }
}

/** Adaptive max pooling: [N, C, H, W] → [N, C, ...outputSize] (or unbatched). See AdaptivePoolNd. */
export class AdaptiveMaxPool2d extends AdaptiveMaxPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(2, outputSize);
  }
}

/** Adaptive max pooling: [N, C, D, H, W] → [N, C, ...outputSize] (or unbatched). See AdaptivePoolNd. */
export class AdaptiveMaxPool3d extends AdaptiveMaxPoolNd {
  constructor(outputSize: AdaptiveSize) {
    super(3, outputSize);
  }
}
