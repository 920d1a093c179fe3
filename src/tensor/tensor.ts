/**
 * Tensor: a contiguous row-major typed array with a shape, a dtype, and (for
 * float32 tensors that take part in autograd) the node of the tape that made it.
 * Storage is a TypedArray, so the garbage collector frees it: there is no
 * dispose(). The ops live in ./ops as functions over Tensor; ./methods.ts attaches
 * the fluent methods (x.add(y)) so this file imports no op.
 */
import { backend } from '../backend/index.js';
import { dtypeOf, type DType, type DTypeMap, type TypedArray } from '../core/dtype.js';
import { fmtShape } from './errors.js';
import { checkShape, numel, type Shape } from './shape.js';

/** One recorded op on the tape: where its inputs' gradients go and how to compute them from the output's. */
export interface GradNode {
  readonly name: string;
  /** per input: its node, the input itself when it is a leaf, or null when it needs no gradient; emptied after use unless retainGraph */
  next: readonly (GradNode | Tensor | null)[];
  /** Gradients for each input (null where the input needs none); dropped after use unless retainGraph. */
  backward: ((grad: Tensor) => (Tensor | null)[]) | null;
}

export type NestedArray = number | NestedArray[];

export class Tensor<D extends DType = DType> {
  readonly data: DTypeMap[D];
  readonly shape: readonly number[];
  readonly dtype: D;
  /** Set on leaves by the user; on results, true when any input requires grad (and grad mode is on). */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after backward(). */
  grad: Tensor<'float32'> | null = null;
  /** The op that made this tensor, null for leaves. */
  gradFn: GradNode | null = null;

  constructor(data: DTypeMap[D], shape: Shape) {
    checkShape('Tensor', shape);
    if (data.length !== numel(shape)) {
      throw new RangeError(`Tensor: ${data.length} elements do not fill shape ${fmtShape(shape)}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtypeOf(data) as D;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  numel(): number {
    return this.data.length;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Marks a leaf as needing gradients (returns this, like PyTorch's requires_grad_). */
  requiresGrad_(flag = true): this {
    if (flag && this.dtype !== 'float32') {
      throw new TypeError(`requiresGrad: only float32 tensors can require gradients, got ${this.dtype}`);
    }
    this.requiresGrad = flag;
    return this;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) {
      throw new RangeError(`item: the tensor has ${this.data.length} elements, expected 1 (shape ${fmtShape(this.shape)})`);
    }
    return this.data[0];
  }

  /** Nested arrays of numbers (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** A copy of the elements as a plain array. */
  toFlatArray(): number[] {
    return Array.from(this.data);
  }

  /** Up to 1000 values, nested like the shape (NaN and Infinity printed as such). */
  toString(): string {
    const fmt = (v: NestedArray): string => (Array.isArray(v) ? `[${v.map(fmt).join(', ')}]` : String(v));
    const body = this.size <= 1000 ? fmt(this.toArray()) : `[${this.size} values]`;
    return `Tensor(${body}, shape=${fmtShape(this.shape)}, dtype=${this.dtype})`;
  }
}

/** A fresh tensor with uninitialised storage from the current backend. */
export function empty<D extends DType = 'float32'>(shape: Shape, dtype: D = 'float32' as D): Tensor<D> {
  checkShape('empty', shape);
  return new Tensor(backend().alloc(dtype, numel(shape)), shape);
}

/** Wraps an existing typed array (no copy). */
export function fromTypedArray<T extends TypedArray>(data: T, shape?: Shape): Tensor {
  return new Tensor(data as DTypeMap[DType], shape ?? [data.length]);
}
