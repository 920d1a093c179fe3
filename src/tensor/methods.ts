/**
 * The fluent API (x.add(y).relu().sum()): each method forwards to the op function
 * of the same name. Attached here, in one place, so that tensor.ts imports no op
 * and no two modules import each other.
 */
import { backward, type BackwardOptions } from './autograd.js';
import type { DType } from '../core/dtype.js';
import * as ops from './ops/index.js';
import type { ReduceOptions, VarOptions } from './ops/reduce.js';
import { Tensor } from './tensor.js';

type F32 = Tensor<'float32'>;
type Operand = Tensor | number;
type Axes = number | readonly number[];

declare module './tensor.js' {
  interface Tensor<D extends DType = DType> {
    add(other: Operand): F32;
    sub(other: Operand): F32;
    mul(other: Operand): F32;
    div(other: Operand): F32;
    pow(exponent: Operand): F32;
    maximum(other: Tensor): F32;
    minimum(other: Tensor): F32;
    neg(): F32;
    exp(): F32;
    log(): F32;
    sqrt(): F32;
    abs(): F32;
    sign(): F32;
    clamp(min?: number | null, max?: number | null): F32;
    relu(): F32;
    sigmoid(): F32;
    tanh(): F32;
    silu(): F32;
    gelu(approximate?: 'none' | 'tanh'): F32;
    leakyRelu(negativeSlope?: number): F32;
    hardswish(): F32;
    hardsigmoid(): F32;
    eq(other: Operand): Tensor<'uint8'>;
    ne(other: Operand): Tensor<'uint8'>;
    lt(other: Operand): Tensor<'uint8'>;
    le(other: Operand): Tensor<'uint8'>;
    gt(other: Operand): Tensor<'uint8'>;
    ge(other: Operand): Tensor<'uint8'>;
    matmul(other: Tensor): F32;
    sum(axes?: Axes, options?: ReduceOptions): F32;
    mean(axes?: Axes, options?: ReduceOptions): F32;
    max(axes?: Axes, options?: ReduceOptions): F32;
    min(axes?: Axes, options?: ReduceOptions): F32;
    var(axes?: Axes, options?: VarOptions): F32;
    argmax(axis?: number, options?: ReduceOptions): Tensor<'int32'>;
    argmin(axis?: number, options?: ReduceOptions): Tensor<'int32'>;
    softmax(axis: number): F32;
    logSoftmax(axis: number): F32;
    reshape(shape: readonly number[]): Tensor<D>;
    view(shape: readonly number[]): Tensor<D>;
    flatten(startDim?: number, endDim?: number): Tensor<D>;
    squeeze(dim?: number): Tensor<D>;
    unsqueeze(dim: number): Tensor<D>;
    permute(dims: readonly number[]): Tensor<D>;
    transpose(dim0?: number, dim1?: number): Tensor<D>;
    broadcastTo(shape: readonly number[]): Tensor<D>;
    slice(dim: number, start?: number, end?: number, step?: number): Tensor<D>;
    split(sizes: number | readonly number[], dim?: number): Tensor<D>[];
    pad(pads: readonly number[], value?: number): F32;
    indexSelect(dim: number, index: Tensor): F32;
    gather(dim: number, index: Tensor): F32;
    to<T extends DType>(dtype: T): Tensor<T>;
    float(): F32;
    clone(): Tensor<D>;
    detach(): Tensor<D>;
    backward(grad?: Tensor, options?: BackwardOptions): void;
  }
}

const P = Tensor.prototype;
P.add = function (o) {
  return ops.add(this, o);
};
P.sub = function (o) {
  return ops.sub(this, o);
};
P.mul = function (o) {
  return ops.mul(this, o);
};
P.div = function (o) {
  return ops.div(this, o);
};
P.pow = function (e) {
  return ops.pow(this, e);
};
P.maximum = function (o) {
  return ops.maximum(this, o);
};
P.minimum = function (o) {
  return ops.minimum(this, o);
};
P.neg = function () {
  return ops.neg(this);
};
P.exp = function () {
  return ops.exp(this);
};
P.log = function () {
  return ops.log(this);
};
P.sqrt = function () {
  return ops.sqrt(this);
};
P.abs = function () {
  return ops.abs(this);
};
P.sign = function () {
  return ops.sign(this);
};
P.clamp = function (min, max) {
  return ops.clamp(this, min, max);
};
P.relu = function () {
  return ops.relu(this);
};
P.sigmoid = function () {
  return ops.sigmoid(this);
};
P.tanh = function () {
  return ops.tanh(this);
};
P.silu = function () {
  return ops.silu(this);
};
P.gelu = function (approximate) {
  return ops.gelu(this, approximate);
};
P.leakyRelu = function (slope) {
  return ops.leakyRelu(this, slope);
};
P.hardswish = function () {
  return ops.hardswish(this);
};
P.hardsigmoid = function () {
  return ops.hardsigmoid(this);
};
P.eq = function (o) {
  return ops.eq(this, o);
};
P.ne = function (o) {
  return ops.ne(this, o);
};
P.lt = function (o) {
  return ops.lt(this, o);
};
P.le = function (o) {
  return ops.le(this, o);
};
P.gt = function (o) {
  return ops.gt(this, o);
};
P.ge = function (o) {
  return ops.ge(this, o);
};
P.matmul = function (o) {
  return ops.matmul(this, o);
};
P.sum = function (axes, options) {
  return ops.sum(this, axes, options);
};
P.mean = function (axes, options) {
  return ops.mean(this, axes, options);
};
P.max = function (axes, options) {
  return ops.max(this, axes, options);
};
P.min = function (axes, options) {
  return ops.min(this, axes, options);
};
P.var = function (axes, options) {
  return ops.variance(this, axes, options);
};
P.argmax = function (axis, options) {
  return ops.argmax(this, axis, options);
};
P.argmin = function (axis, options) {
  return ops.argmin(this, axis, options);
};
P.softmax = function (axis) {
  return ops.softmax(this, axis);
};
P.logSoftmax = function (axis) {
  return ops.logSoftmax(this, axis);
};
P.reshape = function (shape) {
  return ops.reshape(this, shape);
};
P.view = function (shape) {
  return ops.reshape(this, shape);
};
P.flatten = function (s, e) {
  return ops.flatten(this, s, e);
};
P.squeeze = function (dim) {
  return ops.squeeze(this, dim);
};
P.unsqueeze = function (dim) {
  return ops.unsqueeze(this, dim);
};
P.permute = function (dims) {
  return ops.permute(this, dims);
};
P.transpose = function (a, b) {
  return ops.transpose(this, a, b);
};
P.broadcastTo = function (shape) {
  return ops.broadcastTo(this, shape);
};
P.slice = function (dim, start, end, step) {
  return ops.slice(this, dim, start, end, step);
};
P.split = function (sizes, dim) {
  return ops.split(this, sizes, dim);
};
P.pad = function (pads, value) {
  return ops.pad(this, pads, value);
};
P.indexSelect = function (dim, index) {
  return ops.indexSelect(this, dim, index);
};
P.gather = function (dim, index) {
  return ops.gather(this, dim, index);
};
P.to = function (dtype) {
  return ops.cast(this, dtype);
};
P.float = function () {
  return ops.toFloat(this);
};
P.clone = function () {
  return ops.clone(this);
};
P.detach = function () {
  return ops.detach(this);
};
P.backward = function (grad, options) {
  backward(this, grad, options);
};
