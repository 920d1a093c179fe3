/**
 * Convolution layers: Conv1d, Conv2d, Conv3d and the transposed ConvTranspose1d,
 * ConvTranspose2d, ConvTranspose3d. Each holds `weight` and `bias` under PyTorch's
 * names, initialised as PyTorch does, and calls the tensor ops conv / convTranspose.
 */
import type { Activation } from '../backend/index.js';
import { isGradEnabled, isTracing } from '../tensor/autograd.js';
import { fmtShape, ShapeError } from '../tensor/errors.js';
import { conv, convTranspose, type WinogradWeights } from '../tensor/ops/conv.js';
import { empty, type Tensor } from '../tensor/tensor.js';
import { checkInt, fmtAxes, perAxis, type PerAxis } from './args.js';
import { markActivationApplied } from './epilogue.js';
import * as init from './init.js';
import { Module, Parameter } from './module.js';

export interface ConvLayerOptions {
  /** Step of the window per axis (default 1). */
  stride?: PerAxis;
  /** Zeros added on both sides per axis (default 0); 'valid' is 0; 'same' keeps the size (stride 1 only; an odd total pads one more at the end, as PyTorch). */
  padding?: PerAxis | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: PerAxis;
  /** Split channels into this many independent convolutions (default 1; groups = inChannels is depthwise). */
  groups?: number;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
}

export interface ConvTransposeLayerOptions {
  stride?: PerAxis;
  /** Rows removed from each side of the output: the padding of the convolution this one transposes (default 0). */
  padding?: PerAxis;
  /** Extra size added at the end of each axis, smaller than stride or dilation (default 0). */
  outputPadding?: PerAxis;
  dilation?: PerAxis;
  groups?: number;
  bias?: boolean;
}

const AXES: Record<number, string> = { 1: 'L', 2: 'H, W', 3: 'D, H, W' };

/**
 * What convolutions and transposed convolutions share: the geometry, `weight` and
 * `bias`, PyTorch's initialisation, and the check of the input's rank and channels.
 */
export abstract class ConvBase extends Module {
  /** Number of spatial axes (1, 2 or 3). */
  readonly dims: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: readonly number[];
  readonly stride: readonly number[];
  readonly dilation: readonly number[];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  protected constructor(
    dims: number,
    inChannels: number,
    outChannels: number,
    kernelSize: PerAxis,
    weightShape: (kernel: number[]) => number[],
    { stride = 1, dilation = 1, groups = 1, bias = true }: { stride?: PerAxis; dilation?: PerAxis; groups?: number; bias?: boolean },
  ) {
    super();
    const layer = this.constructor.name;
    checkInt(layer, 'inChannels', inChannels, 1);
    checkInt(layer, 'outChannels', outChannels, 1);
    checkInt(layer, 'groups', groups, 1);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new RangeError(`${layer}: inChannels (${inChannels}) and outChannels (${outChannels}) must both be divisible by groups (${groups})`);
    }
    this.dims = dims;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = Object.freeze(perAxis(layer, 'kernelSize', kernelSize, dims, 1));
    this.stride = Object.freeze(perAxis(layer, 'stride', stride, dims, 1));
    this.dilation = Object.freeze(perAxis(layer, 'dilation', dilation, dims, 1));
    this.groups = groups;
    this.weight = new Parameter(empty(weightShape([...this.kernelSize])));
    this.bias = bias ? new Parameter(empty([outChannels])) : null;
    this.resetParameters();
  }

  /**
   * PyTorch's default: weight ~ kaimingUniform(a = √5), which is U(±1/√fanIn), and
   * bias ~ U(±1/√fanIn), where fanIn = weight.shape[1]·∏kernel (inChannels/groups·∏k
   * for a convolution, outChannels/groups·∏k for a transposed one, as PyTorch computes it).
   */
  resetParameters(): void {
    init.kaimingUniform(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform(this.bias, { a: -bound, b: bound });
    }
  }

  /** Throws naming the layer unless x is [N, inChannels, ...spatial] or unbatched [inChannels, ...spatial]. */
  protected checkInput(x: Tensor): void {
    const c = this.inChannels;
    const ok = (x.ndim === this.dims + 2 && x.shape[1] === c) || (x.ndim === this.dims + 1 && x.shape[0] === c);
    if (!ok) {
      throw new ShapeError(
        `${this.constructor.name}(${c}, ${this.outChannels}): expected an input [N, ${c}, ${AXES[this.dims]}] ` +
          `(or unbatched [${c}, ${AXES[this.dims]}]), got shape ${fmtShape(x.shape)}`,
      );
    }
  }

  protected reprParts(): string[] {
    const parts = [`${this.inChannels}, ${this.outChannels}, kernelSize=${fmtAxes(this.kernelSize)}, stride=${fmtAxes(this.stride)}`];
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=${fmtAxes(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (!this.bias) parts.push('bias=false');
    return parts;
  }
}

/** A convolution's inference form: weights and bias with a following batch norm folded in, and an activation for the epilogue. */
export interface InferenceConv {
  weight: Tensor;
  bias: Tensor | null;
  activation?: Activation;
  /** the weight in the Winograd domain, for 3x3 stride-1 layers (see ConvOptions.winograd) */
  winograd?: WinogradWeights;
}

/**
 * y[n, o] = b[o] + Σ_c Σ_k w[o, c, k]·x[n, g·Cin/G + c, s·i + d·k - p] (cross-correlation, as PyTorch).
 * x: [N, inChannels, ...spatial] (or unbatched) → [N, outChannels, ...out], out = ⌊(in + 2p - d(k-1) - 1)/s⌋ + 1;
 * weight [outChannels, inChannels/groups, ...kernelSize], bias [outChannels].
 */
export abstract class ConvNd extends ConvBase {
  readonly padding: readonly number[] | 'same' | 'valid';
  /** what evaluation without the tape runs instead (fuseForInference): folded weights and an epilogue activation */
  #inference: InferenceConv | null = null;

  protected constructor(dims: number, inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvLayerOptions) {
    super(dims, inChannels, outChannels, kernelSize, (k) => [outChannels, inChannels / (options.groups ?? 1), ...k], options);
    const { padding = 0 } = options;
    if (padding === 'same' || padding === 'valid') {
      if (padding === 'same' && this.stride.some((s) => s !== 1)) {
        throw new RangeError(`${this.constructor.name}: padding 'same' needs stride 1, got stride ${fmtAxes(this.stride)}`);
      }
      this.padding = padding;
    } else {
      this.padding = Object.freeze(perAxis(this.constructor.name, 'padding', padding, dims, 0));
    }
  }

  forward(x: Tensor): Tensor<'float32'> {
    this.checkInput(x);
    const options = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    const f = this.#inference;
    if (f && !this.training && !isGradEnabled() && !isTracing()) {
      const y = conv(x, f.weight, f.bias, { ...options, activation: f.activation, winograd: f.winograd });
      if (f.activation) markActivationApplied(y, f.activation);
      return y;
    }
    return conv(x, this.weight, this.bias, options);
  }

  /** The inference replacement set by fuseForInference (null: none). */
  get inferenceConv(): InferenceConv | null {
    return this.#inference;
  }

  /** Sets (or with null clears) what evaluation without the tape runs instead of this layer's own weights; see fuseForInference. */
  setInferenceConv(f: InferenceConv | null): void {
    this.#inference = f;
  }

  override extraRepr(): string {
    const parts = this.reprParts();
    const p = this.padding;
    if (typeof p === 'string') parts.splice(1, 0, `padding='${p}'`);
    else if (p.some((v) => v !== 0)) parts.splice(1, 0, `padding=${fmtAxes(p)}`);
    return parts.join(', ');
  }
}

/** 1-D convolution: [N, Cin, L] → [N, Cout, Lout]. See ConvNd. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

/** 2-D convolution: [N, Cin, H, W] → [N, Cout, Hout, Wout]. See ConvNd. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** 3-D convolution: [N, Cin, D, H, W] → [N, Cout, Dout, Hout, Wout]. See ConvNd. */
export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
}

/**
 * Transposed convolution (the gradient of a convolution with respect to its input):
 * x: [N, inChannels, ...in] (or unbatched) → [N, outChannels, ...out] with
 * out = (in - 1)·s - 2p + d(k - 1) + outputPadding + 1; weight [inChannels, outChannels/groups, ...kernelSize],
 * bias [outChannels]. forward(x, outputSize) picks the outputPadding that gives outputSize, as PyTorch.
 */
export abstract class ConvTransposeNd extends ConvBase {
  readonly padding: readonly number[];
  readonly outputPadding: readonly number[];

  protected constructor(dims: number, inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvTransposeLayerOptions) {
    super(dims, inChannels, outChannels, kernelSize, (k) => [inChannels, outChannels / (options.groups ?? 1), ...k], options);
    const layer = this.constructor.name;
    this.padding = Object.freeze(perAxis(layer, 'padding', options.padding ?? 0, dims, 0));
    this.outputPadding = Object.freeze(perAxis(layer, 'outputPadding', options.outputPadding ?? 0, dims, 0));
    if (this.outputPadding.some((q, i) => q >= this.stride[i] && q >= this.dilation[i])) {
      throw new RangeError(`${layer}: outputPadding ${fmtAxes(this.outputPadding)} must be smaller than stride or dilation`);
    }
  }

  /**
   * The outputPadding that makes the output's spatial size `outputSize` (its last
   * `dims` entries are used, so a full shape works too), as PyTorch's _output_padding.
   */
  outputPaddingFor(x: Tensor, outputSize: readonly number[]): number[] {
    const size = outputSize.slice(outputSize.length - this.dims);
    const inSize = x.shape.slice(x.ndim - this.dims);
    if (size.length !== this.dims) {
      throw new RangeError(`${this.constructor.name}: outputSize ${fmtAxes(outputSize)} must give ${this.dims} spatial sizes`);
    }
    return size.map((want, i) => {
      const min = (inSize[i] - 1) * this.stride[i] - 2 * this.padding[i] + this.dilation[i] * (this.kernelSize[i] - 1) + 1;
      const max = min + this.stride[i] - 1;
      if (!(want >= min && want <= max)) {
        throw new RangeError(
          `${this.constructor.name}: requested output size ${fmtAxes(size)} is not between ${min} and ${max} on axis ${i} for input shape ${fmtShape(x.shape)}`,
        );
      }
      return want - min;
    });
  }

  forward(x: Tensor, outputSize?: readonly number[]): Tensor<'float32'> {
    this.checkInput(x);
    const outputPadding = outputSize ? this.outputPaddingFor(x, outputSize) : this.outputPadding;
    return convTranspose(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      outputPadding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    const parts = this.reprParts();
    if (this.outputPadding.some((v) => v !== 0)) parts.splice(1, 0, `outputPadding=${fmtAxes(this.outputPadding)}`);
    if (this.padding.some((v) => v !== 0)) parts.splice(1, 0, `padding=${fmtAxes(this.padding)}`);
    return parts.join(', ');
  }
}

/** 1-D transposed convolution: [N, Cin, L] → [N, Cout, Lout]. See ConvTransposeNd. */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvTransposeLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

/** 2-D transposed convolution: [N, Cin, H, W] → [N, Cout, Hout, Wout]. See ConvTransposeNd. */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvTransposeLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** 3-D transposed convolution: [N, Cin, D, H, W] → [N, Cout, Dout, Hout, Wout]. See ConvTransposeNd. */
export class ConvTranspose3d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: PerAxis, options: ConvTransposeLayerOptions = {}) {
    super(3, inChannels, outChannels, kernelSize, options);
  }
}
