/**
 * `tsvision train --augment trivial`: the policy trains (in a DataLoader
 * worker thread, so the policy crossed as its spec), the run's header names it, and the
 * checkpoint records it in its preprocessing, which evaluation then reads back.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { tsvision } from './helpers.js';

let root = '';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsvision-augment-'));
  // two classes of 20x20 pictures: a reddish and a bluish gradient, 8 each
  const writes: Promise<unknown>[] = [];
  for (const [k, cls] of ['red', 'blue'].entries()) {
    mkdirSync(join(root, 'data', cls), { recursive: true });
    for (let i = 0; i < 8; i++) {
      const px = Buffer.alloc(20 * 20 * 3);
      for (let p = 0; p < 400; p++) {
        const t = ((p % 20) * 9 + i * 7) % 256;
        px.set(k === 0 ? [200, t, 40] : [40, t, 200], p * 3);
      }
      writes.push(
        sharp(px, { raw: { width: 20, height: 20, channels: 3 } })
          .png()
          .toFile(join(root, 'data', cls, `${i}.png`)),
      );
    }
  }
  await Promise.all(writes);
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('tsvision train --augment', () => {
  // one policy through the whole command (rand and auto build the same way: see test/transforms-augment-random.test.ts)
  for (const augment of ['trivial']) {
    test(`--augment ${augment}: trains in a worker thread, and the checkpoint records it`, async () => {
      const out = `runs/${augment}`;
      const r = await tsvision(
        root,
        'train',
        '--data',
        'data',
        '--val-split',
        '0.25',
        '--model',
        'small_net',
        '--image-size',
        '16',
        '--epochs',
        '1',
        '--batch-size',
        '6',
        '--workers',
        '1',
        '--augment',
        augment,
        '--out',
        out,
      );
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`augmentation ${augment}`));
      assert.doesNotMatch(r.stderr, /TSVISION_NO_WORKERS|loading on the main thread/, 'the policy is portable to the worker');
      for (const d of ['best', 'final']) {
        const info = JSON.parse(readFileSync(join(root, out, d, 'checkpoint.json'), 'utf8'));
        assert.equal(info.preprocessing.augment, augment, `${d}/checkpoint.json`);
      }
      assert.equal(JSON.parse(readFileSync(join(root, out, 'run.json'), 'utf8')).settings.augment, augment);
    });
  }

  test('an unknown --augment is a one-line error listing the choices', async () => {
    const r = await tsvision(root, 'train', '--data', 'data', '--augment', 'strong', '--out', 'runs/x');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--augment.*standard, light, trivial, rand, auto, none/);
  });
});
