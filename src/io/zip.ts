/**
 * zip: the subset of the zip format PyTorch checkpoints use.
 *
 *   [local header][name][extra][data][data descriptor]  ... one per record
 *   [central directory: one entry per record][zip64 end record][zip64 locator][end record]
 *
 * Reading trusts the central directory (local headers written with a data descriptor
 * carry zero sizes), takes stored and deflated records, zip64 end records and zip64
 * extra fields, and checks each record's CRC-32 when it is read. Every offset and size
 * is checked against the file before it is used, so a truncated or crafted file fails
 * with a message instead of reading out of bounds or allocating what it claims.
 *
 * Writing lays records out as PyTorch's writer does: stored, flags 0x0808 (data
 * descriptor, UTF-8 names), zero times, the data of each record aligned to 64 bytes
 * by an extra field "FB" filled with 'Z', a data descriptor after the data (none, and
 * flags 0x0800, for an empty record), and a zip64 end record and locator before the
 * end record.
 */
import { crc32, inflateRawSync } from 'node:zlib';

/** Reports a problem with the file and does not return (the caller names the file). */
export type Fail = (msg: string) => never;

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Offset of the local header. */
  headerOffset: number;
}

export interface ZipArchive {
  /** Entries by name, in central directory order. */
  entries: Map<string, ZipEntry>;
  /** The uncompressed bytes of an entry (a view into the file for stored entries), CRC checked. */
  read(entry: ZipEntry): Uint8Array;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;
const END_SIZE = 22;
/** Deflate cannot expand data by more than about 1032:1; a larger claimed size is a lie. */
const MAX_DEFLATE_RATIO = 1032;
const ALIGNMENT = 64;

/** True when the bytes start like a zip file. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Reads the central directory of a zip file held in memory. */
export function readZip(bytes: Uint8Array, fail: Fail): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { count, dirOffset, dirSize } = findEnd(bytes, view, fail);
  if (dirOffset + dirSize > bytes.length) {
    fail(`zip central directory (${dirSize} bytes at ${dirOffset}) runs past the end of the file (${bytes.length} bytes): truncated`);
  }
  const entries = new Map<string, ZipEntry>();
  let at = dirOffset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > dirOffset + dirSize || view.getUint32(at, true) !== SIG_CENTRAL) fail(`zip central directory entry ${i} is missing or damaged`);
    const entry = centralEntry(bytes, view, at, fail);
    if (entries.has(entry.name)) fail(`zip holds "${entry.name}" twice`);
    entries.set(entry.name, entry);
    at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return { entries, read: (entry) => readEntry(bytes, view, entry, fail) };
}

/** The end of central directory record (and its zip64 twin when present). */
function findEnd(bytes: Uint8Array, view: DataView, fail: Fail): { count: number; dirOffset: number; dirSize: number } {
  const lowest = Math.max(0, bytes.length - END_SIZE - 0xffff);
  let end = -1;
  for (let i = bytes.length - END_SIZE; i >= lowest; i--) {
    if (view.getUint32(i, true) === SIG_END) {
      end = i;
      break;
    }
  }
  if (end < 0) fail('no zip end-of-central-directory record: the file is truncated or not a zip');
  let count = view.getUint16(end + 10, true);
  let dirSize = view.getUint32(end + 12, true);
  let dirOffset = view.getUint32(end + 16, true);
  const locator = end - 20;
  if (locator >= 0 && view.getUint32(locator, true) === SIG_LOCATOR64) {
    const at = u64(view, locator + 8, 'zip64 end record offset', fail);
    if (at + 56 > bytes.length || view.getUint32(at, true) !== SIG_END64) fail('zip64 end-of-central-directory record is missing or damaged');
    count = u64(view, at + 32, 'zip64 entry count', fail);
    dirSize = u64(view, at + 40, 'zip64 central directory size', fail);
    dirOffset = u64(view, at + 48, 'zip64 central directory offset', fail);
  }
  return { count, dirOffset, dirSize };
}

function centralEntry(bytes: Uint8Array, view: DataView, at: number, fail: Fail): ZipEntry {
  const flags = view.getUint16(at + 8, true);
  const nameLength = view.getUint16(at + 28, true);
  const extraLength = view.getUint16(at + 30, true);
  if (at + 46 + nameLength + extraLength > bytes.length) fail('zip central directory runs past the end of the file: truncated');
  const name = Buffer.from(bytes.buffer, bytes.byteOffset + at + 46, nameLength).toString(flags & 0x800 ? 'utf8' : 'latin1');
  if (flags & 1) fail(`zip entry "${name}" is encrypted`);
  const entry: ZipEntry = {
    name,
    method: view.getUint16(at + 10, true),
    crc: view.getUint32(at + 16, true),
    compressedSize: view.getUint32(at + 20, true),
    size: view.getUint32(at + 24, true),
    headerOffset: view.getUint32(at + 42, true),
  };
  applyZip64Extra(view, at + 46 + nameLength, extraLength, entry, fail);
  return entry;
}

/** Replaces 0xffffffff sizes and offset by the 64-bit values of the zip64 extra field (id 1), in its order. */
function applyZip64Extra(view: DataView, start: number, length: number, entry: ZipEntry, fail: Fail): void {
  const fields = (['size', 'compressedSize', 'headerOffset'] as const).filter((f) => entry[f] === 0xffffffff);
  if (fields.length === 0) return;
  for (let at = start; at + 4 <= start + length;) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (id === 1) {
      if (size < 8 * fields.length) break;
      fields.forEach((f, i) => {
        entry[f] = u64(view, at + 4 + 8 * i, `zip64 field of "${entry.name}"`, fail);
      });
      return;
    }
    at += 4 + size;
  }
  fail(`zip entry "${entry.name}" lacks the zip64 field its sizes call for`);
}

function readEntry(bytes: Uint8Array, view: DataView, entry: ZipEntry, fail: Fail): Uint8Array {
  const { name, headerOffset, compressedSize, size } = entry;
  if (headerOffset + 30 > bytes.length || view.getUint32(headerOffset, true) !== SIG_LOCAL) fail(`zip entry "${name}": local header missing or damaged`);
  const start = headerOffset + 30 + view.getUint16(headerOffset + 26, true) + view.getUint16(headerOffset + 28, true);
  if (start + compressedSize > bytes.length) {
    fail(`zip entry "${name}" (${compressedSize} bytes at ${start}) runs past the end of the file (${bytes.length} bytes): truncated`);
  }
  const raw = bytes.subarray(start, start + compressedSize);
  let data: Uint8Array;
  if (entry.method === 0) {
    if (size !== compressedSize) fail(`zip entry "${name}" is stored but claims ${size} bytes uncompressed and ${compressedSize} compressed`);
    data = raw;
  } else if (entry.method === 8) {
    if (size > compressedSize * MAX_DEFLATE_RATIO + 64) {
      fail(`zip entry "${name}" claims ${size} bytes from ${compressedSize} deflated bytes, more than deflate can produce`);
    }
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(size, 1) });
    } catch (e) {
      return fail(`zip entry "${name}" does not inflate: ${(e as Error).message.split('\n')[0]}`);
    }
    if (data.length !== size) fail(`zip entry "${name}" inflates to ${data.length} bytes, its header says ${size}`);
  } else {
    return fail(`zip entry "${name}" uses compression method ${entry.method} (only stored and deflated entries are supported)`);
  }
  if (crc32(data) !== entry.crc) fail(`zip entry "${name}" fails its CRC-32 check: the file is corrupt`);
  return data;
}

function u64(view: DataView, at: number, what: string, fail: Fail): number {
  if (at + 8 > view.byteLength) fail(`${what} lies past the end of the file: truncated`);
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is beyond any file size`);
  return Number(v);
}

/**
 * A zip of stored records laid out as PyTorch writes them (see the file header).
 * Sizes past 4 GiB would need zip64 fields, which this writer does not produce.
 */
export function encodeStoredZip(records: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of records) {
    const nameBytes = Buffer.from(name, 'utf8');
    const dataStart = offset + 30 + nameBytes.length + 4;
    const pad = (ALIGNMENT - (dataStart % ALIGNMENT)) % ALIGNMENT;
    const crc = crc32(data);
    const flags = data.length > 0 ? 0x0808 : 0x0800;
    if (offset + data.length > 0xfffffffe) throw new RangeError(`encodeStoredZip: "${name}" would end past 4 GiB, which needs zip64 records`);
    const local = header(30 + nameBytes.length + 4 + pad, (v) => {
      v.setUint32(0, SIG_LOCAL, true);
      v.setUint16(6, flags, true);
      v.setUint16(26, nameBytes.length, true);
      v.setUint16(28, 4 + pad, true);
      v.setUint16(30 + nameBytes.length, 0x4246, true); // "FB"
      v.setUint16(32 + nameBytes.length, pad, true);
    });
    local.set(nameBytes, 30);
    local.fill(0x5a, 34 + nameBytes.length); // 'Z'
    const descriptor =
      data.length === 0
        ? new Uint8Array(0)
        : header(16, (v) => {
            v.setUint32(0, SIG_DESCRIPTOR, true);
            v.setUint32(4, crc, true);
            v.setUint32(8, data.length, true);
            v.setUint32(12, data.length, true);
          });
    const entry = header(46 + nameBytes.length, (v) => {
      v.setUint32(0, SIG_CENTRAL, true);
      v.setUint16(8, flags, true);
      v.setUint32(16, crc, true);
      v.setUint32(20, data.length, true);
      v.setUint32(24, data.length, true);
      v.setUint16(28, nameBytes.length, true);
      v.setUint32(42, offset, true);
    });
    entry.set(nameBytes, 46);
    parts.push(local, data, descriptor);
    central.push(entry);
    offset += local.length + data.length + descriptor.length;
  }
  const dirSize = central.reduce((n, c) => n + c.length, 0);
  parts.push(...central, endRecords(records.length, offset, dirSize));
  return Buffer.concat(parts);
}

/** The zip64 end record, its locator and the end record for a directory of `count` entries. */
function endRecords(count: number, dirOffset: number, dirSize: number): Uint8Array {
  return header(56 + 20 + END_SIZE, (v) => {
    v.setUint32(0, SIG_END64, true);
    v.setBigUint64(4, 44n, true);
    v.setUint16(12, 0x031e, true);
    v.setUint16(14, 0x002d, true);
    v.setBigUint64(24, BigInt(count), true);
    v.setBigUint64(32, BigInt(count), true);
    v.setBigUint64(40, BigInt(dirSize), true);
    v.setBigUint64(48, BigInt(dirOffset), true);
    v.setUint32(56, SIG_LOCATOR64, true);
    v.setBigUint64(64, BigInt(dirOffset + dirSize), true);
    v.setUint32(72, 1, true);
    v.setUint32(76, SIG_END, true);
    v.setUint16(84, Math.min(count, 0xffff), true);
    v.setUint16(86, Math.min(count, 0xffff), true);
    v.setUint32(88, dirSize, true);
    v.setUint32(92, dirOffset, true);
  });
}

function header(size: number, fill: (view: DataView) => void): Uint8Array {
  const out = new Uint8Array(size);
  fill(new DataView(out.buffer));
  return out;
}
