/**
 * What a folder of training images holds before any training: auditFolder(dir, { val })
 * reads every file once and reports
 *
 *   - files that will not train: unreadable (what tsvision's decoder refuses), zero bytes,
 *     content that does not match the extension, images under an extension training skips,
 *     and layout problems (one class, an empty class, images outside class folders,
 *     validation classes that differ);
 *   - pictures that decode, but not as they look: CMYK, 16-bit, palette, alpha and
 *     EXIF-rotated images, and animations, each with what the decoder (./decode.ts) does;
 *   - class counts, the imbalance (largest / smallest class) and the class weights that
 *     balance it (./sampler.ts classWeights; `tsvision train --balance` samples with them);
 *   - sizes and aspect ratios per class, and where resize-then-centre-crop cuts most of
 *     the picture away (a class whose median picture loses more than CROP_LOSS_LIMIT);
 *   - exact duplicates (SHA-256 of the bytes) and near duplicates (dHash, see nearDuplicates)
 *     within a class, across classes (conflicting labels) and between training and
 *     validation (leakage).
 *
 * Label-noise suspects need a trained model, so they come from src/train/label-noise.ts and
 * join the report there. Nothing here throws on a bad file: it becomes a finding.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { loadImage, loadSharp } from './decode.js';
import { findImages, IMAGE_EXTENSIONS } from './image-folder.js';
import { classWeights } from './sampler.js';

export type Split = 'train' | 'val';

/** A file of the audited folders: where it is, and its split and class folder. */
export interface FileRef {
  path: string;
  split: Split;
  class: string;
}

export type FindingKind =
  | 'layout'
  | 'unreadable'
  | 'zero-byte'
  | 'wrong-extension'
  | 'not-read'
  | 'cmyk'
  | '16-bit'
  | 'palette'
  | 'alpha'
  | 'exif-rotated'
  | 'animated'
  | 'imbalance'
  | 'crop-loss'
  | 'duplicate'
  | 'near-duplicate'
  | 'label-suspect';

/** Where the copies of a duplicate group lie. */
export type DuplicateScope = 'within-class' | 'across-classes' | 'train-val';

export interface Finding {
  kind: FindingKind;
  /** one line: what was found, what training will do with it, what to do */
  message: string;
  /** the files concerned (none for a finding about a whole class or split) */
  files: FileRef[];
  /** per file, what was found about it (same order as files), when it differs from file to file */
  details?: string[];
  /** duplicates: where the copies lie */
  scope?: DuplicateScope[];
  /** near duplicates: the largest Hamming distance between dHashes joined in the group */
  distance?: number;
  /** the class a class-wide finding (crop-loss) is about */
  class?: string;
}

/** Widths, heights and aspect ratios (width / height) of one class's readable pictures. */
export interface ClassSizes {
  class: string;
  images: number;
  width: { min: number; median: number; max: number };
  height: { min: number; median: number; max: number };
  /** median width / height */
  aspect: number;
  /** pictures per aspect bin (ASPECT_BINS) */
  aspectBins: number[];
  /** share of the median picture's area that resize-then-centre-crop to a square cuts away (1 - short / long) */
  medianCropLoss: number;
  /** share of the class's pictures that lose more than CROP_LOSS_LIMIT of their area to the crop */
  heavyCropShare: number;
}

/** A training picture a trained model confidently gives to another class (src/train/label-noise.ts). */
export interface LabelSuspect {
  path: string;
  class: string;
  predicted: string;
  /** the model's probability of `predicted` */
  confidence: number;
  /** the model's probability of the folder's class */
  labelProb: number;
  /** cross-entropy of the folder's label: -ln(labelProb) */
  loss: number;
}

export interface AuditReport {
  root: string;
  val: string | null;
  /** the training folder's classes (sorted, as ImageFolder) */
  classes: string[];
  /** readable images per class (in `classes` order) */
  counts: { train: number[]; val: number[] | null };
  /** image files (by extension) found, readable or not */
  files: { train: number; val: number };
  /** readable images in all */
  readable: number;
  /** largest / smallest training class (classes with images), class weights N / (K n_c) */
  balance: { ratio: number; largest: string; smallest: string; weights: number[] };
  sizes: ClassSizes[];
  /** colour spaces and formats of the readable images, with counts ("jpeg srgb": 120) */
  kinds: Record<string, number>;
  findings: Finding[];
  /** with a checkpoint: highest loss first */
  suspects: LabelSuspect[] | null;
  settings: AuditSettings;
}

export interface AuditSettings {
  /** near duplicates: dHashes at most this many bits apart (of 64) */
  nearDistance: number;
  /** ... and 16x16 grey thumbnails at most this far apart (thumbnailDifference) */
  nearDifference: number;
  /** a crop-loss finding when a class's median picture loses more than this share of its area */
  cropLossLimit: number;
  /** an imbalance finding when the largest class has at least this many times the smallest's images */
  imbalanceLimit: number;
}

export const DEFAULT_AUDIT_SETTINGS: AuditSettings = { nearDistance: 6, nearDifference: 0.05, cropLossLimit: 0.4, imbalanceLimit: 3 };

/** Aspect-ratio (width / height) bins: tall below 1:2, tall, about square (4:5 to 5:4), wide, wide beyond 2:1. */
export const ASPECT_BINS: readonly { label: string; below: number }[] = [
  { label: 'tall < 1:2', below: 0.5 },
  { label: 'tall', below: 0.8 },
  { label: 'square-ish', below: 1.25 },
  { label: 'wide', below: 2 },
  { label: 'wide > 2:1', below: Infinity },
];

export interface AuditOptions extends Partial<AuditSettings> {
  /** a validation folder in the same layout */
  val?: string;
  /** files read at once (default 4: sharp decodes on libuv's 4 threads) */
  concurrency?: number;
  /** told after each file */
  onProgress?: (done: number, total: number) => void;
}

/** A folder that cannot be audited at all (missing, not a folder, no class folders). */
export class AuditError extends Error {
  override name = 'AuditError';
}

/** What the audit learnt about one readable file. */
interface Scanned {
  ref: FileRef;
  sha: string;
  width: number;
  height: number;
  /** 64-bit dHash as two 32-bit halves */
  hash: [number, number];
  /** 16x16 greyscale thumbnail */
  thumb: Uint8Array;
}

const EXTENSION_GROUPS: Record<string, string> = { '.jpg': 'jpg', '.jpeg': 'jpg', '.tif': 'tif', '.tiff': 'tif' };
const extGroup = (ext: string): string => EXTENSION_GROUPS[ext.toLowerCase()] ?? ext.toLowerCase().replace(/^\./, '');

const ORIENTATIONS: Record<number, string> = {
  2: 'mirrored left to right',
  3: 'upside down',
  4: 'mirrored top to bottom',
  5: 'mirrored and turned 90° counter-clockwise',
  6: 'turned 90° counter-clockwise (a viewer turns it clockwise)',
  7: 'mirrored and turned 90° clockwise',
  8: 'turned 90° clockwise (a viewer turns it counter-clockwise)',
};

/** What training does with each kind of picture that decodes, but not as it looks (what loadImage does, as torchvision's loader). */
const DECODING: Record<'cmyk' | '16-bit' | 'palette' | 'alpha' | 'exif-rotated' | 'animated', string> = {
  cmyk: 'CMYK: converted to sRGB through its ICC profile (a generic CMYK profile when it has none), so colours can shift; convert to sRGB yourself to control it',
  '16-bit': '16 bits per channel: reduced to 8 bits per channel (harmless for training; the file is larger than it need be)',
  palette: 'palette (indexed colour): expanded to RGB through the palette, exactly; no action needed',
  alpha:
    'alpha channel with transparent pixels: the alpha is dropped, so transparent areas show whatever colour is stored under them ' +
    '(often black), not a background; flatten onto the background you mean',
  'exif-rotated':
    'EXIF orientation: decoded as stored, without rotating (as torchvision), so the network sees it as a viewer would not; ' +
    'rotate the pixels (e.g. sharp(file).rotate()) and drop the tag',
  animated: 'animated: only the first frame is read',
};

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The class folders of root: non-hidden folders (or symlinks to folders), sorted as ImageFolder sorts them. */
function classFolders(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(join(root, e.name)))))
    .map((e) => e.name)
    .sort(byName);
}

/** Every non-hidden file under dir (subfolders too), whatever its extension; cycles of symlinks are not followed. */
function allFiles(dir: string, seen = new Set<string>()): string[] {
  let id: string;
  try {
    const st = statSync(dir);
    id = `${st.dev}:${st.ino}`;
  } catch {
    return [];
  }
  if (seen.has(id)) return [];
  seen.add(id);
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory() || (e.isSymbolicLink() && isDir(p))) out.push(...allFiles(p, seen));
    else out.push(p);
  }
  return out;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Bits that differ between two 64-bit hashes. */
export function hammingDistance(a: readonly [number, number], b: readonly [number, number]): number {
  return popcount32((a[0] ^ b[0]) >>> 0) + popcount32((a[1] ^ b[1]) >>> 0);
}

/**
 * The difference hash (dHash) of a decoded picture: greyscale, resized to 9x8, and one bit
 * per pair of horizontal neighbours (left brighter than right), 64 bits as [high, low]. A
 * picture re-encoded, resized or slightly recoloured keeps nearly the same bits; two
 * unrelated pictures differ in about half of them. Also the 16x16 grey thumbnail that
 * confirms a near pair (a flat picture's hash says little).
 */
export async function perceptualHash(image: { data: Uint8Array; shape: readonly number[] }): Promise<{ hash: [number, number]; thumb: Uint8Array }> {
  const sharp = await loadSharp();
  const [height, width, channels] = image.shape as [number, number, 1 | 3 | 4];
  const source = () => sharp(image.data, { raw: { width, height, channels } }).greyscale();
  const small = await source().resize(9, 8, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  const thumb = await source().resize(THUMB, THUMB, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  // greyscale() may keep 3 identical channels for an RGB source: read the first of each pixel
  const c = small.length / 72;
  let hi = 0;
  let lo = 0;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      const bit = small[(y * 9 + x) * c] > small[(y * 9 + x + 1) * c] ? 1 : 0;
      const k = y * 8 + x;
      if (k < 32) hi = (hi | (bit << (31 - k))) >>> 0;
      else lo = (lo | (bit << (63 - k))) >>> 0;
    }
  }
  const step = thumb.length / (THUMB * THUMB);
  const t = new Uint8Array(THUMB * THUMB);
  for (let i = 0; i < THUMB * THUMB; i++) t[i] = thumb[i * step];
  return { hash: [hi, lo], thumb: t };
}

/** The side of the grey thumbnails that confirm near duplicates. */
const THUMB = 16;

/**
 * How far apart two thumbnails are: the summed absolute difference of their pixels over
 * their summed absolute deviations from their own means (0 for the same picture, about 1
 * or more for unrelated ones), so that the picture's own contrast sets the scale: a copy
 * re-encoded or resized stays under a few hundredths. Two flat thumbnails (no contrast to
 * compare with) are as far apart as their mean grey levels, over 255.
 */
export function thumbnailDifference(a: Uint8Array, b: Uint8Array): number {
  const n = a.length;
  let diff = 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    diff += Math.abs(a[i] - b[i]);
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let dev = 0;
  for (let i = 0; i < n; i++) dev += Math.abs(a[i] - ma) + Math.abs(b[i] - mb);
  return dev < 2 * n ? Math.abs(ma - mb) / 255 : diff / dev;
}

/** Which scopes a group of copies spans. */
function scopesOf(files: readonly FileRef[]): DuplicateScope[] {
  const scopes: DuplicateScope[] = [];
  const seen = new Set<string>();
  let within = false;
  for (const f of files) {
    const key = `${f.split}\0${f.class}`;
    if (seen.has(key)) within = true;
    seen.add(key);
  }
  if (within) scopes.push('within-class');
  if (new Set(files.map((f) => f.class)).size > 1) scopes.push('across-classes');
  if (new Set(files.map((f) => f.split)).size > 1) scopes.push('train-val');
  return scopes;
}

const SCOPE_ADVICE: Record<DuplicateScope, string> = {
  'train-val': 'train/val leakage: the validation score counts pictures the model trained on; remove the copies from one side',
  'across-classes': 'conflicting labels: the same picture is taught as two classes; keep it in the right class only',
  'within-class': 'within a class: the picture weighs double in training; keep one copy',
};

function describeScopes(scopes: DuplicateScope[]): string {
  return scopes.map((s) => SCOPE_ADVICE[s]).join('; ');
}

/**
 * Pairs of pictures whose dHashes are at most `maxDistance` bits apart and whose 16x16
 * thumbnails are at most `maxDifference` apart (thumbnailDifference). Candidates come from multi-index
 * hashing: the 64 bits are cut into maxDistance + 1 chunks, and two hashes within the
 * distance agree exactly on at least one chunk (pigeonhole), so only pictures sharing
 * a chunk are compared.
 */
export function nearPairs(
  items: readonly { hash: readonly [number, number]; thumb: Uint8Array }[],
  maxDistance: number,
  maxDifference: number,
): { a: number; b: number; distance: number }[] {
  const chunks = maxDistance + 1;
  const bits = (h: readonly [number, number]) => (BigInt(h[0]) << 32n) | BigInt(h[1]);
  const values = items.map((it) => bits(it.hash));
  const bounds: number[] = [];
  for (let c = 0; c <= chunks; c++) bounds.push(Math.round((64 * c) / chunks));
  const chunkOf = (v: bigint, c: number) => (v >> BigInt(bounds[c])) & ((1n << BigInt(bounds[c + 1] - bounds[c])) - 1n);
  const out: { a: number; b: number; distance: number }[] = [];
  for (let c = 0; c < chunks; c++) {
    const buckets = new Map<bigint, number[]>();
    values.forEach((v, i) => {
      const key = chunkOf(v, c);
      const list = buckets.get(key);
      if (list) list.push(i);
      else buckets.set(key, [i]);
    });
    for (const list of buckets.values()) {
      for (let x = 0; x < list.length; x++) {
        for (let y = x + 1; y < list.length; y++) {
          const a = list[x];
          const b = list[y];
          // a pair is tested in the first chunk the two hashes share (no set of tested pairs to grow)
          let earlier = false;
          for (let e = 0; e < c && !earlier; e++) earlier = chunkOf(values[a], e) === chunkOf(values[b], e);
          if (earlier) continue;
          const distance = hammingDistance(items[a].hash, items[b].hash);
          if (distance <= maxDistance && thumbnailDifference(items[a].thumb, items[b].thumb) <= maxDifference) out.push({ a, b, distance });
        }
      }
    }
  }
  return out.sort((p, q) => p.a - q.a || p.b - q.b);
}

/** The image files (by extension) of a folder's class folders, in ImageFolder's order, with their split and class. */
export function classImageFiles(root: string, split: Split = 'train'): FileRef[] {
  return listSplit(root, split).images;
}

/** The folders' files: image files by extension per class, files under other extensions, and files outside class folders. */
function listSplit(root: string, split: Split) {
  const classes = classFolders(root);
  const images: FileRef[] = [];
  const others: FileRef[] = [];
  const read = new Set(IMAGE_EXTENSIONS);
  for (const c of classes) {
    const dir = join(root, c);
    for (const path of findImages(dir)) images.push({ path, split, class: c });
    for (const path of allFiles(dir)) if (!read.has(extname(path).toLowerCase())) others.push({ path, split, class: c });
  }
  const loose = readdirSync(root, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && !e.isDirectory() && read.has(extname(e.name).toLowerCase()))
    .map((e) => join(root, e.name));
  return { classes, images, others, loose };
}

type Sniff = { ext: string; mime: string } | undefined;

/** The first bytes of a file (what sniffing needs), or none when it cannot be read. */
async function head(path: string, bytes = 4100): Promise<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } catch {
    return new Uint8Array(0);
  } finally {
    await fh?.close();
  }
}

async function sniff(bytes: Uint8Array): Promise<Sniff> {
  const { fileTypeFromBuffer } = await import('file-type');
  try {
    return await fileTypeFromBuffer(bytes);
  } catch {
    return undefined;
  }
}

/** The first bytes as text when they are printable (an HTML page saved as .jpg says so). */
function textStart(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.subarray(0, 40)).toString('latin1');
  return /^[\x20-\x7e\t\r\n]+$/.test(head) ? head.replace(/\s+/g, ' ').trim() : null;
}

/** Audits `root` (and `options.val`): see the module comment. */
export async function auditFolder(root: string, options: AuditOptions = {}): Promise<AuditReport> {
  const settings: AuditSettings = {
    nearDistance: options.nearDistance ?? DEFAULT_AUDIT_SETTINGS.nearDistance,
    nearDifference: options.nearDifference ?? DEFAULT_AUDIT_SETTINGS.nearDifference,
    cropLossLimit: options.cropLossLimit ?? DEFAULT_AUDIT_SETTINGS.cropLossLimit,
    imbalanceLimit: options.imbalanceLimit ?? DEFAULT_AUDIT_SETTINGS.imbalanceLimit,
  };
  if (!(Number.isInteger(settings.nearDistance) && settings.nearDistance >= 0 && settings.nearDistance < 32))
    throw new RangeError(`auditFolder: nearDistance must be an integer in [0, 31] but received ${settings.nearDistance}`);
  const val = options.val ?? null;
  for (const [dir, what] of [[root, 'folder'], ...(val !== null ? [[val, 'validation folder']] : [])] as const) {
    if (!isDir(dir)) throw new AuditError(`the ${what} ${dir} ${statOk(dir) ? 'is not a folder' : 'does not exist'}`);
  }
  const train = listSplit(root, 'train');
  if (train.classes.length === 0) throw new AuditError(`${root} has no class folders; expected one subfolder per class, e.g. ${join(root, 'cat', '001.jpg')}`);
  const valList = val !== null ? listSplit(val, 'val') : null;
  const classes = train.classes;
  const findings: Finding[] = [];
  const layout = (message: string, files: FileRef[] = []) => findings.push({ kind: 'layout', message, files });
  if (classes.length === 1) layout(`${root} has one class folder ('${classes[0]}'); a classifier needs at least two`);
  const splits: { list: ReturnType<typeof listSplit>; dir: string; split: Split }[] = [{ list: train, dir: root, split: 'train' }];
  if (valList && val !== null) splits.push({ list: valList, dir: val, split: 'val' });
  for (const { list, dir, split } of splits) {
    if (list.loose.length > 0)
      layout(
        `${list.loose.length} image(s) directly in ${dir}, outside any class folder: training never sees them; move them into their class folder`,
        list.loose.map((path) => ({ path, split, class: '' })),
      );
  }
  if (valList) {
    const extra = valList.classes.filter((c) => !classes.includes(c));
    const missing = classes.filter((c) => !valList.classes.includes(c));
    if (extra.length) layout(`validation class folder(s) ${extra.map((c) => `'${c}'`).join(', ')} are not in ${root}: tsvision train refuses them`);
    if (missing.length) layout(`class(es) ${missing.map((c) => `'${c}'`).join(', ')} have no folder in ${val}: they are never validated`);
  }

  const all = [...train.images, ...(valList?.images ?? [])];
  const scanned: (Scanned | null)[] = new Array(all.length).fill(null);
  const problems = {
    unreadable: [] as [FileRef, string][],
    zero: [] as FileRef[],
    wrongExt: [] as [FileRef, string][],
    decoding: new Map<keyof typeof DECODING, [FileRef, string][]>(),
  };
  const note = (kind: keyof typeof DECODING, ref: FileRef, detail: string) => {
    const list = problems.decoding.get(kind) ?? [];
    list.push([ref, detail]);
    problems.decoding.set(kind, list);
  };
  const kinds: Record<string, number> = {};
  const sharp = await loadSharp();

  const scanOne = async (i: number) => {
    const ref = all[i];
    let bytes: Buffer;
    try {
      bytes = await readFile(ref.path);
    } catch (e) {
      problems.unreadable.push([ref, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`]);
      return;
    }
    if (bytes.length === 0) {
      problems.zero.push(ref);
      return;
    }
    const type = await sniff(bytes);
    let image;
    try {
      image = await loadImage(bytes, { channels: 3 });
    } catch (e) {
      const what = type
        ? `its content is ${type.ext.toUpperCase()} (${type.mime})`
        : textStart(bytes)
          ? `it starts with text: "${textStart(bytes)}"`
          : 'its content is no known image format';
      problems.unreadable.push([ref, `${(e as Error).message.split('\n')[0]}; ${what}`]);
      return;
    }
    const ext = extname(ref.path);
    if (type && type.mime.startsWith('image/') && extGroup(`.${type.ext}`) !== extGroup(ext)) {
      problems.wrongExt.push([ref, `a ${type.ext.toUpperCase()} named ${ext}`]);
    }
    let meta;
    try {
      meta = await sharp(bytes).metadata();
    } catch {
      meta = {} as Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>; // decoded, so only the header's details are unknown
    }
    kinds[`${meta.format ?? '?'} ${meta.space ?? '?'}`] = (kinds[`${meta.format ?? '?'} ${meta.space ?? '?'}`] ?? 0) + 1;
    if (meta.space === 'cmyk') note('cmyk', ref, meta.icc ? 'CMYK with an ICC profile' : 'CMYK without an ICC profile');
    if (meta.depth === 'ushort' || meta.bitsPerSample === 16) note('16-bit', ref, `${meta.space ?? ''} 16-bit`.trim());
    if (meta.isPalette) note('palette', ref, `palette of ${meta.bitsPerSample ?? 8} bits`);
    if (meta.hasAlpha) {
      const stats = await sharp(bytes)
        .stats()
        .catch(() => null);
      const alpha = stats?.channels[stats.channels.length - 1];
      // an alpha channel that is opaque everywhere changes nothing
      if (alpha && alpha.min < 255) note('alpha', ref, `alpha down to ${alpha.min} (mean ${alpha.mean.toFixed(0)})`);
    }
    if (meta.orientation !== undefined && meta.orientation > 1)
      note('exif-rotated', ref, `orientation ${meta.orientation}: ${ORIENTATIONS[meta.orientation] ?? '?'}`);
    if ((meta.pages ?? 1) > 1) note('animated', ref, `${meta.pages} frames`);
    const { hash, thumb } = await perceptualHash(image as unknown as { data: Uint8Array; shape: readonly number[] });
    scanned[i] = {
      ref,
      sha: createHash('sha256').update(bytes).digest('hex'),
      width: image.shape[1],
      height: image.shape[0],
      hash,
      thumb,
    };
  };

  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < all.length) {
      const i = next++;
      await scanOne(i);
      options.onProgress?.(++done, all.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, all.length)) }, worker));

  // files under extensions training does not read: report the ones whose content is an image
  const notRead: [FileRef, string][] = [];
  for (const ref of [...train.others, ...(valList?.others ?? [])]) {
    const type = await sniff(await head(ref.path));
    if (type?.mime.startsWith('image/')) notRead.push([ref, `a ${type.ext.toUpperCase()} under ${extname(ref.path) || 'no extension'}`]);
  }

  const byPath = (a: [FileRef, string] | FileRef, b: [FileRef, string] | FileRef) =>
    byName(Array.isArray(a) ? a[0].path : a.path, Array.isArray(b) ? b[0].path : b.path);
  const pathFinding = (kind: FindingKind, list: [FileRef, string][], message: string) => {
    if (list.length === 0) return;
    list.sort(byPath);
    findings.push({ kind, message, files: list.map((x) => x[0]), details: list.map((x) => x[1]) });
  };
  pathFinding('unreadable', problems.unreadable, 'does not decode: training reports it and skips it; delete or replace it');
  if (problems.zero.length)
    findings.push({ kind: 'zero-byte', message: 'empty file (0 bytes): training skips it; delete it', files: problems.zero.sort(byPath) });
  pathFinding(
    'wrong-extension',
    problems.wrongExt,
    'the content is another format than the extension says: tsvision decodes it by content, but other tools go by the name; rename it',
  );
  pathFinding(
    'not-read',
    notRead,
    `an image under an extension training does not read (${IMAGE_EXTENSIONS.join(' ')}): never trained on; convert or rename it`,
  );
  for (const kind of ['cmyk', '16-bit', 'palette', 'alpha', 'exif-rotated', 'animated'] as const) {
    pathFinding(kind, problems.decoding.get(kind) ?? [], DECODING[kind]);
  }

  const ok = scanned.filter((s): s is Scanned => s !== null);
  const countOf = (split: Split, names: readonly string[]) => names.map((c) => ok.filter((s) => s.ref.split === split && s.ref.class === c).length);
  const trainCounts = countOf('train', classes);
  const valCounts = valList ? countOf('val', classes) : null;

  // balance over the classes that have images; an empty class is a layout finding
  const empty = classes.filter((_, k) => trainCounts[k] === 0);
  if (empty.length) layout(`class folder(s) ${empty.map((c) => `'${c}'`).join(', ')} hold no readable image`);
  const present = classes.map((c, k) => ({ c, n: trainCounts[k] })).filter((x) => x.n > 0);
  const largest = present.reduce((a, b) => (b.n > a.n ? b : a), present[0] ?? { c: '', n: 0 });
  const smallest = present.reduce((a, b) => (b.n < a.n ? b : a), present[0] ?? { c: '', n: 0 });
  const ratio = smallest.n > 0 ? largest.n / smallest.n : 0;
  const weights = classWeights(trainCounts);
  if (present.length >= 2 && ratio >= settings.imbalanceLimit) {
    findings.push({
      kind: 'imbalance',
      message:
        `classes are imbalanced ${ratio.toFixed(1)}:1 (${largest.c} ${largest.n}, ${smallest.c} ${smallest.n}): a model can score well by ` +
        `favouring ${largest.c}; train with --balance (every class drawn equally often), or weight the loss by the class weights ` +
        classes.map((c, k) => `${c} ${weights[k].toFixed(2)}`).join(', '),
      files: [],
    });
  }

  // sizes per class (training and validation pictures together: both go through the same resize)
  const sizes: ClassSizes[] = [];
  for (const c of classes) {
    const mine = ok.filter((s) => s.ref.class === c);
    if (mine.length === 0) continue;
    const ws = mine.map((s) => s.width);
    const hs = mine.map((s) => s.height);
    const aspects = mine.map((s) => s.width / s.height);
    const losses = mine.map((s) => 1 - Math.min(s.width, s.height) / Math.max(s.width, s.height));
    const bins = ASPECT_BINS.map(() => 0);
    for (const a of aspects) bins[ASPECT_BINS.findIndex((b) => a < b.below)]++;
    const sz: ClassSizes = {
      class: c,
      images: mine.length,
      width: { min: Math.min(...ws), median: median(ws), max: Math.max(...ws) },
      height: { min: Math.min(...hs), median: median(hs), max: Math.max(...hs) },
      aspect: median(aspects),
      aspectBins: bins,
      medianCropLoss: median(losses),
      heavyCropShare: losses.filter((l) => l > settings.cropLossLimit).length / mine.length,
    };
    sizes.push(sz);
    if (sz.medianCropLoss > settings.cropLossLimit) {
      const a = sz.aspect >= 1 ? `${sz.aspect.toFixed(1)}:1` : `1:${(1 / sz.aspect).toFixed(1)}`;
      findings.push({
        kind: 'crop-loss',
        class: c,
        message:
          `class '${c}': the median picture is ${sz.width.median}x${sz.height.median} (${a}); resize-then-centre-crop (--resize crop, the default) ` +
          `keeps ${(100 * (1 - sz.medianCropLoss)).toFixed(0)}% of it and cuts ${(100 * sz.medianCropLoss).toFixed(0)}% away ` +
          `(${(100 * sz.heavyCropShare).toFixed(0)}% of the class loses more than ${(100 * settings.cropLossLimit).toFixed(0)}%); ` +
          `--resize letterbox keeps the whole picture (padded)`,
        files: [],
      });
    }
  }

  // exact duplicates: identical bytes
  const bySha = new Map<string, number[]>();
  ok.forEach((s, i) => {
    const list = bySha.get(s.sha);
    if (list) list.push(i);
    else bySha.set(s.sha, [i]);
  });
  const nodes = [...bySha.values()];
  for (const members of nodes) {
    if (members.length < 2) continue;
    const files = members.map((i) => ok[i].ref);
    const scope = scopesOf(files);
    findings.push({ kind: 'duplicate', message: `identical files: ${describeScopes(scope)}`, files, scope });
  }
  // near duplicates between distinct contents (one node per set of identical files)
  const reps = nodes.map((members) => ok[members[0]]);
  const pairs = nearPairs(reps, settings.nearDistance, settings.nearDifference);
  // a group is a picture and every picture near it that no earlier group took: groups never chain
  // (a ~ b ~ c with a and c far apart), so every member of a group is near its first
  const near = new Map<number, { other: number; distance: number }[]>();
  for (const p of pairs) {
    near.set(p.a, [...(near.get(p.a) ?? []), { other: p.b, distance: p.distance }]);
    near.set(p.b, [...(near.get(p.b) ?? []), { other: p.a, distance: p.distance }]);
  }
  const taken = new Set<number>();
  const groups: { nodes: number[]; distance: number }[] = [];
  for (const seed of [...near.keys()].sort((a, b) => a - b)) {
    if (taken.has(seed)) continue;
    const others = near.get(seed)!.filter((x) => !taken.has(x.other));
    if (others.length === 0) continue;
    taken.add(seed);
    for (const x of others) taken.add(x.other);
    groups.push({ nodes: [seed, ...others.map((x) => x.other).sort((a, b) => a - b)], distance: Math.max(...others.map((x) => x.distance)) });
  }
  for (const g of groups) {
    const files = g.nodes.flatMap((n) => nodes[n].map((i) => ok[i].ref));
    const scope = scopesOf(files);
    findings.push({
      kind: 'near-duplicate',
      message:
        `near-identical pictures (dHash within ${g.distance} bits of the first): the same picture re-encoded, resized or slightly edited, or ` +
        `pictures alike pixel for pixel; if they are one picture: ${describeScopes(scope)}`,
      files,
      scope,
      distance: g.distance,
    });
  }

  return {
    root,
    val,
    classes,
    counts: { train: trainCounts, val: valCounts },
    files: { train: train.images.length, val: valList?.images.length ?? 0 },
    readable: ok.length,
    balance: { ratio, largest: largest.c, smallest: smallest.c, weights },
    sizes,
    kinds,
    findings,
    suspects: null,
    settings,
  };
}

function statOk(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A picture file as a small JPEG data URI (for self-contained HTML), as stored (not rotated); null when it does not decode. */
export async function thumbnailDataUri(path: string, size = 96): Promise<string | null> {
  const sharp = await loadSharp();
  try {
    const jpeg = await sharp(path, { failOn: 'truncated' })
      .resize(size, size, { fit: 'inside', withoutEnlargement: false, kernel: 'lanczos3' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .jpeg({ quality: 80 })
      .toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch {
    return null;
  }
}
