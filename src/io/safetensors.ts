/**
 * safetensors: read and write the format of huggingface/safetensors.
 *
 *   [8 bytes: N, u64 little-endian][N bytes: JSON header, padded with spaces][byte buffer]
 *
 * The header maps each tensor name to { dtype, shape, data_offsets: [begin, end] }
 * (offsets into the byte buffer, which starts right after the header) and may hold
 * "__metadata__", a map of strings to strings. Values are little-endian and
 * row-major. We write the header padded with spaces so the byte buffer starts on
 * an 8-byte boundary (as the reference writer does), tensors in the order given,
 * back to back (the format forbids holes).
 *
 * Reading takes F32, I32 and U8 as they are, and converts the dtypes tsvision does
 * not have: F64, F16, BF16 to float32 (F64 values beyond float32's range are an
 * error), I64 to int32 (values outside int32 are an error), BOOL to uint8.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import type { DType, DTypeMap, TypedArray } from '../core/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/** Thrown for a file that is not valid safetensors; the message names the file. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const WRITE_DTYPE: Record<DType, string> = { float32: 'F32', int32: 'I32', uint8: 'U8' };
const ITEM_SIZE: Record<string, number> = {
  F32: 4,
  I32: 4,
  U8: 1,
  I64: 8,
  F64: 8,
  F16: 2,
  BF16: 2,
  BOOL: 1,
};
/** Headers beyond this are refused before parsing (the reference reader's limit). */
const MAX_HEADER = 100_000_000;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The bytes of a safetensors file holding `tensors` (in their order) and `metadata`. */
export function encodeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported');
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  const meta = Object.entries(metadata);
  if (meta.length > 0) {
    for (const [k, v] of meta) {
      if (typeof v !== 'string') throw new TypeError(`safetensors: metadata value "${k}" must be a string, got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '__metadata__') throw new TypeError('safetensors: "__metadata__" cannot name a tensor');
    if (!(t instanceof Tensor)) throw new TypeError(`safetensors: "${name}" is not a Tensor`);
    const bytes = t.data.byteLength;
    header[name] = { dtype: WRITE_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Saves `tensors` and string `metadata` as a safetensors file, atomically. */
export function saveSafetensors(path: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads a safetensors file; errors name it. */
export function loadSafetensors(path: string): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(`safetensors: cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}

/** Parses the bytes of a safetensors file; `source` names it in errors. */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsFile {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`safetensors: ${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`file too short (${bytes.length} bytes) to hold the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} exceeds the limit of ${MAX_HEADER} bytes`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + 8, n).toString('utf8');
  if (!text.startsWith('{')) fail('the header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  const entries: [string, HeaderEntry][] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = raw as Partial<HeaderEntry> | null;
    if (e === null || typeof e !== 'object') fail(`tensor "${name}": entry is not an object`);
    const { dtype, shape, data_offsets: offs } = e as Partial<HeaderEntry>;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE))
      fail(`tensor "${name}": unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(ITEM_SIZE).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      fail(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor "${name}": data_offsets ${JSON.stringify(offs)} is not a pair of non-negative integers`);
    }
    const [b, end] = offs as [number, number];
    if (b > end) fail(`tensor "${name}": data_offsets [${b}, ${end}] run backwards`);
    if (end > dataLen) fail(`tensor "${name}": data_offsets [${b}, ${end}] run past the end of the data (${dataLen} bytes)`);
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    const expected = count * ITEM_SIZE[dtype as string];
    if (end - b !== expected) {
      fail(`tensor "${name}": ${dtype} shape [${(shape as number[]).join(', ')}] needs ${expected} bytes, data_offsets [${b}, ${end}] hold ${end - b}`);
    }
    spans.push([b, end, name]);
    entries.push([name, e as HeaderEntry]);
  }
  spans.sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  let covered = 0;
  for (const [b, end, name] of spans) {
    if (b < covered) fail(`tensor "${name}": data_offsets [${b}, ${end}] overlap another tensor's`);
    if (b > covered) fail(`bytes ${covered}..${b} of the data belong to no tensor (the format forbids holes)`);
    covered = end;
  }
  if (covered !== dataLen) fail(`the data is ${dataLen} bytes but the tensors cover ${covered}`);
  const tensors = new Map<string, Tensor>();
  for (const [name, e] of entries) {
    const [b, end] = e.data_offsets;
    const src = bytes.subarray(dataStart + b, dataStart + end);
    tensors.set(name, new Tensor(convert(src, e.dtype, (msg) => fail(`tensor "${name}": ${msg}`)) as DTypeMap[DType], e.shape));
  }
  return { tensors, metadata };
}

/** A fresh typed array (own, aligned buffer) holding `src` converted to a tsvision dtype. */
function convert(src: Uint8Array, dtype: string, fail: (msg: string) => never): TypedArray {
  const size = ITEM_SIZE[dtype];
  const n = src.length / size;
  const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (dtype) {
    case 'U8':
    case 'BOOL':
      return new Uint8Array(src);
    case 'F32': {
      const out = new Float32Array(n);
      new Uint8Array(out.buffer).set(src);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(n);
      new Uint8Array(out.buffer).set(src);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = v.getFloat64(i * 8, true);
        out[i] = x;
        if (Number.isFinite(x) && !Number.isFinite(out[i])) fail(`F64 value ${x} at index ${i} overflows float32`);
      }
      return out;
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const x = v.getBigInt64(i * 8, true);
        if (x > 2147483647n || x < -2147483648n) fail(`I64 value ${x} at index ${i} does not fit in int32`);
        out[i] = Number(x);
      }
      return out;
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(v.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = v.getUint16(i * 2, true) << 16;
      return out;
    }
    default:
      return fail(`unsupported dtype ${dtype}`);
  }
}

/** IEEE 754 binary16 bits to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
