/**
 * Optimizer: the base of SGD, Adam, AdamW and RMSprop, as PyTorch's torch.optim.Optimizer.
 *
 * An optimizer holds parameter groups (each with its own options, the optimizer's
 * defaults filling the rest) and a state per parameter (step counts and buffers, as
 * tensors). step() updates every parameter that has a gradient in place, through
 * the backend's fused update primitives, so modules keep their references.
 *
 * stateDict() has PyTorch's structure and key names:
 *   { state: { [index]: { step, exp_avg, … } }, param_groups: [{ lr, betas, weight_decay, …, params: [indices] }] }
 * where the indices number the parameters of all groups in order. Options are
 * camelCase in the TypeScript API (weightDecay) and snake_case in the state dict
 * (weight_decay), because the state dict is a file format.
 */
import { backend } from '../backend/index.js';
import { noGrad } from '../tensor/autograd.js';
import { DTypeError, fmtShape, ShapeError } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';

/** Options every optimizer has. */
export interface BaseOptions {
  /** Learning rate. */
  lr?: number;
  /** Maximise the objective instead of minimising it (the update uses -grad). Default false. */
  maximize?: boolean;
}

/** Fields that LR schedulers add to a parameter group (PyTorch's initial_lr, max_lr, min_lr, max_momentum, base_momentum). */
export interface ScheduleFields {
  initialLr?: number;
  maxLr?: number;
  minLr?: number;
  maxMomentum?: number;
  baseMomentum?: number;
}

const SCHEDULE_FIELDS: ReadonlySet<string> = new Set(['initialLr', 'maxLr', 'minLr', 'maxMomentum', 'baseMomentum']);
/** Keys PyTorch writes in param_groups that only select its implementation; loading ignores them. */
const PYTORCH_IMPLEMENTATION_KEYS: ReadonlySet<string> = new Set(['foreach', 'capturable', 'differentiable', 'fused']);

/** A parameter group as given to the constructor or addParamGroup: its parameters and the options that differ from the defaults. */
export type ParamGroupInit<O> = O & { params: Tensor<'float32'> | Iterable<Tensor<'float32'>> };

/** A parameter group as the optimizer keeps it: every option filled in. Change `lr` (schedulers do) or other options freely. */
export type ParamGroup<O> = Required<O> & ScheduleFields & { params: Tensor<'float32'>[] };

/** What an optimizer is built from: parameters (one group) or a list of parameter groups. */
export type ParamsInit<O> = Iterable<Tensor<'float32'>> | Iterable<ParamGroupInit<O>>;

/** Per-parameter state: PyTorch's names (exp_avg, momentum_buffer, …) mapping to tensors (null where PyTorch has None). */
export type ParamState = Record<string, Tensor<'float32'> | null | undefined>;

/** An option value in a state dict's param_groups (betas is a pair). */
export type OptionValue = number | boolean | string | null | readonly number[];

export interface ParamGroupState {
  /** Indices of the group's parameters, numbering all groups' parameters in order. */
  params: number[];
  [option: string]: OptionValue | number[];
}

/** PyTorch's optimizer state dict. Tensors share storage with the optimizer's state (see stateToJSON to save one). */
export interface OptimizerStateDict {
  state: Record<string, Record<string, Tensor | number | null>>;
  param_groups: ParamGroupState[];
}

export interface ZeroGradOptions {
  /** Set grads to null (default, as PyTorch 2) instead of filling them with zeros in place. */
  setToNone?: boolean;
}

/** PyTorch's snake_case key for a camelCase option name (weightDecay -> weight_decay). */
export function toSnake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** The camelCase option name for a PyTorch key (weight_decay -> weightDecay). */
export function toCamel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return `a Tensor of shape ${fmtShape(v.shape)}`;
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A shallow copy whose array values (betas) are copies too, so groups never share one. */
function copyArrays<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = Array.isArray(v) ? [...v] : v;
  return out as T;
}

/** A fresh float32 tensor of zeros with the parameter's shape. */
export function zerosOf(p: Tensor<'float32'>): Tensor<'float32'> {
  const data = backend().alloc('float32', p.size);
  backend().fill(data, 0);
  return new Tensor(data, p.shape);
}

/** A 0-d float32 step counter, as PyTorch's torch.tensor(0.). */
export function stepTensor(value = 0): Tensor<'float32'> {
  return new Tensor(new Float32Array([value]), []);
}

export abstract class Optimizer<O extends BaseOptions = BaseOptions, S extends ParamState = ParamState> {
  /** The options every group starts from (lr may be missing for SGD, which has no default lr). */
  readonly defaults: Readonly<O>;
  readonly paramGroups: ParamGroup<O>[] = [];
  /** State per parameter, created at its first update. */
  readonly state = new Map<Tensor<'float32'>, S>();
  /** PyTorch's state keys this optimizer keeps, in PyTorch's order (loadStateDict refuses others). */
  protected abstract readonly stateKeys: readonly string[];

  /**
   * `defaults` holds every option with the optimizer's default (lr may be undefined);
   * `options` is what the user passed: its keys and types are checked against defaults.
   */
  constructor(params: ParamsInit<O>, defaults: O, options: O) {
    this.defaults = copyArrays(defaults);
    if (options === null || typeof options !== 'object') throw new TypeError(`${this.name}: expected an options object, got ${describe(options)}`);
    for (const [key, value] of Object.entries(options)) {
      if (value === undefined) continue;
      if (SCHEDULE_FIELDS.has(key)) throw new TypeError(`${this.name}: unknown option ${key}`);
      this.checkOption(key, value, '');
      (this.defaults as Record<string, unknown>)[key] = Array.isArray(value) ? [...value] : value;
    }
    Object.freeze(this.defaults);
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      const hint = params && typeof (params as { parameters?: unknown }).parameters === 'function' ? ' (did you mean model.parameters()?)' : '';
      throw new TypeError(`${this.name}: expected an iterable of parameters or of parameter groups, got ${describe(params)}${hint}`);
    }
    const list = [...params] as (Tensor<'float32'> | ParamGroupInit<O>)[];
    if (list.length === 0) throw new RangeError(`${this.name}: got an empty parameter list`);
    if (list[0] instanceof Tensor) {
      this.addGroup({ params: list } as unknown as ParamGroupInit<O>, '');
    } else {
      list.forEach((g, i) => this.addGroup(g as ParamGroupInit<O>, ` (parameter group ${i})`));
    }
  }

  /** The class name, for messages. */
  protected get name(): string {
    return this.constructor.name;
  }

  /** Adds a group (for example layers unfrozen during fine-tuning), its options filled from the defaults. */
  addParamGroup(group: ParamGroupInit<O>): void {
    this.addGroup(group, ` (parameter group ${this.paramGroups.length})`);
  }

  private addGroup(init: ParamGroupInit<O>, where: string): void {
    if (init === null || typeof init !== 'object' || !('params' in init)) {
      throw new TypeError(`${this.name}: a parameter group must be an object with params${where}, got ${describe(init)}`);
    }
    const { params, ...overrides } = init;
    const list = params instanceof Tensor ? [params] : [...(params as Iterable<Tensor<'float32'>>)];
    const seen = new Set<Tensor>();
    for (const p of list) {
      if (!(p instanceof Tensor)) throw new TypeError(`${this.name}: expected parameters to be tensors${where}, got ${describe(p)}`);
      if (p.dtype !== 'float32') throw new DTypeError(`${this.name}: can only optimize float32 tensors, got ${p.dtype}${where}`);
      if (!p.isLeaf) throw new TypeError(`${this.name}: can't optimize a non-leaf tensor (made by ${p.gradFn?.name})${where}`);
      if (seen.has(p)) throw new Error(`${this.name}: a parameter appears twice in a parameter group${where}`);
      seen.add(p);
    }
    for (const g of this.paramGroups) {
      if (g.params.some((p) => seen.has(p))) throw new Error(`${this.name}: some parameters appear in more than one parameter group${where}`);
    }
    const group = copyArrays(this.defaults) as Record<string, unknown>;
    for (const [key, value] of Object.entries(overrides)) {
      if (value === undefined) continue;
      this.checkOption(key, value, where);
      group[key] = Array.isArray(value) ? [...value] : value;
    }
    if (typeof group.lr !== 'number') {
      throw new TypeError(`${this.name}: no lr given${where}; pass { lr } to the optimizer or to every parameter group`);
    }
    group.params = list;
    this.validate(group as ParamGroup<O>, where);
    this.paramGroups.push(group as ParamGroup<O>);
  }

  /** Throws unless key is an option of this optimizer (or a scheduler field) and value has the default's type. */
  private checkOption(key: string, value: unknown, where: string): void {
    if (!(key in this.defaults) && !SCHEDULE_FIELDS.has(key)) {
      const camel = toCamel(key);
      const hint = camel !== key && camel in this.defaults ? ` (did you mean ${camel}?)` : '';
      throw new TypeError(`${this.name}: unknown option ${key}${hint}${where}`);
    }
    const dflt = (this.defaults as Record<string, unknown>)[key];
    const ok = Array.isArray(dflt)
      ? Array.isArray(value) && value.length === dflt.length && value.every((v) => typeof v === 'number')
      : typeof value === (dflt === undefined ? 'number' : typeof dflt);
    if (!ok) {
      const expected = Array.isArray(dflt) ? `a list of ${dflt.length} numbers` : `a ${dflt === undefined ? 'number' : typeof dflt}`;
      throw new TypeError(`${this.name}: expected ${key} to be ${expected}, got ${describe(value)}${where}`);
    }
  }

  /** Throws (naming the option) on invalid option values, as PyTorch's constructors do. */
  protected abstract validate(group: ParamGroup<O>, where: string): void;

  /** The state of a parameter at its first update. */
  protected abstract initState(group: ParamGroup<O>, p: Tensor<'float32'>): S;

  /** Updates p in place from its gradient (already negated when maximize is set). */
  protected abstract update(group: ParamGroup<O>, p: Tensor<'float32'>, grad: Float32Array, state: S): void;

  /** Clears every parameter's gradient: null by default, zeros in place with { setToNone: false }. */
  zeroGrad({ setToNone = true }: ZeroGradOptions = {}): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue;
        if (setToNone) p.grad = null;
        else backend().fill(p.grad.data, 0);
      }
    }
  }

  /**
   * One update of every parameter that has a gradient (parameters whose grad is null
   * are skipped, their state untouched). A closure, if given, is called first (with
   * gradients recorded) to recompute the loss, which step returns.
   */
  step<L>(closure?: () => L): L | undefined {
    const loss = closure ? closure() : undefined;
    noGrad(() => {
      for (const group of this.paramGroups) {
        for (const p of group.params) {
          const g = p.grad;
          if (g === null) continue;
          if (g.size !== p.size) {
            throw new ShapeError(`${this.name}.step: a gradient of shape ${fmtShape(g.shape)} for a parameter of shape ${fmtShape(p.shape)}`);
          }
          let grad = g.data;
          if (group.maximize) {
            grad = backend().alloc('float32', g.size);
            backend().unary('neg', g.data, grad, 0, 0);
          }
          let state = this.state.get(p);
          if (state === undefined) {
            state = this.initState(group, p);
            this.state.set(p, state);
          }
          this.update(group, p, grad, state);
        }
      }
    });
    return loss;
  }

  /**
   * PyTorch's state dict: { state: { [index]: {...} }, param_groups: [{ ...options, params: [indices] }] }.
   * Tensors are the optimizer's own (they change as it steps): serialise at once or clone.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const packed: Record<string, OptionValue | number[]> = {};
      for (const [key, value] of Object.entries(group)) {
        if (key === 'params' || value === undefined) continue;
        packed[toSnake(key)] = Array.isArray(value) ? [...(value as number[])] : (value as OptionValue);
      }
      packed.params = group.params.map((p) => {
        index.set(p, index.size);
        return index.size - 1;
      });
      return packed as ParamGroupState;
    });
    const state: OptimizerStateDict['state'] = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const entry: Record<string, Tensor | null> = {};
      for (const [key, value] of Object.entries(s)) if (value !== undefined) entry[key] = value;
      state[i] = entry;
    }
    return { state, param_groups: paramGroups };
  }

  /**
   * Restores a state dict from stateDict() (or PyTorch's, with tensors converted):
   * the groups must hold the same numbers of parameters; options are taken from it,
   * state tensors are copied. Everything is checked before anything changes.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || sd.state === null || typeof sd.state !== 'object') {
      throw new TypeError(`${where}: expected { state, param_groups }, got ${describe(sd)}`);
    }
    const saved = sd.param_groups;
    if (saved.length !== this.paramGroups.length) {
      throw new RangeError(`${where}: the state dict has ${saved.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    const byIndex = new Map<number, Tensor<'float32'>>();
    const newGroups = saved.map((sg, gi) => {
      const group = this.paramGroups[gi];
      if (!Array.isArray(sg.params) || sg.params.length !== group.params.length) {
        throw new RangeError(`${where}: parameter group ${gi} has ${sg.params?.length} parameters in the state dict, ${group.params.length} in the optimizer`);
      }
      sg.params.forEach((id, k) => byIndex.set(id, group.params[k]));
      const options: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(sg)) {
        if (key === 'params' || PYTORCH_IMPLEMENTATION_KEYS.has(key)) continue;
        const name = toCamel(key);
        this.checkOption(name, value, ` (parameter group ${gi} of the state dict)`);
        options[name] = Array.isArray(value) ? [...value] : value;
      }
      this.validate({ ...group, ...options } as ParamGroup<O>, ` (parameter group ${gi} of the state dict)`);
      return options;
    });
    const newState = new Map<Tensor<'float32'>, S>();
    for (const [id, entry] of Object.entries(sd.state)) {
      const p = byIndex.get(Number(id));
      if (p === undefined) throw new RangeError(`${where}: state for parameter ${id}, which no parameter group lists`);
      const s: Record<string, Tensor<'float32'> | null> = {};
      for (const [key, value] of Object.entries(entry)) s[key] = this.loadStateValue(key, value, p, `${where}: state ${id}.${key}`);
      newState.set(p, s as S);
    }
    newGroups.forEach((options, gi) => Object.assign(this.paramGroups[gi], options));
    this.state.clear();
    for (const [p, s] of newState) this.state.set(p, s);
  }

  /** A copy of one saved state value: step (a number or one-element tensor) becomes a 0-d tensor, buffers must match the parameter. */
  private loadStateValue(key: string, value: unknown, p: Tensor<'float32'>, where: string): Tensor<'float32'> | null {
    if (!this.stateKeys.includes(key)) throw new TypeError(`${where}: unknown state key for ${this.name} (expected one of ${this.stateKeys.join(', ')})`);
    if (key === 'step') {
      const v = value instanceof Tensor && value.size === 1 ? value.data[0] : value;
      if (typeof v !== 'number' || !(v >= 0)) throw new TypeError(`${where}: expected a step count, got ${describe(value)}`);
      return stepTensor(v);
    }
    if (value === null) return null;
    if (!(value instanceof Tensor)) throw new TypeError(`${where}: expected a tensor, got ${describe(value)}`);
    if (value.size !== p.size) throw new ShapeError(`${where}: shape ${fmtShape(value.shape)} does not match the parameter's ${fmtShape(p.shape)}`);
    const copy = backend().alloc('float32', p.size);
    if (value.dtype === 'float32') copy.set(value.data);
    else backend().cast(value.data, copy);
    return new Tensor(copy, p.shape);
  }
}

/** Throws a RangeError unless test(value) holds: "SGD: expected lr >= 0, got -1". */
export function check(name: string, ok: boolean, what: string, value: unknown, where: string): void {
  if (!ok) throw new RangeError(`${name}: expected ${what}, got ${describe(value)}${where}`);
}
