/**
 * Known weights: the table of torchvision's published files, names and aliases, and
 * downloading into the cache from a local HTTP server: a good file lands once, a
 * corrupted one (its hash does not match its name) is refused and leaves nothing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { downloadWeights, findWeights, IMAGENET_CLASSES, knownWeights, resolveWeights, TORCHVISION_WEIGHTS } from '../src/models/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tsvision-weights-'));
const good = Buffer.from('pretend these are weights');
const goodName = `tiny-${createHash('sha256').update(good).digest('hex').slice(0, 8)}.pth`;
let server: Server;
let base = '';
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests++;
    if (req.url === `/${goodName}`) res.end(good);
    else if (req.url === '/corrupt-0123abcd.pth') res.end(Buffer.from('not what the name promises'));
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('known weights', () => {
  test("torchvision's published files: names, aliases, file names, preprocessing, 1000 class names", () => {
    const r50 = findWeights('resnet50.imagenet');
    assert.ok(r50);
    assert.equal(r50.file, 'resnet50-11ad3fa6.pth');
    assert.equal(findWeights('some/dir/resnet50-0676ba61.pth')?.name, 'resnet50.imagenet1k_v1');
    assert.deepEqual([r50.preprocess.resizeSize, r50.preprocess.cropSize, r50.preprocess.interpolation], [232, 224, 'bilinear']);
    assert.equal(r50.accuracy?.top1, 80.858);
    assert.equal(findWeights('efficientnet_b7.imagenet')?.preprocess.cropSize, 600);
    assert.equal(findWeights('efficientnet_b0.imagenet')?.preprocess.interpolation, 'bicubic');
    assert.deepEqual(findWeights('googlenet.imagenet')?.config, { transformInput: true, auxLogits: false });
    assert.equal(IMAGENET_CLASSES.length, 1000);
    assert.equal(IMAGENET_CLASSES[0], 'tench');
    assert.ok(knownWeights('resnet50').length >= 2);
    assert.ok(
      TORCHVISION_WEIGHTS.every((w) => /-[0-9a-f]{8,}\.pth$/.test(w.file)),
      'every file name carries its hash',
    );
    assert.equal(findWeights('resnet9000.imagenet'), null);
  });

  test('a download lands in the cache once and is checked against the hash in its name', async () => {
    const path = await downloadWeights(`${base}/${goodName}`, goodName, { dir });
    assert.deepEqual(readFileSync(path), good);
    const n = requests;
    assert.equal(await downloadWeights(`${base}/${goodName}`, goodName, { dir }), path);
    assert.equal(requests, n, 'the cached file is used without a request');
  });

  test('a corrupted download is refused and leaves nothing behind', async () => {
    await assert.rejects(
      downloadWeights(`${base}/corrupt-0123abcd.pth`, 'corrupt-0123abcd.pth', { dir }),
      /the download of corrupt-0123abcd\.pth from .* is corrupt: its SHA-256 is [0-9a-f]{16}…, the file name says 0123abcd; nothing was saved/,
    );
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('corrupt')), 'no file and no partial file');
    await assert.rejects(downloadWeights(`${base}/missing-00000000.pth`, 'missing-00000000.pth', { dir }), /HTTP 404/);
  });

  test('resolveWeights: a path works offline; an unknown name is one clear error', async () => {
    const local = join(dir, 'resnet18-f37072fd.pth');
    writeFileSync(local, 'x');
    const r = await resolveWeights(local);
    assert.equal(r.path, local);
    assert.equal(r.known?.architecture, 'resnet18');
    await assert.rejects(resolveWeights('nothing-here.pth'), /no file nothing-here\.pth, and no known weights of that name/);
    assert.ok(existsSync(local));
  });
});
