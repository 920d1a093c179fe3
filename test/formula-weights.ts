/**
 * Weights from a formula, for the model parity tests: tools/formula_weights.py computes
 * the same values bit for bit, so a fixture needs only the input's name and the logits,
 * not the weights. See tools/formula_weights.py for the definition; the two files change together.
 */
import { Tensor } from '../src/tensor/tensor.js';
import type { Module } from '../src/nn/module.js';

/** FNV-1a over the UTF-8 bytes of s. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** Uniform values in [-1, 1) with 24 bits each: element i of the tensor named `name`. */
export function formulaUniform(name: string, n: number): Float64Array {
  const h = fnv1a(name);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = (h ^ Math.imul(i, 0x9e3779b1)) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    out[i] = ((x >>> 8) / 16777216) * 2 - 1;
  }
  return out;
}

/** The value of state-dict entry `name` with `shape` (see tools/formula_weights.py). */
export function formulaTensor(name: string, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  if (name.endsWith('num_batches_tracked')) return new Tensor<'int32'>(new Int32Array(n), shape);
  const v = formulaUniform(name, n);
  const out = new Float32Array(n);
  const last = name.slice(name.lastIndexOf('.') + 1);
  if (last === 'running_var') for (let i = 0; i < n; i++) out[i] = 0.75 + 0.25 * v[i];
  else if (last === 'running_mean') for (let i = 0; i < n; i++) out[i] = 0.1 * v[i];
  else if (shape.length === 1 && last === 'weight') for (let i = 0; i < n; i++) out[i] = 1 + 0.25 * v[i];
  else if (shape.length === 1) for (let i = 0; i < n; i++) out[i] = 0.1 * v[i];
  else {
    const scale = Math.sqrt(6 / (n / shape[0]));
    for (let i = 0; i < n; i++) out[i] = v[i] * scale;
  }
  return new Tensor<'float32'>(out, shape);
}

/** Loads formula weights into every parameter and buffer of `net`. */
export function loadFormulaWeights(net: Module): void {
  const sd = new Map<string, Tensor>();
  for (const [k, t] of net.stateDict()) sd.set(k, formulaTensor(k, t.shape));
  net.loadStateDict(sd);
}

/** The float32 input named `name` (values in [-1, 1)). */
export function formulaInput(name: string, shape: readonly number[]): Tensor<'float32'> {
  const n = shape.reduce((a, d) => a * d, 1);
  return new Tensor<'float32'>(Float32Array.from(formulaUniform(name, n)), shape);
}
