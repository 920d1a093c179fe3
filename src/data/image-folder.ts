/**
 * ImageFolder: a folder per class, as torchvision's.
 *
 *     root/cat/001.jpg
 *     root/cat/more/002.png      (subfolders are searched too)
 *     root/dog/003.jpg
 *
 * Classes are the subfolder names in sorted order (`classes`, `classToIdx`);
 * samples are the files with an image extension (case-insensitive) found
 * walking each class folder, in sorted order. Hidden files and folders (a
 * leading '.') are ignored, unlike torchvision, so `.ipynb_checkpoints` or
 * macOS `._x.jpg` files never become classes or samples.
 *
 * getItem decodes with sharp into uint8 [H, W, C] (RGB by default) and applies
 * `transform`. A file that does not decode is reported once through `onError`
 * (default: a process warning naming the path) and remembered in `badFiles`;
 * getItem then throws a SampleError, which the DataLoader answers by leaving
 * the sample out of its batch.
 *
 * DataLoader workers can rebuild it (portability()) when its transform is built
 * from built-in transforms and it has no targetTransform: the worker gets the
 * file list rather than walking `root` again, so its indices are the same.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import { applyTransform, type TransformLike } from '../transforms/basic.js';
import type { TransformSpec } from '../transforms/image.js';
import { transformFromSpec } from '../transforms/spec.js';
import { checkIndex, optionalTransform, subclassReason, type ClassificationDataset, type GetItemOptions, type Portability } from './dataset.js';
import { loadImage } from './decode.js';
import { SampleError } from './errors.js';

/** The extensions ImageFolder takes by default: what sharp decodes. BMP is not among them (sharp cannot read it). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'];

const UNSUPPORTED: Record<string, string> = {
  '.bmp': 'BMP',
  '.ico': 'ICO',
  '.heic': 'HEIC',
  '.pgm': 'PGM',
  '.ppm': 'PPM',
};

export interface ImageFolderOptions<X> {
  /** applied to each decoded uint8 [H, W, C] image */
  transform?: TransformLike<Tensor<'uint8'>, X>;
  /** applied to each class index */
  targetTransform?: (target: number) => number;
  /** file extensions to take, with the dot (default IMAGE_EXTENSIONS) */
  extensions?: readonly string[];
  /** 3 (RGB, default), 1 (greyscale) or 4 (RGBA) */
  channels?: 1 | 3 | 4;
  /** turn pictures upright by their EXIF orientation (default true) */
  autoOrient?: boolean;
  /** told once about each file that does not decode (default: process.emitWarning) */
  onError?: (error: SampleError) => void;
}

function defaultOnError(error: SampleError): void {
  process.emitWarning(error.message, { code: 'TSVISION_BAD_IMAGE' });
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A folder's device and inode (symlinks followed), to stop at symlink cycles. */
function fileId(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * The image files under `dir` (subfolders too, hidden entries and symlink cycles
 * skipped), in ImageFolder's order: what `tsvision predict DIR` classifies.
 */
export function findImages(dir: string, extensions: readonly string[] = IMAGE_EXTENSIONS): string[] {
  return walk(dir, new Set(extensions.map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase())));
}

/**
 * Files under dir whose extension is in `extensions`, ordered as torchvision's sorted(os.walk()).
 * `refuse(path)` may turn a subfolder down (with the reason it is told), before it is entered.
 */
function walk(dir: string, extensions: Set<string>, refuse?: (path: string) => boolean): string[] {
  const dirs: [string, string[]][] = [];
  const visit = (d: string, seen: Set<string>) => {
    const files: string[] = [];
    const subdirs: string[] = [];
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(d, entry.name);
      const directory = entry.isDirectory() || (entry.isSymbolicLink() && isDir(path));
      if (directory) subdirs.push(path);
      else if (extensions.has(extname(entry.name).toLowerCase())) files.push(entry.name);
    }
    dirs.push([d, files.sort(byName)]);
    for (const s of subdirs) {
      const id = fileId(s);
      if (id === null || seen.has(id)) continue; // unreadable, or a symlink cycle
      if (refuse?.(s)) continue;
      visit(s, new Set(seen).add(id));
    }
  };
  visit(dir, new Set([fileId(dir)!]));
  dirs.sort((a, b) => byName(a[0], b[0]));
  return dirs.flatMap(([d, files]) => files.map((f) => join(d, f)));
}

export class ImageFolder<X = Tensor<'uint8'>> implements ClassificationDataset<X> {
  readonly root: string;
  readonly classes: readonly string[];
  readonly classToIdx: Readonly<Record<string, number>>;
  /** [path, class index] of every sample */
  readonly samples: readonly (readonly [string, number])[];
  readonly targets: Int32Array;
  /** files that failed to decode so far */
  readonly badFiles = new Set<string>();
  readonly channels: 1 | 3 | 4;
  private readonly options: ImageFolderOptions<X>;

  /** `scanned` (internal) reuses a scan made before, as a worker thread does with the main thread's. */
  constructor(root: string, options: ImageFolderOptions<X> = {}, scanned?: { classes: readonly string[]; samples: [string, number][] }) {
    this.root = root;
    this.options = options;
    this.channels = options.channels ?? 3;
    if (![1, 3, 4].includes(this.channels)) throw new RangeError(`ImageFolder: channels must be 1, 3 or 4 but received ${this.channels}`);
    if (scanned) {
      this.classes = scanned.classes;
      this.classToIdx = Object.freeze(Object.fromEntries(scanned.classes.map((c, i) => [c, i])));
      this.samples = scanned.samples;
      this.targets = Int32Array.from(scanned.samples, (s) => s[1]);
      return;
    }
    const extensions = new Set((options.extensions ?? IMAGE_EXTENSIONS).map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()));
    for (const e of extensions) {
      if (UNSUPPORTED[e]) {
        throw new RangeError(`ImageFolder: ${UNSUPPORTED[e]} files (${e}) cannot be decoded by sharp; convert them first (e.g. to PNG)`);
      }
    }
    if (!isDir(root)) throw new Error(`ImageFolder: ${root} is not a folder`);
    const classes = readdirSync(root, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(join(root, e.name)))))
      .map((e) => e.name)
      .sort(byName);
    const layout = `expected one subfolder per class, e.g. ${join(root, 'cat', '001.jpg')} and ${join(root, 'dog', '002.jpg')}`;
    if (classes.length < 2) {
      throw new Error(`ImageFolder: ${root} has ${classes.length === 0 ? 'no class folders' : `only one class folder ('${classes[0]}')`}; ${layout}`);
    }
    const samples: [string, number][] = [];
    const empty: string[] = [];
    // a symlink inside a class folder that leads to the data folder (or above it) or into another class
    // would file other classes' pictures under this one: such a folder is skipped, with a warning
    const real = (p: string) => realpathSync(p) + sep;
    const rootReal = real(root);
    const classReal = classes.map((c) => real(join(root, c)));
    const intoOtherClass = (k: number) => (path: string) => {
      let target: string;
      try {
        target = real(path);
      } catch {
        return false;
      }
      const other = classReal.findIndex((c, j) => j !== k && target.startsWith(c));
      if (!rootReal.startsWith(target) && other < 0) return false;
      const what = other >= 0 ? `into class folder '${classes[other]}'` : 'back to the data folder';
      process.emitWarning(`ImageFolder: skipped ${path}: it leads ${what}, which would file other classes' pictures under '${classes[k]}'`, {
        code: 'TSVISION_SYMLINK',
      });
      return true;
    };
    classes.forEach((c, k) => {
      const files = walk(join(root, c), extensions, intoOtherClass(k));
      if (files.length === 0) empty.push(c);
      for (const f of files) samples.push([f, k]);
    });
    const extList = [...extensions].join(', ');
    if (samples.length === 0) throw new Error(`ImageFolder: no images (${extList}) under ${root}; ${layout}`);
    if (empty.length > 0) {
      throw new Error(
        `ImageFolder: class folder${empty.length > 1 ? 's' : ''} ${empty.map((c) => `'${c}'`).join(', ')} under ${root} ` +
          `contain${empty.length > 1 ? '' : 's'} no images (${extList})`,
      );
    }
    this.classes = classes;
    this.classToIdx = Object.freeze(Object.fromEntries(classes.map((c, i) => [c, i])));
    this.samples = samples;
    this.targets = Int32Array.from(samples, (s) => s[1]);
  }

  get length(): number {
    return this.samples.length;
  }

  async getItem(index: number, { generator }: GetItemOptions = {}): Promise<[X, number]> {
    checkIndex(index, this.length, 'ImageFolder');
    const [path, target] = this.samples[index];
    if (this.badFiles.has(path)) throw new SampleError(`ImageFolder: ${path} does not decode (reported before)`, index, path);
    let img: Tensor<'uint8'>;
    try {
      img = await loadImage(path, { channels: this.channels, autoOrient: this.options.autoOrient });
    } catch (e) {
      const err = new SampleError(`ImageFolder: skipped ${path}: ${(e as Error).message}`, index, path, { cause: e });
      this.badFiles.add(path);
      (this.options.onError ?? defaultOnError)(err);
      throw err;
    }
    const x = this.options.transform ? applyTransform(this.options.transform, img, generator) : (img as unknown as X);
    const y = this.options.targetTransform ? this.options.targetTransform(target) : target;
    return [x, y];
  }

  portability(): Portability {
    const sub = subclassReason(this, ImageFolder);
    if (sub) return sub;
    if (this.options.targetTransform) return { reason: 'ImageFolder: a targetTransform (a function) cannot be rebuilt in a worker' };
    const transform = optionalTransform(this.options.transform, 'ImageFolder');
    if ('reason' in transform) return transform;
    const args: ImageFolderSpec = {
      root: this.root,
      classes: [...this.classes],
      paths: this.samples.map((s) => s[0]),
      targets: this.targets,
      channels: this.channels,
      autoOrient: this.options.autoOrient ?? true,
      transform: transform.spec,
    };
    return { spec: { module: import.meta.url, export: 'imageFolderFromSpec', args } };
  }
}

interface ImageFolderSpec {
  root: string;
  classes: string[];
  paths: string[];
  targets: Int32Array;
  channels: 1 | 3 | 4;
  autoOrient: boolean;
  transform?: TransformSpec;
}

/**
 * ImageFolder's WorkerSpec factory. Its onError is silent: a file that does
 * not decode in a worker is reported on the main thread, by the main thread's
 * ImageFolder, once.
 */
export function imageFolderFromSpec(args: ImageFolderSpec): ImageFolder<unknown> {
  const samples = args.paths.map((p, i): [string, number] => [p, args.targets[i]]);
  const options = { channels: args.channels, autoOrient: args.autoOrient, transform: args.transform && transformFromSpec(args.transform), onError: () => {} };
  return new ImageFolder(args.root, options, { classes: args.classes, samples });
}
