/**
 * Elementwise ops: unary maps and activations, broadcasting arithmetic,
 * comparisons and `where`. Each op: shape rule, forward (one backend call),
 * backward (next to it).
 */
import { backend, type Activation, type BinaryOp, type CompareOp, type UnaryOp } from '../../backend/index.js';
import { record, traced } from '../autograd.js';
import { DTypeError } from '../errors.js';
import { broadcastShapes, broadcastStrides, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { expectFloat, newFloat, sumTo, type F32 } from './util.js';

// ---- unary ----------------------------------------------------------------

/** Maps whose derivative follows from the output alone (relu: y > 0 exactly where x > 0); their backward keeps y, not x. */
const FROM_OUTPUT: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['relu', 'exp', 'sqrt', 'sigmoid', 'tanh']);

function unary(op: UnaryOp, name: string, x: Tensor, p0 = 0, p1 = 0): F32 {
  expectFloat(name, x);
  const y = newFloat(x.shape);
  backend().unary(op, (x as F32).data, y.data, p0, p1);
  // Saving only what the derivative reads lets the other be freed before the backward pass:
  // the kernels read y only for the maps of FROM_OUTPUT, and x only for the others.
  const saved = FROM_OUTPUT.has(op) ? y.data : (x as F32).data;
  const shape = y.shape;
  return record(
    y,
    name,
    [x],
    (g) => {
      const dx = newFloat(shape);
      backend().unaryBackward(op, saved, saved, g.data, dx.data, p0, p1);
      return [dx];
    },
    { map: op, p0, p1 },
  );
}

/** A unary map given as data (an op and its parameters), as convolution epilogues take activations. */
export const applyActivation = (x: Tensor, act: Activation): F32 => unary(act.op, act.op, x, act.p0 ?? 0, act.p1 ?? 0);

export const neg = (x: Tensor): F32 => unary('neg', 'neg', x);
export const exp = (x: Tensor): F32 => unary('exp', 'exp', x);
export const log = (x: Tensor): F32 => unary('log', 'log', x);
export const sqrt = (x: Tensor): F32 => unary('sqrt', 'sqrt', x);
export const abs = (x: Tensor): F32 => unary('abs', 'abs', x);
export const sign = (x: Tensor): F32 => unary('sign', 'sign', x);
export const relu = (x: Tensor): F32 => unary('relu', 'relu', x);
export const relu6 = (x: Tensor): F32 => unary('clamp', 'relu6', x, 0, 6);
export const sigmoid = (x: Tensor): F32 => unary('sigmoid', 'sigmoid', x);
export const tanh = (x: Tensor): F32 => unary('tanh', 'tanh', x);
export const silu = (x: Tensor): F32 => unary('silu', 'silu', x);
export const hardswish = (x: Tensor): F32 => unary('hardswish', 'hardswish', x);
export const hardsigmoid = (x: Tensor): F32 => unary('hardsigmoid', 'hardsigmoid', x);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): F32 => unary('leakyRelu', 'leakyRelu', x, negativeSlope);

/** GELU: exact (erf) by default, or PyTorch's approximate='tanh'. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): F32 {
  return approximate === 'tanh' ? unary('geluTanh', 'gelu', x) : unary('gelu', 'gelu', x);
}

/** Limits values to [min, max]; either bound may be omitted. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): F32 {
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if (lo > hi) throw new RangeError(`clamp: min (${lo}) is greater than max (${hi})`);
  return unary('clamp', 'clamp', x, lo, hi);
}

/** x * scale + shift in one pass (the scalar forms of add, sub, mul and div use it). */
export const affine = (x: Tensor, scale: number, shift: number): F32 => unary('affine', 'affine', x, scale, shift);

// ---- binary ---------------------------------------------------------------

function broadcastBinary(op: BinaryOp, name: string, a: Tensor, b: Tensor): F32 {
  expectFloat(name, a, b);
  const shape = broadcastShapes(name, a.shape, b.shape);
  const out = newFloat(shape);
  backend().binary(op, shape, a.data as Float32Array, broadcastStrides(a.shape, shape), b.data as Float32Array, broadcastStrides(b.shape, shape), out.data);
  return out;
}

type Operand = Tensor | number;

export function add(a: Operand, b: Operand): F32 {
  if (typeof b === 'number') return typeof a === 'number' ? scalarOf(a + b) : affine(a, 1, b);
  if (typeof a === 'number') return affine(b, 1, a);
  const out = broadcastBinary('add', 'add', a, b);
  // the backward keeps the shapes, not the operands, so they can be freed before it runs
  const [sa, sb] = [a.shape, b.shape];
  return record(out, 'add', [a, b], (g) => [sumTo(g, sa), sumTo(g, sb)]);
}

export function sub(a: Operand, b: Operand): F32 {
  if (typeof b === 'number') return typeof a === 'number' ? scalarOf(a - b) : affine(a, 1, -b);
  if (typeof a === 'number') return affine(b, -1, a);
  const out = broadcastBinary('sub', 'sub', a, b);
  const [sa, sb, gradB] = [a.shape, b.shape, b.requiresGrad];
  return record(out, 'sub', [a, b], (g) => [sumTo(g, sa), gradB ? sumTo(neg(g), sb) : null]);
}

export function mul(a: Operand, b: Operand): F32 {
  if (typeof b === 'number') return typeof a === 'number' ? scalarOf(a * b) : affine(a, b, 0);
  if (typeof a === 'number') return affine(b, a, 0);
  const out = broadcastBinary('mul', 'mul', a, b);
  // each operand is kept only for the other's gradient (a dropout mask does not keep its input)
  const [sa, sb] = [a.shape, b.shape];
  const keepA = b.requiresGrad ? a : null;
  const keepB = a.requiresGrad ? b : null;
  return record(out, 'mul', [a, b], (g) => [keepB ? sumTo(mul(g, keepB), sa) : null, keepA ? sumTo(mul(g, keepA), sb) : null]);
}

export function div(a: Operand, b: Operand): F32 {
  // A tensor divided by a number stays a true division (x * (1/c) can differ by an ulp from PyTorch's x / c).
  if (typeof b === 'number') return typeof a === 'number' ? scalarOf(a / b) : div(a, scalarOf(b));
  if (typeof a === 'number') return unary('rdiv', 'div', b, a);
  const out = broadcastBinary('div', 'div', a, b);
  const [sa, gradA] = [a.shape, a.requiresGrad];
  return record(out, 'div', [a, b], (g) => [
    gradA ? sumTo(div(g, b), sa) : null,
    // d(a/b)/db = -a/b^2 = -out/b
    b.requiresGrad ? sumTo(neg(div(mul(g, out), b)), b.shape) : null,
  ]);
}

export function pow(a: Operand, b: Operand): F32 {
  if (typeof b === 'number') {
    if (typeof a === 'number') return scalarOf(Math.pow(a, b));
    return unary('powScalar', 'pow', a, b);
  }
  const base = typeof a === 'number' ? scalarOf(a) : a;
  const out = broadcastBinary('pow', 'pow', base, b);
  return record(out, 'pow', [base, b], (g) => [
    base.requiresGrad ? sumTo(mul(g, mul(b, pow(base, sub(b, 1)))), base.shape) : null,
    // d(a^b)/db = a^b * log(a), taken as 0 where a == 0 (as PyTorch does for b >= 0).
    b.requiresGrad ? sumTo(mul(g, where(eq(base, 0), 0, mul(out, log(base)))), b.shape) : null,
  ]);
}

/** Elementwise max; on ties the gradient is split evenly, as in PyTorch. */
export function maximum(a: Tensor, b: Tensor): F32 {
  return extremum('maximum', a, b);
}

export function minimum(a: Tensor, b: Tensor): F32 {
  return extremum('minimum', a, b);
}

function extremum(op: 'maximum' | 'minimum', a: Tensor, b: Tensor): F32 {
  const out = broadcastBinary(op, op, a, b);
  return record(out, op, [a, b], (g) => {
    const wins = op === 'maximum' ? gt(a, b) : lt(a, b);
    // weight of a: 1 where it wins, 0.5 on ties, 0 where it loses
    const wa = add(toFloat(wins), mul(toFloat(eq(a, b)), 0.5));
    return [a.requiresGrad ? sumTo(mul(g, wa), a.shape) : null, b.requiresGrad ? sumTo(mul(g, sub(1, wa)), b.shape) : null];
  });
}

function scalarOf(v: number): F32 {
  const data = backend().alloc('float32', 1);
  data[0] = v;
  return new Tensor(data, []);
}

function operand(t: Operand): Tensor {
  return typeof t === 'number' ? scalarOf(t) : t;
}

// ---- comparisons and where --------------------------------------------------

/**
 * Comparisons accept any dtype: int32 and uint8 operands (labels, predictions,
 * masks) are compared through float32, which is exact below 2^24.
 */
function comparison(op: CompareOp, a: Operand, b: Operand): Tensor<'uint8'> {
  const ta = toFloat(operand(a));
  const tb = toFloat(operand(b));
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const out = new Tensor<'uint8'>(backend().alloc('uint8', numel(shape)), shape);
  backend().compare(
    op,
    shape,
    ta.data as Float32Array,
    broadcastStrides(ta.shape, shape),
    tb.data as Float32Array,
    broadcastStrides(tb.shape, shape),
    out.data,
  );
  return traced(out, op, [ta, tb]);
}

/** Elementwise comparisons: uint8 masks (1 true, 0 false), never differentiable. */
export const eq = (a: Operand, b: Operand) => comparison('eq', a, b);
export const ne = (a: Operand, b: Operand) => comparison('ne', a, b);
export const lt = (a: Operand, b: Operand) => comparison('lt', a, b);
export const le = (a: Operand, b: Operand) => comparison('le', a, b);
export const gt = (a: Operand, b: Operand) => comparison('gt', a, b);
export const ge = (a: Operand, b: Operand) => comparison('ge', a, b);

/** cond ? a : b elementwise, all three broadcast together; cond is a uint8 mask. */
export function where(cond: Tensor, a: Operand, b: Operand): F32 {
  if (cond.dtype !== 'uint8') throw new DTypeError(`where: the condition must be a uint8 mask, got ${cond.dtype}`);
  const ta = operand(a);
  const tb = operand(b);
  expectFloat('where', ta, tb);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const out = newFloat(shape);
  backend().where(
    shape,
    cond.data as Uint8Array,
    broadcastStrides(cond.shape, shape),
    ta.data as Float32Array,
    broadcastStrides(ta.shape, shape),
    tb.data as Float32Array,
    broadcastStrides(tb.shape, shape),
    out.data,
  );
  const [sa, sb, gradA, gradB] = [ta.shape, tb.shape, ta.requiresGrad, tb.requiresGrad];
  return record(out, 'where', [ta, tb], (g) => [gradA ? sumTo(where(cond, g, 0), sa) : null, gradB ? sumTo(where(cond, 0, g), sb) : null], { cond });
}

/** A float32 copy of any tensor (uint8 masks become 0/1). */
export function toFloat(t: Tensor): F32 {
  if (t.dtype === 'float32') return t as F32;
  const out = newFloat(t.shape);
  backend().cast(t.data, out.data);
  return traced(out, 'cast', [t]);
}

// ---- ops whose forward and backward are loops here ---------------------------
// Composing them from other ops would give PyTorch's gradient only away from the
// edges (x = 0 for softplus, x at 0 or 1 for binary cross-entropy).

/**
 * -(y·max(log x, -100) + (1-y)·max(log(1-x), -100)) elementwise, with PyTorch's
 * gradients: (x-y) / max(x(1-x), 1e-12) for x, -logit(x) for y.
 */
export function binaryCrossEntropyElementwise(x: F32, y: F32): F32 {
  const xd = x.data;
  const yd = y.data;
  const out = newFloat(x.shape);
  for (let i = 0; i < xd.length; i++) {
    const xi = xd[i];
    const yi = yd[i];
    if (!(xi >= 0 && xi <= 1)) throw new RangeError(`binaryCrossEntropy: input values must be in [0, 1], got ${xi} at element ${i}`);
    if (!(yi >= 0 && yi <= 1)) throw new RangeError(`binaryCrossEntropy: target values must be in [0, 1], got ${yi} at element ${i}`);
    out.data[i] = -(yi * Math.max(Math.log(xi), -100) + (1 - yi) * Math.max(Math.log1p(-xi), -100));
  }
  return record(out, 'binaryCrossEntropy', [x, y], (g) => {
    const gd = g.data;
    const dx = x.requiresGrad ? newFloat(x.shape) : null;
    const dy = y.requiresGrad ? newFloat(y.shape) : null;
    for (let i = 0; i < gd.length; i++) {
      const xi = xd[i];
      if (dx) dx.data[i] = (gd[i] * (xi - yd[i])) / Math.max((1 - xi) * xi, 1e-12);
      if (dy) dy.data[i] = gd[i] * (Math.log1p(-xi) - Math.log(xi));
    }
    return [dx, dy];
  });
}

/** softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^-|x|), stable for any x, with gradient sigmoid(x). */
export function softplus(x: F32): F32 {
  const xd = x.data;
  const out = newFloat(x.shape);
  for (let i = 0; i < xd.length; i++) out.data[i] = Math.max(xd[i], 0) + Math.log1p(Math.exp(-Math.abs(xd[i])));
  return record(out, 'softplus', [x], (g) => {
    const dx = newFloat(x.shape);
    for (let i = 0; i < xd.length; i++) {
      const e = Math.exp(-Math.abs(xd[i]));
      dx.data[i] = (g.data[i] * (xd[i] >= 0 ? 1 : e)) / (1 + e);
    }
    return [dx];
  });
}
