#!/usr/bin/env node
// The tsvision command; the TypeScript is compiled into dist/ by `npm install` (prepare).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
