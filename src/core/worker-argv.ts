/**
 * The Node flags a worker thread is started with: the process's own, less those a worker
 * refuses. --input-type (node --input-type=module -e ...) does not apply to a worker's file
 * entry point, and V8's process-wide flags (--single-threaded-gc, which the tsvision command
 * runs with) are refused in a worker's execArgv; they already hold for every thread.
 */
export function workerExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--input-type') && !PROCESS_WIDE_V8_FLAGS.has(a.split('=')[0]));
}

const PROCESS_WIDE_V8_FLAGS = new Set(['--single-threaded-gc', '--expose-gc', '--expose_gc']);
