/**
 * Turning pickled tensor views into tsvision tensors: the storage types torch files
 * use, their element sizes, and the copy of a (possibly strided, offset, shared)
 * view out of its storage's raw little-endian bytes into a fresh contiguous array.
 *
 * float32, int32 and uint8 are copied as they are; float16, bfloat16 and float64
 * become float32 (float64 values beyond float32's range are an error), int64, int16
 * and int8 become int32 (int64 values outside int32 are an error), bool becomes uint8.
 */
import type { DType, DTypeMap, TypedArray } from '../core/dtype.js';
import { newTypedArray } from '../core/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { StorageType, TensorView } from './pickle.js';
import { halfToFloat } from './safetensors.js';
import type { Fail } from './zip.js';

interface StorageKind {
  itemSize: number;
  dtype: DType;
  /** torch's name of the element type, for messages. */
  torchName: string;
}

export const STORAGE_KINDS: Record<StorageType, StorageKind> = {
  FloatStorage: { itemSize: 4, dtype: 'float32', torchName: 'float32' },
  HalfStorage: { itemSize: 2, dtype: 'float32', torchName: 'float16' },
  BFloat16Storage: { itemSize: 2, dtype: 'float32', torchName: 'bfloat16' },
  DoubleStorage: { itemSize: 8, dtype: 'float32', torchName: 'float64' },
  LongStorage: { itemSize: 8, dtype: 'int32', torchName: 'int64' },
  IntStorage: { itemSize: 4, dtype: 'int32', torchName: 'int32' },
  ShortStorage: { itemSize: 2, dtype: 'int32', torchName: 'int16' },
  CharStorage: { itemSize: 1, dtype: 'int32', torchName: 'int8' },
  ByteStorage: { itemSize: 1, dtype: 'uint8', torchName: 'uint8' },
  BoolStorage: { itemSize: 1, dtype: 'uint8', torchName: 'bool' },
};

/** The storage class tsvision writes for each of its dtypes. */
export const STORAGE_OF_DTYPE: Record<DType, StorageType> = { float32: 'FloatStorage', int32: 'IntStorage', uint8: 'ByteStorage' };

/** A storage named by a persistent id; its bytes arrive when the file is read that far. */
export class StorageRef {
  bytes: Uint8Array | null = null;
  constructor(
    readonly key: string,
    readonly type: StorageType,
    /** Element count the pickle claims. */
    readonly numel: number,
    /** For legacy storage views: the storage this one is a window of, from element `offset`. */
    readonly base: { ref: StorageRef; offset: number } | null = null,
  ) {}

  /** The raw bytes of the storage's elements. */
  data(fail: Fail): Uint8Array {
    const size = STORAGE_KINDS[this.type].itemSize;
    if (this.base) {
      const all = this.base.ref.data(fail);
      const start = this.base.offset * size;
      if (start + this.numel * size > all.length) fail(`storage view "${this.key}" runs past the end of storage "${this.base.ref.key}"`);
      return all.subarray(start, start + this.numel * size);
    }
    if (!this.bytes) return fail(`storage "${this.key}" is used by a tensor but its data is not in the file`);
    return this.bytes;
  }
}

/** Converts views into tensors, refusing to allocate more than `budget` bytes in all. */
export class TensorMaker {
  private readonly made = new Map<TensorView, Tensor>();

  constructor(
    private budget: number,
    private readonly fail: Fail,
  ) {}

  /** The tensor of `view` (one tensor per view object, so a tensor pickled twice is one tensor), `name` naming it in errors. */
  make(view: TensorView, name: string): Tensor {
    const done = this.made.get(view);
    if (done) return done;
    const fail: Fail = (msg) => this.fail(`tensor "${name}": ${msg}`);
    const ref = view.storage;
    if (!(ref instanceof StorageRef)) return fail('its storage is not a storage record');
    const kind = STORAGE_KINDS[ref.type];
    const numel = countElements(view.shape, fail);
    if (numel > 0) {
      const last = view.shape.reduce((at, d, i) => at + (d - 1) * view.stride[i], view.offset);
      if (last >= ref.numel) {
        fail(
          `shape [${view.shape.join(', ')}] with strides [${view.stride.join(', ')}] from offset ${view.offset} reads element ${last} ` +
            `of storage "${ref.key}", which holds ${ref.numel}`,
        );
      }
    }
    const outBytes = numel * (kind.dtype === 'uint8' ? 1 : 4);
    if (outBytes > this.budget) fail(`needs ${outBytes} bytes, beyond the ${this.budget} bytes left of this file's limit for tensors`);
    this.budget -= outBytes;
    const bytes = numel > 0 ? ref.data(fail) : new Uint8Array(0);
    const tensor = new Tensor(copyView(bytes, ref.type, view, numel, fail) as DTypeMap[DType], view.shape);
    this.made.set(view, tensor);
    return tensor;
  }
}

function countElements(shape: readonly number[], fail: Fail): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) fail(`shape [${shape.join(', ')}] holds too many elements`);
  return n;
}

/** The elements of `view` in row-major order, converted, in a new array. */
function copyView(bytes: Uint8Array, type: StorageType, view: TensorView, numel: number, fail: Fail): TypedArray {
  const kind = STORAGE_KINDS[type];
  const out = newTypedArray(kind.dtype, numel);
  if (numel === 0) return out;
  const contiguous = isContiguous(view.shape, view.stride);
  const sameLayout = type === 'FloatStorage' || type === 'IntStorage' || type === 'ByteStorage' || type === 'BoolStorage';
  if (contiguous && sameLayout) {
    const start = view.offset * kind.itemSize;
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + numel * kind.itemSize));
    return out;
  }
  const read = elementReader(bytes, type, fail);
  if (contiguous) {
    for (let i = 0; i < numel; i++) out[i] = read(view.offset + i);
    return out;
  }
  gather(view, read, out);
  return out;
}

/** True when the strides are those of a contiguous row-major array (dimensions of size 1 may have any stride). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** Walks the view's indices with an odometer, last dimension fastest. */
function gather(view: TensorView, read: (index: number) => number, out: TypedArray): void {
  const { shape, stride } = view;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = view.offset;
  for (let i = 0; i < out.length; i++) {
    out[i] = read(at);
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) {
        at += stride[d];
        break;
      }
      at -= (shape[d] - 1) * stride[d];
      index[d] = 0;
    }
  }
}

let halfTable: Float32Array | null = null;
const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);

/** A function reading element `index` of the storage as the number tsvision keeps. */
function elementReader(bytes: Uint8Array, type: StorageType, fail: Fail): (index: number) => number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'FloatStorage':
      return (i) => v.getFloat32(i * 4, true);
    case 'DoubleStorage':
      return (i) => {
        const x = v.getFloat64(i * 8, true);
        if (Number.isFinite(x) && !Number.isFinite(Math.fround(x))) fail(`float64 value ${x} at element ${i} overflows float32`);
        return x;
      };
    case 'HalfStorage': {
      const table = (halfTable ??= Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h)));
      return (i) => table[v.getUint16(i * 2, true)];
    }
    case 'BFloat16Storage':
      return (i) => {
        bf16Bits[0] = v.getUint16(i * 2, true) << 16;
        return bf16Scratch[0];
      };
    case 'LongStorage':
      return (i) => {
        const low = v.getUint32(i * 8, true);
        const high = v.getInt32(i * 8 + 4, true);
        if ((high === 0 && low <= 0x7fffffff) || (high === -1 && low >= 0x80000000)) return low | 0;
        return fail(`int64 value ${v.getBigInt64(i * 8, true)} at element ${i} does not fit in int32`);
      };
    case 'IntStorage':
      return (i) => v.getInt32(i * 4, true);
    case 'ShortStorage':
      return (i) => v.getInt16(i * 2, true);
    case 'CharStorage':
      return (i) => v.getInt8(i);
    default:
      return (i) => bytes[i];
  }
}
