/**
 * The native backend: typed wrappers around the C++ addon (build/Release/tsvision.node).
 * Storage for tensors of 1024 elements or more comes from the addon's caching
 * allocator as external ArrayBuffers (returned to the pool when the garbage
 * collector frees them); smaller ones are plain JS typed arrays, which are cheaper
 * to make than a native call.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DTYPE_CODE, newTypedArray, type DType, type DTypeMap, type TypedArray } from '../core/dtype.js';
import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, type AdamStep, type Backend, type ConvGeometry, type PoolGeometry, type RmspropStep, type SgdStep } from './backend.js';

type Dims = readonly number[];

/** The addon's exports, as declared in native/addon.cc. */
export interface Addon {
  alloc(dtype: 0 | 1 | 2, n: number): TypedArray;
  allocatorStats(): { liveBytes: number; cachedBytes: number; hits: number; misses: number };
  emptyCache(): void;
  setCacheLimit(bytes: number): void;
  numThreads(): number;
  setNumThreads(n: number): void;
  isa(): string;
  forceIsa(name: string): void;
  opNames(): { unary: string; binary: string; compare: string; reduce: string };
  unary(op: number, x: Float32Array, y: Float32Array, p0: number, p1: number): void;
  unaryBackward(op: number, x: Float32Array, y: Float32Array, gy: Float32Array, dx: Float32Array, p0: number, p1: number): void;
  binary(op: number, shape: Dims, a: Float32Array, as: Dims, b: Float32Array, bs: Dims, out: Float32Array): void;
  compare(op: number, shape: Dims, a: Float32Array, as: Dims, b: Float32Array, bs: Dims, out: Uint8Array): void;
  where(shape: Dims, c: Uint8Array, cs: Dims, a: Float32Array, as: Dims, b: Float32Array, bs: Dims, out: Float32Array): void;
  reduce(op: number, x: Float32Array, outer: number, r: number, inner: number, out: Float32Array): void;
  argReduce(isMax: boolean, x: Float32Array, outer: number, r: number, inner: number, out: Int32Array): void;
  softmax(x: Float32Array, outer: number, r: number, inner: number, log: boolean, y: Float32Array): void;
  softmaxBackward(y: Float32Array, gy: Float32Array, outer: number, r: number, inner: number, log: boolean, dx: Float32Array): void;
  copyStrided(shape: Dims, src: TypedArray, so: number, ss: Dims, dst: TypedArray, dOff: number, ds: Dims): void;
  addStrided(shape: Dims, src: Float32Array, so: number, ss: Dims, dst: Float32Array, dOff: number, ds: Dims): void;
  fill(out: Float32Array, value: number): void;
  cast(src: TypedArray, dst: TypedArray): void;
  indexSelect(x: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;
  indexAdd(g: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;
  gather(x: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;
  scatterAdd(g: Float32Array, outer: number, n: number, inner: number, idx: Int32Array, out: Float32Array): void;
  batchNormStats(x: Float32Array, n: number, c: number, hw: number, eps: number, mean: Float32Array, variance: Float32Array, invstd: Float32Array): void;
  batchNormForward(x: Float32Array, n: number, c: number, hw: number, mean: Float32Array, invstd: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, y: Float32Array): void;
  batchNormBackward(x: Float32Array, dy: Float32Array, n: number, c: number, hw: number, mean: Float32Array, invstd: Float32Array, gamma: Float32Array | null, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  adamStep(h: AdamStep, param: Float32Array, grad: Float32Array, expAvg: Float32Array, expAvgSq: Float32Array, maxExpAvgSq: Float32Array | null): void;
  sgdStep(h: SgdStep, param: Float32Array, grad: Float32Array, buf: Float32Array | null): void;
  rmspropStep(h: RmspropStep, param: Float32Array, grad: Float32Array, squareAvg: Float32Array, gradAvg: Float32Array | null, buf: Float32Array | null): void;
  maxPool(g: PoolGeometry, x: Float32Array, y: Float32Array, indices: Int32Array): void;
  maxPoolBackward(planes: number, inPlane: number, outPlane: number, indices: Int32Array, dy: Float32Array, dx: Float32Array): void;
  avgPool(g: PoolGeometry, x: Float32Array, y: Float32Array): void;
  avgPoolBackward(g: PoolGeometry, dy: Float32Array, dx: Float32Array): void;
  convForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array): void;
  convBackwardInput(g: ConvGeometry, w: Float32Array, dy: Float32Array, dx: Float32Array): void;
  convBackwardWeight(g: ConvGeometry, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  sgemm(...args: (number | boolean | Float32Array)[]): void;
}

/** Where the addon may be: the node-gyp Release build (the normal case) or a Debug build. */
function addonPath(): string | null {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  for (const p of ['build/Release/tsvision.node', 'build/Debug/tsvision.node']) {
    if (existsSync(join(root, p))) return join(root, p);
  }
  return null;
}

export interface AddonLoad {
  addon: Addon | null;
  error: string | null;
}

/** Loads the addon and checks that its op tables match ours, so a stale build cannot silently mis-dispatch. */
export function loadAddon(): AddonLoad {
  const path = addonPath();
  if (!path) return { addon: null, error: 'the native addon was not built (no build/Release/tsvision.node)' };
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (e) {
    return { addon: null, error: `the native addon failed to load: ${(e as Error).message}` };
  }
  const names = addon.opNames();
  const tables: [string, readonly string[]][] = [
    [names.unary, UNARY_OPS], [names.binary, BINARY_OPS], [names.compare, COMPARE_OPS], [names.reduce, REDUCE_OPS],
  ];
  for (const [native, ours] of tables) {
    if (native !== ours.map((n) => `${n},`).join('')) {
      return { addon: null, error: `the native addon is out of date (op table ${native}); run npm run build:native` };
    }
  }
  return { addon, error: null };
}

const SMALL = 1024;

const code = <T extends string>(list: readonly T[]) => Object.fromEntries(list.map((n, i) => [n, i])) as Record<T, number>;
const UNARY = code(UNARY_OPS);
const BINARY = code(BINARY_OPS);
const COMPARE = code(COMPARE_OPS);
const REDUCE = code(REDUCE_OPS);

function required<T>(op: string, name: string, v: T | null): T {
  if (!v) throw new TypeError(`${op}: ${name} is required with these options`);
  return v;
}

function sameLength(op: string, param: Float32Array, ...others: (Float32Array | null)[]): void {
  for (const o of others) {
    if (o && o.length !== param.length) throw new RangeError(`${op}: an array of ${o.length} elements given for a parameter of ${param.length}`);
  }
}

/**
 * A full garbage collection, or null where the runtime refuses to expose one. Dead
 * tensors return their blocks to the pool only when V8 collects their ArrayBuffers,
 * and V8 sees little reason to: the JS heap stays small while the blocks are external.
 */
function garbageCollector(): (() => void) | null {
  try {
    v8.setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return null;
  }
}

/** Bytes allocated between forced collections: enough that collections cost little, small enough that dead activations and gradients do not pile up. */
const COLLECT_EVERY = 256 * 2 ** 20;

export function makeNativeBackend(addon: Addon): Backend {
  const collect = garbageCollector();
  let sinceCollect = 0;
  return {
    name: 'native',
    alloc<D extends DType>(dtype: D, n: number): DTypeMap[D] {
      if (n < SMALL) return newTypedArray(dtype, n);
      sinceCollect += dtype === 'uint8' ? n : 4 * n;
      if (collect && sinceCollect > COLLECT_EVERY) {
        sinceCollect = 0;
        collect();
      }
      return addon.alloc(DTYPE_CODE[dtype], n) as DTypeMap[D];
    },
    unary: (op, x, y, p0, p1) => addon.unary(UNARY[op], x, y, p0, p1),
    unaryBackward: (op, x, y, gy, dx, p0, p1) => addon.unaryBackward(UNARY[op], x, y, gy, dx, p0, p1),
    binary: (op, shape, a, as, b, bs, out) => addon.binary(BINARY[op], shape, a, as, b, bs, out),
    compare: (op, shape, a, as, b, bs, out) => addon.compare(COMPARE[op], shape, a, as, b, bs, out),
    where: (shape, c, cs, a, as, b, bs, out) => addon.where(shape, c, cs, a, as, b, bs, out),
    reduce: (op, x, outer, r, inner, out) => addon.reduce(REDUCE[op], x, outer, r, inner, out),
    argReduce: (isMax, x, outer, r, inner, out) => addon.argReduce(isMax, x, outer, r, inner, out),
    softmax: (x, outer, r, inner, log, y) => addon.softmax(x, outer, r, inner, log, y),
    softmaxBackward: (y, gy, outer, r, inner, log, dx) => addon.softmaxBackward(y, gy, outer, r, inner, log, dx),
    copyStrided: (shape, src, so, ss, dst, dOff, ds) => addon.copyStrided(shape, src, so, ss, dst, dOff, ds),
    addStrided: (shape, src, so, ss, dst, dOff, ds) => addon.addStrided(shape, src, so, ss, dst, dOff, ds),
    fill: (out, value) => addon.fill(out, value),
    cast: (src, dst) => addon.cast(src, dst),
    indexSelect: (x, outer, n, inner, idx, out) => addon.indexSelect(x, outer, n, inner, idx, out),
    indexAdd: (g, outer, n, inner, idx, out) => addon.indexAdd(g, outer, n, inner, idx, out),
    gather: (x, outer, n, inner, idx, out) => addon.gather(x, outer, n, inner, idx, out),
    scatterAdd: (g, outer, n, inner, idx, out) => addon.scatterAdd(g, outer, n, inner, idx, out),
    batchNormStats: (x, n, c, hw, eps, mean, variance, invstd) => addon.batchNormStats(x, n, c, hw, eps, mean, variance, invstd),
    batchNormForward: (x, n, c, hw, mean, invstd, gamma, beta, y) => addon.batchNormForward(x, n, c, hw, mean, invstd, gamma, beta, y),
    batchNormBackward: (x, dy, n, c, hw, mean, invstd, gamma, dx, dgamma, dbeta) => addon.batchNormBackward(x, dy, n, c, hw, mean, invstd, gamma, dx, dgamma, dbeta),
    // The update kernels index every array by the parameter's length, so lengths
    // and the presence of optional buffers are checked here, before C++ sees them.
    adamStep: (h, param, grad, m, v, vmax) => {
      sameLength('adamStep', param, grad, m, v, h.amsgrad ? required('adamStep', 'maxExpAvgSq', vmax) : null);
      addon.adamStep(h, param, grad, m, v, vmax);
    },
    sgdStep: (h, param, grad, buf) => {
      sameLength('sgdStep', param, grad, h.momentum !== 0 ? required('sgdStep', 'buf', buf) : null);
      addon.sgdStep(h, param, grad, buf);
    },
    rmspropStep: (h, param, grad, sq, ga, buf) => {
      sameLength('rmspropStep', param, grad, sq, h.centered ? required('rmspropStep', 'gradAvg', ga) : null, h.momentum > 0 ? required('rmspropStep', 'buf', buf) : null);
      addon.rmspropStep(h, param, grad, sq, ga, buf);
    },
    maxPool: (g, x, y, indices) => addon.maxPool(g, x, y, indices),
    maxPoolBackward: (planes, inPlane, outPlane, indices, dy, dx) => addon.maxPoolBackward(planes, inPlane, outPlane, indices, dy, dx),
    avgPool: (g, x, y) => addon.avgPool(g, x, y),
    avgPoolBackward: (g, dy, dx) => addon.avgPoolBackward(g, dy, dx),
    convForward: (g, x, w, bias, y) => addon.convForward(g, x, w, bias, y),
    convBackwardInput: (g, w, dy, dx) => addon.convBackwardInput(g, w, dy, dx),
    convBackwardWeight: (g, x, dy, dw) => addon.convBackwardWeight(g, x, dy, dw),
    sgemm: (...args) => addon.sgemm(...args),
  };
}
