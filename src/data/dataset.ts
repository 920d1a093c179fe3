/**
 * Datasets: the `Dataset<T>` interface and the combinators over it (Subset,
 * ConcatDataset, randomSplit, withTransform, filterClasses).
 *
 * A dataset has a `length` and `getItem(i, { generator })`, which may return a
 * promise (an image decoded off the main thread). The generator is the one
 * random transforms should draw from; the DataLoader passes one per sample so
 * that augmentation does not depend on the order in which decodes finish.
 *
 * A dataset is portable, i.e. a DataLoader can load it in worker threads, when
 * its `portability()` gives a spec of how to rebuild it there (an ES module, the
 * factory it exports and the factory's structured-cloneable arguments) rather
 * than a reason why it cannot be. The combinators here are portable when what
 * they wrap is.
 */
import { permutation, type Generator } from '../tensor/random.js';
import { applyTransform, portableTransform, type TransformLike } from '../transforms/basic.js';
import type { TransformSpec } from '../transforms/image.js';
import { transformFromSpec, unknownTransform } from '../transforms/spec.js';

export interface GetItemOptions {
  /** the generator random transforms draw from for this sample */
  generator?: Generator;
}

export interface Dataset<T> {
  readonly length: number;
  getItem(index: number, options?: GetItemOptions): T | Promise<T>;
}

/**
 * A dataset of (input, class index) pairs that knows its class names and every
 * sample's label without loading the sample (what filterClasses and stratified
 * tools need).
 */
export interface ClassificationDataset<X = unknown> extends Dataset<[X, number]> {
  readonly classes: readonly string[];
  readonly targets: ArrayLike<number>;
}

/** A dataset that may carry class names and labels (combinators pass them on when they can). */
export type MaybeLabeled<T> = Dataset<T> & { readonly classes?: readonly string[]; readonly targets?: ArrayLike<number> };

/**
 * How a worker thread rebuilds a dataset: it imports `module` (a file URL,
 * e.g. `import.meta.url`) and calls its export `export` with `args`
 * (structured-cloneable); the factory returns the dataset or a promise of it.
 */
export interface WorkerSpec {
  module: string;
  export: string;
  args: unknown;
}

/** A spec that rebuilds the dataset in a worker, or one sentence why none can (the DataLoader's fallback warning quotes it). */
export type Portability = { spec: WorkerSpec } | { reason: string };

/** A dataset a DataLoader can load in worker threads. */
export interface PortableDataset<T> extends Dataset<T> {
  portability(): Portability;
}

function nameOf(dataset: unknown): string {
  return (dataset as object | null)?.constructor?.name ?? 'dataset';
}

/** Any dataset's Portability (one without portability() is not portable); a TypeError for an answer of neither form. */
export function portableDataset(dataset: Dataset<unknown>): Portability {
  const d = dataset as Partial<PortableDataset<unknown>>;
  if (typeof d.portability !== 'function') return { reason: `dataset ${nameOf(dataset)} has no portability()` };
  const p = d.portability() as Partial<{ spec: WorkerSpec; reason: string }> | null;
  if (typeof p?.reason === 'string') return { reason: p.reason };
  const spec = p?.spec;
  if (typeof spec?.module !== 'string' || typeof spec.export !== 'string') {
    const expected = '{ spec: { module, export, args } } with module and export strings, or { reason }';
    throw new TypeError(`${nameOf(dataset)}.portability(): expected ${expected}, but received ${JSON.stringify(p)}`);
  }
  return { spec };
}

/** The dataset a WorkerSpec describes (what a DataLoader worker runs first). */
export async function datasetFromSpec(spec: WorkerSpec): Promise<Dataset<unknown>> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const factory = mod[spec.export];
  if (typeof factory !== 'function') throw new TypeError(`datasetFromSpec: ${spec.module} does not export a function ${spec.export}`);
  const dataset = (await factory(spec.args)) as Dataset<unknown>;
  if (!dataset || typeof dataset.getItem !== 'function' || !Number.isInteger(dataset.length)) {
    throw new TypeError(`datasetFromSpec: ${spec.export}() in ${spec.module} did not return a dataset (an object with length and getItem)`);
  }
  return dataset;
}

/**
 * An optional transform's spec (undefined for none), or why a worker cannot
 * rebuild it, told by `owner`: it carries code, or it is a class of the user's
 * with spec(), which a worker's transformFromSpec does not know.
 */
export function optionalTransform(t: TransformLike | undefined, owner: string): { spec: TransformSpec | undefined } | { reason: string } {
  if (t === undefined) return { spec: undefined };
  const p = portableTransform(t);
  if ('reason' in p) return { reason: `${owner}: ${p.reason}` };
  const unknown = unknownTransform(p.spec);
  return unknown === null ? p : { reason: `${owner}: transform ${unknown} is not built in, so a worker cannot rebuild it` };
}

function extendsWithoutOwn(self: object, base: { name: string }): { reason: string } {
  return { reason: `${self.constructor.name} extends ${base.name} without a portability() of its own (a worker would rebuild a plain ${base.name})` };
}

/**
 * A subclass of a built-in dataset may load differently from it, so it is
 * portable only when it says so with a portability() of its own (which may call
 * super's): otherwise a worker would silently rebuild the plain base class.
 */
export function subclassReason(self: object, base: { name: string; prototype: object }): { reason: string } | null {
  const own = (self as Partial<PortableDataset<unknown>>).portability;
  if (self.constructor === base || own !== (base.prototype as Partial<PortableDataset<unknown>>).portability) return null;
  return extendsWithoutOwn(self, base);
}

/**
 * The Portability of an in-memory built-in data set (MNIST, FashionMNIST,
 * CIFAR10, CIFAR100): each worker reads the same files (`args` say which) with
 * ./builtin-specs.ts, which builds only `kinds` (a subclass listed before its base).
 */
export function inMemoryPortability(
  self: object,
  kinds: readonly (abstract new (...args: any[]) => object)[],
  options: { transform?: TransformLike; targetTransform?: unknown },
  args: Record<string, unknown>,
): Portability {
  const kind = self.constructor.name;
  if (!kinds.includes(self.constructor as never)) return extendsWithoutOwn(self, kinds.find((k) => self instanceof k) ?? kinds[0]);
  if (options.targetTransform) return { reason: `${kind}: a targetTransform (a function) cannot be rebuilt in a worker` };
  const transform = optionalTransform(options.transform, kind);
  if ('reason' in transform) return transform;
  const module = new URL('./builtin-specs.js', import.meta.url).href;
  return { spec: { module, export: 'builtinFromSpec', args: { kind, ...args, ...(transform.spec ? { transform: transform.spec } : {}) } } };
}

/** Throws a RangeError naming `op` unless i is an integer in [0, length). */
export function checkIndex(i: number, length: number, op: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= length) {
    throw new RangeError(`${op}: index ${i} is out of range for a dataset of length ${length}`);
  }
}

/** The samples of `dataset` at `indices`, in that order. */
export class Subset<T> implements Dataset<T> {
  readonly indices: readonly number[];

  constructor(
    readonly dataset: MaybeLabeled<T>,
    indices: ArrayLike<number>,
  ) {
    this.indices = Array.from(indices);
    this.indices.forEach((i) => checkIndex(i, dataset.length, 'Subset'));
  }

  get length(): number {
    return this.indices.length;
  }

  get classes(): readonly string[] | undefined {
    return this.dataset.classes;
  }

  /** The labels of the subset's samples, when the underlying dataset knows them. */
  get targets(): number[] | undefined {
    const t = this.dataset.targets;
    return t === undefined ? undefined : this.indices.map((i) => t[i]);
  }

  getItem(index: number, options?: GetItemOptions): T | Promise<T> {
    checkIndex(index, this.length, 'Subset');
    return this.dataset.getItem(this.indices[index], options);
  }

  portability(): Portability {
    const inner = subclassReason(this, Subset) ?? portableDataset(this.dataset);
    if ('reason' in inner) return inner;
    return { spec: { module: import.meta.url, export: 'subsetFromSpec', args: { dataset: inner.spec, indices: Int32Array.from(this.indices) } } };
  }
}

/** Subset's WorkerSpec factory. */
export async function subsetFromSpec(args: { dataset: WorkerSpec; indices: Int32Array }): Promise<Subset<unknown>> {
  return new Subset(await datasetFromSpec(args.dataset), args.indices);
}

/** Datasets one after another. */
export class ConcatDataset<T> implements Dataset<T> {
  readonly datasets: readonly MaybeLabeled<T>[];
  private readonly ends: number[] = [];

  constructor(datasets: readonly MaybeLabeled<T>[]) {
    if (datasets.length === 0) throw new RangeError('ConcatDataset: expected at least one dataset');
    this.datasets = [...datasets];
    let total = 0;
    for (const d of datasets) this.ends.push((total += d.length));
  }

  get length(): number {
    return this.ends[this.ends.length - 1];
  }

  /** The class names, when every part has the same ones. */
  get classes(): readonly string[] | undefined {
    const first = this.datasets[0].classes;
    if (!first) return undefined;
    const same = this.datasets.every((d) => d.classes && d.classes.length === first.length && d.classes.every((c, i) => c === first[i]));
    return same ? first : undefined;
  }

  get targets(): number[] | undefined {
    if (this.datasets.some((d) => d.targets === undefined)) return undefined;
    return this.datasets.flatMap((d) => Array.from(d.targets!));
  }

  getItem(index: number, options?: GetItemOptions): T | Promise<T> {
    checkIndex(index, this.length, 'ConcatDataset');
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (index < this.ends[mid]) hi = mid;
      else lo = mid + 1;
    }
    const start = lo === 0 ? 0 : this.ends[lo - 1];
    return this.datasets[lo].getItem(index - start, options);
  }

  portability(): Portability {
    const sub = subclassReason(this, ConcatDataset);
    if (sub) return sub;
    const datasets: WorkerSpec[] = [];
    for (const d of this.datasets) {
      const inner = portableDataset(d);
      if ('reason' in inner) return inner;
      datasets.push(inner.spec);
    }
    return { spec: { module: import.meta.url, export: 'concatFromSpec', args: { datasets } } };
  }
}

/** ConcatDataset's WorkerSpec factory. */
export async function concatFromSpec(args: { datasets: WorkerSpec[] }): Promise<ConcatDataset<unknown>> {
  return new ConcatDataset(await Promise.all(args.datasets.map(datasetFromSpec)));
}

/**
 * Splits a dataset into non-overlapping random subsets, as torch.utils.data.random_split:
 * `lengths` are counts summing to the dataset's length, or fractions summing
 * to 1 (each floor(n * f), the remainder handed out one by one from the first).
 * The permutation comes from `generator` (default: the global generator).
 */
export function randomSplit<T>(dataset: MaybeLabeled<T>, lengths: readonly number[], { generator }: { generator?: Generator } = {}): Subset<T>[] {
  const n = dataset.length;
  let counts = [...lengths];
  const sum = counts.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) <= 1e-9 && sum <= 1) {
    counts = lengths.map((f) => {
      if (!(f >= 0 && f <= 1)) throw new RangeError(`randomSplit: fraction ${f} is not between 0 and 1`);
      return Math.floor(n * f);
    });
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length] += 1;
  }
  if (counts.some((c) => !Number.isInteger(c) || c < 0)) {
    throw new RangeError(`randomSplit: lengths must be non-negative integers or fractions summing to 1, received ${JSON.stringify(lengths)}`);
  }
  if (counts.reduce((a, b) => a + b, 0) !== n) {
    throw new RangeError(`randomSplit: the lengths ${JSON.stringify(lengths)} sum to ${counts.reduce((a, b) => a + b, 0)}, not the dataset's length ${n}`);
  }
  const perm = permutation(n, { generator }).data;
  const out: Subset<T>[] = [];
  let offset = 0;
  for (const c of counts) {
    out.push(new Subset(dataset, perm.subarray(offset, offset + c)));
    offset += c;
  }
  return out;
}

/**
 * A view of a dataset of [x, y] pairs with a transform of x (and optionally y)
 * on top: the usual way to give a training split augmentation and a
 * validation split none after randomSplit.
 */
export class TransformedDataset<X, Y, X2, Y2 = Y> implements Dataset<[X2, Y2]> {
  constructor(
    readonly dataset: MaybeLabeled<[X, Y]>,
    readonly transform?: TransformLike<X, X2>,
    readonly targetTransform?: (target: Y) => Y2,
  ) {}

  get length(): number {
    return this.dataset.length;
  }

  get classes(): readonly string[] | undefined {
    return this.dataset.classes;
  }

  get targets(): ArrayLike<number> | undefined {
    return this.targetTransform ? undefined : this.dataset.targets;
  }

  async getItem(index: number, options: GetItemOptions = {}): Promise<[X2, Y2]> {
    const [x, y] = await this.dataset.getItem(index, options);
    const x2 = this.transform ? applyTransform(this.transform, x, options.generator) : (x as unknown as X2);
    const y2 = this.targetTransform ? this.targetTransform(y) : (y as unknown as Y2);
    return [x2, y2];
  }

  portability(): Portability {
    const sub = subclassReason(this, TransformedDataset);
    if (sub) return sub;
    if (this.targetTransform) return { reason: 'withTransform: a targetTransform (a function) cannot be rebuilt in a worker' };
    const transform = optionalTransform(this.transform, 'withTransform');
    if ('reason' in transform) return transform;
    const inner = portableDataset(this.dataset);
    if ('reason' in inner) return inner;
    return { spec: { module: import.meta.url, export: 'transformedFromSpec', args: { dataset: inner.spec, transform: transform.spec } } };
  }
}

/** TransformedDataset's WorkerSpec factory. */
export async function transformedFromSpec(args: { dataset: WorkerSpec; transform?: TransformSpec }): Promise<TransformedDataset<unknown, unknown, unknown>> {
  const dataset = (await datasetFromSpec(args.dataset)) as MaybeLabeled<[unknown, unknown]>;
  return new TransformedDataset(dataset, args.transform && transformFromSpec(args.transform));
}

/** withTransform(dataset, transform, targetTransform?): see TransformedDataset. */
export function withTransform<X, Y, X2, Y2 = Y>(
  dataset: MaybeLabeled<[X, Y]>,
  transform?: TransformLike<X, X2>,
  targetTransform?: (target: Y) => Y2,
): TransformedDataset<X, Y, X2, Y2> {
  return new TransformedDataset(dataset, transform, targetTransform);
}

/**
 * The samples of the named classes only, relabelled 0..k-1 in the order given
 * (filterClasses(cifar, ['bird', 'airplane']): bird = 0, airplane = 1). The
 * dataset must know its `classes` and `targets`; the label returned is the new
 * index (a targetTransform of the underlying dataset is not applied to it).
 */
export class ClassFilter<X> implements ClassificationDataset<X> {
  readonly classes: readonly string[];
  readonly targets: Int32Array;
  readonly indices: Int32Array;

  constructor(
    readonly dataset: MaybeLabeled<[X, number]>,
    classNames: readonly string[],
  ) {
    const { classes, targets } = dataset;
    if (!classes || !targets) {
      throw new TypeError('filterClasses: the dataset must have `classes` and `targets` (ImageFolder, MNIST, CIFAR10 and their subsets do)');
    }
    if (classNames.length === 0) throw new RangeError('filterClasses: expected at least one class name');
    const remap = new Map<number, number>();
    classNames.forEach((name, k) => {
      const idx = classes.indexOf(name);
      if (idx < 0) throw new RangeError(`filterClasses: no class '${name}'; the dataset's classes are ${classes.map((c) => `'${c}'`).join(', ')}`);
      if (remap.has(idx)) throw new RangeError(`filterClasses: class '${name}' is listed twice`);
      remap.set(idx, k);
    });
    const keep: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < targets.length; i++) {
      const k = remap.get(targets[i]);
      if (k !== undefined) {
        keep.push(i);
        labels.push(k);
      }
    }
    this.classes = [...classNames];
    this.indices = Int32Array.from(keep);
    this.targets = Int32Array.from(labels);
  }

  get length(): number {
    return this.indices.length;
  }

  async getItem(index: number, options?: GetItemOptions): Promise<[X, number]> {
    checkIndex(index, this.length, 'filterClasses');
    const [x] = await this.dataset.getItem(this.indices[index], options);
    return [x, this.targets[index]];
  }

  portability(): Portability {
    const inner = subclassReason(this, ClassFilter) ?? portableDataset(this.dataset);
    if ('reason' in inner) return inner;
    return { spec: { module: import.meta.url, export: 'classFilterFromSpec', args: { dataset: inner.spec, classes: [...this.classes] } } };
  }
}

/** ClassFilter's WorkerSpec factory. */
export async function classFilterFromSpec(args: { dataset: WorkerSpec; classes: string[] }): Promise<ClassFilter<unknown>> {
  return new ClassFilter((await datasetFromSpec(args.dataset)) as MaybeLabeled<[unknown, number]>, args.classes);
}

/** See ClassFilter. */
export function filterClasses<X>(dataset: MaybeLabeled<[X, number]>, classNames: readonly string[]): ClassFilter<X> {
  return new ClassFilter(dataset, classNames);
}
