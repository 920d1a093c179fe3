/** The README's library examples run as written (with 'tsvision' resolved to this checkout). */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const entry = pathToFileURL(fileURLToPath(new URL('../src/index.js', import.meta.url))).href;

/** Runs a README block as a module in `dir` (the working directory during the run); returns its exports. */
async function run(code: string, dir: string, tail: string): Promise<Record<string, unknown>> {
  const file = join(dir, `example-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, code.replace(/from 'tsvision'/g, `from '${entry}'`) + tail);
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } finally {
    process.chdir(cwd);
  }
}

test('the README has both examples', () => {
  assert.equal(blocks.length, 2);
});

test('the ImageFolder example trains on data/train and evaluates on data/val', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvision-readme-'));
  try {
    // two classes of 80x60 pictures: dark with a light stripe, light with a dark one
    for (const split of ['train', 'val']) {
      for (const [k, cls] of ['dark', 'light'].entries()) {
        mkdirSync(join(dir, 'data', split, cls), { recursive: true });
        for (let i = 0; i < 6; i++) {
          const px = Buffer.alloc(80 * 60 * 3, k ? 220 : 30);
          for (let y = 0; y < 60; y++) for (let x = 20 + i; x < 30 + i; x++) px.fill(k ? 40 : 200, (y * 80 + x) * 3, (y * 80 + x) * 3 + 3);
          await sharp(px, { raw: { width: 80, height: 60, channels: 3 } })
            .png()
            .toFile(join(dir, 'data', split, cls, `${i}.png`));
        }
      }
    }
    const logs: unknown[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => {
      logs.push(a[0]);
    };
    try {
      await run(blocks[0], dir, '');
    } finally {
      console.log = log;
    }
    const result = logs.at(-1) as { loss: number; acc: number; samples: number };
    assert.equal(result.samples, 12);
    // dark and light pictures are told apart after the example's five epochs
    assert.ok(Number.isFinite(result.loss) && result.acc >= 0.9, JSON.stringify(result));
    const saved = JSON.parse(readFileSync(join(dir, 'runs/mine/final/checkpoint.json'), 'utf8'));
    assert.deepEqual(saved.classes, ['dark', 'light']);
    assert.equal(saved.architecture.name, 'convnet');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the training-loop example trains a step', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvision-readme-'));
  try {
    const { result } = await run(blocks[1], dir, '\nexport const result = loss.item();\n');
    assert.ok(Number.isFinite(result) && (result as number) > 0, `loss ${result}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
