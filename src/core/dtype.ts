/** Element types a tensor can hold: float32 for everything learned, int32 for labels and indices, uint8 for image bytes and masks. */
export type DType = 'float32' | 'int32' | 'uint8';

export interface DTypeMap {
  float32: Float32Array;
  int32: Int32Array;
  uint8: Uint8Array;
}

export type TypedArray = Float32Array | Int32Array | Uint8Array;

/** The numeric code the native kernels use for a dtype. */
export const DTYPE_CODE: Record<DType, 0 | 1 | 2> = { float32: 0, int32: 1, uint8: 2 };

/** The dtype of a tensor's storage; any other typed array is refused (convert it with tensor() first). */
export function dtypeOf(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  throw new TypeError(`Tensor: storage must be a Float32Array, Int32Array or Uint8Array, got ${(a as object)?.constructor?.name ?? typeof a}`);
}

export function newTypedArray<D extends DType>(dtype: D, n: number): DTypeMap[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n) as DTypeMap[D];
    case 'int32':
      return new Int32Array(n) as DTypeMap[D];
    default:
      return new Uint8Array(n) as DTypeMap[D];
  }
}
