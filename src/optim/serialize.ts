/**
 * Optimizer and scheduler state dicts hold tensors and may hold ±Infinity (a plateau
 * scheduler's best metric), neither of which JSON can carry. stateToJSON makes a
 * JSON-safe copy and stateFromJSON reverses it exactly (float32 values survive a
 * trip through JSON text unchanged):
 *
 *   const json = JSON.stringify(stateToJSON(optimizer.stateDict()));
 *   optimizer.loadStateDict(stateFromJSON(JSON.parse(json)));
 *
 * Tensors are written inline as { dtype, shape, data }, or, given a `tensors` map,
 * stored in it under their path ("state.0.exp_avg") and referenced as
 * { "$tensor": path }, so a checkpoint can keep them in a safetensors file beside the JSON.
 * Non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity".
 */
import type { DType } from '../core/dtype.js';
import type { JsonValue } from '../core/json.js';
import { newTypedArray } from '../core/dtype.js';
import { Tensor } from '../tensor/tensor.js';

export interface StateJSONOptions {
  /** Where tensors go (stateToJSON) or come from (stateFromJSON), by path; without it they are inline. */
  tensors?: Map<string, Tensor>;
}

const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

function encodeNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** A JSON-safe copy of a state dict (or any value made of objects, arrays, numbers, strings, booleans, null and tensors). */
export function stateToJSON(value: unknown, { tensors }: StateJSONOptions = {}): JsonValue {
  const walk = (v: unknown, path: string): JsonValue => {
    if (v instanceof Tensor) {
      if (tensors) {
        tensors.set(path, v);
        return { $tensor: path };
      }
      return { dtype: v.dtype, shape: [...v.shape], data: Array.from(v.data, encodeNumber) };
    }
    if (typeof v === 'number') return encodeNumber(v);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}.${i}`));
    if (v instanceof Map) throw new TypeError(`stateToJSON: a Map at ${path || 'the top'}; state dicts hold plain objects`);
    if (typeof v === 'object') {
      const out: Record<string, JsonValue> = {};
      for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = walk(x, path ? `${path}.${k}` : k);
      return out;
    }
    throw new TypeError(`stateToJSON: cannot store a ${typeof v} at ${path || 'the top'}`);
  };
  return walk(value, '');
}

function decodeNumber(v: JsonValue, path: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v in NON_FINITE) return NON_FINITE[v];
  throw new TypeError(`stateFromJSON: expected a number at ${path}, got ${JSON.stringify(v)}`);
}

function isInlineTensor(v: Record<string, JsonValue>): boolean {
  const keys = Object.keys(v);
  return keys.length === 3 && typeof v.dtype === 'string' && Array.isArray(v.shape) && Array.isArray(v.data);
}

/** The state dict that stateToJSON encoded, with its tensors rebuilt (or taken from `tensors`). */
export function stateFromJSON<T>(json: JsonValue, { tensors }: StateJSONOptions = {}): T {
  const walk = (v: JsonValue, path: string): unknown => {
    if (typeof v === 'string') return v in NON_FINITE ? NON_FINITE[v] : v;
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}.${i}`));
    if (Object.keys(v).length === 1 && typeof v.$tensor === 'string') {
      const t = tensors?.get(v.$tensor);
      if (!t) throw new Error(`stateFromJSON: tensor "${v.$tensor}" (at ${path}) is not in the tensors map`);
      return t;
    }
    if (isInlineTensor(v)) {
      const dtype = v.dtype as DType;
      if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'uint8') throw new TypeError(`stateFromJSON: unknown dtype ${dtype} at ${path}`);
      const values = v.data as JsonValue[];
      const data = newTypedArray(dtype, values.length);
      values.forEach((x, i) => {
        data[i] = decodeNumber(x, `${path}.data.${i}`);
      });
      return new Tensor(data, v.shape as number[]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, path ? `${path}.${k}` : k);
    return out;
  };
  return walk(json, '') as T;
}
