/**
 * pickle: a restricted reader of Python pickles, enough for the files torch.save
 * writes (protocols 2 to 5), and a writer of the protocol 2 opcodes that pth.ts emits.
 *
 * A pickle is a program for a stack machine: opcodes push values (ints, strings,
 * empty containers), fill containers, remember values in a memo, and call
 * callables named by GLOBAL on arguments from the stack (REDUCE, NEWOBJ). Python's
 * own unpickler imports whatever module a GLOBAL names and calls it, which is how a
 * pickle runs code. This reader runs nothing: a GLOBAL is looked up in a fixed
 * allow-list (OrderedDict, torch's tensor rebuild functions, storage types,
 * torch.Size, set) and anything else is refused before it is even pushed. The
 * allowed calls are interpreted here: OrderedDict() is a Map, a tensor rebuild is a
 * TensorView (a view into a storage the caller reads later), torch.Size is an array.
 *
 * Values: None is null, bool is boolean, int is a number (a bigint beyond 2^53),
 * float is a number, str is a string, bytes are a Uint8Array, list and tuple are
 * arrays, dict is a Map (insertion order kept), set is a Set.
 *
 * The machine's stack, its marks (nesting) and its memo are bounded, so a crafted
 * pickle fails with a message instead of exhausting memory.
 */
import type { Fail } from './zip.js';

/** Deepest nesting of MARKs accepted (and of containers, by the callers that walk values). */
export const MAX_NESTING = 1000;
const MAX_STACK = 1_000_000;
const MAX_MEMO = 1_000_000;
const MAX_GLOBAL_NAME = 256;

/** The storage classes of torch.save files, by name in module torch. */
export const STORAGE_TYPES = [
  'FloatStorage',
  'HalfStorage',
  'BFloat16Storage',
  'DoubleStorage',
  'LongStorage',
  'IntStorage',
  'ShortStorage',
  'CharStorage',
  'ByteStorage',
  'BoolStorage',
] as const;
export type StorageType = (typeof STORAGE_TYPES)[number];

const ALLOWED_GLOBALS = new Set<string>([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'torch.Size',
  'builtins.set',
  'builtins.frozenset',
  '__builtin__.set',
  '__builtin__.frozenset',
  ...STORAGE_TYPES.map((s) => `torch.${s}`),
]);

/** A class or function named by a GLOBAL that the allow-list admits. */
export class PickleGlobal {
  constructor(readonly qualifiedName: string) {}
}

/** A tensor as pickled: `shape` elements of `storage` from element `offset`, `stride` elements apart per dimension. */
export class TensorView {
  constructor(
    /** Whatever the persistent-id loader returned for the storage. */
    readonly storage: unknown,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

export interface UnpickleOptions {
  fail: Fail;
  /** Resolves a BINPERSID id (torch: a storage); pickles with persistent ids are refused without it. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Byte offset where the pickle starts (files may hold several pickles back to back). */
  start?: number;
}

/** The value of the pickle and the offset just past its STOP opcode. */
export interface Unpickled {
  value: unknown;
  end: number;
}

const OPCODE_NAMES: Record<number, string> = {
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x49: 'INT',
  0x4c: 'LONG',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x46: 'FLOAT',
  0x50: 'PERSID',
  0x70: 'PUT',
  0x67: 'GET',
  0x69: 'INST',
  0x6f: 'OBJ',
};

/** Runs the restricted machine over one pickle (see the file header). */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): Unpickled {
  return new Machine(bytes, options).run();
}

class Machine {
  private readonly view: DataView;
  private pos: number;
  private readonly stack: unknown[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly fail: Fail;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = options.start ?? 0;
    this.fail = options.fail;
  }

  run(): Unpickled {
    for (;;) {
      const at = this.pos;
      const op = this.u8();
      if (op === 0x2e) {
        // STOP
        if (this.marks.length > 0 || this.stack.length !== 1) this.fail(`pickle stops at byte ${at} with ${this.stack.length} values on its stack`);
        return { value: this.stack[0], end: this.pos };
      }
      this.step(op, at);
    }
  }

  private step(op: number, at: number): void {
    switch (op) {
      case 0x80: {
        const p = this.u8();
        if (p > 5) this.fail(`pickle protocol ${p} is newer than 5`);
        return;
      } // PROTO
      case 0x95:
        this.take(8);
        return; // FRAME: a length hint; the opcodes follow in line
      case 0x28: // MARK
        if (this.marks.length >= MAX_NESTING) this.fail(`pickle nests deeper than ${MAX_NESTING} levels (at byte ${at})`);
        this.marks.push(this.stack.length);
        return;
      case 0x30:
        this.pop();
        return; // POP
      case 0x31:
        this.popMark();
        return; // POP_MARK
      case 0x32:
        this.push(this.top());
        return; // DUP
      case 0x4e:
        this.push(null);
        return; // NONE
      case 0x88:
        this.push(true);
        return; // NEWTRUE
      case 0x89:
        this.push(false);
        return; // NEWFALSE
      case 0x4a:
        this.push(this.view.getInt32(this.take(4), true));
        return; // BININT
      case 0x4b:
        this.push(this.u8());
        return; // BININT1
      case 0x4d:
        this.push(this.view.getUint16(this.take(2), true));
        return; // BININT2
      case 0x8a:
        this.push(this.long(this.u8()));
        return; // LONG1
      case 0x8b:
        this.push(this.long(this.length(4)));
        return; // LONG4
      case 0x47:
        this.push(this.view.getFloat64(this.take(8), false));
        return; // BINFLOAT (big-endian)
      case 0x58:
        this.push(this.text(this.length(4)));
        return; // BINUNICODE
      case 0x8c:
        this.push(this.text(this.u8()));
        return; // SHORT_BINUNICODE
      case 0x8d:
        this.push(this.text(this.length(8)));
        return; // BINUNICODE8
      case 0x54:
        this.push(this.text(this.length(4)));
        return; // BINSTRING (Python 2 str, read as UTF-8 as torch.load does)
      case 0x55:
        this.push(this.text(this.u8()));
        return; // SHORT_BINSTRING
      case 0x42:
        this.push(this.blob(this.length(4)));
        return; // BINBYTES
      case 0x43:
        this.push(this.blob(this.u8()));
        return; // SHORT_BINBYTES
      case 0x8e:
      case 0x96:
        this.push(this.blob(this.length(8)));
        return; // BINBYTES8, BYTEARRAY8
      case 0x5d:
        this.push([]);
        return; // EMPTY_LIST
      case 0x7d:
        this.push(new Map());
        return; // EMPTY_DICT
      case 0x29:
        this.push([]);
        return; // EMPTY_TUPLE
      case 0x8f:
        this.push(new Set());
        return; // EMPTY_SET
      case 0x6c:
      case 0x74:
        this.push(this.popMark());
        return; // LIST, TUPLE
      case 0x85:
      case 0x86:
      case 0x87:
        this.push(this.popN(op - 0x84));
        return; // TUPLE1..3
      case 0x64: {
        const d = new Map();
        this.setItems(d, this.popMark());
        this.push(d);
        return;
      } // DICT
      case 0x91:
        this.push(new Set(this.popMark()));
        return; // FROZENSET
      default:
        this.containerStep(op, at);
    }
  }

  private containerStep(op: number, at: number): void {
    switch (op) {
      case 0x61: {
        const v = this.pop();
        this.list(at).push(v);
        return;
      } // APPEND
      case 0x65: {
        const items = this.popMark();
        const list = this.list(at);
        for (const v of items) list.push(v);
        return;
      } // APPENDS
      case 0x73: {
        const v = this.pop();
        const k = this.pop();
        this.dict(at).set(k, v);
        return;
      } // SETITEM
      case 0x75: {
        const items = this.popMark();
        this.setItems(this.dict(at), items);
        return;
      } // SETITEMS
      case 0x90: {
        // ADDITEMS
        const items = this.popMark();
        const set = this.top();
        if (!(set instanceof Set)) this.fail(`pickle ADDITEMS at byte ${at} targets a ${kind(set)}, not a set`);
        for (const v of items) (set as Set<unknown>).add(v);
        return;
      }
      case 0x71:
        this.put(this.u8());
        return; // BINPUT
      case 0x72:
        this.put(this.view.getUint32(this.take(4), true));
        return; // LONG_BINPUT
      case 0x94:
        this.put(this.memo.size);
        return; // MEMOIZE
      case 0x68:
        this.get(this.u8(), at);
        return; // BINGET
      case 0x6a:
        this.get(this.view.getUint32(this.take(4), true), at);
        return; // LONG_BINGET
      default:
        this.objectStep(op, at);
    }
  }

  private objectStep(op: number, at: number): void {
    switch (op) {
      case 0x63: {
        const module = this.line();
        this.push(resolveGlobal(module, this.line(), this.fail));
        return;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') this.fail(`pickle STACK_GLOBAL at byte ${at} names a global with non-strings`);
        this.push(resolveGlobal(module as string, name as string, this.fail));
        return;
      }
      case 0x52: {
        const args = this.pop();
        this.push(call(this.pop(), args, this.fail));
        return;
      } // REDUCE
      case 0x81: {
        const args = this.pop();
        this.push(construct(this.pop(), args, this.fail));
        return;
      } // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = this.pop();
        const args = this.pop();
        if (!(kwargs instanceof Map) || kwargs.size > 0) this.fail(`pickle NEWOBJ_EX at byte ${at} passes keyword arguments`);
        this.push(construct(this.pop(), args, this.fail));
        return;
      }
      case 0x62: {
        // BUILD: object state (an OrderedDict's _metadata, a parameter's attributes) is not needed
        this.pop();
        const target = this.top();
        if (!(target instanceof Map) && !(target instanceof TensorView)) this.fail(`pickle BUILD at byte ${at} sets the state of a ${kind(target)}`);
        return;
      }
      case 0x51: {
        // BINPERSID
        const pid = this.pop();
        if (!this.options.persistentLoad) this.fail(`pickle refers to external data (persistent id) at byte ${at}, which this file may not`);
        this.push(this.options.persistentLoad!(pid));
        return;
      }
      default: {
        const name = OPCODE_NAMES[op];
        this.fail(`pickle opcode ${name ?? `0x${op.toString(16).padStart(2, '0')}`} at byte ${at} is not supported${name ? '' : ' (not a pickle?)'}`);
      }
    }
  }

  private take(n: number): number {
    const at = this.pos;
    if (n > this.bytes.length - at) this.fail(`pickle ends unexpectedly: ${n} bytes needed at byte ${at}, ${this.bytes.length - at} left`);
    this.pos = at + n;
    return at;
  }

  private u8(): number {
    return this.bytes[this.take(1)];
  }

  /** A length field of `size` bytes; the bytes it counts must be in the file. */
  private length(size: 4 | 8): number {
    const at = this.take(size);
    const n = size === 4 ? this.view.getInt32(at, true) : Number(this.view.getBigUint64(at, true));
    if (n < 0 || n > this.bytes.length - this.pos) this.fail(`pickle length ${n} at byte ${at} runs past the end of the data`);
    return n;
  }

  private text(n: number): string {
    const at = this.take(n);
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + at, n).toString('utf8');
  }

  /** A copy (a plain Uint8Array even when the input is a Buffer, whose slice() would share memory). */
  private blob(n: number): Uint8Array {
    const at = this.take(n);
    return new Uint8Array(this.bytes.subarray(at, at + n));
  }

  /** A little-endian two's complement integer of n bytes. */
  private long(n: number): number | bigint {
    const at = this.take(n);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[at + i]);
    if (this.bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** A GLOBAL operand: text up to a newline. */
  private line(): string {
    const start = this.pos;
    const length = this.bytes.subarray(start, start + MAX_GLOBAL_NAME + 1).indexOf(0x0a);
    if (length < 0) this.fail(`pickle GLOBAL at byte ${start - 1} has no name line`);
    const end = start + length;
    this.pos = end + 1;
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset + start, end - start).toString('latin1');
  }

  private push(v: unknown): void {
    if (this.stack.length >= MAX_STACK) this.fail(`pickle stack grows past ${MAX_STACK} values`);
    this.stack.push(v);
  }

  private floor(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
  }

  private pop(): unknown {
    if (this.stack.length <= this.floor()) this.fail(`pickle pops an empty stack at byte ${this.pos - 1}`);
    return this.stack.pop();
  }

  private top(): unknown {
    if (this.stack.length <= this.floor()) this.fail(`pickle reads an empty stack at byte ${this.pos - 1}`);
    return this.stack[this.stack.length - 1];
  }

  private popN(n: number): unknown[] {
    if (this.stack.length - this.floor() < n) this.fail(`pickle needs ${n} values on its stack at byte ${this.pos - 1}`);
    return this.stack.splice(this.stack.length - n, n);
  }

  private popMark(): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail(`pickle closes a MARK it never opened at byte ${this.pos - 1}`);
    return this.stack.splice(mark!);
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= MAX_MEMO) this.fail(`pickle memo grows past ${MAX_MEMO} entries`);
    this.memo.set(index, this.top());
  }

  private get(index: number, at: number): void {
    if (!this.memo.has(index)) this.fail(`pickle reads memo entry ${index} before writing it (byte ${at})`);
    this.push(this.memo.get(index));
  }

  private list(at: number): unknown[] {
    const list = this.top();
    if (!Array.isArray(list)) this.fail(`pickle appends at byte ${at} to a ${kind(list)}, not a list`);
    return list as unknown[];
  }

  private dict(at: number): Map<unknown, unknown> {
    const dict = this.top();
    if (!(dict instanceof Map)) this.fail(`pickle sets an item at byte ${at} in a ${kind(dict)}, not a dict`);
    return dict as Map<unknown, unknown>;
  }

  private setItems(dict: Map<unknown, unknown>, items: unknown[]): void {
    if (items.length % 2) this.fail(`pickle sets dict items from an odd number (${items.length}) of values`);
    for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  }
}

const GLOBALS = new Map<string, PickleGlobal>();

function resolveGlobal(module: string, name: string, fail: Fail): PickleGlobal {
  const qualified = `${module}.${name}`;
  if (!ALLOWED_GLOBALS.has(qualified)) {
    fail(`refusing to load global ${JSON.stringify(qualified)}: only tensors, storages and plain containers are allowed`);
  }
  let g = GLOBALS.get(qualified);
  if (!g) GLOBALS.set(qualified, (g = new PickleGlobal(qualified)));
  return g;
}

/** REDUCE: the allowed callables, interpreted. */
function call(fn: unknown, args: unknown, fail: Fail): unknown {
  if (!(fn instanceof PickleGlobal)) return fail(`pickle calls a ${kind(fn)}, which is not callable`);
  if (!Array.isArray(args)) return fail(`pickle calls ${fn.qualifiedName} with a ${kind(args)} instead of an argument tuple`);
  const name = fn.qualifiedName;
  switch (name) {
    case 'collections.OrderedDict':
      return dictFrom(args, fail);
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2':
      return tensorView(args, name, fail);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!(args[0] instanceof TensorView)) fail(`${name} is given a ${kind(args[0])}, not a tensor`);
      return args[0];
    case 'torch._tensor._rebuild_from_type_v2': {
      const [inner, type, innerArgs] = args;
      const typeName = type instanceof PickleGlobal ? type.qualifiedName : '';
      if (typeName !== 'torch.Tensor' && typeName !== 'torch.nn.parameter.Parameter') fail(`${name} rebuilds a ${kind(type)}, not a tensor`);
      // Only one level: a rebuild that rebuilds a rebuild would let nesting drive recursion.
      if (inner instanceof PickleGlobal && inner.qualifiedName === name) fail(`${name} calls itself`);
      return call(inner, innerArgs, fail);
    }
    case 'torch.Size':
      return intList(args[0], name, fail);
    case 'builtins.set':
    case 'builtins.frozenset':
    case '__builtin__.set':
    case '__builtin__.frozenset':
      if (args.length > 0 && !Array.isArray(args[0]) && !(args[0] instanceof Set)) fail(`${name} is given a ${kind(args[0])}`);
      return new Set(args.length > 0 ? (args[0] as Iterable<unknown>) : []);
    default:
      return fail(`pickle calls ${name}, which may only appear as data`);
  }
}

/** NEWOBJ: cls.__new__(cls, *args), for the one class torch files create that way. */
function construct(cls: unknown, args: unknown, fail: Fail): unknown {
  if (cls instanceof PickleGlobal && cls.qualifiedName === 'collections.OrderedDict') return new Map();
  return fail(`pickle creates an object of ${cls instanceof PickleGlobal ? cls.qualifiedName : `a ${kind(cls)}`}, which is not allowed`);
}

function dictFrom(args: unknown[], fail: Fail): Map<unknown, unknown> {
  const init = args[0];
  if (init === undefined) return new Map();
  if (init instanceof Map) return new Map(init);
  if (!Array.isArray(init)) return fail(`collections.OrderedDict is given a ${kind(init)}`);
  const out = new Map<unknown, unknown>();
  for (const pair of init) {
    if (!Array.isArray(pair) || pair.length !== 2) fail('collections.OrderedDict is given an item that is not a (key, value) pair');
    out.set(pair[0], pair[1]);
  }
  return out;
}

/** _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) or _rebuild_tensor(storage, offset, size, stride). */
function tensorView(args: unknown[], name: string, fail: Fail): TensorView {
  if (args.length < 4) fail(`${name} is given ${args.length} arguments, expected at least 4`);
  const [storage, offset] = args;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) fail(`${name} is given the storage offset ${String(offset)}`);
  const shape = intList(args[2], `${name} size`, fail);
  const stride = intList(args[3], `${name} stride`, fail);
  if (shape.length !== stride.length) fail(`${name} is given ${shape.length} sizes and ${stride.length} strides`);
  return new TensorView(storage, offset as number, shape, stride);
}

function intList(v: unknown, what: string, fail: Fail): number[] {
  if (!Array.isArray(v) || v.length > 64 || !v.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    return fail(`${what} ${Array.isArray(v) ? `[${v.slice(0, 8).map(String).join(', ')}]` : `(${kind(v)})`} is not a list of non-negative integers`);
  }
  return [...(v as number[])];
}

/** A short description of a value's type, for messages. */
export function kind(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PickleGlobal) return v.qualifiedName;
  if (v instanceof TensorView) return 'tensor';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}
