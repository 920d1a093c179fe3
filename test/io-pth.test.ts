/**
 * PyTorch files: the fixtures of tools/make_pth_fixtures.py (written by torch 1.13)
 * read with their expected values, savePth byte for byte against torch.save, round
 * trips, and refusals: code in a pickle, storages claiming terabytes, truncated and
 * corrupt zips, endless nesting (the last ones crafted here).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { decodePth, decodePthObject, encodePth, extractStateDict, loadPth, PthError, savePth } from '../src/io/index.js';
import { OP, PickleWriter } from '../src/io/pickle-writer.js';
import { encodeStoredZip } from '../src/io/zip.js';
import { Tensor } from '../src/tensor/tensor.js';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/pth/', import.meta.url));
const PWNED = '/tmp/tsvision-pth-pwned';
const dir = mkdtempSync(join(tmpdir(), 'tsv-pth-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Expected {
  dtype: string;
  shape: number[];
  data: (number | string)[];
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, { tensors: [string, Expected][] }>;
const fixture = (name: string) => join(FIXTURES, name);
const num = (x: number | string): number => (typeof x === 'number' ? x : Number(x));

/** Asserts `fn` throws a one-line PthError that names `source` and matches `re`. */
function refuses(fn: () => unknown, source: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PthError, `expected a PthError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${source}: `), e.message);
    assert.match(e.message, re);
    return true;
  });
}

/** A zip laid out as torch lays it out, holding `pickle` as data.pkl and the given storages. */
function pthOf(pickle: Uint8Array, storages: [string, Uint8Array][] = []): Uint8Array {
  return encodeStoredZip([['archive/data.pkl', pickle], ...storages.map(([k, b]) => [`archive/data/${k}`, b] as const)]);
}

/** A pickle of {name: _rebuild_tensor_v2(storage '0' of `numel` floats, 0, shape, stride, ...)}. */
function tensorPickle(name: string, numel: number, shape: number[], stride: number[]): Uint8Array {
  const w = new PickleWriter().proto();
  w.global('collections', 'OrderedDict').byte(OP.EMPTY_TUPLE, OP.REDUCE).memoize();
  w.str(name).global('torch._utils', '_rebuild_tensor_v2').byte(OP.MARK);
  w.tuple(5, () => w.str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(numel));
  w.byte(OP.BINPERSID).int(0).intTuple(shape).intTuple(stride).byte(OP.NEWFALSE);
  w.global('collections', 'OrderedDict').byte(OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE, OP.SETITEM);
  return w.finish();
}

describe('pth: files written by PyTorch', () => {
  for (const [name, { tensors }] of Object.entries(expected)) {
    test(`${name} holds the expected tensors`, () => {
      const file = loadPth(fixture(name));
      assert.equal(file.format, name === 'legacy.pth' ? 'legacy' : 'zip');
      assert.deepEqual(
        [...file.tensors.keys()],
        tensors.map(([k]) => k),
      );
      for (const [key, e] of tensors) {
        const t = file.tensors.get(key)!;
        assert.equal(t.dtype, e.dtype, key);
        assert.deepEqual(t.shape, e.shape, key);
        assert.deepEqual(Array.from(t.data), e.data.map(num), key);
      }
    });
  }

  test('views of one storage become independent contiguous tensors', () => {
    const { tensors } = loadPth(fixture('state_dict.pth'));
    const base = tensors.get('base')!;
    const transposed = tensors.get('transposed')!;
    assert.deepEqual(transposed.shape, [6, 4]);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 4; j++) assert.equal(transposed.data[i * 4 + j], base.data[j * 6 + i]);
    assert.deepEqual(Array.from(tensors.get('slice')!.data), [8, 9, 10, 14, 15, 16]);
    assert.deepEqual(Array.from(tensors.get('shared_b')!.data), [-4, -5, -6, -7, -8, -9]);
    assert.deepEqual(Array.from(tensors.get('expanded')!.data), [7, 7, 7, 7, 7, 7]);
    base.data[1] = 99;
    assert.equal(transposed.data[4], 1, 'a view is a copy, not an alias');
    assert.notEqual(tensors.get('shared_a')!.data.buffer, tensors.get('shared_b')!.data.buffer);
  });

  test('a tensor pickled twice is one tensor', () => {
    const { tensors } = loadPth(fixture('plain.pth'));
    assert.equal(tensors.get('tied'), tensors.get('w'));
    assert.deepEqual(Array.from(tensors.get('w_flat')!.data), Array.from(tensors.get('w')!.data));
  });

  test('a checkpoint keeps its other entries in the object; the state dict loses "module."', () => {
    const file = loadPth(fixture('checkpoint.pth'));
    const obj = file.object as Map<string, unknown>;
    assert.equal(obj.get('epoch'), 3);
    assert.equal(obj.get('best_acc1'), 0.75);
    assert.equal(obj.get('arch'), 'linear');
    const optimizer = obj.get('optimizer') as Map<string, unknown>;
    const state = optimizer.get('state') as Map<number, Map<string, unknown>>;
    assert.ok(state.get(0)!.get('momentum_buffer') instanceof Tensor);
    assert.deepEqual([...(obj.get('state_dict') as Map<string, unknown>).keys()], ['module.weight', 'module.bias']);
    assert.deepEqual([...file.tensors.keys()], ['weight', 'bias']);
  });

  test('protocol 5 pickles: frames, stack globals, sets, bytes, big ints', () => {
    const file = loadPth(fixture('protocol5.pth'));
    const meta = (file.object as Map<string, unknown>).get('meta') as Map<unknown, unknown>;
    assert.equal(meta.get('name'), 'héllo');
    assert.equal(meta.get('long_text'), 'x'.repeat(300));
    assert.equal(meta.get('big'), 2n ** 70n);
    assert.equal(meta.get('neg'), -3);
    assert.equal(meta.get('large'), -(2 ** 40));
    assert.equal(meta.get('pi'), 3.5);
    assert.deepEqual(meta.get('flags'), [true, false, null]);
    assert.deepEqual(meta.get('pair'), [1, 'a']);
    assert.deepEqual(meta.get('tags'), new Set(['x']));
    assert.deepEqual(meta.get('frozen'), new Set([2]));
    assert.deepEqual(meta.get('raw'), Uint8Array.from([0, 1]));
    assert.deepEqual(meta.get('buf'), Uint8Array.from([97, 98]));
    const nested = meta.get('nested') as Map<unknown, unknown>;
    assert.deepEqual(nested.get('k'), [1, [2, [3]]]);
    assert.equal(nested.get(7), 'int key');
  });

  test('decodePth takes bytes; the source names the file in errors', () => {
    const bytes = readFileSync(fixture('conv_bn.pth'));
    assert.equal(decodePth(bytes).tensors.get('1.num_batches_tracked')!.item(), 2);
    refuses(() => decodePth(bytes.subarray(0, 100), 'cut.pth'), 'cut.pth', /truncated/);
    refuses(() => loadPth(join(dir, 'missing.pth')), join(dir, 'missing.pth'), /cannot read/);
    refuses(() => decodePth(Buffer.from('hello world'), 'text.pth'), 'text.pth', /not a PyTorch file/);
  });
});

describe('pth: writing', () => {
  test('encodePth writes the bytes torch.save writes', () => {
    const w = new Tensor(Float32Array.from([1, -2, 3.5, 0, -0, 1e-8]), [2, 3]);
    const stateDict = new Map<string, Tensor>([
      ['w', w],
      ['w_flat', new Tensor(w.data, [6])],
      ['tied', w],
      ['count', new Tensor(Int32Array.from([7]), [])],
      ['mask', new Tensor(Uint8Array.from([0, 1, 255]), [3])],
      ['empty', new Tensor(new Float32Array(0), [0, 4])],
    ]);
    assert.deepEqual(Buffer.from(encodePth(stateDict)), readFileSync(fixture('plain.pth')));
  });

  test('savePth then loadPth gives the state dict back, in order, for 1500 entries', () => {
    const stateDict = new Map<string, Tensor>();
    for (let i = 0; i < 1500; i++) {
      const t =
        i % 3 === 0
          ? new Tensor(Float32Array.from([i, -i / 7]), [1, 2])
          : i % 3 === 1
            ? new Tensor(Int32Array.from([i, -i, 2 ** 31 - 1]), [3])
            : new Tensor(Uint8Array.from([i & 255]), []);
      stateDict.set(`layer${i}.weight`, t);
    }
    const path = join(dir, 'rt.pth');
    savePth(path, stateDict);
    const back = loadPth(path).tensors;
    assert.deepEqual([...back.keys()], [...stateDict.keys()]);
    for (const [k, t] of stateDict) {
      assert.equal(back.get(k)!.dtype, t.dtype, k);
      assert.deepEqual(back.get(k)!.shape, t.shape, k);
      assert.deepEqual(Array.from(back.get(k)!.data), Array.from(t.data), k);
    }
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('tmp')),
      [],
      'no temporary file left behind',
    );
  });

  test('a file read and written again reads the same', () => {
    const { tensors } = loadPth(fixture('state_dict.pth'));
    const again = decodePth(encodePth(tensors), 'again').tensors;
    for (const [k, t] of tensors) assert.deepEqual(Array.from(again.get(k)!.data), Array.from(t.data), k);
  });
});

describe('pth: extractStateDict', () => {
  const t = () => new Tensor(Float32Array.from([1]), [1]);
  test('finds the state dict, bare or under a known key, and ignores other entries', () => {
    const bare = new Map<unknown, unknown>([
      ['a', t()],
      ['_metadata', new Map()],
      ['epoch', 3],
    ]);
    assert.deepEqual([...extractStateDict(bare).keys()], ['a']);
    const nested = new Map<unknown, unknown>([
      ['epoch', 1],
      ['model', new Map([['state_dict', bare]])],
    ]);
    assert.deepEqual([...extractStateDict(nested).keys()], ['a']);
    const both = new Map<unknown, unknown>([
      ['state_dict_ema', new Map([['ema', t()]])],
      ['state_dict', new Map([['main', t()]])],
    ]);
    assert.deepEqual([...extractStateDict(both).keys()], ['main']);
    for (const key of ['model_state_dict', 'net']) assert.deepEqual([...extractStateDict(new Map([[key, bare]])).keys()], ['a']);
  });

  test('strips "module." only when every key has it', () => {
    const all = new Map([
      ['module.a', t()],
      ['module.b.c', t()],
    ]);
    assert.deepEqual([...extractStateDict(all).keys()], ['a', 'b.c']);
    const some = new Map([
      ['module.a', t()],
      ['b', t()],
    ]);
    assert.deepEqual([...extractStateDict(some).keys()], ['module.a', 'b']);
  });

  test('a file without a state dict is an error naming it; its object is still readable', () => {
    assert.throws(() => extractStateDict(new Map([['epoch', 3]]), 'ckpt.pth'), /^PthError: ckpt\.pth: no state dict found: .*"epoch"/);
    assert.throws(() => extractStateDict([t()], 'list.pth'), /holds a list/);
    const list = new PickleWriter().proto().byte(0x5d, OP.NONE, 0x61).finish(); // [None]
    refuses(() => decodePth(pthOf(list), 'list.pth'), 'list.pth', /no state dict found/);
    assert.deepEqual(decodePthObject(pthOf(list), 'list.pth').object, [null]);
  });
});

describe('pth: refusals', () => {
  test('code in a pickle is refused by name and never runs (files written by Python)', () => {
    rmSync(PWNED, { force: true });
    for (const name of ['malicious_zip.pth', 'malicious_legacy.pth']) {
      const path = fixture(name);
      assert.throws(
        () => loadPth(path),
        (e: unknown) => {
          assert.ok(e instanceof PthError);
          assert.equal(e.message, `${path}: refusing to load global "posix.system": only tensors, storages and plain containers are allowed`);
          return true;
        },
      );
    }
    assert.equal(existsSync(PWNED), false);
  });

  test('any global outside the allow-list is refused, however it is named', () => {
    for (const [module, name] of [
      ['builtins', 'eval'],
      ['os', 'system'],
      ['subprocess', 'Popen'],
      ['__builtin__', 'getattr'],
      ['torch', 'load'],
    ]) {
      const viaGlobal = new PickleWriter().proto().global(module, name).finish();
      refuses(() => decodePth(pthOf(viaGlobal), 'g.pth'), 'g.pth', new RegExp(`refusing to load global "${module}\\.${name}"`));
      const viaStack = new PickleWriter().proto().str(module).str(name).byte(0x93).finish(); // STACK_GLOBAL
      refuses(() => decodePth(pthOf(viaStack), 's.pth'), 's.pth', new RegExp(`refusing to load global "${module}\\.${name}"`));
    }
    const callStorage = new PickleWriter().proto().global('torch', 'FloatStorage').byte(OP.EMPTY_TUPLE, OP.REDUCE).finish();
    refuses(() => decodePth(pthOf(callStorage), 'c.pth'), 'c.pth', /calls torch\.FloatStorage, which may only appear as data/);
  });

  test('storages claiming terabytes are refused before anything is allocated', () => {
    const before = process.memoryUsage().arrayBuffers;
    refuses(() => loadPth(fixture('terabyte_zip.pth')), fixture('terabyte_zip.pth'), /storage "0" claims 1099511627776 elements .* record holds 16 bytes/);
    refuses(() => loadPth(fixture('terabyte_legacy.pth')), fixture('terabyte_legacy.pth'), /storage "0" claims 4398046511104 bytes but only 16 remain/);
    // a 1-element storage viewed as 10^6 x 10^6 elements (stride 0): refused by the memory limit
    const expand = pthOf(tensorPickle('x', 1, [1e6, 1e6], [0, 0]), [['0', new Uint8Array(4)]]);
    refuses(() => decodePth(expand, 'expand.pth'), 'expand.pth', /tensor "x": needs 4000000000000 bytes, beyond/);
    const outside = pthOf(tensorPickle('x', 4, [5], [1]), [['0', new Uint8Array(16)]]);
    refuses(() => decodePth(outside, 'outside.pth'), 'outside.pth', /tensor "x": .* reads element 4 of storage "0", which holds 4/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20);
  });

  test("maxTensorBytes bounds the memory of a file's tensors", () => {
    assert.equal(loadPth(fixture('conv_bn.pth'), { maxTensorBytes: 300 }).tensors.size, 7);
    refuses(() => loadPth(fixture('conv_bn.pth'), { maxTensorBytes: 100 }), fixture('conv_bn.pth'), /limit for tensors/);
  });

  test('int64 values outside int32 are an error naming the tensor', () => {
    const path = fixture('int64_overflow.pth');
    refuses(() => loadPth(path), path, /tensor "big": int64 value 1099511627776 at element 1 does not fit in int32/);
  });

  test('truncated and corrupt zips are refused', () => {
    const bytes = readFileSync(fixture('state_dict.pth'));
    for (const cut of [bytes.length - 1, bytes.length >> 1, 10]) {
      refuses(() => decodePth(bytes.subarray(0, cut), 'cut.pth'), 'cut.pth', /truncated/);
    }
    const corrupt = Buffer.from(bytes);
    corrupt[200] ^= 0xff; // inside data.pkl
    refuses(() => decodePth(corrupt, 'crc.pth'), 'crc.pth', /"archive\/data\.pkl" fails its CRC-32 check/);
    const legacy = readFileSync(fixture('legacy.pth'));
    refuses(() => decodePth(legacy.subarray(0, legacy.length - 3), 'legacy-cut.pth'), 'legacy-cut.pth', /remain in the file|truncated/);
  });

  test('a pickle that nests without end gets an error, not a stack overflow', () => {
    const n = 100_000;
    const lists = Uint8Array.from([0x80, 2, ...new Array(n).fill(0x5d), ...new Array(n - 1).fill(0x61), 0x2e]); // EMPTY_LIST..., APPEND...
    refuses(() => decodePth(pthOf(lists), 'lists.pth'), 'lists.pth', /nests deeper than 1000 levels/);
    const marks = Uint8Array.from([0x80, 2, ...new Array(n).fill(0x28), 0x2e]); // MARK...
    refuses(() => decodePth(pthOf(marks), 'marks.pth'), 'marks.pth', /nests deeper than 1000 levels/);
    // a list holding itself is a cycle, not endless nesting
    const cycle = new PickleWriter().proto().byte(0x5d).memoize('l').byte(0x68, 0, 0x61).finish(); // l = []; l.append(l)
    const object = decodePthObject(pthOf(cycle), 'cycle.pth').object as unknown[];
    assert.equal(object[0], object);
  });

  test('malformed pickles are refused with the place they go wrong', () => {
    const cases: [number[], RegExp][] = [
      [[0x80, 2, 0x5d], /pickle ends unexpectedly/],
      [[0x80, 2, 0x61, 0x2e], /pops an empty stack/],
      [[0x80, 2, 0x68, 9, 0x2e], /memo entry 9 before writing it/],
      [[0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x2e], /length 2147483647 .* runs past the end/],
      [[0x80, 2, 0x49, 0x31, 0x0a, 0x2e], /opcode INT at byte 2 is not supported/],
      [[0x80, 2, 0x4e, 0x4e, 0x2e], /stops at byte 4 with 2 values/],
    ];
    for (const [ops, re] of cases) refuses(() => decodePth(pthOf(Uint8Array.from(ops)), 'bad.pth'), 'bad.pth', re);
  });
});
