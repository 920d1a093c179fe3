/**
 * Batch normalisation (F.batch_norm): per-channel normalisation of x [N, C, ...]
 * with batch statistics in training (updating the running statistics in place)
 * or the running statistics in evaluation, then an optional affine map.
 */
import { backend } from '../../backend/index.js';
import { record } from '../autograd.js';
import { fmtShape, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { mul } from './elementwise.js';
import { sum } from './reduce.js';
import { expectFloat, newFloat, type F32 } from './util.js';

export interface BatchNormOptions {
  /** Use batch statistics (and update the running ones) instead of the running statistics. */
  training: boolean;
  /** Weight of the new batch in the running averages (PyTorch's default 0.1). */
  momentum?: number;
  eps?: number;
}

function checkVector(op: string, t: Tensor | null | undefined, c: number, name: string): Float32Array | null {
  if (!t) return null;
  expectFloat(op, t);
  if (t.ndim !== 1 || t.shape[0] !== c) throw new ShapeError(`${op}: ${name} shape ${fmtShape(t.shape)} does not match ${c} channels`);
  return t.data as Float32Array;
}

export function batchNorm(
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null,
  bias: Tensor | null,
  { training, momentum = 0.1, eps = 1e-5 }: BatchNormOptions,
): F32 {
  const op = 'batchNorm';
  expectFloat(op, x);
  if (x.ndim < 2) throw new ShapeError(`${op}: expected an input [N, C, ...], got shape ${fmtShape(x.shape)}`);
  const [n, c] = x.shape;
  const hw = x.size / Math.max(1, n * c);
  const rm = checkVector(op, runningMean, c, 'running mean');
  const rv = checkVector(op, runningVar, c, 'running var');
  const gamma = checkVector(op, weight, c, 'weight');
  const beta = checkVector(op, bias, c, 'bias');
  const be = backend();
  const mean = new Float32Array(c);
  const invstd = new Float32Array(c);
  if (training) {
    const count = n * hw;
    if (count <= 1) throw new ShapeError(`${op}: expected more than 1 value per channel when training, got input shape ${fmtShape(x.shape)}`);
    const variance = new Float32Array(c);
    be.batchNormStats(x.data as Float32Array, n, c, hw, eps, mean, variance, invstd);
    if (rm && rv) {
      // Running variance is unbiased, as in PyTorch.
      for (let ch = 0; ch < c; ch++) {
        rm[ch] = (1 - momentum) * rm[ch] + momentum * mean[ch];
        rv[ch] = (1 - momentum) * rv[ch] + (momentum * variance[ch] * count) / (count - 1);
      }
    }
  } else {
    if (!rm || !rv) throw new Error(`${op}: evaluation mode needs running statistics`);
    for (let ch = 0; ch < c; ch++) {
      mean[ch] = rm[ch];
      invstd[ch] = 1 / Math.sqrt(rv[ch] + eps);
    }
  }
  const y = newFloat(x.shape);
  be.batchNormForward(x.data as Float32Array, n, c, hw, mean, invstd, gamma, beta, y.data);
  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  return record(
    y,
    op,
    inputs,
    (dy) => {
      const dx = newFloat(x.shape);
      const dgamma = newFloat([c]);
      const dbeta = newFloat([c]);
      if (training) {
        be.batchNormBackward(x.data as Float32Array, dy.data, n, c, hw, mean, invstd, gamma, dx.data, dgamma.data, dbeta.data);
      } else {
        // Fixed statistics: y is an affine map of x per channel.
        const scale = new Float32Array(c);
        for (let ch = 0; ch < c; ch++) scale[ch] = invstd[ch] * (gamma ? gamma[ch] : 1);
        be.batchNormForward(dy.data, n, c, hw, new Float32Array(c), scale, null, null, dx.data);
        const xhat = newFloat(x.shape);
        be.batchNormForward(x.data as Float32Array, n, c, hw, mean, invstd, null, null, xhat.data);
        const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
        dgamma.data.set(sum(mul(dy, xhat), axes).data);
        dbeta.data.set(sum(dy, axes).data);
      }
      const grads: (Tensor | null)[] = [dx];
      if (weight) grads.push(dgamma);
      if (bias) grads.push(dbeta);
      return grads;
    },
    { training, eps, runningMean, runningVar, weight, bias },
  );
}
