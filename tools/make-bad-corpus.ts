/**
 * The bad-input corpus: every kind of file a user can hand tsvision by mistake or by bad
 * luck, written with sharp and by hand into one folder (docs/testing.md has the table).
 * test/bad-inputs.test.ts writes it into a temporary folder at test time (about a second:
 * the files are small, and symlinks and a checkpoint need no fixture in git);
 *
 *     node dist/tools/make-bad-corpus.js [DIR]    (default test/fixtures/bad)
 *
 * writes the same files for a look by hand.
 *
 *   images/     loose pictures: what predict, serve and tag get
 *   data/       a training folder (classes a, b) with the bad pictures among good ones, a symlink loop and a
 *               symlink from class a back to the data folder
 *   empty-class/, one-class/   folders with a class without pictures, and with one class
 *   checkpoints/NAME/          a good small_net checkpoint and its broken variants
 *   weights/NAME.safetensors   the broken variants' weights files, for --weights
 *   predictions/short-line.txt a predictions file with a short line
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { getModel } from '../src/models/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { saveSafetensors } from '../src/io/safetensors.js';
import type { Tensor } from '../src/tensor/tensor.js';
import type { PreprocessConfig } from '../src/transforms/presets.js';

export const CLASSES = ['a', 'b'];
export const IMAGE_SIZE = 16;
export const PREPROCESSING: PreprocessConfig = {
  resizeSize: IMAGE_SIZE,
  cropSize: IMAGE_SIZE,
  interpolation: 'bilinear',
  resizeMode: 'crop',
  channels: 3,
  mean: [0.5, 0.5, 0.5],
  std: [0.25, 0.25, 0.25],
  augment: 'none',
};
const CONFIG = { numClasses: 2, inChannels: 3, imageSize: IMAGE_SIZE };

/** The pictures that must fail, each with what its error must say (a fragment, matched case-insensitively). */
export const UNREADABLE: Record<string, RegExp> = {
  'zero.png': /zero\.png/,
  'truncated.jpg': /truncated\.jpg/,
  'text.png': /text\.png/,
  'bomb.png': /bomb\.png/,
};
/** The pictures that must decode: name → [height, width] after orientation. */
export const READABLE: Record<string, [number, number]> = {
  'cmyk.jpg': [24, 32],
  'progressive.jpg': [24, 32],
  'rgb16.png': [24, 32],
  'palette.png': [24, 32],
  'grey-alpha.png': [24, 32],
  'exif-rotated.jpg': [40, 20],
  'one.png': [1, 1],
  'wide.png': [10, 20000],
};

/** A PNG whose header claims side x side 1-bit grey pixels, all black: a few hundred KB unpacking into `side`² pixels. */
export function pngBomb(side: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth 1, colour type 0 (grey)
  // only the first rows are stored: libvips refuses at the header, and nothing should get further
  const rows = Buffer.alloc((1 + Math.ceil(side / 8)) * 16);
  const signature = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
}

const noise = (width: number, height: number, mean = 128) =>
  sharp({ create: { width, height, channels: 3, background: 'black', noise: { type: 'gaussian', mean, sigma: 40 } } });

async function writeImages(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const jpeg = await noise(32, 24).jpeg().toBuffer();
  writeFileSync(join(dir, 'zero.png'), Buffer.alloc(0));
  writeFileSync(join(dir, 'truncated.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(join(dir, 'text.png'), 'this is a text file named like a picture\n');
  await noise(32, 24).toColourspace('cmyk').jpeg().toFile(join(dir, 'cmyk.jpg'));
  await noise(32, 24).jpeg({ progressive: true }).toFile(join(dir, 'progressive.jpg'));
  await noise(32, 24).toColourspace('rgb16').png().toFile(join(dir, 'rgb16.png'));
  await noise(32, 24).png({ palette: true, colours: 16 }).toFile(join(dir, 'palette.png'));
  await sharp({ create: { width: 32, height: 24, channels: 4, background: { r: 90, g: 90, b: 90, alpha: 0.5 } } })
    .toColourspace('b-w')
    .png()
    .toFile(join(dir, 'grey-alpha.png'));
  // 40 wide, 20 high: the left half red, the right half blue, stored with EXIF orientation 6 (shown turned 90° clockwise):
  // upright it is 20 wide and 40 high, red on top
  const half = (r: number, b: number) =>
    sharp({ create: { width: 20, height: 20, channels: 3, background: { r, g: 0, b } } })
      .png()
      .toBuffer();
  const sideways = await sharp({ create: { width: 40, height: 20, channels: 3, background: 'black' } })
    .composite([
      { input: await half(255, 0), left: 0, top: 0 },
      { input: await half(0, 255), left: 20, top: 0 },
    ])
    .png()
    .toBuffer();
  await sharp(sideways).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(join(dir, 'exif-rotated.jpg'));
  await noise(1, 1).png().toFile(join(dir, 'one.png'));
  await noise(20000, 10).png().toFile(join(dir, 'wide.png'));
  writeFileSync(join(dir, 'bomb.png'), pngBomb(50000));
}

/** A training folder: 6 good pictures per class (dark a, bright b), every picture of images/ in a, and the two symlinks. */
async function writeData(dir: string, images: string): Promise<void> {
  for (const [k, c] of CLASSES.entries()) {
    mkdirSync(join(dir, c), { recursive: true });
    for (let i = 0; i < 6; i++)
      await noise(20, 20, k === 0 ? 60 : 190)
        .png()
        .toFile(join(dir, c, `good${i}.png`));
  }
  cpSync(images, join(dir, 'a', 'bad'), { recursive: true });
  symlinkSync('.', join(dir, 'a', 'loop')); // a/loop -> a/: a cycle
  symlinkSync('..', join(dir, 'a', 'all')); // a/all -> data/: every class's pictures again, under a
}

function withTensor(state: Map<string, Tensor>, edit: (key: string, t: Tensor) => Tensor | null): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  let first = true;
  for (const [k, t] of state) {
    const changed = first ? edit(k, t) : t;
    first = false;
    if (changed) out.set(k, changed);
  }
  return out;
}

async function writeCheckpoints(dir: string, weightsDir: string): Promise<void> {
  const net = getModel('small_net', CONFIG);
  const info = { architecture: { name: 'small_net', config: CONFIG }, classes: CLASSES, preprocessing: PREPROCESSING };
  const state = net.stateDict();
  const variants: Record<string, Map<string, Tensor>> = {
    good: state,
    'missing-tensor': withTensor(state, () => null),
    'wrong-shape': withTensor(state, (_k, t) => t.reshape([-1])),
    'nan-weight': withTensor(state, (_k, t) => {
      const c = t.clone();
      (c.data as Float32Array)[0] = NaN;
      return c;
    }),
  };
  mkdirSync(weightsDir, { recursive: true });
  for (const [name, s] of Object.entries(variants)) {
    saveCheckpoint(join(dir, name), { modelState: s, info });
    if (name !== 'good') saveSafetensors(join(weightsDir, `${name}.safetensors`), s);
  }
  const good = readFileSync(join(dir, 'good', 'model.safetensors'));
  const headerLength = Number(good.readBigUInt64LE(0));
  const truncated = good.subarray(0, 8 + (headerLength >> 1)); // cut inside the JSON header
  const overlong = Buffer.from(good);
  overlong.writeBigUInt64LE(BigInt(good.length), 0); // the header claims more bytes than the file has
  for (const [name, bytes] of [
    ['truncated-header', truncated],
    ['overlong-header', overlong],
  ] as const) {
    cpSync(join(dir, 'good'), join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'model.safetensors'), bytes);
    writeFileSync(join(weightsDir, `${name}.safetensors`), bytes);
  }
  cpSync(join(dir, 'good'), join(dir, 'malformed-json'), { recursive: true });
  const json = readFileSync(join(dir, 'good', 'checkpoint.json'), 'utf8');
  writeFileSync(join(dir, 'malformed-json', 'checkpoint.json'), json.slice(0, json.length >> 1));
}

/** The broken checkpoints, each with what its one-line error must mention. */
export const BAD_CHECKPOINTS: Record<string, RegExp> = {
  'missing-tensor': /missing/,
  'wrong-shape': /shape/,
  'nan-weight': /NaN|not finite/,
  'truncated-header': /header/,
  'overlong-header': /header length|past the end/,
  'malformed-json': /checkpoint\.json/,
};

/** Writes the whole corpus into `dir` (emptied first). */
export async function makeBadCorpus(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const images = join(dir, 'images');
  await writeImages(images);
  await writeData(join(dir, 'data'), images);
  mkdirSync(join(dir, 'empty-class', 'b'), { recursive: true });
  mkdirSync(join(dir, 'one-class'), { recursive: true });
  cpSync(join(dir, 'data', 'a', 'good0.png'), join(dir, 'empty-class', 'a', 'good0.png'), { recursive: true });
  cpSync(join(dir, 'data', 'a'), join(dir, 'one-class', 'a'), { recursive: true, filter: (src) => !/(loop|all|bad)$/.test(src) });
  await writeCheckpoints(join(dir, 'checkpoints'), join(dir, 'weights'));
  mkdirSync(join(dir, 'predictions'));
  writeFileSync(
    join(dir, 'predictions', 'short-line.txt'),
    '# classes: ["a", "b"]\n0.90000 0.10000 1 0 1 0 data/a/good0.png\n0.20000 0.80000 0 1 0 1 data/b/good0.png\n0.70000 1 0 1\n',
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = resolve(process.argv[2] ?? 'test/fixtures/bad');
  await makeBadCorpus(dir);
  process.stdout.write(`wrote the bad-input corpus to ${dir}\n`);
}
