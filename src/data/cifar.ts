/**
 * CIFAR-10 and CIFAR-100 from their binary version (not the Python pickles).
 *
 * CIFAR-10: `cifar-10-batches-bin/` with data_batch_1.bin .. data_batch_5.bin
 * (training) and test_batch.bin, each a run of 10 000 records of 1 label byte
 * and 3072 pixel bytes (the red, green and blue 32x32 planes, rows top to
 * bottom), plus batches.meta.txt with the class names.
 * CIFAR-100: `cifar-100-binary/` with train.bin and test.bin, records of a
 * coarse label byte, a fine label byte and 3072 pixel bytes, plus
 * fine_label_names.txt and coarse_label_names.txt.
 *
 * `root` may be that folder or its parent. The data sets are not shipped with
 * tsvision and never downloaded: a missing file is an error that says where to
 * get them. Samples are uint8 [32, 32, 3] images (HWC) and their label.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../tensor/tensor.js';
import { applyTransform, type TransformLike } from '../transforms/basic.js';
import { checkIndex, inMemoryPortability, type ClassificationDataset, type GetItemOptions, type Portability } from './dataset.js';

export interface CIFAROptions<X> {
  /** the folder holding cifar-10-batches-bin / cifar-100-binary, or that folder itself */
  root: string;
  /** the training batches (default) or the test batch */
  train?: boolean;
  transform?: TransformLike<Tensor<'uint8'>, X>;
  targetTransform?: (target: number) => number;
}

const SIDE = 32;
const PIXELS = SIDE * SIDE * 3;

interface Spec {
  name: string;
  folder: string;
  trainFiles: string[];
  testFiles: string[];
  /** bytes of labels before the pixels of a record */
  labelBytes: number;
  archive: string;
}

/** Records read from a set of binary files: pixels and labels, with their class names. */
abstract class CIFARBase<X> implements ClassificationDataset<X> {
  readonly classes: readonly string[];
  readonly targets: Uint8Array;
  readonly train: boolean;
  readonly folder: string;
  private readonly chunks: { data: Uint8Array; first: number }[] = [];
  private readonly recordBytes: number;
  private readonly options: CIFAROptions<X>;

  protected constructor(spec: Spec, options: CIFAROptions<X>, labelIndex: number, classes: readonly string[]) {
    this.options = options;
    this.train = options.train ?? true;
    if (typeof options.root !== 'string') {
      throw new TypeError(`${spec.name}: a root folder is required (${spec.name} is not shipped with tsvision). ${howToGet(spec, '<root>')}`);
    }
    const candidates = [join(options.root, spec.folder), options.root];
    const files = this.train ? spec.trainFiles : spec.testFiles;
    const folder = candidates.find((d) => existsSync(join(d, files[0])));
    if (!folder) {
      throw new Error(`${spec.name}: ${files[0]} not found in ${candidates.join(' or ')}. ${howToGet(spec, options.root)}`);
    }
    this.folder = folder;
    this.recordBytes = spec.labelBytes + PIXELS;
    const labels: number[] = [];
    for (const f of files) {
      const path = join(folder, f);
      if (!existsSync(path)) throw new Error(`${spec.name}: ${path} is missing (the other files are there). ${howToGet(spec, options.root)}`);
      const data: Uint8Array = readFileSync(path);
      if (data.length === 0 || data.length % this.recordBytes !== 0) {
        throw new Error(`${spec.name}: ${path} has ${data.length} bytes, not a whole number of ${this.recordBytes}-byte records`);
      }
      this.chunks.push({ data, first: labels.length });
      for (let o = labelIndex; o < data.length; o += this.recordBytes) labels.push(data[o]);
    }
    this.classes = classes;
    for (const y of labels) {
      if (y >= classes.length) throw new Error(`${spec.name}: label ${y} in ${folder} is beyond the ${classes.length} classes`);
    }
    this.targets = Uint8Array.from(labels);
  }

  get length(): number {
    return this.targets.length;
  }

  /** Image i as uint8 [32, 32, 3]. */
  image(index: number): Tensor<'uint8'> {
    checkIndex(index, this.length, this.constructor.name);
    let c = this.chunks.length - 1;
    while (this.chunks[c].first > index) c--;
    const { data, first } = this.chunks[c];
    const start = (index - first) * this.recordBytes + (this.recordBytes - PIXELS);
    const plane = SIDE * SIDE;
    const out = new Uint8Array(PIXELS);
    for (let i = 0; i < plane; i++) {
      out[3 * i] = data[start + i];
      out[3 * i + 1] = data[start + plane + i];
      out[3 * i + 2] = data[start + 2 * plane + i];
    }
    return new Tensor<'uint8'>(out, [SIDE, SIDE, 3]);
  }

  getItem(index: number, { generator }: GetItemOptions = {}): [X, number] {
    const img = this.image(index);
    const x = this.options.transform ? applyTransform(this.options.transform, img, generator) : (img as unknown as X);
    const y = this.options.targetTransform ? this.options.targetTransform(this.targets[index]) : this.targets[index];
    return [x, y];
  }

  /** A DataLoader worker reads the same files. */
  portability(): Portability {
    const labels = (this.options as { labels?: 'fine' | 'coarse' }).labels;
    return inMemoryPortability(this, [CIFAR10, CIFAR100], this.options, { root: this.options.root, train: this.train, ...(labels ? { labels } : {}) });
  }
}

function howToGet(spec: Spec, root: string): string {
  return (
    `Download the binary version, https://www.cs.toronto.edu/~kriz/${spec.archive}, and extract it into the root folder ` +
    `(tar xzf ${spec.archive} -C ${root}), giving ${join(root, spec.folder, spec.trainFiles[0])}.`
  );
}

/** Class names from a names file (one per line) when present, else the built-in list. */
function classNames(folder: string | undefined, file: string, fallback: readonly string[]): readonly string[] {
  if (folder && existsSync(join(folder, file))) {
    const names = readFileSync(join(folder, file), 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (names.length === fallback.length) return names;
  }
  return fallback;
}

function locate(spec: Spec, options: CIFAROptions<unknown>): string | undefined {
  if (typeof options.root !== 'string') return undefined;
  return [join(options.root, spec.folder), options.root].find((d) => existsSync(join(d, (options.train ?? true) ? spec.trainFiles[0] : spec.testFiles[0])));
}

const CIFAR10_SPEC: Spec = {
  name: 'CIFAR10',
  folder: 'cifar-10-batches-bin',
  trainFiles: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
  testFiles: ['test_batch.bin'],
  labelBytes: 1,
  archive: 'cifar-10-binary.tar.gz',
};

const CIFAR100_SPEC: Spec = {
  name: 'CIFAR100',
  folder: 'cifar-100-binary',
  trainFiles: ['train.bin'],
  testFiles: ['test.bin'],
  labelBytes: 2,
  archive: 'cifar-100-binary.tar.gz',
};

export class CIFAR10<X = Tensor<'uint8'>> extends CIFARBase<X> {
  static readonly CLASSES: readonly string[] = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

  constructor(options: CIFAROptions<X>) {
    super(CIFAR10_SPEC, options, 0, classNames(locate(CIFAR10_SPEC, options), 'batches.meta.txt', CIFAR10.CLASSES));
  }
}

export interface CIFAR100Options<X> extends CIFAROptions<X> {
  /** 'fine' (100 classes, default) or 'coarse' (20 superclasses) */
  labels?: 'fine' | 'coarse';
}

export class CIFAR100<X = Tensor<'uint8'>> extends CIFARBase<X> {
  static readonly FINE_CLASSES: readonly string[] = [
    'apple',
    'aquarium_fish',
    'baby',
    'bear',
    'beaver',
    'bed',
    'bee',
    'beetle',
    'bicycle',
    'bottle',
    'bowl',
    'boy',
    'bridge',
    'bus',
    'butterfly',
    'camel',
    'can',
    'castle',
    'caterpillar',
    'cattle',
    'chair',
    'chimpanzee',
    'clock',
    'cloud',
    'cockroach',
    'couch',
    'crab',
    'crocodile',
    'cup',
    'dinosaur',
    'dolphin',
    'elephant',
    'flatfish',
    'forest',
    'fox',
    'girl',
    'hamster',
    'house',
    'kangaroo',
    'keyboard',
    'lamp',
    'lawn_mower',
    'leopard',
    'lion',
    'lizard',
    'lobster',
    'man',
    'maple_tree',
    'motorcycle',
    'mountain',
    'mouse',
    'mushroom',
    'oak_tree',
    'orange',
    'orchid',
    'otter',
    'palm_tree',
    'pear',
    'pickup_truck',
    'pine_tree',
    'plain',
    'plate',
    'poppy',
    'porcupine',
    'possum',
    'rabbit',
    'raccoon',
    'ray',
    'road',
    'rocket',
    'rose',
    'sea',
    'seal',
    'shark',
    'shrew',
    'skunk',
    'skyscraper',
    'snail',
    'snake',
    'spider',
    'squirrel',
    'streetcar',
    'sunflower',
    'sweet_pepper',
    'table',
    'tank',
    'telephone',
    'television',
    'tiger',
    'tractor',
    'train',
    'trout',
    'tulip',
    'turtle',
    'wardrobe',
    'whale',
    'willow_tree',
    'wolf',
    'woman',
    'worm',
  ];
  static readonly COARSE_CLASSES: readonly string[] = [
    'aquatic_mammals',
    'fish',
    'flowers',
    'food_containers',
    'fruit_and_vegetables',
    'household_electrical_devices',
    'household_furniture',
    'insects',
    'large_carnivores',
    'large_man-made_outdoor_things',
    'large_natural_outdoor_scenes',
    'large_omnivores_and_herbivores',
    'medium_mammals',
    'non-insect_invertebrates',
    'people',
    'reptiles',
    'small_mammals',
    'trees',
    'vehicles_1',
    'vehicles_2',
  ];

  constructor(options: CIFAR100Options<X>) {
    const coarse = options.labels === 'coarse';
    if (options.labels !== undefined && options.labels !== 'fine' && !coarse) {
      throw new RangeError(`CIFAR100: labels must be 'fine' or 'coarse' but received '${options.labels}'`);
    }
    const names = coarse
      ? classNames(locate(CIFAR100_SPEC, options), 'coarse_label_names.txt', CIFAR100.COARSE_CLASSES)
      : classNames(locate(CIFAR100_SPEC, options), 'fine_label_names.txt', CIFAR100.FINE_CLASSES);
    super(CIFAR100_SPEC, options, coarse ? 0 : 1, names);
  }
}
