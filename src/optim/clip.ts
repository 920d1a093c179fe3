/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_. Both
 * change the gradients in place and skip parameters whose grad is null.
 */
import { backend } from '../backend/index.js';
import { Tensor } from '../tensor/tensor.js';

export interface ClipGradNormOptions {
  /** Throw if the total norm is NaN or infinite (default false: the gradients become NaN, as in PyTorch). */
  errorIfNonfinite?: boolean;
}

function gradsOf(fn: string, parameters: Tensor | Iterable<Tensor>): Float32Array[] {
  const list = parameters instanceof Tensor ? [parameters] : [...parameters];
  const grads: Float32Array[] = [];
  for (const p of list) {
    if (!(p instanceof Tensor)) throw new TypeError(`${fn}: expected tensors, got ${String(p)}`);
    if (p.grad) grads.push(p.grad.data);
  }
  return grads;
}

/** The p-norm of x (max |x| for Infinity), accumulated in float64. NaN propagates. */
function norm(x: ArrayLike<number>, p: number): number {
  let acc = 0;
  if (p === Infinity) {
    for (let i = 0; i < x.length; i++) {
      const a = Math.abs(x[i]);
      if (a > acc || Number.isNaN(a)) acc = a;
    }
    return acc;
  }
  if (p === 2) {
    for (let i = 0; i < x.length; i++) acc += x[i] * x[i];
    return Math.sqrt(acc);
  }
  if (p === 1) {
    for (let i = 0; i < x.length; i++) acc += Math.abs(x[i]);
    return acc;
  }
  for (let i = 0; i < x.length; i++) acc += Math.abs(x[i]) ** p;
  return acc ** (1 / p);
}

/**
 * Scales the gradients so that their total norm (the normType-norm of all of them
 * together, as if concatenated) is at most maxNorm, and returns the total norm
 * before clipping. As PyTorch: the coefficient is maxNorm / (total + 1e-6), clamped
 * to 1, and every gradient is multiplied by it; the norm of each gradient is taken
 * first (float32, as PyTorch's), then the norm of those norms.
 */
export function clipGradNorm(
  parameters: Tensor | Iterable<Tensor>,
  maxNorm: number,
  normType = 2,
  { errorIfNonfinite = false }: ClipGradNormOptions = {},
): number {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new TypeError(`clipGradNorm: expected a number for maxNorm, got ${String(maxNorm)}`);
  if (!(normType > 0)) throw new RangeError(`clipGradNorm: expected normType > 0 or Infinity, got ${normType}`);
  const grads = gradsOf('clipGradNorm', parameters);
  if (grads.length === 0) return 0;
  const f = Math.fround;
  const total = f(
    norm(
      grads.map((g) => f(norm(g, normType))),
      normType,
    ),
  );
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new RangeError(
      `clipGradNorm: the total norm of order ${normType} of the gradients is ${total}, so they cannot be clipped ` +
        '(pass { errorIfNonfinite: false } to clip anyway, which makes them NaN)',
    );
  }
  // PyTorch's float32 arithmetic: max_norm / (total + 1e-6) is reciprocal(total + 1e-6) * max_norm.
  const coef = Math.min(f(f(1 / f(total + f(1e-6))) * f(maxNorm)), 1);
  for (const g of grads) backend().unary('affine', g, g, coef, 0);
  return total;
}

/** Clamps every gradient element to [-clipValue, clipValue]. */
export function clipGradValue(parameters: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) throw new RangeError(`clipGradValue: expected clipValue >= 0, got ${clipValue}`);
  for (const g of gradsOf('clipGradValue', parameters)) backend().unary('clamp', g, g, -clipValue, clipValue);
}
