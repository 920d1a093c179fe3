/** The README's library example runs as written (with 'tsvision' resolved to this checkout). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

test('the README example trains a step', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has a ts example');
  const entry = pathToFileURL(fileURLToPath(new URL('../src/index.js', import.meta.url))).href;
  const code = block[1].replace(/from 'tsvision'/g, `from '${entry}'`) + '\nexport const result = loss.item();\n';
  const dir = mkdtempSync(join(tmpdir(), 'tsvision-readme-'));
  try {
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code);
    const { result } = (await import(pathToFileURL(file).href)) as { result: number };
    assert.ok(Number.isFinite(result) && result > 0, `loss ${result}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
