#!/usr/bin/env -S node --single-threaded-gc
// --single-threaded-gc: V8 collects on the main thread rather than on helper threads that would
// take cores from the kernels' threads (docs/architecture.md, "Memory and garbage collection").
// The tsvision command; the TypeScript is compiled into dist/ by `npm install` (prepare).
import { main } from '../dist/src/cli/main.js';

// `tsvision predict DIR | head`: a closed pipe ends the command quietly, as for other Unix tools
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
