/**
 * The native backend: the C++ addon's kernels (build/Release/tsvision.node), which
 * take the Backend interface's arguments, wrapped only where op names become codes
 * or arrays need checks.
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
import { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS, type Backend, type ConvGeometry } from './backend.js';
import { referenceBackend } from './reference.js';

/** The kernels that take an op name, which the addon takes as its index in the op table. */
type CodedKernel = 'unary' | 'unaryBackward' | 'binary' | 'compare' | 'reduce';
type WithCode<F> = F extends (op: any, ...rest: infer A) => infer R ? (op: number, ...rest: A) => R : never;

/**
 * The addon's exports (native/addon.cc): every kernel of the Backend interface,
 * declared there once (those of CodedKernel taking op codes), and the runtime controls.
 */
export type Addon = Omit<Backend, 'name' | 'alloc' | 'convForward' | 'convForwardWinograd' | 'winogradWeights' | CodedKernel> & {
  [K in CodedKernel]: WithCode<Backend[K]>;
} & {
  /** the epilogue's activation as its op code (-1 for none) and parameters */
  convForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, act: number, p0: number, p1: number): void;
  convForwardWinograd(g: ConvGeometry, x: Float32Array, u: Float32Array, bias: Float32Array | null, y: Float32Array, act: number, p0: number, p1: number): void;
  winogradWeights(cOut: number, cIn: number, w: Float32Array, u: Float32Array): void;
  alloc(dtype: 0 | 1 | 2, n: number): TypedArray;
  allocatorStats(): { liveBytes: number; cachedBytes: number; hits: number; misses: number };
  emptyCache(): void;
  setCacheLimit(bytes: number): void;
  numThreads(): number;
  setNumThreads(n: number): void;
  isa(): string;
  forceIsa(name: string): void;
  opNames(): { unary: string; binary: string; compare: string; reduce: string };
};

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
  // referenceBackend implements every kernel of the Backend interface: a build without one of them is stale
  const missing = Object.keys(referenceBackend).filter((k) => k !== 'name' && typeof (addon as unknown as Record<string, unknown>)[k] !== 'function');
  if (missing.length > 0) return { addon: null, error: `the native addon is out of date (no ${missing.join(', ')}); run npm run build:native` };
  const names = addon.opNames();
  const tables: [string, readonly string[]][] = [
    [names.unary, UNARY_OPS],
    [names.binary, BINARY_OPS],
    [names.compare, COMPARE_OPS],
    [names.reduce, REDUCE_OPS],
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

/** The addon's kernels as a Backend: small arrays allocated in JavaScript, op names translated to codes, the update kernels' arrays checked. */
export function makeNativeBackend(addon: Addon): Backend {
  const collect = garbageCollector();
  let sinceCollect = 0;
  return {
    ...addon,
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
    unary: (op, ...args) => addon.unary(UNARY[op], ...args),
    convForward: (g, x, w, bias, y, act) => addon.convForward(g, x, w, bias, y, act ? UNARY[act.op] : -1, act?.p0 ?? 0, act?.p1 ?? 0),
    convForwardWinograd: (g, x, u, bias, y, act) => addon.convForwardWinograd(g, x, u, bias, y, act ? UNARY[act.op] : -1, act?.p0 ?? 0, act?.p1 ?? 0),
    winogradWeights: (cOut, cIn, w, u) => {
      if (w.length !== cOut * cIn * 9 || u.length !== 36 * cOut * cIn)
        throw new RangeError(`winogradWeights: w has ${w.length} floats and u ${u.length}, for ${cOut}x${cIn} 3x3 filters`);
      addon.winogradWeights(cOut, cIn, w, u);
    },
    unaryBackward: (op, ...args) => addon.unaryBackward(UNARY[op], ...args),
    binary: (op, ...args) => addon.binary(BINARY[op], ...args),
    compare: (op, ...args) => addon.compare(COMPARE[op], ...args),
    reduce: (op, ...args) => addon.reduce(REDUCE[op], ...args),
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
      sameLength(
        'rmspropStep',
        param,
        grad,
        sq,
        h.centered ? required('rmspropStep', 'gradAvg', ga) : null,
        h.momentum > 0 ? required('rmspropStep', 'buf', buf) : null,
      );
      addon.rmspropStep(h, param, grad, sq, ga, buf);
    },
  };
}
