/**
 * Convolution over 1 to 3 spatial dimensions, and its transpose, with stride,
 * padding (numbers, per axis, 'same', 'valid'), dilation and groups. Forward and
 * both gradients are three backend primitives (see ConvGeometry); a transposed
 * convolution is the same three with the roles of input and output swapped.
 */
import { backend, type Activation, type ConvGeometry } from '../../backend/index.js';
import { isGradEnabled, isTracing, record } from '../autograd.js';
import { fmtShape, ShapeError } from '../errors.js';
import { convOutputSize, perAxis, type PerAxis } from '../shape.js';
import { Tensor } from '../tensor.js';
import { add, applyActivation } from './elementwise.js';
import { pad, reshape, squeeze, unsqueeze } from './movement.js';
import { expectFloat, newFloat, type F32 } from './util.js';

export interface ConvOptions {
  stride?: PerAxis;
  /** Zero padding per side; 'valid' is 0, 'same' keeps the size (stride 1 only; odd totals pad one more on the right, as PyTorch). */
  padding?: PerAxis | 'same' | 'valid';
  dilation?: PerAxis;
  groups?: number;
  /**
   * An activation applied to the output (after the bias) in the kernel's epilogue, while each output row is
   * in cache: the inference path's fused conv-activation. With the tape recording it runs as a separate op.
   */
  activation?: Activation;
  /**
   * The weight in the Winograd domain (new WinogradWeights(weight)): with the tape off, a 2-D 3x3 stride-1
   * undilated ungrouped convolution with at least WINOGRAD_MIN_TILES tiles of 4x4 outputs per image runs as
   * F(4x4, 3x3), a quarter of the multiplies; results differ from the direct method's in the last digits.
   * The inference form of a network (fuseForInference) passes it.
   */
  winograd?: WinogradWeights;
}

/**
 * Fewer 4x4 output tiles per image than this make F(4x4, 3x3)'s 36 GEMMs too thin to repay its transforms (a
 * 14x14 output has 16 and gains, 7x7 has 4 and loses). Counted per image, not per batch, so that a picture's
 * result does not depend on the batch it arrives in.
 */
export const WINOGRAD_MIN_TILES = 16;

/**
 * A 3x3 filter bank [cOut, cIn, 3, 3] in the Winograd F(4x4, 3x3) domain ([36, cOut, cIn], four times the
 * weight's size), computed on first use, for ConvOptions.winograd. A snapshot: make a new one after
 * changing the weight.
 */
export class WinogradWeights {
  #u: F32 | null = null;
  constructor(readonly weight: Tensor) {}

  /** The transformed weights, or null where the backend has no Winograd kernels or the weight is not [cOut, cIn, 3, 3]. */
  get transformed(): F32 | null {
    const [cOut, cIn, kh, kw] = this.weight.shape;
    const b = backend();
    if (this.weight.ndim !== 4 || kh !== 3 || kw !== 3 || !b.winogradWeights || this.weight.dtype !== 'float32') return null;
    if (!this.#u) {
      this.#u = newFloat([36, cOut, cIn]);
      b.winogradWeights(cOut, cIn, this.weight.data as Float32Array, this.#u.data);
    }
    return this.#u;
  }
}

/** Whether g runs as Winograd F(4x4, 3x3) from `wino` (see ConvOptions.winograd). */
function winogradFor(g: ConvGeometry, w: F32, wino: WinogradWeights | undefined): F32 | null {
  if (!wino || g.kernel.length !== 2 || g.groups !== 1 || !backend().convForwardWinograd) return null;
  if (g.kernel.some((k) => k !== 3) || g.stride.some((s) => s !== 1) || g.dilation.some((d) => d !== 1)) return null;
  if (Math.ceil(g.outSize[0] / 4) * Math.ceil(g.outSize[1] / 4) < WINOGRAD_MIN_TILES) return null;
  if (wino.weight !== w) throw new RangeError('conv2d: options.winograd was made from another weight than the one given');
  return wino.transformed;
}

export interface ConvTransposeOptions {
  stride?: PerAxis;
  padding?: PerAxis;
  /** Extra size added to one side of the output (less than stride or dilation). */
  outputPadding?: PerAxis;
  dilation?: PerAxis;
  groups?: number;
}

/** Accepts an unbatched input ([C, ...spatial]) as PyTorch does, by adding a batch of one. */
function batched(op: string, x: Tensor, dims: number): [Tensor, boolean] {
  if (x.ndim === dims + 1) return [unsqueeze(x, 0), true];
  if (x.ndim !== dims + 2) {
    throw new ShapeError(`${op}: expected a ${dims + 2}-D input [N, C, ...] (or ${dims + 1}-D unbatched), got shape ${fmtShape(x.shape)}`);
  }
  return [x, false];
}

/** The bias as a float32 [channels] tensor, or null; a ShapeError naming the op otherwise. */
function checkedBias(op: string, bias: Tensor | null | undefined, channels: number): F32 | null {
  if (!bias) return null;
  expectFloat(op, bias);
  if (bias.ndim !== 1 || bias.shape[0] !== channels) {
    throw new ShapeError(`${op}: bias shape ${fmtShape(bias.shape)} does not match ${channels} output channels`);
  }
  return bias as F32;
}

function addBias(op: string, y: F32, bias: Tensor | null | undefined, channels: number): F32 {
  const b = checkedBias(op, bias, channels);
  return b ? add(y, reshape(b, [channels, ...new Array<number>(y.ndim - 2).fill(1)])) : y;
}

/** conv(x, w) + bias in one kernel call (the bias is added while each image's output is in cache). */
function convCore(g: ConvGeometry, x: F32, w: F32, bias: F32 | null = null, act?: Activation, wino?: WinogradWeights): F32 {
  const recording = isTracing() || (isGradEnabled() && (x.requiresGrad || w.requiresGrad || !!bias?.requiresGrad));
  // with the tape recording, or a tracer watching, the activation runs as an op of its own
  if (act && recording) return applyActivation(convCore(g, x, w, bias), act);
  const y = newFloat([g.n, g.cOut, ...g.outSize]);
  const u = recording ? null : winogradFor(g, w, wino);
  if (u) {
    backend().convForwardWinograd!(g, x.data, u.data, bias ? bias.data : null, y.data, act);
    return y;
  }
  backend().convForward(g, x.data, w.data, bias ? bias.data : null, y.data, act);
  if (act) return y;
  return record(
    y,
    'conv',
    bias ? [x, w, bias] : [x, w],
    (dy) => {
      let dx: F32 | null = null;
      let dw: F32 | null = null;
      let db: F32 | null = null;
      if (x.requiresGrad) {
        dx = newFloat(x.shape);
        backend().convBackwardInput(g, w.data, dy.data, dx.data);
      }
      if (w.requiresGrad) {
        dw = newFloat(w.shape);
        backend().convBackwardWeight(g, x.data, dy.data, dw.data);
      }
      if (bias?.requiresGrad) {
        // dbias[c] = sum of dy over images and positions: first over images, then over positions
        const vol = g.outSize.reduce((a, b) => a * b, 1);
        const perImage = newFloat([g.cOut * vol]);
        backend().reduce('sum', dy.data, 1, g.n, g.cOut * vol, perImage.data);
        db = newFloat([g.cOut]);
        backend().reduce('sum', perImage.data, g.cOut, vol, 1, db.data);
      }
      return bias ? [dx, dw, db] : [dx, dw];
    },
    g,
  );
}

/**
 * Convolution (cross-correlation, as in PyTorch): x [N, Cin, ...spatial],
 * weight [Cout, Cin / groups, ...kernel], optional bias [Cout].
 */
export function conv(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvOptions = {}): F32 {
  const dims = weight.ndim - 2;
  const op = `conv${dims}d`;
  if (dims < 1 || dims > 3) throw new ShapeError(`conv: weight must be [Cout, Cin/groups, ...kernel] with 1 to 3 spatial dims, got ${fmtShape(weight.shape)}`);
  expectFloat(op, x, weight);
  const [xb, unbatched] = batched(op, x, dims);
  const groups = options.groups ?? 1;
  const [cOut, cInG, ...kernel] = weight.shape;
  const cIn = xb.shape[1];
  if (!Number.isInteger(groups) || groups < 1 || cIn % groups !== 0 || cOut % groups !== 0 || cIn / groups !== cInG) {
    throw new ShapeError(
      `${op}: input shape ${fmtShape(x.shape)} and weight shape ${fmtShape(weight.shape)} do not fit with groups=${groups} (need input channels = ` +
        `${cInG} x groups, output channels divisible by groups)`,
    );
  }
  const stride = perAxis(op, 'stride', options.stride ?? 1, dims, 1);
  const dilation = perAxis(op, 'dilation', options.dilation ?? 1, dims, 1);
  let input = xb as F32;
  let padding: number[];
  const p = options.padding ?? 0;
  if (p === 'valid') padding = new Array<number>(dims).fill(0);
  else if (p === 'same') {
    if (stride.some((s) => s !== 1)) throw new RangeError(`${op}: padding 'same' needs stride 1, got stride ${JSON.stringify(stride)}`);
    const total = kernel.map((k, i) => dilation[i] * (k - 1));
    padding = total.map((t) => Math.floor(t / 2));
    // An odd total pads one more on the right/bottom (as PyTorch does).
    const extra = total.map((t) => t % 2);
    if (extra.some((e) => e > 0))
      input = pad(
        input,
        [...extra].reverse().flatMap((e) => [0, e]),
      );
  } else padding = perAxis(op, 'padding', p, dims, 0);
  const inSize = input.shape.slice(2);
  const outSize = inSize.map((n, i) => convOutputSize(n, kernel[i], stride[i], padding[i], dilation[i]));
  if (outSize.some((o) => o < 1)) {
    throw new ShapeError(
      `${op}: input shape ${fmtShape(x.shape)} is too small for kernel ${fmtShape(kernel)} (padding ${JSON.stringify(padding)}, dilation ` +
        `${JSON.stringify(dilation)})`,
    );
  }
  const g: ConvGeometry = { n: input.shape[0], cIn, cOut, groups, inSize, kernel, stride, padding, dilation, outSize };
  const y = convCore(g, input, weight as F32, checkedBias(op, bias, cOut), options.activation, options.winograd);
  return unbatched ? squeeze(y, 0) : y;
}

export const conv1d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvOptions): F32 => checkedRank('conv1d', 1, w) && conv(x, w, b, o);
export const conv2d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvOptions): F32 => checkedRank('conv2d', 2, w) && conv(x, w, b, o);
export const conv3d = (x: Tensor, w: Tensor, b?: Tensor | null, o?: ConvOptions): F32 => checkedRank('conv3d', 3, w) && conv(x, w, b, o);

function checkedRank(op: string, dims: number, w: Tensor): true {
  if (w.ndim !== dims + 2) throw new ShapeError(`${op}: weight must be ${dims + 2}-D [Cout, Cin/groups, ...kernel], got ${fmtShape(w.shape)}`);
  return true;
}

/**
 * Transposed convolution (the gradient of conv with respect to its input):
 * x [N, Cin, ...spatial], weight [Cin, Cout / groups, ...kernel], optional bias [Cout].
 * Output size per axis: (in - 1)·stride - 2·padding + dilation·(k - 1) + outputPadding + 1.
 */
export function convTranspose(x: Tensor, weight: Tensor, bias?: Tensor | null, options: ConvTransposeOptions = {}): F32 {
  const dims = weight.ndim - 2;
  const op = `convTranspose${dims}d`;
  if (dims < 1 || dims > 3)
    throw new ShapeError(`convTranspose: weight must be [Cin, Cout/groups, ...kernel] with 1 to 3 spatial dims, got ${fmtShape(weight.shape)}`);
  expectFloat(op, x, weight);
  const [xb, unbatched] = batched(op, x, dims);
  const groups = options.groups ?? 1;
  const [cIn, cOutG, ...kernel] = weight.shape;
  if (!Number.isInteger(groups) || groups < 1 || xb.shape[1] !== cIn || cIn % groups !== 0) {
    throw new ShapeError(`${op}: input shape ${fmtShape(x.shape)} and weight shape ${fmtShape(weight.shape)} do not fit with groups=${groups}`);
  }
  const stride = perAxis(op, 'stride', options.stride ?? 1, dims, 1);
  const padding = perAxis(op, 'padding', options.padding ?? 0, dims, 0);
  const dilation = perAxis(op, 'dilation', options.dilation ?? 1, dims, 1);
  const outputPadding = perAxis(op, 'outputPadding', options.outputPadding ?? 0, dims, 0);
  if (outputPadding.some((q, i) => q >= stride[i] && q >= dilation[i])) {
    throw new RangeError(`${op}: outputPadding ${JSON.stringify(outputPadding)} must be smaller than stride or dilation`);
  }
  const inSize = xb.shape.slice(2);
  const outSize = inSize.map((n, i) => (n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1);
  if (outSize.some((o) => o < 1)) throw new ShapeError(`${op}: input shape ${fmtShape(x.shape)} gives an empty output`);
  const cOut = cOutG * groups;
  // The convolution whose input gradient this is: it maps [N, cOut, outSize] to [N, cIn, inSize].
  const g: ConvGeometry = { n: xb.shape[0], cIn: cOut, cOut: cIn, groups, inSize: outSize, kernel, stride, padding, dilation, outSize: inSize };
  const xf = xb as F32;
  const w = weight as F32;
  const y = newFloat([g.n, cOut, ...outSize]);
  backend().convBackwardInput(g, w.data, xf.data, y.data);
  const out = record(
    y,
    'convTranspose',
    [xf, w],
    (dy) => {
      let dx: F32 | null = null;
      let dw: F32 | null = null;
      if (xf.requiresGrad) {
        dx = newFloat(xf.shape);
        backend().convForward(g, dy.data, w.data, null, dx.data);
      }
      if (w.requiresGrad) {
        dw = newFloat(w.shape);
        backend().convBackwardWeight(g, dy.data, xf.data, dw.data);
      }
      return [dx, dw];
    },
    { ...g, outputPadding },
  );
  const yb = addBias(op, out, bias, cOut);
  return unbatched ? squeeze(yb, 0) : yb;
}
