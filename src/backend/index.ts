/**
 * Backend selection. `native` is used whenever the addon loads; otherwise tsvision
 * falls back to `reference` with one warning. TSVISION_BACKEND=reference forces the
 * reference kernels (for debugging); TSVISION_REQUIRE_NATIVE=1 turns a missing addon
 * into an error (CI sets it, so a broken build cannot pass as slow green tests).
 */
import type { Backend } from './backend.js';
import { loadAddon, makeNativeBackend, type Addon } from './native.js';
import { referenceBackend } from './reference.js';

export type { Activation, AdamStep, Backend, BinaryOp, CompareOp, ConvGeometry, PoolGeometry, ReduceOp, RmspropStep, SgdStep, UnaryOp } from './backend.js';
export { BINARY_OPS, COMPARE_OPS, REDUCE_OPS, UNARY_OPS } from './backend.js';
export { referenceBackend } from './reference.js';

const loaded = loadAddon();

/** The raw addon (null where it could not be loaded), for runtime controls and tests. */
export const addon: Addon | null = loaded.addon;
/** The native backend, or null where the addon is missing. */
export const nativeBackend: Backend | null = addon ? makeNativeBackend(addon) : null;

function initialBackend(): Backend {
  if (process.env.TSVISION_BACKEND === 'reference') return referenceBackend;
  if (nativeBackend) return nativeBackend;
  if (process.env.TSVISION_REQUIRE_NATIVE === '1') {
    throw new Error(`tsvision: ${loaded.error} and TSVISION_REQUIRE_NATIVE=1 is set`);
  }
  process.emitWarning(`tsvision: ${loaded.error}; using the slow reference kernels`, { code: 'TSVISION_NO_NATIVE' });
  return referenceBackend;
}

let current: Backend = initialBackend();

/**
 * The backend that tensor ops run on. Internal (not exported by the package): its
 * kernels take raw arrays and trust the caller's sizes, which the ops compute.
 */
export function backend(): Backend {
  return current;
}

/** The name of the backend tensor ops run on. */
export function backendName(): Backend['name'] {
  return current.name;
}

/** Switches the backend for subsequent ops ('native' needs the addon). */
export function setBackend(name: 'native' | 'reference'): void {
  if (name === 'native') {
    if (!nativeBackend) throw new Error(`tsvision: cannot use the native backend: ${loaded.error}`);
    current = nativeBackend;
  } else {
    current = referenceBackend;
  }
}

/** Threads the native kernels use (TSVISION_NUM_THREADS sets the default; 1 on the reference backend). */
export function getNumThreads(): number {
  return addon ? addon.numThreads() : 1;
}

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  addon?.setNumThreads(n);
}

/** Releases every cached block of the native allocator back to the system. */
export function emptyCache(): void {
  addon?.emptyCache();
}

export function memoryStats(): { liveBytes: number; cachedBytes: number; hits: number; misses: number } {
  return addon ? addon.allocatorStats() : { liveBytes: 0, cachedBytes: 0, hits: 0, misses: 0 };
}
