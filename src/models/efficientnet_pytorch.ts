/**
 * EfficientNet-B0…B8 as the efficientnet_pytorch package builds them, so its weights files
 * (efficientnet-b0-355c32eb.pth, adv-efficientnet-b0-b64d5a18.pth, …) load with their own
 * state-dict keys and the forward is the package's (EfficientNet.from_name / from_pretrained).
 *
 * The same compound-scaled MBConv networks as torchvision's EfficientNet-B*, in another
 * module tree and with TensorFlow's conventions:
 *
 *   _conv_stem 3x3/2, _bn0, swish                                                 stride 2
 *   _blocks.N  MBConv: [_expand_conv 1x1, _bn0, swish] (when the expansion is not 1),
 *              _depthwise_conv kxk/s, _bn1, swish, squeeze-and-excitation
 *              (mean, _se_reduce 1x1, swish, _se_expand 1x1, sigmoid, times),
 *              _project_conv 1x1, _bn2, and the input added back (with drop connect)
 *              when the stride is 1 and the channels stay                     stride 32
 *   _conv_head 1x1, _bn1, swish, global average pooling, dropout, _fc
 *
 * B0's seven stages (STAGES) scaled per variant: channels by the width coefficient to a
 * multiple of 8, repeats by the depth coefficient, rounded up. Batch norm eps 1e-3 and
 * momentum 0.01 (TensorFlow's decay 0.99). Swish is SiLU. Drop connect on block i of n:
 * rate · i / n, training only. Convolutions pad as TensorFlow's "same": ceil(size / stride)
 * outputs, an odd total padding one more at the end (SamePaddingConv2d). As the package, the
 * padding is fixed for the variant's resolution unless config.imageSize is null (then it is
 * computed from each input); the two agree on every input whose size halves with the same
 * parities as the resolution's (for B0 at 224: every multiple of 32).
 */
import { SiLU } from '../nn/activation.js';
import { BatchNorm2d } from '../nn/batchnorm.js';
import { ModuleList } from '../nn/containers.js';
import { Conv2d } from '../nn/conv.js';
import { Dropout } from '../nn/dropout.js';
import { stochasticDepth } from '../nn/functional.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d } from '../nn/pooling.js';
import { conv } from '../tensor/ops/conv.js';
import { pad } from '../tensor/ops/movement.js';
import type { Tensor } from '../tensor/tensor.js';
import '../tensor/methods.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from './classifier.js';
import type { ModelDefinition } from './registry.js';

/** Width and depth coefficients, resolution and dropout of each variant (the package's efficientnet_params). */
export const EFFICIENTNET_PYTORCH_VARIANTS = {
  'efficientnet-b0': { width: 1.0, depth: 1.0, resolution: 224, dropout: 0.2 },
  'efficientnet-b1': { width: 1.0, depth: 1.1, resolution: 240, dropout: 0.2 },
  'efficientnet-b2': { width: 1.1, depth: 1.2, resolution: 260, dropout: 0.3 },
  'efficientnet-b3': { width: 1.2, depth: 1.4, resolution: 300, dropout: 0.3 },
  'efficientnet-b4': { width: 1.4, depth: 1.8, resolution: 380, dropout: 0.4 },
  'efficientnet-b5': { width: 1.6, depth: 2.2, resolution: 456, dropout: 0.4 },
  'efficientnet-b6': { width: 1.8, depth: 2.6, resolution: 528, dropout: 0.5 },
  'efficientnet-b7': { width: 2.0, depth: 3.1, resolution: 600, dropout: 0.5 },
  'efficientnet-b8': { width: 2.2, depth: 3.6, resolution: 672, dropout: 0.5 },
} as const;

export type EfficientNetPyTorchName = keyof typeof EFFICIENTNET_PYTORCH_VARIANTS;

/** B0's stages: repeats, kernel, stride, expansion, input and output channels (squeeze ratio 0.25, skip on every stage). */
const STAGES: readonly (readonly [number, number, number, number, number, number])[] = [
  [1, 3, 1, 1, 32, 16],
  [2, 3, 2, 6, 16, 24],
  [2, 5, 2, 6, 24, 40],
  [3, 3, 2, 6, 40, 80],
  [3, 5, 1, 6, 80, 112],
  [4, 5, 2, 6, 112, 192],
  [1, 3, 1, 6, 192, 320],
];
const SE_RATIO = 0.25;
const BN = { eps: 1e-3, momentum: 1 - 0.99 };

export interface EfficientNetPyTorchConfig {
  /** outputs of _fc (default 1000) */
  numClasses?: number;
  inChannels?: number;
  /** dropout before _fc (default: the variant's, 0.2 to 0.5) */
  dropout?: number;
  /** the drop connect rate of the last block; block i of n drops with rate · i / n in training (default 0.2) */
  dropConnectRate?: number;
  /**
   * the square input size the "same" padding is fixed for, as the package's image_size (default:
   * the variant's resolution); null computes it from each input (the package with image_size=None)
   */
  imageSize?: number | null;
}

/** Channels times the width coefficient, to a multiple of 8 and never more than 10% below. */
export function scaleFilters(filters: number, width: number): number {
  const f = filters * width;
  const out = Math.max(8, Math.floor(Math.trunc(f + 4) / 8) * 8);
  return out < 0.9 * f ? out + 8 : out;
}

/** [before, after] zeros along one axis so a k-wide window with stride s gives ceil(size / s) outputs. */
export function samePadding(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

const shrink = (size: number | null, stride: number): number | null => (size === null ? null : Math.ceil(size / stride));

/**
 * Conv2d with TensorFlow's "same" padding: ceil(H / stride) x ceil(W / stride) outputs, the
 * padding's odd pixel at the bottom and right. The padding is fixed for an input of
 * `imageSize` x `imageSize` when given (whatever the input's size), else computed per input.
 */
export class SamePaddingConv2d extends Conv2d {
  readonly imageSize: number | null;
  readonly #fixed: readonly number[] | null;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    options: { stride?: number; groups?: number; bias?: boolean; imageSize?: number | null } = {},
  ) {
    const { imageSize = null, ...conv2d } = options;
    super(inChannels, outChannels, kernelSize, conv2d);
    if (imageSize !== null && !(Number.isInteger(imageSize) && imageSize > 0)) {
      throw new RangeError(`SamePaddingConv2d: imageSize must be a positive integer or null, got ${imageSize}`);
    }
    this.imageSize = imageSize;
    this.#fixed = imageSize === null ? null : this.#pads(imageSize, imageSize);
  }

  /** [left, right, top, bottom], the order of pad(). */
  #pads(h: number, w: number): number[] {
    return [...samePadding(w, this.kernelSize[1], this.stride[1], this.dilation[1]), ...samePadding(h, this.kernelSize[0], this.stride[0], this.dilation[0])];
  }

  override forward(x: Tensor): Tensor<'float32'> {
    this.checkInput(x);
    const [left, right, top, bottom] = this.#fixed ?? this.#pads(x.shape[x.ndim - 2], x.shape[x.ndim - 1]);
    const options = { stride: this.stride, dilation: this.dilation, groups: this.groups };
    // symmetric padding is the convolution's own; only an odd total needs the copy
    if (left === right && top === bottom) return conv(x, this.weight, this.bias, { ...options, padding: [top, left] });
    return conv(pad(x, [left, right, top, bottom]), this.weight, this.bias, { ...options, padding: 0 });
  }

  override extraRepr(): string {
    return `${this.reprParts().join(', ')}, padding='same'${this.imageSize === null ? '' : ` for ${this.imageSize}x${this.imageSize}`}`;
  }
}

interface BlockArgs {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  expand: number;
  /** the input size the padding is fixed for, or null */
  imageSize: number | null;
  dropConnect: number;
}

/** The inverted residual bottleneck with squeeze-and-excitation, under the package's names. */
export class MBConvBlock extends Module {
  // null without expansion (no keys), declared first so the keys keep the package's order
  _expand_conv: SamePaddingConv2d | null = null;
  _bn0: BatchNorm2d | null = null;
  _depthwise_conv: SamePaddingConv2d;
  _bn1: BatchNorm2d;
  _se_reduce: SamePaddingConv2d;
  _se_expand: SamePaddingConv2d;
  _project_conv: SamePaddingConv2d;
  _bn2: BatchNorm2d;
  _swish = new SiLU();
  readonly skip: boolean;
  readonly dropConnect: number;

  constructor({ inChannels, outChannels, kernel, stride, expand, imageSize, dropConnect }: BlockArgs) {
    super();
    const mid = inChannels * expand;
    if (expand !== 1) {
      this._expand_conv = new SamePaddingConv2d(inChannels, mid, 1, { bias: false, imageSize });
      this._bn0 = new BatchNorm2d(mid, BN);
    }
    const squeezed = Math.max(1, Math.trunc(inChannels * SE_RATIO));
    this._depthwise_conv = new SamePaddingConv2d(mid, mid, kernel, { stride, groups: mid, bias: false, imageSize });
    this._bn1 = new BatchNorm2d(mid, BN);
    this._se_reduce = new SamePaddingConv2d(mid, squeezed, 1, { imageSize: 1 });
    this._se_expand = new SamePaddingConv2d(squeezed, mid, 1, { imageSize: 1 });
    this._project_conv = new SamePaddingConv2d(mid, outChannels, 1, { bias: false, imageSize: shrink(imageSize, stride) });
    this._bn2 = new BatchNorm2d(outChannels, BN);
    this.skip = stride === 1 && inChannels === outChannels;
    this.dropConnect = dropConnect;
  }

  forward(inputs: Tensor): Tensor {
    let x = inputs;
    if (this._expand_conv && this._bn0) x = this._swish.call(this._bn0.call(this._expand_conv.call(x)));
    x = this._swish.call(this._bn1.call(this._depthwise_conv.call(x)));
    const s = this._se_expand.call(this._swish.call(this._se_reduce.call(x.mean([2, 3], { keepdim: true }))));
    x = this._bn2.call(this._project_conv.call(s.sigmoid().mul(x)));
    if (!this.skip) return x;
    return stochasticDepth(x, this.dropConnect, 'row', this.training).add(inputs);
  }
}

/** One block's arguments per row, with the input size each one's padding is fixed for. */
function blockTable(width: number, depth: number, imageSize: number | null, dropConnectRate: number): BlockArgs[] {
  const rows: Omit<BlockArgs, 'dropConnect'>[] = [];
  let size = imageSize;
  for (const [repeats, kernel, stride, expand, cin, cout] of STAGES) {
    const [inC, outC] = [scaleFilters(cin, width), scaleFilters(cout, width)];
    for (let i = 0; i < Math.ceil(depth * repeats); i++) {
      rows.push({ inChannels: i === 0 ? inC : outC, outChannels: outC, kernel, stride: i === 0 ? stride : 1, expand, imageSize: size });
      if (i === 0) size = shrink(size, stride);
    }
  }
  return rows.map((r, i) => ({ ...r, dropConnect: (dropConnectRate * i) / rows.length }));
}

/** The blocks that end a stride level (the last before a stride-2 block, and the last one), as featureInfo. */
function stages(rows: BlockArgs[]): FeatureInfo[] {
  const info: FeatureInfo[] = [];
  let reduction = 2;
  rows.forEach((r, i) => {
    reduction *= r.stride;
    if (i === rows.length - 1 || rows[i + 1].stride !== 1) info.push({ module: `_blocks.${i}`, channels: r.outChannels, reduction });
  });
  return info;
}

function checkConfig(name: string, { dropout, dropConnectRate, imageSize }: EfficientNetPyTorchConfig): void {
  if (dropout !== undefined && !(dropout >= 0 && dropout <= 1)) throw new RangeError(`${name}: dropout must be in [0, 1], got ${dropout}`);
  if (dropConnectRate !== undefined && !(dropConnectRate >= 0 && dropConnectRate < 1)) {
    throw new RangeError(`${name}: dropConnectRate must be in [0, 1), got ${dropConnectRate}`);
  }
  if (imageSize !== undefined && imageSize !== null && !(Number.isInteger(imageSize) && imageSize > 0)) {
    throw new RangeError(`${name}: imageSize must be a positive integer or null, got ${imageSize}`);
  }
}

export class EfficientNetPyTorch extends Module implements ImageClassifier {
  _conv_stem: SamePaddingConv2d;
  _bn0: BatchNorm2d;
  _blocks: ModuleList<MBConvBlock>;
  _conv_head: SamePaddingConv2d;
  _bn1: BatchNorm2d;
  _avg_pooling = new AdaptiveAvgPool2d(1);
  _dropout: Dropout;
  _fc: Linear | Identity;
  _swish = new SiLU();
  readonly variant: EfficientNetPyTorchName;
  readonly firstConv = '_conv_stem';
  readonly classifier = '_fc';
  readonly numFeatures: number;
  readonly featureInfo: readonly FeatureInfo[];

  constructor(variant: EfficientNetPyTorchName, config: EfficientNetPyTorchConfig = {}) {
    super();
    const v = EFFICIENTNET_PYTORCH_VARIANTS[variant];
    if (!v) throw new RangeError(`efficientnet_pytorch: no variant "${variant}"; known: ${Object.keys(EFFICIENTNET_PYTORCH_VARIANTS).join(', ')}`);
    checkConfig(variant, config);
    const { numClasses = 1000, inChannels = 3, dropout = v.dropout, dropConnectRate = 0.2, imageSize = v.resolution } = config;
    this.variant = variant;
    const stem = scaleFilters(32, v.width);
    this._conv_stem = new SamePaddingConv2d(inChannels, stem, 3, { stride: 2, bias: false, imageSize });
    this._bn0 = new BatchNorm2d(stem, BN);
    const rows = blockTable(v.width, v.depth, shrink(imageSize, 2), dropConnectRate);
    this._blocks = new ModuleList(rows.map((r) => new MBConvBlock(r)));
    const last = rows[rows.length - 1];
    this.numFeatures = scaleFilters(1280, v.width);
    this._conv_head = new SamePaddingConv2d(last.outChannels, this.numFeatures, 1, { bias: false, imageSize: shrink(last.imageSize, last.stride) });
    this._bn1 = new BatchNorm2d(this.numFeatures, BN);
    this._dropout = new Dropout(dropout);
    this._fc = classifierLayer(this.numFeatures, numClasses);
    this.featureInfo = stages(rows);
  }

  get numClasses(): number {
    return this._fc instanceof Linear ? this._fc.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this._fc = classifierLayer(this.numFeatures, numClasses);
  }

  /** The package's extract_features: the head convolution's activations [N, numFeatures, H, W]. */
  forwardFeatures(x: Tensor): Tensor {
    let y: Tensor = this._swish.call(this._bn0.call(this._conv_stem.call(x)));
    for (const block of this._blocks) y = block.call(y);
    return this._swish.call(this._bn1.call(this._conv_head.call(y)));
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    const pooled = this._dropout.call(this._avg_pooling.call(features).flatten(1));
    return preLogits ? pooled : this._fc.call(pooled);
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }
}

/** The efficientnet_pytorch variant `name` (efficientnet-b0 … efficientnet-b8) with `config`'s options. */
export function efficientnetPyTorch(name: EfficientNetPyTorchName, config: EfficientNetPyTorchConfig = {}): EfficientNetPyTorch {
  return new EfficientNetPyTorch(name, config);
}

export const EFFICIENTNET_PYTORCH_MODELS: ModelDefinition[] = (Object.keys(EFFICIENTNET_PYTORCH_VARIANTS) as EfficientNetPyTorchName[]).map((name) => ({
  name,
  builder: (c: EfficientNetPyTorchConfig) => efficientnetPyTorch(name, c),
  description: `EfficientNet-${name.slice(-2).toUpperCase()} in the efficientnet_pytorch package's layout (TensorFlow "same" padding, its weights files)`,
  imageSize: EFFICIENTNET_PYTORCH_VARIANTS[name].resolution,
  configFor: ({ channels, numClasses }) => ({ numClasses, inChannels: channels }),
}));
