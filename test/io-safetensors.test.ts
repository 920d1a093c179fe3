/**
 * safetensors: round trips, files written by hand byte by byte (so the layout is
 * the format's, not merely self-consistent), dtype conversions, corrupt headers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { decodeSafetensors, encodeSafetensors, halfToFloat, loadSafetensors, saveSafetensors, SafetensorsError } from '../src/io/index.js';
import { Tensor } from '../src/tensor/tensor.js';

const dir = mkdtempSync(join(tmpdir(), 'tsv-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A file from a header object and raw data bytes, the header padded with spaces to 8 bytes. */
function handMade(header: string, data: number[], pad = true): Uint8Array {
  let h = header;
  if (pad) while (h.length % 8) h += ' ';
  const out = new Uint8Array(8 + h.length + data.length);
  // u64 little-endian length, byte by byte
  let n = h.length;
  for (let i = 0; i < 8; i++) {
    out[i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  for (let i = 0; i < h.length; i++) out[8 + i] = h.charCodeAt(i);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  test('round trip of float32, int32, uint8, 0-d and empty tensors with metadata', () => {
    const tensors = new Map<string, Tensor>([
      ['conv.weight', new Tensor(Float32Array.from([1.5, -2, 3.25, NaN, Infinity, -0]), [2, 3])],
      ['bn.num_batches_tracked', new Tensor(Int32Array.from([7]), [])],
      ['mask', new Tensor(Uint8Array.from([0, 255, 3]), [3])],
      ['empty', new Tensor(new Float32Array(0), [0, 4])],
    ]);
    const path = join(dir, 'rt.safetensors');
    saveSafetensors(path, tensors, { format: 'pt', note: 'héllo' });
    const { tensors: back, metadata } = loadSafetensors(path);
    assert.deepEqual(metadata, { format: 'pt', note: 'héllo' });
    assert.deepEqual([...back.keys()], [...tensors.keys()]);
    for (const [k, t] of tensors) {
      const b = back.get(k)!;
      assert.equal(b.dtype, t.dtype, k);
      assert.deepEqual(b.shape, t.shape, k);
      assert.deepEqual(Array.from(b.data), Array.from(t.data), k);
    }
    assert.ok(Object.is(back.get('conv.weight')!.data[5], -0));
    // no temporary file left behind
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('tmp')),
      [],
    );
  });

  test('writes exactly the bytes of the format', () => {
    const bytes = encodeSafetensors(
      new Map([
        ['a', new Tensor(Float32Array.from([1, 2]), [2])],
        ['b', new Tensor(Uint8Array.from([9]), [1, 1])],
      ]),
    );
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[1,1],"data_offsets":[8,9]}}';
    const expected = handMade(header, [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 9]);
    assert.deepEqual(Array.from(bytes), Array.from(expected));
    assert.equal((bytes.length - 9 - 8) % 8, 0, 'the data starts on an 8-byte boundary');
  });

  test('reads a file written by hand: F32, I32, U8, I64, F64, F16, BF16, BOOL, metadata, unpadded header', () => {
    const header = JSON.stringify({
      __metadata__: { who: 'hand' },
      f32: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      i32: { dtype: 'I32', shape: [1], data_offsets: [4, 8] },
      i64: { dtype: 'I64', shape: [2], data_offsets: [8, 24] },
      f64: { dtype: 'F64', shape: [1], data_offsets: [24, 32] },
      f16: { dtype: 'F16', shape: [3], data_offsets: [32, 38] },
      bf16: { dtype: 'BF16', shape: [1], data_offsets: [38, 40] },
      u8: { dtype: 'U8', shape: [1], data_offsets: [40, 41] },
      bool: { dtype: 'BOOL', shape: [1], data_offsets: [41, 42] },
    });
    const data = [
      0x00,
      0x00,
      0x20,
      0xc0, // F32 -2.5
      0xff,
      0xff,
      0xff,
      0xff, // I32 -1
      0x05,
      0,
      0,
      0,
      0,
      0,
      0,
      0, // I64 5
      0xfe,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // I64 -2
      0,
      0,
      0,
      0,
      0,
      0,
      0xf8,
      0x3f, // F64 1.5
      0x00,
      0x3c,
      0x00,
      0xc0,
      0x01,
      0x00, // F16 1, -2, 2^-24
      0x40,
      0x40, // BF16 3
      200,
      1,
    ];
    const { tensors, metadata } = decodeSafetensors(handMade(header, data, false), 'hand.safetensors');
    assert.deepEqual(metadata, { who: 'hand' });
    const v = (k: string) => Array.from(tensors.get(k)!.data);
    assert.deepEqual(v('f32'), [-2.5]);
    assert.deepEqual(v('i32'), [-1]);
    assert.deepEqual(v('i64'), [5, -2]);
    assert.equal(tensors.get('i64')!.dtype, 'int32');
    assert.deepEqual(v('f64'), [1.5]);
    assert.deepEqual(v('f16'), [1, -2, 2 ** -24]);
    assert.deepEqual(v('bf16'), [3]);
    assert.deepEqual(v('u8'), [200]);
    assert.deepEqual(v('bool'), [1]);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.equal(halfToFloat(0x7bff), 65504);
  });

  test('I64 outside int32 and F64 outside float32 are errors', () => {
    const i64 = handMade('{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', [0, 0, 0, 0x80, 0, 0, 0, 0]);
    assert.throws(() => decodeSafetensors(i64, 'big.safetensors'), /big\.safetensors.*"x".*2147483648 at index 0 does not fit in int32/);
    const f64 = handMade('{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}', [0, 0, 0, 0, 0, 0, 0xf0, 0x47]);
    assert.throws(() => decodeSafetensors(f64, 'f.safetensors'), /overflows float32/);
  });

  test('corrupt headers give errors that name the file', () => {
    const bad = (name: string, bytes: Uint8Array, re: RegExp) => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      assert.throws(
        () => loadSafetensors(path),
        (e: unknown) => {
          assert.ok(e instanceof SafetensorsError);
          assert.match(e.message, new RegExp(name.replace('.', '\\.')));
          assert.match(e.message, re);
          return true;
        },
      );
    };
    const t = (h: string, d: number[]) => handMade(h, d);
    bad('short.st', new Uint8Array(5), /too short/);
    const huge = new Uint8Array(16);
    huge[7] = 1;
    bad('huge.st', huge, /exceeds the limit/);
    const past = handMade('{}', []);
    past[0] = 200;
    bad('past.st', past, /runs past the end of the file/);
    bad('json.st', t('{"a":', []), /not valid JSON/);
    bad('notobj.st', t('[1,2]', []), /does not start with "\{"/);
    bad('dtype.st', t('{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0)), /unsupported dtype "C64"/);
    bad('shape.st', t('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /shape/);
    bad('size.st', t('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /needs 8 bytes/);
    bad('range.st', t('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', [0, 0, 0, 0]), /run past the end of the data/);
    bad(
      'overlap.st',
      t('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}', new Array(8).fill(0)),
      /overlap/,
    );
    bad('hole.st', t('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Array(8).fill(0)), /belong to no tensor/);
    bad('tail.st', t('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Array(8).fill(0)), /data is 8 bytes but the tensors cover 4/);
    bad('meta.st', t('{"__metadata__":{"a":1}}', []), /__metadata__\.a is not a string/);
    bad('backwards.st', t('{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}', [0, 0, 0, 0]), /run backwards/);
    assert.throws(() => loadSafetensors(join(dir, 'missing.st')), /cannot read .*missing\.st/);
  });

  test('a failed save leaves the previous file intact', () => {
    const path = join(dir, 'keep.safetensors');
    saveSafetensors(path, { a: new Tensor(Float32Array.from([1]), [1]) });
    const before = readFileSync(path);
    assert.throws(() => saveSafetensors(path, { a: 5 as unknown as Tensor }), /not a Tensor/);
    assert.deepEqual(readFileSync(path), before);
  });
});
