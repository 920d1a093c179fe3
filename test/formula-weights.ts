/**
 * Weights from a formula, for the model parity tests: tools/formula_weights.py computes
 * the same values bit for bit, so a fixture needs only the input's name and the logits,
 * not the weights. See tools/formula_weights.py for the definition; the two files change together.
 */
import { Tensor } from '../src/tensor/tensor.js';
import type { Module } from '../src/nn/module.js';
import { noGrad } from '../src/tensor/autograd.js';

/** FNV-1a over the UTF-8 bytes of s. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/**
 * Writes a + b·v into out[i] for element i of the tensor named `name`, v uniform in [-1, 1)
 * with 24 bits, computed in float64 and rounded once on the store, as the Python side.
 * One pass without intermediate arrays: a VGG's 10^8 weights take about a second.
 */
function fillFormula(name: string, out: Float32Array | Float64Array, a: number, b: number): void {
  const h = fnv1a(name);
  const n = out.length;
  for (let i = 0; i < n; i++) {
    let x = (h ^ Math.imul(i, 0x9e3779b1)) >>> 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
    x = (x ^ (x >>> 16)) >>> 0;
    out[i] = a + b * (((x >>> 8) / 16777216) * 2 - 1);
  }
}

/** Uniform values in [-1, 1) with 24 bits each: element i of the tensor named `name`. */
export function formulaUniform(name: string, n: number): Float64Array {
  const out = new Float64Array(n);
  fillFormula(name, out, 0, 1);
  return out;
}

/**
 * Fills `out` with the values of state-dict entry `name` with `shape` (see tools/formula_weights.py).
 * Each rule is a + b·v; a is 0 for the rules written b·v, which leaves the float64 value unchanged.
 */
function fillEntry(name: string, shape: readonly number[], out: Float32Array): void {
  const last = name.slice(name.lastIndexOf('.') + 1);
  if (last === 'running_var') fillFormula(name, out, 0.75, 0.25);
  else if (last === 'running_mean') fillFormula(name, out, 0, 0.1);
  else if (shape.length === 1 && last === 'weight') fillFormula(name, out, 1, 0.25);
  else if (shape.length === 1) fillFormula(name, out, 0, 0.1);
  else fillFormula(name, out, 0, Math.sqrt(6 / (out.length / shape[0])));
}

/** The value of state-dict entry `name` with `shape` (see tools/formula_weights.py). */
export function formulaTensor(name: string, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  if (name.endsWith('num_batches_tracked')) return new Tensor<'int32'>(new Int32Array(n), shape);
  const out = new Float32Array(n);
  fillEntry(name, shape, out);
  return new Tensor<'float32'>(out, shape);
}

/** Writes formula weights into every parameter and buffer of `net`, in place (num_batches_tracked: 0). */
export function loadFormulaWeights(net: Module): void {
  noGrad(() => {
    for (const [k, t] of net.stateDict()) {
      if (t.data instanceof Float32Array) fillEntry(k, t.shape, t.data);
      else if (k.endsWith('num_batches_tracked')) t.data.fill(0);
      else throw new TypeError(`loadFormulaWeights: ${k} is ${t.dtype}, expected float32`);
    }
  });
}

/** The float32 input named `name` (values in [-1, 1)). */
export function formulaInput(name: string, shape: readonly number[]): Tensor<'float32'> {
  const n = shape.reduce((a, d) => a * d, 1);
  return new Tensor<'float32'>(Float32Array.from(formulaUniform(name, n)), shape);
}
