/**
 * matmul with torch.matmul's rules: 1-D operands are promoted (and the added
 * dimension removed afterwards), leading batch dimensions broadcast. Forward and
 * both gradients are batched SGEMMs with the transposes folded into the call.
 */
import { backend } from '../../backend/index.js';
import { record } from '../autograd.js';
import { fmtShape, ShapeError } from '../errors.js';
import { broadcastShapes, numel } from '../shape.js';
import { Tensor } from '../tensor.js';
import { broadcastTo, reshape } from './movement.js';
import { expectFloat, sumTo, type F32 } from './util.js';

/**
 * C = op(A) · op(B) over a batch, for contiguous A [batchA, ·, ·] and B [batchB, ·, ·]
 * where batchA and batchB are either the batch or 1 (broadcast with stride 0).
 */
function bmm(a: F32, b: F32, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): Float32Array {
  const out = backend().alloc('float32', batch * m * n);
  const aBatched = a.size !== m * k;
  const bBatched = b.size !== k * n;
  backend().sgemm(
    batch,
    transA,
    transB,
    m,
    n,
    k,
    1,
    a.data,
    0,
    transA ? m : k,
    aBatched ? m * k : 0,
    b.data,
    0,
    transB ? k : n,
    bBatched ? k * n : 0,
    0,
    out,
    0,
    n,
    m * n,
  );
  return out;
}

/** Matrix product of two tensors (see torch.matmul for the rank rules). */
export function matmul(a: Tensor, b: Tensor): F32 {
  expectFloat('matmul', a, b);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: both operands need at least one dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const a2 = a.ndim === 1 ? reshape(a as F32, [1, a.shape[0]]) : (a as F32);
  const b2 = b.ndim === 1 ? reshape(b as F32, [b.shape[0], 1]) : (b as F32);
  const m = a2.shape[a2.ndim - 2];
  const k = a2.shape[a2.ndim - 1];
  const n = b2.shape[b2.ndim - 1];
  if (b2.shape[b2.ndim - 2] !== k) {
    throw new ShapeError(`matmul: shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} do not fit (inner dimensions ${k} and ${b2.shape[b2.ndim - 2]})`);
  }
  const batchShape = broadcastShapes('matmul', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const batch = numel(batchShape);
  // An operand whose batch part is all ones is read with stride 0; any other
  // partial broadcast is materialised first.
  const expand = (t: F32, rows: number, cols: number): F32 =>
    numel(t.shape.slice(0, -2)) === 1 || numel(t.shape.slice(0, -2)) === batch ? t : broadcastTo(t, [...batchShape, rows, cols]);
  const ae = expand(a2, m, k);
  const be = expand(b2, k, n);
  const outShape = [...batchShape, m, n];
  const out = new Tensor<'float32'>(bmm(ae, be, batch, m, n, k, false, false), outShape);

  let finalShape = outShape;
  if (a.ndim === 1) finalShape = finalShape.filter((_, i) => i !== finalShape.length - 2);
  if (b.ndim === 1) finalShape = finalShape.slice(0, -1);
  const result = new Tensor<'float32'>(out.data, finalShape);

  return record(result, 'matmul', [a, b], (g) => {
    const g3 = new Tensor(g.data, outShape) as F32;
    // dA = dC · Bᵀ, dB = Aᵀ · dC, each summed over broadcast batch entries.
    const da = a.requiresGrad ? sumTo(new Tensor(bmm(g3, be, batch, m, k, n, false, true), [...batchShape, m, k]), a2.shape) : null;
    const db = b.requiresGrad ? sumTo(new Tensor(bmm(ae, g3, batch, k, n, m, true, false), [...batchShape, k, n]), b2.shape) : null;
    return [da && new Tensor(da.data, a.shape), db && new Tensor(db.data, b.shape)];
  });
}

/**
 * y = x · weightᵀ + bias for x [..., in], weight [out, in], bias [out]: one SGEMM
 * with the transpose folded in and the bias as its initial C (no transposed copy
 * of the weight, no separate bias pass).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): F32 {
  expectFloat('linear', x, weight);
  if (weight.ndim !== 2) throw new ShapeError(`linear: the weight must be 2-D [out, in], got ${fmtShape(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.ndim < 1 || x.shape[x.ndim - 1] !== inF) {
    throw new ShapeError(`linear: input shape ${fmtShape(x.shape)} does not end in the weight's ${inF} input features (weight ${fmtShape(weight.shape)})`);
  }
  if (bias) {
    expectFloat('linear', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== outF) throw new ShapeError(`linear: bias shape ${fmtShape(bias.shape)} does not match ${outF} output features`);
  }
  const rows = x.size / inF;
  const be = backend();
  const y = be.alloc('float32', rows * outF);
  if (bias) be.copyStrided([rows, outF], bias.data, 0, [0, 1], y, 0, [outF, 1]);
  be.sgemm(1, false, true, rows, outF, inF, 1, x.data as Float32Array, 0, inF, 0, weight.data as Float32Array, 0, inF, 0, bias ? 1 : 0, y, 0, outF, 0);
  const out = new Tensor<'float32'>(y, [...x.shape.slice(0, -1), outF]);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(out, 'linear', inputs, (g) => {
    const grads: (Tensor | null)[] = [null, null];
    if (x.requiresGrad) {
      const dx = be.alloc('float32', rows * inF);
      be.sgemm(1, false, false, rows, inF, outF, 1, g.data, 0, outF, 0, weight.data as Float32Array, 0, inF, 0, 0, dx, 0, inF, 0);
      grads[0] = new Tensor(dx, x.shape);
    }
    if (weight.requiresGrad) {
      const dw = be.alloc('float32', outF * inF);
      be.sgemm(1, true, false, outF, inF, rows, 1, g.data, 0, outF, 0, x.data as Float32Array, 0, inF, 0, 0, dw, 0, inF, 0);
      grads[1] = new Tensor(dw, weight.shape);
    }
    if (bias) grads.push(bias.requiresGrad ? sumTo(new Tensor<'float32'>(g.data, [rows, outF]), [outF]) : null);
    return grads;
  });
}
