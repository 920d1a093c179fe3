/**
 * pth: read and write PyTorch weight files (.pth, .pt, .bin), as torch.save writes them.
 *
 * The zip format (PyTorch >= 1.6) is a zip archive with one top folder (any name):
 *
 *   <folder>/data.pkl      a pickle of the saved object; each tensor is a call of
 *                          torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
 *                          whose storage is a persistent id ('storage', torch.FloatStorage,
 *                          key, location, element count)
 *   <folder>/data/<key>    the raw little-endian bytes of each storage
 *   <folder>/version       "3\n"
 *
 * The legacy format (before 1.6) is pickles back to back: a magic number, the
 * protocol version 1001, a dict about the writing machine, the object (persistent
 * ids as above, with a sixth field for old storage views), the list of storage
 * keys; then, for each key in that order, an 8-byte little-endian element count and
 * the storage's bytes.
 *
 * Pickles are read by the restricted reader of pickle.ts, which runs no code and
 * refuses any global outside tensors, storages and plain containers. Every size a
 * file claims is checked against the bytes it holds before anything is allocated,
 * and the tensors of one file may not take more than `maxTensorBytes` in memory.
 * Tensors become contiguous tsvision tensors (dtype conversions in pth-tensors.ts).
 *
 * Writing produces the zip format exactly as torch.save(state_dict) lays it out,
 * pickle protocol 2, archive folder "archive", so torch.load(weights_only=True)
 * reads it.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { Tensor } from '../tensor/tensor.js';
import { kind, MAX_NESTING, PickleGlobal, STORAGE_TYPES, TensorView, unpickle, type StorageType } from './pickle.js';
import { OP, PickleWriter } from './pickle-writer.js';
import { STORAGE_KINDS, STORAGE_OF_DTYPE, StorageRef, TensorMaker } from './pth-tensors.js';
import { encodeStoredZip, isZip, readZip, type Fail } from './zip.js';

/** Thrown for a file that is not a readable PyTorch file; the message names the file. */
export class PthError extends Error {
  override name = 'PthError';
}

export interface LoadPthOptions {
  /** Bytes the file's tensors may take in memory, all together (default: 8 times the file size plus 64 MiB). */
  maxTensorBytes?: number;
}

/** The whole object a file holds, tensors in place, and which layout the file used. */
export interface PthObject {
  object: unknown;
  format: 'zip' | 'legacy';
}

export interface PthFile extends PthObject {
  /** The state dict found in the object (see extractStateDict). */
  tensors: Map<string, Tensor>;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
/** Keys under which checkpoints keep the model's state dict, in order of preference. */
const STATE_DICT_KEYS = ['state_dict', 'model', 'model_state_dict', 'state_dict_ema', 'net'];
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reads a PyTorch file and its state dict; errors name the file. */
export function loadPth(path: string, options: LoadPthOptions = {}): PthFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new PthError(`${path}: cannot read: ${(e as Error).message}`);
  }
  return decodePth(bytes, path, options);
}

/** Parses the bytes of a PyTorch file holding a state dict (or a checkpoint with one); `source` names it in errors. */
export function decodePth(bytes: Uint8Array, source = '<buffer>', options: LoadPthOptions = {}): PthFile {
  const file = decodePthObject(bytes, source, options);
  return { ...file, tensors: extractStateDict(file.object, source) };
}

/** Parses the bytes of a PyTorch file whatever object it holds. */
export function decodePthObject(bytes: Uint8Array, source = '<buffer>', options: LoadPthOptions = {}): PthObject {
  const fail: Fail = (msg) => {
    throw new PthError(`${source}: ${msg}`);
  };
  const budget = options.maxTensorBytes ?? 8 * bytes.length + 64 * 2 ** 20;
  const format = isZip(bytes) ? 'zip' : bytes.length > 0 && bytes[0] === 0x80 ? 'legacy' : null;
  if (format === null) return fail('not a PyTorch file: neither a zip archive nor a legacy pickle');
  const object = format === 'zip' ? readZipFormat(bytes, fail) : readLegacyFormat(bytes, fail);
  return { object: makeTensors(object, new TensorMaker(budget, fail), fail), format };
}

function readZipFormat(bytes: Uint8Array, fail: Fail): unknown {
  const archive = readZip(bytes, fail);
  const pickleName = [...archive.entries.keys()].find((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  if (pickleName === undefined) return fail('the zip holds no data.pkl: not a PyTorch checkpoint');
  const folder = pickleName.slice(0, -'data.pkl'.length);
  const byteorder = archive.entries.get(`${folder}byteorder`);
  if (byteorder && Buffer.from(archive.read(byteorder)).toString('latin1').trim() === 'big') fail('the file was written big-endian, which is not supported');
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    const { key, type, numel } = storageId(pid, fail);
    const known = storages.get(key);
    if (known) return known;
    const entry = archive.entries.get(`${folder}data/${key}`);
    if (!entry) return fail(`storage "${key}" has no record ${folder}data/${key}`);
    const needed = numel * STORAGE_KINDS[type].itemSize;
    if (needed > entry.size) fail(`storage "${key}" claims ${numel} elements of ${type} (${needed} bytes) but its record holds ${entry.size} bytes`);
    const ref = new StorageRef(key, type, numel);
    ref.bytes = archive.read(entry).subarray(0, needed);
    storages.set(key, ref);
    return ref;
  };
  return unpickle(archive.read(archive.entries.get(pickleName)!), { fail, persistentLoad }).value;
}

function readLegacyFormat(bytes: Uint8Array, fail: Fail): unknown {
  const next = (start: number, persistentLoad?: (pid: unknown) => unknown) => unpickle(bytes, { fail, start, persistentLoad });
  const magic = next(0);
  if (magic.value !== LEGACY_MAGIC) fail('not a PyTorch file: a pickle without the legacy magic number');
  const protocol = next(magic.end);
  if (protocol.value !== LEGACY_PROTOCOL) fail(`legacy protocol version ${String(protocol.value)} is not ${LEGACY_PROTOCOL}`);
  const sysInfo = next(protocol.end);
  if (sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false) fail('the file was written big-endian, which is not supported');
  const storages = new Map<string, StorageRef>();
  const main = next(sysInfo.end, (pid) => legacyStorage(pid, storages, fail));
  const keys = next(main.end);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) fail('the legacy list of storage keys is not a list of strings');
  let at = keys.end;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys.value as string[]) {
    const ref = storages.get(key);
    if (!ref || ref.base) return fail(`storage "${key}" is listed but never described`);
    if (at + 8 > bytes.length) fail(`the file ends before storage "${key}": truncated`);
    const count = view.getBigUint64(at, true);
    if (count !== BigInt(ref.numel)) fail(`storage "${key}" is described with ${ref.numel} elements but its data says ${count}`);
    const size = ref.numel * STORAGE_KINDS[ref.type].itemSize;
    if (size > bytes.length - at - 8) fail(`storage "${key}" claims ${size} bytes but only ${bytes.length - at - 8} remain in the file`);
    ref.bytes = bytes.subarray(at + 8, at + 8 + size);
    at += 8 + size;
  }
  return main.value;
}

/** A legacy persistent id: the storage id, with (view key, offset, size) for a view into it in old files. */
function legacyStorage(pid: unknown, storages: Map<string, StorageRef>, fail: Fail): StorageRef {
  const { key, type, numel } = storageId(pid, fail);
  const root = storages.get(key) ?? new StorageRef(key, type, numel);
  storages.set(key, root);
  const viewMeta = (pid as unknown[])[5];
  if (viewMeta === undefined || viewMeta === null) return root;
  const [viewKey, offset, size] = Array.isArray(viewMeta) ? viewMeta : [];
  if (typeof viewKey !== 'string' || !Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0) {
    return fail(`storage "${key}" has a malformed view description`);
  }
  const view = storages.get(viewKey) ?? new StorageRef(viewKey, type, size, { ref: root, offset });
  storages.set(viewKey, view);
  return view;
}

/** ('storage', storage type, key, location, element count, ...). */
function storageId(pid: unknown, fail: Fail): { key: string; type: StorageType; numel: number } {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) return fail(`unknown persistent id (a ${kind(pid)}; only storages are supported)`);
  const [, type, key, , numel] = pid;
  const typeName = type instanceof PickleGlobal ? type.qualifiedName.replace(/^torch\./, '') : '';
  if (!(STORAGE_TYPES as readonly string[]).includes(typeName)) return fail(`persistent id names ${kind(type)}, not a storage type`);
  if (typeof key !== 'string' && !Number.isSafeInteger(key)) return fail(`storage key ${kind(key)} is not a string`);
  if (!Number.isSafeInteger(numel) || numel < 0) return fail(`storage "${String(key)}" has the element count ${String(numel)}`);
  return { key: String(key), type: typeName as StorageType, numel };
}

/** Replaces every TensorView in the object by its Tensor (in place), bounding the nesting of containers. */
function makeTensors(root: unknown, maker: TensorMaker, fail: Fail): unknown {
  const seen = new Set<object>();
  const walk = (v: unknown, depth: number, path: string): unknown => {
    if (v instanceof TensorView) return maker.make(v, path);
    if (typeof v !== 'object' || v === null || seen.has(v)) return v;
    if (depth >= MAX_NESTING) fail(`the pickled object nests deeper than ${MAX_NESTING} levels`);
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = walk(v[i], depth + 1, `${path}[${i}]`);
    } else if (v instanceof Map) {
      for (const [k, x] of v) v.set(k, walk(x, depth + 1, path === '' ? String(k) : `${path}.${String(k)}`));
    } else if (v instanceof Set) {
      const items = [...v].map((x, i) => walk(x, depth + 1, `${path}{${i}}`));
      v.clear();
      for (const x of items) v.add(x);
    }
    return v;
  };
  return walk(root, 0, '');
}

/**
 * The state dict in an unpickled object: the object itself when it is a dict with
 * tensors, else the dict under state_dict, model, model_state_dict, state_dict_ema
 * or net (looked up in that order, two levels deep at most). Entries that are not
 * tensors (_metadata, counters) are left out, and a "module." prefix on every key
 * (DataParallel) is removed. Keys keep the file's order.
 */
export function extractStateDict(obj: unknown, source = '<object>'): Map<string, Tensor> {
  const dict = findStateDict(obj, 0);
  if (!dict) throw new PthError(`${source}: no state dict found: ${describe(obj)}`);
  const out = new Map<string, Tensor>();
  for (const [k, v] of dict) if (typeof k === 'string' && v instanceof Tensor) out.set(k, v);
  const keys = [...out.keys()];
  if (!keys.every((k) => k.startsWith('module.'))) return out;
  return new Map([...out].map(([k, v]) => [k.slice('module.'.length), v]));
}

function findStateDict(obj: unknown, depth: number): Map<unknown, unknown> | null {
  if (!(obj instanceof Map)) return null;
  if (depth < 2) {
    for (const key of STATE_DICT_KEYS) {
      const found = findStateDict(obj.get(key), depth + 1);
      if (found) return found;
    }
  }
  for (const v of obj.values()) if (v instanceof Tensor) return obj;
  return null;
}

function describe(obj: unknown): string {
  if (obj instanceof Tensor) return 'the file holds a single tensor, not a dict of tensors';
  if (!(obj instanceof Map)) return `the file holds a ${kind(obj)}, not a dict of tensors`;
  const keys = [...obj.keys()].slice(0, 8).map((k) => JSON.stringify(String(k)));
  return `the file holds a dict without tensors (keys ${keys.join(', ')}${obj.size > 8 ? ', ...' : ''}) and none under ${STATE_DICT_KEYS.join(', ')}`;
}

/** Saves a state dict as torch.save would (zip format), atomically. */
export function savePth(path: string, stateDict: Map<string, Tensor> | Record<string, Tensor>): void {
  writeFileAtomic(path, encodePth(stateDict));
}

/**
 * The bytes torch.save(OrderedDict) writes for `stateDict`: the same pickle, opcode for
 * opcode, and the same zip layout. Tensors sharing one data array share one storage;
 * a tensor listed twice is pickled once and referenced again.
 */
export function encodePth(stateDict: Map<string, Tensor> | Record<string, Tensor>): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('encodePth: big-endian hosts are not supported');
  const entries = stateDict instanceof Map ? [...stateDict] : Object.entries(stateDict);
  const storages = new Map<Tensor['data'], string>();
  const w = new PickleWriter().proto();
  w.global('collections', 'OrderedDict').byte(OP.EMPTY_TUPLE, OP.REDUCE).memoize();
  // Python writes dict items in batches of 1000: MARK ... SETITEMS, or SETITEM for a batch of one.
  for (let start = 0; start < entries.length; start += 1000) {
    const batch = entries.slice(start, start + 1000);
    if (batch.length > 1) w.byte(OP.MARK);
    for (const [name, tensor] of batch) {
      if (!(tensor instanceof Tensor)) throw new TypeError(`encodePth: "${name}" is not a Tensor`);
      w.str(name);
      if (!w.recall(tensor)) writeTensor(w, tensor, storages);
    }
    w.byte(batch.length > 1 ? OP.SETITEMS : OP.SETITEM);
  }
  const records: [string, Uint8Array][] = [['archive/data.pkl', w.finish()]];
  for (const [data, key] of storages) records.push([`archive/data/${key}`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
  records.push(['archive/version', Buffer.from('3\n')]);
  return encodeStoredZip(records);
}

/** _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict()), as Tensor.__reduce_ex__ pickles it. */
function writeTensor(w: PickleWriter, tensor: Tensor, storages: Map<Tensor['data'], string>): void {
  let key = storages.get(tensor.data);
  if (key === undefined) storages.set(tensor.data, (key = String(storages.size)));
  w.global('torch._utils', '_rebuild_tensor_v2').byte(OP.MARK);
  w.tuple(5, () => {
    w.str('storage', 'const:storage').global('torch', STORAGE_OF_DTYPE[tensor.dtype]).str(key!, `key:${key}`).str('cpu', 'const:cpu').int(tensor.data.length);
  });
  w.byte(OP.BINPERSID).int(0).intTuple(tensor.shape).intTuple(contiguousStrides(tensor.shape)).byte(OP.NEWFALSE);
  w.global('collections', 'OrderedDict').byte(OP.EMPTY_TUPLE, OP.REDUCE).memoize();
  w.byte(OP.TUPLE).memoize().byte(OP.REDUCE).memoize(tensor);
}

/** torch's strides of a contiguous tensor (a dimension of size 0 counts as 1). */
function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s;
    s *= Math.max(shape[i], 1);
  }
  return stride;
}
