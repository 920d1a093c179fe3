/**
 * Folders for the audit tests, written with sharp: smooth random pictures (an 8x6 grid
 * of random colours, upscaled), so that every clean picture is unlike every other,
 * with each planted problem beside them.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { Generator } from '../src/tensor/random.js';

/** A smooth random picture of width x height, from seed. */
export function picture(seed: number, width = 64, height = 48): Sharp {
  const g = new Generator(seed);
  const grid = Buffer.alloc(8 * 6 * 3);
  for (let i = 0; i < grid.length; i++) grid[i] = g.int(0, 256);
  return sharp(grid, { raw: { width: 8, height: 6, channels: 3 } }).resize(width, height, { fit: 'fill', kernel: 'cubic' });
}

/** A picture of one colour family (red or blue) with random texture, for a hand-set classifier. */
export function tinted(seed: number, colour: 'red' | 'blue', size = 16): Sharp {
  const g = new Generator(seed);
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    const strong = g.int(160, 256);
    const weak = g.int(0, 90);
    px[3 * i] = colour === 'red' ? strong : weak;
    px[3 * i + 1] = g.int(0, 120);
    px[3 * i + 2] = colour === 'red' ? weak : strong;
  }
  return sharp(px, { raw: { width: size, height: size, channels: 3 } });
}

export interface Planted {
  root: string;
  train: string;
  val: string;
  /** the planted files, relative to root */
  files: {
    broken: string;
    empty: string;
    pngNamedJpg: string;
    cmyk: string;
    deep: string;
    palette: string;
    alpha: string;
    rotated: string;
    leakTrain: string;
    leakVal: string;
    nearA: string;
    nearB: string;
  };
}

/**
 * train/apple: 40 readable pictures (the decoding cases among them) and a corrupt and an empty file;
 * train/pear: 4 pictures, one a resized, re-encoded copy of an apple (10:1 skew, a near duplicate across classes);
 * train/pano: 6 panoramas of 400x100; val/: 5 of each class, one an exact copy of a training apple.
 */
export async function plantedFolder(root: string): Promise<Planted> {
  const train = join(root, 'train');
  const val = join(root, 'val');
  for (const d of ['apple', 'pear', 'pano']) {
    mkdirSync(join(train, d), { recursive: true });
    mkdirSync(join(val, d), { recursive: true });
  }
  const rel = (...p: string[]) => join(...p);
  const files: Planted['files'] = {
    broken: rel('train', 'apple', 'broken.jpg'),
    empty: rel('train', 'apple', 'empty.png'),
    pngNamedJpg: rel('train', 'apple', 'actually-png.jpg'),
    cmyk: rel('train', 'apple', 'cmyk.jpg'),
    deep: rel('train', 'apple', 'deep.png'),
    palette: rel('train', 'apple', 'palette.png'),
    alpha: rel('train', 'apple', 'alpha.png'),
    rotated: rel('train', 'apple', 'rotated.jpg'),
    leakTrain: rel('train', 'apple', 'a04.png'),
    leakVal: rel('val', 'apple', 'copy-of-a04.png'),
    nearA: rel('train', 'apple', 'a05.jpg'),
    nearB: rel('train', 'pear', 'resized-a05.jpg'),
  };
  const at = (p: string) => join(root, p);
  const writes: Promise<unknown>[] = [];
  let seed = 1;
  // 33 clean apples (a00..a32, PNG and JPEG), then the 7 readable planted ones: 40 readable apples
  for (let i = 0; i < 33; i++) {
    const name = `a${String(i).padStart(2, '0')}`;
    const p = picture(seed++);
    writes.push(i % 2 ? p.jpeg({ quality: 90 }).toFile(join(train, 'apple', `${name}.jpg`)) : p.png().toFile(join(train, 'apple', `${name}.png`)));
  }
  writes.push(picture(seed++).png().toFile(at(files.pngNamedJpg)));
  writes.push(picture(seed++).toColourspace('cmyk').jpeg().toFile(at(files.cmyk)));
  writes.push(picture(seed++).toColourspace('rgb16').png().toFile(at(files.deep)));
  writes.push(picture(seed++).png({ palette: true }).toFile(at(files.palette)));
  writes.push(picture(seed++).ensureAlpha(0.5).png().toFile(at(files.alpha)));
  writes.push(picture(seed++).jpeg().withMetadata({ orientation: 6 }).toFile(at(files.rotated)));
  writes.push(
    picture(seed++, 48, 64)
      .png()
      .toFile(join(train, 'apple', 'tall.png')),
  );
  for (let i = 0; i < 3; i++)
    writes.push(
      picture(seed++)
        .png()
        .toFile(join(train, 'pear', `p${i}.png`)),
    );
  for (let i = 0; i < 6; i++)
    writes.push(
      picture(seed++, 400, 100)
        .jpeg()
        .toFile(join(train, 'pano', `wide${i}.jpg`)),
    );
  for (const d of ['apple', 'pear', 'pano']) {
    for (let i = 0; i < (d === 'apple' ? 4 : 5); i++) {
      writes.push((d === 'pano' ? picture(seed++, 400, 100) : picture(seed++)).png().toFile(join(val, d, `v${i}.png`)));
    }
  }
  await Promise.all(writes);
  // the near duplicate: a05 (a JPEG) at 75% size, re-encoded at another quality
  await sharp(at(files.nearA)).resize(48, 36).jpeg({ quality: 70 }).toFile(at(files.nearB));
  copyFileSync(at(files.leakTrain), at(files.leakVal));
  writeFileSync(at(files.broken), Buffer.from('<!DOCTYPE html><html><body>Not found</body></html>'));
  writeFileSync(at(files.empty), Buffer.alloc(0));
  return { root, train, val, files };
}
