/**
 * Module and Parameter: the base of every layer and model, as PyTorch's nn.Module.
 *
 * Registration is by discovery: a module's own enumerable properties are read in
 * property order (for TypeScript class fields, the order they are declared), and
 *   - a property holding a Parameter is a parameter,
 *   - a property holding a Module is a child module,
 *   - a property whose name was given to registerBuffer() and holds a Tensor is a buffer.
 * The property name is the name in stateDict() keys. Nothing is cached, so assigning
 * a new child or parameter to a field (or setting it to null) takes effect at once.
 * Values kept in `#private` fields or non-enumerable properties are not registered.
 */
import { noGrad } from '../tensor/autograd.js';
import type { TypedArray } from '../core/dtype.js';
import { DTypeError, fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

/** A float32 leaf tensor that a Module learns: requiresGrad is true unless frozen. Shares the storage of the tensor it wraps. */
export class Parameter extends Tensor<'float32'> {
  constructor(data: Tensor, requiresGrad = true) {
    if (data.dtype !== 'float32') {
      throw new DTypeError(`Parameter: expected a float32 tensor, got ${data.dtype} (shape ${fmtShape(data.shape)})`);
    }
    super(data.data as Float32Array, data.shape);
    this.requiresGrad = requiresGrad;
  }
}

/** Ordered name -> tensor, with PyTorch's key names ("0.weight", "bn1.running_mean"). */
export type StateDict = Map<string, Tensor>;

export interface LoadStateDictOptions {
  /** Fail on missing or unexpected keys (default true). Mis-shaped keys always fail, as in PyTorch. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

/** Thrown by loadStateDict; lists every bad key, not only the first. */
export class StateDictError extends Error {
  override name = 'StateDictError';
  constructor(
    readonly moduleName: string,
    readonly missingKeys: string[],
    readonly unexpectedKeys: string[],
    readonly mismatchedKeys: { key: string; expected: number[]; got: number[] }[],
  ) {
    const lines = [`loadStateDict: error(s) in loading the state dict for ${moduleName}:`];
    const quote = (keys: string[]) => keys.map((k) => `"${k}"`).join(', ');
    if (missingKeys.length) lines.push(`  missing key(s) (${missingKeys.length}): ${quote(missingKeys)}`);
    if (unexpectedKeys.length) lines.push(`  unexpected key(s) (${unexpectedKeys.length}): ${quote(unexpectedKeys)}`);
    for (const m of mismatchedKeys) {
      lines.push(`  size mismatch for "${m.key}": the state dict has shape ${fmtShape(m.got)}, the module expects ${fmtShape(m.expected)}`);
    }
    super(lines.join('\n'));
  }
}

interface NameOptions {
  /** Prepended to every name, with a dot. */
  prefix?: string;
  /** Include the members of descendants (default true). */
  recurse?: boolean;
}

/** Throws unless name can be a member name of owner (non-empty, no dots, not hiding a method). */
function checkName(kind: string, owner: AnyModule, name: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new TypeError(`${kind}: the name must be a non-empty string without dots, got ${JSON.stringify(name)}`);
  }
  if (name in owner && !Object.hasOwn(owner, name)) {
    throw new TypeError(`${kind}: "${name}" would hide the ${owner.constructor.name}.${name} method or accessor`);
  }
}

/** A matcher of dotted module names: a RegExp, or a glob (* within a name part, ** across parts) that also matches every name below a match. */
function namePattern(pattern: string | RegExp): (name: string) => boolean {
  if (pattern instanceof RegExp) return (name) => pattern.test(name);
  const body = pattern
    .split('**')
    .map((part) => part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^.]*'))
    .join('.*');
  const re = new RegExp(`^(?:${body})(?:\\..*)?$`);
  return (name) => re.test(name);
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** What registerForwardPreHook and registerForwardHook return: remove() takes the hook off again. */
export class HookHandle {
  readonly #hooks: Map<number, unknown>;
  readonly #id: number;
  constructor(hooks: Map<number, unknown>, id: number) {
    this.#hooks = hooks;
    this.#id = id;
  }

  remove(): void {
    this.#hooks.delete(this.#id);
  }
}

/** Called before forward with the inputs; a returned array replaces them. */
export type ForwardPreHook<I extends unknown[] = unknown[]> = (module: Module<I, unknown>, inputs: I) => I | void;
/** Called after forward with the inputs and output; a returned value (not undefined) replaces the output. */
export type ForwardHook<I extends unknown[] = unknown[], O = unknown> = (module: Module<I, O>, inputs: I, output: O) => O | void;

// Stored loosely typed: a hook field typed by I and O would make Module<[Tensor, Tensor]>
// (a loss) unassignable to Module, since function-typed fields are checked contravariantly.
type StoredHook = (module: never, inputs: never, output: never) => unknown;
let nextHookId = 0;

/** A module of any signature: what containers hold and traversals return. */
export type AnyModule = Module<any[], any>;

/**
 * The base of every layer and model. I is the tuple of forward's inputs and O its
 * output, so `net.call(x)` is typed: a layer is Module<[Tensor], Tensor> (the default),
 * a loss Module<[Tensor, Tensor], Tensor>.
 */
export abstract class Module<I extends unknown[] = [Tensor], O = Tensor> {
  /** True in training mode (the default); train()/eval() set it on the whole tree. */
  training = true;
  /** Names registered as buffers, with whether each is saved in the state dict. */
  readonly #bufferNames = new Map<string, boolean>();
  #frozen = false;
  readonly #preHooks = new Map<number, StoredHook>();
  readonly #hooks = new Map<number, StoredHook>();

  /** The computation. Subclasses narrow the signature, e.g. forward(x: Tensor): Tensor. */
  abstract forward(...inputs: I): O;

  /**
   * Runs the forward pre-hooks, forward, then the forward hooks: model.call(x) is
   * PyTorch's model(x). Typed by the subclass's own forward (Linear.call gives a float32 Tensor).
   */
  call<M extends Module<I, O>>(this: M, ...inputs: Parameters<M['forward']>): ReturnType<M['forward']> {
    return this.#run(inputs as unknown as I) as ReturnType<M['forward']>;
  }

  #run(inputs: I): O {
    if (this.#preHooks.size === 0 && this.#hooks.size === 0) return this.forward(...inputs);
    let args = inputs;
    for (const hook of [...this.#preHooks.values()] as unknown as ForwardPreHook<I>[]) {
      const r = hook(this as Module<I, unknown>, args);
      if (r !== undefined) args = r;
    }
    let out = this.forward(...args);
    for (const hook of [...this.#hooks.values()] as unknown as ForwardHook<I, O>[]) {
      const r = hook(this, args, out);
      if (r !== undefined) out = r;
    }
    return out;
  }

  /** Adds a hook that call() runs before forward, in the order added; it may replace the inputs. */
  registerForwardPreHook(hook: ForwardPreHook<I>): HookHandle {
    if (typeof hook !== 'function') throw new TypeError('registerForwardPreHook: the hook must be a function');
    this.#preHooks.set(++nextHookId, hook as unknown as StoredHook);
    return new HookHandle(this.#preHooks, nextHookId);
  }

  /** Adds a hook that call() runs after forward, in the order added; it may replace the output. */
  registerForwardHook(hook: ForwardHook<I, O>): HookHandle {
    if (typeof hook !== 'function') throw new TypeError('registerForwardHook: the hook must be a function');
    this.#hooks.set(++nextHookId, hook as unknown as StoredHook);
    return new HookHandle(this.#hooks, nextHookId);
  }

  // ---- registration ---------------------------------------------------------

  /**
   * This module's own [name, value] members in order; registration reads them.
   * The default is the own enumerable properties; containers put their items first.
   */
  protected members(): [string, unknown][] {
    return Object.entries(this);
  }

  /** Sets this[name] = param (null keeps the name without a parameter). Same as assigning a field. */
  registerParameter(name: string, param: Parameter | null): void {
    checkName('registerParameter', this, name);
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(`registerParameter: "${name}" must be a Parameter or null (wrap a tensor in new Parameter(t))`);
    }
    (this as Record<string, unknown>)[name] = param;
  }

  /** Sets this[name] = module (null keeps the name without a module). Same as assigning a field. */
  registerModule(name: string, module: AnyModule | null): void {
    checkName('registerModule', this, name);
    if (module !== null && !(module instanceof Module)) throw new TypeError(`registerModule: "${name}" must be a Module or null`);
    (this as Record<string, unknown>)[name] = module;
  }

  /**
   * Sets this[name] = tensor and marks the name as a buffer: state that is not
   * learned but is saved (running statistics). Later assignments to the field stay
   * buffers. A non-persistent buffer is left out of stateDict().
   */
  registerBuffer(name: string, tensor: Tensor | null, { persistent = true }: { persistent?: boolean } = {}): void {
    checkName('registerBuffer', this, name);
    if (tensor !== null && !(tensor instanceof Tensor)) throw new TypeError(`registerBuffer: "${name}" must be a Tensor or null`);
    if (tensor instanceof Parameter) throw new TypeError(`registerBuffer: "${name}" is a Parameter; register it with registerParameter`);
    this.#bufferNames.set(name, persistent);
    (this as Record<string, unknown>)[name] = tensor;
  }

  /** The buffer registered under name (null when unset). */
  buffer(name: string): Tensor | null {
    if (!this.#bufferNames.has(name)) throw new RangeError(`buffer: ${this.constructor.name} has no buffer "${name}"`);
    const v = (this as Record<string, unknown>)[name];
    return v instanceof Tensor ? v : null;
  }

  /** Own parameters, buffers (with persistence) and children, in member order. */
  #own(): { params: [string, Parameter][]; buffers: [string, Tensor, boolean][]; children: [string, AnyModule][] } {
    const params: [string, Parameter][] = [];
    const buffers: [string, Tensor, boolean][] = [];
    const children: [string, AnyModule][] = [];
    for (const [name, v] of this.members()) {
      const persistent = this.#bufferNames.get(name);
      if (persistent !== undefined) {
        if (v instanceof Tensor) buffers.push([name, v, persistent]);
      } else if (v instanceof Parameter) {
        params.push([name, v]);
      } else if (v instanceof Module) {
        children.push([name, v]);
      } else if (Array.isArray(v) && v.some((x) => x instanceof Module || x instanceof Parameter)) {
        throw new TypeError(
          `${this.constructor.name}.${name} is an array of modules or parameters, which would not be registered; ` +
            'use a ModuleList (or keep it in a #private field if the modules belong elsewhere)',
        );
      }
    }
    return { params, buffers, children };
  }

  // ---- traversal --------------------------------------------------------------

  /** Immediate children, in order. */
  namedChildren(): [string, AnyModule][] {
    const seen = new Set<AnyModule>();
    return this.#own().children.filter(([, m]) => !seen.has(m) && (seen.add(m), true));
  }

  children(): AnyModule[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module (named prefix, '' by default) and every descendant, pre-order, each once. */
  namedModules({ prefix = '' }: { prefix?: string } = {}): [string, AnyModule][] {
    const out: [string, AnyModule][] = [];
    const seen = new Set<AnyModule>();
    const walk = (m: AnyModule, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [k, child] of m.#own().children) walk(child, join(name, k));
    };
    walk(this, prefix);
    return out;
  }

  modules(): AnyModule[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with their dotted names: a module's own first, then its children's; each tensor once (tied weights keep their first name). */
  namedParameters({ prefix = '', recurse = true }: NameOptions = {}): [string, Parameter][] {
    const mods: [string, AnyModule][] = recurse ? this.namedModules({ prefix }) : [[prefix, this]];
    const seen = new Set<Tensor>();
    const out: [string, Parameter][] = [];
    for (const [mp, m] of mods) {
      for (const [k, p] of m.#own().params) {
        if (!seen.has(p)) {
          seen.add(p);
          out.push([join(mp, k), p]);
        }
      }
    }
    return out;
  }

  parameters({ recurse = true }: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters({ recurse }).map(([, p]) => p);
  }

  /** Buffers (persistent or not) with their dotted names, each tensor once. */
  namedBuffers({ prefix = '', recurse = true }: NameOptions = {}): [string, Tensor][] {
    const mods: [string, AnyModule][] = recurse ? this.namedModules({ prefix }) : [[prefix, this]];
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [mp, m] of mods) {
      for (const [k, b] of m.#own().buffers) {
        if (!seen.has(b)) {
          seen.add(b);
          out.push([join(mp, k), b]);
        }
      }
    }
    return out;
  }

  buffers({ recurse = true }: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers({ recurse }).map(([, b]) => b);
  }

  /** The descendant at a dotted path ('layer1.0.conv1'); '' is this module. */
  getSubmodule(target: string): AnyModule {
    if (target === '') return this;
    return target.split('.').reduce<AnyModule>((m, part) => {
      const next = m.#own().children.find(([k]) => k === part);
      if (!next) throw new RangeError(`getSubmodule: ${m.constructor.name} has no child "${part}" (path "${target}")`);
      return next[1];
    }, this);
  }

  // ---- modes and gradients ---------------------------------------------------

  /** Sets training mode on this module and every descendant. Returns this. */
  train(mode = true): this {
    this.training = mode && !this.#frozen;
    for (const child of this.children()) child.train(mode);
    return this;
  }

  /** True after freeze(): the parameters learn nothing and train() keeps the module in evaluation mode. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /**
   * Freezes the modules whose dotted name matches `pattern` (all of this module when
   * absent), with their descendants: their parameters stop learning (requiresGrad
   * false) and they stay in evaluation mode under train(), so batch norm keeps its
   * running statistics, as fine-tuning a pretrained backbone wants. A pattern is a
   * RegExp or a glob over dotted names ('layer1', 'features.*', 'layer[12]'), also
   * matching everything below a matched name. Returns this.
   */
  freeze(pattern?: string | RegExp): this {
    return this.#setFrozen(pattern, true);
  }

  /** Undoes freeze() for the matching modules and their descendants (all when no pattern). Returns this. */
  unfreeze(pattern?: string | RegExp): this {
    return this.#setFrozen(pattern, false);
  }

  #setFrozen(pattern: string | RegExp | undefined, flag: boolean): this {
    const match = pattern === undefined ? () => true : namePattern(pattern);
    const matched = this.namedModules().filter(([name]) => match(name));
    if (matched.length === 0) throw new RangeError(`${flag ? 'freeze' : 'unfreeze'}: no module of ${this.constructor.name} matches ${String(pattern)}`);
    for (const [, top] of matched) {
      for (const m of top.modules()) {
        m.#frozen = flag;
        m.training = m.training && !flag;
        for (const p of m.parameters({ recurse: false })) p.requiresGrad = !flag;
      }
    }
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (false freezes them). Returns this. */
  requiresGrad(flag = true): this {
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Clears every parameter's gradient (sets it to null, as PyTorch's default set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Calls fn on every descendant (children first) and then on this module. Returns this. */
  apply(fn: (m: AnyModule) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- state dict -------------------------------------------------------------

  /**
   * Parameters and persistent buffers by PyTorch's key names: for each module
   * (pre-order) its parameters, then its buffers. The tensors are detached and
   * share storage with the module (clone them for a snapshot), as in PyTorch.
   */
  stateDict({ prefix = '' }: { prefix?: string } = {}): StateDict {
    const out: StateDict = new Map();
    const walk = (m: AnyModule, p: string) => {
      const own = m.#own();
      for (const [k, t] of own.params) out.set(join(p, k), t.detach());
      for (const [k, t, persistent] of own.buffers) if (persistent) out.set(join(p, k), t.detach());
      for (const [k, child] of own.children) walk(child, join(p, k));
    };
    walk(this, prefix);
    return out;
  }

  /**
   * Copies values from `stateDict` into this module's parameters and buffers, in
   * place (so optimizers holding the parameters keep working). Every key is checked
   * before anything is copied; on failure a StateDictError lists every missing,
   * unexpected and mis-shaped key and the module is unchanged. Values are converted
   * to the destination dtype (num_batches_tracked may arrive as float32 or int32).
   */
  loadStateDict(stateDict: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, { strict = true }: LoadStateDictOptions = {}): LoadStateDictResult {
    const source: Map<string, Tensor> = stateDict instanceof Map ? new Map(stateDict) : new Map(Object.entries(stateDict));
    const own = this.stateDict();
    const missingKeys: string[] = [];
    const mismatched: { key: string; expected: number[]; got: number[] }[] = [];
    for (const [key, dst] of own) {
      const src = source.get(key);
      if (!src) missingKeys.push(key);
      else if (!(src instanceof Tensor)) throw new TypeError(`loadStateDict: the value of "${key}" is not a Tensor`);
      else if (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i])) {
        mismatched.push({ key, expected: [...dst.shape], got: [...src.shape] });
      }
    }
    const unexpectedKeys = [...source.keys()].filter((k) => !own.has(k));
    if (mismatched.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      throw new StateDictError(this.constructor.name, strict ? missingKeys : [], strict ? unexpectedKeys : [], mismatched);
    }
    noGrad(() => {
      for (const [key, dst] of own) {
        const src = source.get(key);
        if (src) (dst.data as TypedArray).set(src.data);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  // ---- printing ---------------------------------------------------------------

  /** The settings shown between the parentheses of toString(), e.g. "inFeatures=4, outFeatures=2, bias=true". */
  extraRepr(): string {
    return '';
  }

  /** A PyTorch-style tree: Name(extra) with one indented "(name): child" line per child. */
  toString(): string {
    const kids = this.namedChildren();
    const extra = this.extraRepr();
    if (!kids.length) return `${this.constructor.name}(${extra})`;
    const lines = extra ? [extra] : [];
    for (const [k, m] of kids) lines.push(`(${k}): ${m.toString()}`);
    return `${this.constructor.name}(\n${lines.map((l) => '  ' + l.replace(/\n/g, '\n  ')).join('\n')}\n)`;
  }
}
