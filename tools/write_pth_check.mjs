#!/usr/bin/env node
/**
 * Writes a .pth file with tsvision's savePth for PyTorch to read back:
 *
 *   npx tsc -p tsconfig.json && node tools/write_pth_check.mjs /tmp/check.pth
 *   /usr/bin/python3 tools/make_pth_fixtures.py --check /tmp/check.pth
 *
 * The state dict is test/fixtures/pth/conv_bn.pth as tsvision reads it (int64
 * num_batches_tracked becomes int32), so the check can load it into the model that
 * made that file and compare every tensor.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPth, savePth } from '../dist/src/io/index.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: node tools/write_pth_check.mjs OUT.pth');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { tensors } = loadPth(join(root, 'test', 'fixtures', 'pth', 'conv_bn.pth'));
savePth(out, tensors);
console.log(`wrote ${out}: ${[...tensors].map(([k, t]) => `${k} ${t.dtype} [${t.shape.join(', ')}]`).join(', ')}`);
