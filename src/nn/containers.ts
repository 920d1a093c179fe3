/**
 * Containers: Sequential (runs its children in order), ModuleList and ModuleDict
 * (hold children so they are registered, without a forward of their own). Their
 * items come before any member fields a subclass adds, and keep insertion order
 * (a plain object would put integer-like keys first).
 */
import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';

function normIndex(op: string, i: number, n: number): number {
  if (!Number.isInteger(i) || i < -n || i >= n) throw new RangeError(`${op}: index ${i} is out of range for ${n} modules`);
  return i < 0 ? i + n : i;
}

/** Container keys are not properties, so any non-empty name without dots will do. */
function checkKey(op: string, key: string): void {
  if (typeof key !== 'string' || key === '' || key.includes('.')) {
    throw new TypeError(`${op}: the name must be a non-empty string without dots, got ${JSON.stringify(key)}`);
  }
}

function expectModule(op: string, m: unknown): void {
  if (!(m instanceof Module)) throw new TypeError(`${op}: expected a Module, got ${m === null ? 'null' : typeof m}`);
}

/**
 * y = mₙ(…m₂(m₁(x))). Children are named '0', '1', … when given as arguments,
 * or by their keys when given as a Map or a record (PyTorch's OrderedDict form).
 */
export class Sequential extends Module {
  readonly #items = new Map<string, Module>();

  constructor(...modules: Module[]);
  constructor(named: ReadonlyMap<string, Module> | Readonly<Record<string, Module>>);
  constructor(...args: unknown[]) {
    super();
    if (args.length === 1 && !(args[0] instanceof Module)) {
      const named = args[0] as ReadonlyMap<string, Module> | Readonly<Record<string, Module>>;
      const entries = named instanceof Map ? [...named] : Object.entries(named);
      for (const [k, m] of entries) this.registerModule(k, m);
    } else {
      args.forEach((m, i) => this.registerModule(String(i), m as Module));
    }
  }

  protected override members(): [string, unknown][] {
    return [...this.#items, ...super.members()];
  }

  /** Adds a child at the end under `name` (replacing a child of that name in place). */
  override registerModule(name: string, module: Module | null): void {
    checkKey('Sequential', name);
    if (module === null) {
      this.#items.delete(name);
      return;
    }
    expectModule('Sequential', module);
    this.#items.set(name, module);
  }

  get length(): number {
    return this.#items.size;
  }

  /** The child at position i (negative counts from the end). */
  at(i: number): Module {
    return [...this.#items.values()][normIndex('Sequential.at', i, this.#items.size)];
  }

  /** Appends a child named by its position. Returns this. */
  append(module: Module): this {
    this.registerModule(String(this.#items.size), module);
    return this;
  }

  [Symbol.iterator](): IterableIterator<Module> {
    return this.#items.values();
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.#items.values()) y = m.call(y);
    return y;
  }
}

/** A list of children named '0', '1', …; it registers them but has no forward. */
export class ModuleList<M extends Module = Module> extends Module {
  #items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  protected override members(): [string, unknown][] {
    return [...this.#items.map((m, i): [string, unknown] => [String(i), m]), ...super.members()];
  }

  get length(): number {
    return this.#items.length;
  }

  /** The module at position i (negative counts from the end). */
  at(i: number): M {
    return this.#items[normIndex('ModuleList.at', i, this.#items.length)];
  }

  /** Replaces the module at position i. */
  set(i: number, module: M): void {
    expectModule('ModuleList.set', module);
    this.#items[normIndex('ModuleList.set', i, this.#items.length)] = module;
  }

  append(module: M): this {
    expectModule('ModuleList.append', module);
    this.#items.push(module);
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Inserts before position i (the later modules are renumbered). */
  insert(i: number, module: M): void {
    expectModule('ModuleList.insert', module);
    const n = this.#items.length;
    const at = i < 0 ? Math.max(0, n + i) : Math.min(i, n);
    this.#items.splice(at, 0, module);
  }

  [Symbol.iterator](): IterableIterator<M> {
    return this.#items[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleList has no forward: iterate over it in the forward of the module that owns it');
  }
}

/** Children by name, in insertion order; it registers them but has no forward. Iterates [name, module] like a Map. */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly #items = new Map<string, M>();

  constructor(modules: ReadonlyMap<string, M> | Readonly<Record<string, M>> | Iterable<[string, M]> = []) {
    super();
    const entries = modules instanceof Map || Symbol.iterator in modules ? [...(modules as Iterable<[string, M]>)] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
  }

  protected override members(): [string, unknown][] {
    return [...this.#items, ...super.members()];
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): M | undefined {
    return this.#items.get(key);
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  /** Adds or replaces (in place) the module under key. */
  set(key: string, module: M): this {
    checkKey('ModuleDict.set', key);
    expectModule('ModuleDict.set', module);
    this.#items.set(key, module);
    return this;
  }

  delete(key: string): boolean {
    return this.#items.delete(key);
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  values(): IterableIterator<M> {
    return this.#items.values();
  }

  entries(): IterableIterator<[string, M]> {
    return this.#items.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, M]> {
    return this.#items.entries();
  }

  forward(): never {
    throw new Error('ModuleDict has no forward: look modules up in the forward of the module that owns it');
  }
}
