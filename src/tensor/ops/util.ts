/** Small helpers every op file shares: dtype checks and reducing a broadcast gradient back to an input's shape. */
import { backend } from '../../backend/index.js';
import type { DType } from '../../core/dtype.js';
import { DTypeError, fmtShape } from '../errors.js';
import { numel, shapesEqual, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';

export type F32 = Tensor<'float32'>;

/** Throws naming the op unless t has one of the allowed dtypes. */
export function expectDType(op: string, t: Tensor, ...allowed: DType[]): void {
  if (!allowed.includes(t.dtype)) {
    throw new DTypeError(`${op}: expected ${allowed.join(' or ')}, got ${t.dtype} (shape ${fmtShape(t.shape)})`);
  }
}

export function expectFloat(op: string, ...ts: Tensor[]): void {
  for (const t of ts) {
    if (t.dtype !== 'float32') {
      const dtypes = ts.map((x) => x.dtype).join(' and ');
      throw new DTypeError(`${op}: expected float32 operands, got ${dtypes}`);
    }
  }
}

export function newFloat(shape: Shape): F32 {
  return new Tensor(backend().alloc('float32', numel(shape)), shape);
}

/**
 * Sums g over the dimensions along which `shape` was broadcast to g's shape, so
 * the result has `shape`. This is the backward of every broadcasting op.
 */
export function sumTo(g: F32, shape: Shape): F32 {
  if (shapesEqual(g.shape, shape)) return g;
  const be = backend();
  let cur = g;
  const lead = g.ndim - shape.length;
  // Reduce each broadcast axis from the last to the first, so earlier axes keep their index.
  for (let d = g.ndim - 1; d >= 0; d--) {
    const target = d < lead ? 1 : shape[d - lead];
    if (cur.shape[d] === target) continue;
    const outer = cur.shape.slice(0, d).reduce((a, x) => a * x, 1);
    const inner = cur.shape.slice(d + 1).reduce((a, x) => a * x, 1);
    const outShape = [...cur.shape];
    outShape[d] = 1;
    const out = newFloat(outShape);
    be.reduce('sum', cur.data, outer, cur.shape[d], inner, out.data);
    cur = out;
  }
  return new Tensor(cur.data, shape);
}
