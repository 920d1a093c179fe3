/**
 * PickleWriter: emits pickle protocol 2 opcodes the way Python's pickler does, memo
 * included, so a writer that replays Python's order of operations produces the same
 * bytes as Python. Python memoizes every string, tuple, global and reduced object it
 * writes (BINPUT after it) and writes a memoized object again as BINGET; the
 * `memoKey` arguments stand for Python's object identity.
 */
export const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  REDUCE: 0x52,
  BINPERSID: 0x51,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  NEWFALSE: 0x89,
  NEWTRUE: 0x88,
  NONE: 0x4e,
} as const;

const TUPLE_N = [OP.EMPTY_TUPLE, 0x85, 0x86, 0x87];

export class PickleWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private readonly memo = new Map<unknown, number>();
  private memoSize = 0;

  /** PROTO 2. */
  proto(): this {
    return this.byte(0x80, 2);
  }

  byte(...bytes: number[]): this {
    for (const b of bytes) this.pending.push(b);
    return this;
  }

  /** BINGET of the object memoized under `memoKey`; false when there is none. */
  recall(memoKey: unknown): boolean {
    const index = this.memo.get(memoKey);
    if (index === undefined) return false;
    if (index < 256) this.byte(0x68, index);
    else this.byte(0x6a).u32(index);
    return true;
  }

  /** BINPUT of the value on top of the stack, remembered under `memoKey` (a fresh object when omitted). */
  memoize(memoKey: unknown = {}): this {
    const index = this.memoSize++;
    this.memo.set(memoKey, index);
    return index < 256 ? this.byte(0x71, index) : this.byte(0x72).u32(index);
  }

  /** GLOBAL "module name", memoized. */
  global(module: string, name: string): this {
    const key = `global:${module}.${name}`;
    if (this.recall(key)) return this;
    return this.byte(0x63)
      .raw(Buffer.from(`${module}\n${name}\n`, 'latin1'))
      .memoize(key);
  }

  /** BINUNICODE, memoized under `memoKey` (a string written once when omitted). */
  str(s: string, memoKey?: string): this {
    if (memoKey !== undefined && this.recall(memoKey)) return this;
    const utf8 = Buffer.from(s, 'utf8');
    return this.byte(0x58).u32(utf8.length).raw(utf8).memoize(memoKey);
  }

  /** The smallest of BININT1, BININT2, BININT, LONG1 that holds `n`, as Python picks. */
  int(n: number): this {
    if (!Number.isSafeInteger(n)) throw new RangeError(`PickleWriter: ${n} is not a safe integer`);
    if (n >= 0 && n <= 0xff) return this.byte(0x4b, n);
    if (n >= 0 && n <= 0xffff) return this.byte(0x4d, n & 0xff, n >> 8);
    if (n >= -0x80000000 && n <= 0x7fffffff) return this.byte(0x4a).u32(n >>> 0);
    const bytes = longBytes(BigInt(n));
    return this.byte(0x8a, bytes.length, ...bytes);
  }

  /** A tuple of ints: EMPTY_TUPLE, TUPLE1-3 or MARK ... TUPLE, memoized unless empty (as Python does). */
  intTuple(values: readonly number[]): this {
    return this.tuple(values.length, () => {
      for (const v of values) this.int(v);
    });
  }

  /** A tuple whose `n` elements `writeItems` writes. */
  tuple(n: number, writeItems: () => void): this {
    if (n === 0) return this.byte(OP.EMPTY_TUPLE);
    if (n > 3) this.byte(OP.MARK);
    writeItems();
    return this.byte(n > 3 ? OP.TUPLE : TUPLE_N[n]).memoize();
  }

  /** STOP, and the bytes written. */
  finish(): Uint8Array {
    this.byte(OP.STOP).flush();
    return Buffer.concat(this.chunks);
  }

  private u32(n: number): this {
    return this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  private raw(bytes: Uint8Array): this {
    this.flush();
    this.chunks.push(bytes);
    return this;
  }

  private flush(): void {
    if (this.pending.length) this.chunks.push(Uint8Array.from(this.pending));
    this.pending = [];
  }
}

/** Two's complement little-endian bytes of `x`, as few as hold it (Python's encode_long). */
function longBytes(x: bigint): number[] {
  const out: number[] = [];
  let v = x;
  for (;;) {
    const b = Number(v & 0xffn);
    out.push(b);
    v >>= 8n;
    if ((v === 0n && !(b & 0x80)) || (v === -1n && b & 0x80)) return out;
  }
}
