#!/usr/bin/env node
// The tsvision command; the TypeScript is compiled into dist/ by `npm install` (prepare).
import { main } from '../dist/src/cli/main.js';

// `tsvision predict DIR | head`: a closed pipe ends the command quietly, as for other Unix tools
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
