/**
 * ImageFolder on temporary folders of real files written with sharp: class
 * discovery, file order, decoding (PNG, JPEG, WebP, GIF, TIFF; greyscale and
 * alpha), corrupt files reported and skipped (also through the DataLoader),
 * and the layout errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { configureDecoding, DataLoader, ImageFolder, loadImage, SampleError, withTransform } from '../src/data/index.js';
import { Generator } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as T from '../src/transforms/index.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsvision-imagefolder-'));
  dirs.push(d);
  return d;
}
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** h x w x c bytes that encode position and a seed. */
function pixels(h: number, w: number, c: number, seed: number): Buffer {
  const b = Buffer.alloc(h * w * c);
  for (let i = 0; i < b.length; i++) b[i] = (i * 13 + seed * 29) & 255;
  return b;
}

async function write(path: string, h: number, w: number, c: 1 | 3 | 4, seed: number, format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff'): Promise<Buffer> {
  mkdirSync(join(path, '..'), { recursive: true });
  const raw = pixels(h, w, c, seed);
  let s = sharp(raw, { raw: { width: w, height: h, channels: c } });
  s =
    format === 'png'
      ? s.png()
      : format === 'jpeg'
        ? s.jpeg({ quality: 95 })
        : format === 'webp'
          ? s.webp({ lossless: true })
          : format === 'gif'
            ? s.gif()
            : s.tiff({ compression: 'lzw' });
  await s.toFile(path);
  return raw;
}

describe('ImageFolder', () => {
  let root = '';
  const raws: Record<string, Buffer> = {};
  const errors: SampleError[] = [];
  let good = 0;

  before(async () => {
    root = tempDir();
    raws.a = await write(join(root, 'cat', 'a.png'), 6, 8, 3, 1, 'png');
    raws.gray = await write(join(root, 'cat', 'b_gray.png'), 5, 4, 1, 2, 'png');
    raws.rgba = await write(join(root, 'cat', 'sub', 'c_rgba.png'), 4, 4, 4, 3, 'png');
    await write(join(root, 'dog', 'd.JPG'), 16, 16, 3, 4, 'jpeg');
    raws.webp = await write(join(root, 'dog', 'e.webp'), 7, 5, 3, 5, 'webp');
    await write(join(root, 'dog', 'f.gif'), 6, 6, 3, 6, 'gif');
    raws.tiff = await write(join(root, 'zebra', 'g.tiff'), 3, 9, 3, 7, 'tiff');
    good = 7;
    // Corrupt files: garbage with an image extension, and a PNG cut in half.
    writeFileSync(join(root, 'dog', 'broken.jpg'), Buffer.from('this is not a JPEG'));
    const png = await sharp(pixels(32, 32, 3, 8), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    writeFileSync(join(root, 'zebra', 'h_truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
    // Ignored: other extensions, hidden files and folders, files beside the class folders.
    writeFileSync(join(root, 'dog', 'notes.txt'), 'not an image');
    writeFileSync(join(root, 'dog', '._e.webp'), 'macOS resource fork');
    await write(join(root, '.ipynb_checkpoints', 'x.png'), 2, 2, 3, 9, 'png');
    writeFileSync(join(root, 'README.png'), 'a file, not a class');
  });

  test('classes are the sorted subfolders; samples are the images found walking each, in sorted order', () => {
    const ds = new ImageFolder(root, { onError: (e) => errors.push(e) });
    assert.deepEqual(ds.classes, ['cat', 'dog', 'zebra']);
    assert.deepEqual({ ...ds.classToIdx }, { cat: 0, dog: 1, zebra: 2 });
    const rel = ds.samples.map(([p, y]) => [p.slice(root.length + 1), y]);
    assert.deepEqual(rel, [
      ['cat/a.png', 0],
      ['cat/b_gray.png', 0],
      ['cat/sub/c_rgba.png', 0],
      ['dog/broken.jpg', 1],
      ['dog/d.JPG', 1],
      ['dog/e.webp', 1],
      ['dog/f.gif', 1],
      ['zebra/g.tiff', 2],
      ['zebra/h_truncated.png', 2],
    ]);
    assert.deepEqual(Array.from(ds.targets), [0, 0, 0, 1, 1, 1, 1, 2, 2]);
    assert.equal(ds.length, 9);
  });

  test('decodes to uint8 [H, W, 3]: lossless formats exactly, greyscale expanded, alpha dropped', async () => {
    const ds = new ImageFolder(root, { onError: () => {} });
    const [a, ya] = await ds.getItem(0);
    assert.equal(ya, 0);
    assert.equal(a.dtype, 'uint8');
    assert.deepEqual([...a.shape], [6, 8, 3]);
    assert.deepEqual(Buffer.from(a.data), raws.a);
    const [g] = await ds.getItem(1);
    assert.deepEqual([...g.shape], [5, 4, 3]);
    for (let i = 0; i < 20; i++) assert.deepEqual([g.data[3 * i], g.data[3 * i + 1], g.data[3 * i + 2]], [raws.gray[i], raws.gray[i], raws.gray[i]]);
    const [rgba] = await ds.getItem(2);
    assert.deepEqual([...rgba.shape], [4, 4, 3]);
    for (let i = 0; i < 16; i++) assert.deepEqual(Array.from(rgba.data.subarray(3 * i, 3 * i + 3)), Array.from(raws.rgba.subarray(4 * i, 4 * i + 3)));
    const [jpg, yj] = await ds.getItem(4);
    assert.equal(yj, 1);
    assert.deepEqual([...jpg.shape], [16, 16, 3]);
    const [webp] = await ds.getItem(5);
    assert.deepEqual(Buffer.from(webp.data), raws.webp);
    const [gif] = await ds.getItem(6);
    assert.deepEqual([...gif.shape], [6, 6, 3]);
    const [tiff, yt] = await ds.getItem(7);
    assert.equal(yt, 2);
    assert.deepEqual(Buffer.from(tiff.data), raws.tiff);
  });

  test('channels: 1 gives greyscale [H, W, 1], 4 keeps alpha', async () => {
    const g = await new ImageFolder(root, { channels: 1, onError: () => {} }).getItem(1);
    assert.deepEqual([...g[0].shape], [5, 4, 1]);
    assert.deepEqual(Buffer.from(g[0].data), raws.gray);
    const rgba = await new ImageFolder(root, { channels: 4, onError: () => {} }).getItem(2);
    assert.deepEqual(Buffer.from(rgba[0].data), raws.rgba);
    const img = await loadImage(join(root, 'cat', 'a.png'), { channels: 1 });
    assert.deepEqual([...img.shape], [6, 8, 1]);
    const fromBytes = await loadImage(readFileSync(join(root, 'dog', 'e.webp')));
    assert.deepEqual(Buffer.from(fromBytes.data), raws.webp);
  });

  test('decoding uses one libvips thread per image and no operation cache, unless configured', async () => {
    await loadImage(join(root, 'cat', 'a.png'));
    assert.equal(sharp.concurrency(), 1);
    assert.equal(sharp.cache().files.max, 0);
    configureDecoding({ concurrency: 2 });
    assert.equal(sharp.concurrency(), 2);
    configureDecoding({ concurrency: 1 });
    assert.throws(() => configureDecoding({ concurrency: -1 }), /concurrency must be a non-negative integer/);
  });

  test('a file that does not decode is reported once by path, remembered, and thrown as a SampleError', async () => {
    const seen: SampleError[] = [];
    const ds = new ImageFolder(root, { onError: (e) => seen.push(e) });
    for (const [i, name] of [
      [3, 'broken.jpg'],
      [8, 'h_truncated.png'],
    ] as const) {
      await assert.rejects(ds.getItem(i), (e: unknown) => e instanceof SampleError && e.index === i && e.path!.endsWith(name));
      await assert.rejects(ds.getItem(i), SampleError);
    }
    assert.equal(seen.length, 2, 'each bad file is reported once');
    assert.match(seen[0].message, /ImageFolder: skipped .*dog\/broken\.jpg: /);
    assert.match(seen[1].message, /h_truncated\.png/);
    assert.equal(ds.badFiles.size, 2);
  });

  test('without onError, a process warning names the file', { timeout: 10_000 }, async () => {
    const ds = new ImageFolder(root);
    const warned = new Promise<Error>((resolve) => {
      const listener = (w: Error & { code?: string }) => {
        if (w.code !== 'TSVISION_BAD_IMAGE') return;
        process.off('warning', listener);
        resolve(w);
      };
      process.on('warning', listener);
    });
    await assert.rejects(ds.getItem(3), SampleError);
    const w = await warned;
    assert.equal((w as Error & { code?: string }).code, 'TSVISION_BAD_IMAGE');
    assert.match(w.message, /broken\.jpg/);
  });

  test('the DataLoader leaves corrupt files out of their batches and finishes the epoch', async () => {
    const ds = new ImageFolder(root, {
      transform: new T.Compose([new T.Resize([4, 4]), new T.ToTensor()]),
      onError: () => {},
    });
    const loader = new DataLoader(ds, { batchSize: 3, prefetch: 1 });
    const sizes: number[] = [];
    const labels: number[] = [];
    for await (const [x, y] of loader) {
      assert.deepEqual([...x.shape].slice(1), [3, 4, 4]);
      sizes.push(x.shape[0]);
      labels.push(...y.data);
    }
    // Batches [0 1 2] [3 4 5] [6 7 8]: index 3 and index 8 are corrupt, so the last two batches are one shorter.
    assert.deepEqual(sizes, [3, 2, 2]);
    assert.deepEqual(labels, [0, 0, 0, 1, 1, 1, 2]);
    assert.equal(loader.skipped, 2);
    assert.equal(labels.length, good);
  });

  test('the transform receives the generator from getItem; targetTransform maps labels', async () => {
    const gens: (Generator | undefined)[] = [];
    const ds = new ImageFolder(root, {
      transform: (x: Tensor<'uint8'>, g?: Generator) => (gens.push(g), x.shape[0]),
      targetTransform: (y) => 10 + y,
    });
    const g = new Generator(1);
    const [h, y] = await ds.getItem(7, { generator: g });
    assert.equal(h, 3);
    assert.equal(y, 12);
    assert.equal(gens[0], g);
    // withTransform on top of a plain ImageFolder works the same way.
    const wt = withTransform(new ImageFolder(root, { onError: () => {} }), new T.CenterCrop(2));
    const [c] = await wt.getItem(0);
    assert.deepEqual([...c.shape], [2, 2, 3]);
  });

  test('layout errors: one class, no class folders, no images, an empty class, a missing root, BMP', () => {
    const one = tempDir();
    mkdirSync(join(one, 'only'));
    writeFileSync(join(one, 'only', 'x.png'), '');
    assert.throws(() => new ImageFolder(one), /has only one class folder \('only'\); expected one subfolder per class/);
    const none = tempDir();
    writeFileSync(join(none, 'x.png'), '');
    assert.throws(() => new ImageFolder(none), /has no class folders/);
    const noImages = tempDir();
    mkdirSync(join(noImages, 'a'));
    mkdirSync(join(noImages, 'b'));
    writeFileSync(join(noImages, 'a', 'x.txt'), '');
    assert.throws(() => new ImageFolder(noImages), /no images \(\.jpg, \.jpeg, .*\) under/);
    writeFileSync(join(noImages, 'a', 'x.png'), '');
    assert.throws(() => new ImageFolder(noImages), /class folder 'b' under .* contains no images/);
    assert.throws(() => new ImageFolder(join(noImages, 'missing')), /is not a folder/);
    assert.throws(() => new ImageFolder(noImages, { extensions: ['.png', 'bmp'] }), /BMP files \(\.bmp\) cannot be decoded by sharp/);
    // Extensions can be narrowed (and are matched case-insensitively).
    mkdirSync(join(noImages, 'b', 'deeper'));
    writeFileSync(join(noImages, 'b', 'deeper', 'y.PNG'), '');
    assert.equal(new ImageFolder(noImages, { extensions: ['png'] }).length, 2);
  });

  test('symlinked class folders are followed; a symlink back to the data folder is not (it would file b under a)', async () => {
    const base = tempDir();
    const real = tempDir();
    mkdirSync(join(base, 'a'));
    writeFileSync(join(base, 'a', '1.png'), '');
    mkdirSync(join(real, 'pics'));
    writeFileSync(join(real, 'pics', '2.png'), '');
    symlinkSync(join(real, 'pics'), join(base, 'b'));
    symlinkSync(base, join(base, 'a', 'loop'));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const ds = new ImageFolder(base);
    assert.deepEqual(ds.classes, ['a', 'b']);
    assert.deepEqual(
      ds.samples.map(([p, k]) => [p.slice(base.length + 1), k]),
      [
        ['a/1.png', 0],
        ['b/2.png', 1],
      ],
      'a/loop leads back to the data folder: skipped',
    );
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.ok(
      warnings.some((w) => w.includes(join(base, 'a', 'loop')) && w.includes('back to the data folder')),
      warnings.join(' | '),
    );
  });
});
