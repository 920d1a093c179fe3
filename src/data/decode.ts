/**
 * Image decoding with sharp (libvips), loaded on first use so that importing
 * tsvision does not load libvips.
 *
 * sharp runs each decode on a thread of libuv's pool (UV_THREADPOOL_SIZE,
 * default 4), so a DataLoader that keeps the next batches' decodes in flight
 * overlaps them with the training step on the main thread. libvips can also
 * split one image over several threads of its own; with two cores and the
 * native kernels using both, that only makes the threads fight, so tsvision
 * sets `sharp.concurrency(1)` (one libvips thread per image: images are decoded
 * in parallel, each one on one thread) and turns off sharp's operation cache,
 * which only holds memory when every file is read once per epoch.
 * configureDecoding() changes both.
 */
import { Tensor } from '../tensor/tensor.js';

type Sharp = typeof import('sharp').default;

let sharpModule: Sharp | null = null;
let loading: Promise<Sharp> | null = null;
let settings = { concurrency: 1, cache: false };

function apply(s: Sharp): void {
  s.concurrency(settings.concurrency);
  s.cache(settings.cache);
}

/** sharp's module, loaded and configured once. */
export async function loadSharp(): Promise<Sharp> {
  if (sharpModule) return sharpModule;
  loading ??= import('sharp').then(
    (m) => {
      const s = m.default;
      apply(s);
      sharpModule = s;
      return s;
    },
    (e: unknown) => {
      loading = null;
      throw new Error(`tsvision.data: could not load sharp, which decodes images (npm install sharp): ${(e as Error).message}`, { cause: e });
    },
  );
  return loading;
}

/**
 * Sets libvips' threads per image (default 1) and whether sharp caches
 * operations (default false); applies now if sharp is loaded, else when it is.
 * 0 threads means one per core (sharp's own default).
 */
export function configureDecoding(options: { concurrency?: number; cache?: boolean }): void {
  if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency >= 0)) {
    throw new RangeError(`configureDecoding: concurrency must be a non-negative integer but received ${options.concurrency}`);
  }
  settings = { ...settings, ...options };
  if (sharpModule) apply(sharpModule);
}

export interface LoadImageOptions {
  /** 3: RGB (default; alpha dropped, greyscale expanded, as PIL's convert('RGB')), 1: greyscale, 4: RGBA */
  channels?: 1 | 3 | 4;
  /** turn the picture upright by its EXIF orientation tag (default true: a phone's portrait photo is stored sideways with tag 6) */
  autoOrient?: boolean;
  /**
   * refuse, before decoding, a picture of more pixels (width x height) than this (sharp's limitInputPixels;
   * default sharp's 268402689): a small file that unpacks into gigabytes fails with an ImageTooLargeError
   */
  maxPixels?: number;
}

/** A picture refused by LoadImageOptions.maxPixels before it was decoded. */
export class ImageTooLargeError extends Error {
  override name = 'ImageTooLargeError';
}

/**
 * Decodes an image file (or bytes) into a uint8 [H, W, C] tensor. Any format
 * sharp reads: JPEG, PNG, WebP, GIF (first frame), TIFF, AVIF, SVG; not BMP.
 * 16-bit images are reduced to 8 bits. A truncated or corrupt file rejects.
 */
export async function loadImage(input: string | Uint8Array, { channels = 3, autoOrient = true, maxPixels }: LoadImageOptions = {}): Promise<Tensor<'uint8'>> {
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`loadImage: channels must be 1, 3 or 4 but received ${channels}`);
  }
  if (maxPixels !== undefined && !(Number.isInteger(maxPixels) && maxPixels >= 1)) {
    throw new RangeError(`loadImage: maxPixels must be a positive integer but received ${maxPixels}`);
  }
  const sharp = await loadSharp();
  let s = sharp(input, { failOn: 'truncated', autoOrient, ...(maxPixels !== undefined ? { limitInputPixels: maxPixels } : {}) });
  if (channels === 4) s = s.ensureAlpha().toColourspace('srgb');
  else s = s.removeAlpha().toColourspace(channels === 1 ? 'b-w' : 'srgb');
  let decoded;
  try {
    decoded = await s.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    // libvips reads the header first and refuses there, so nothing large was allocated
    if (/exceeds pixel limit/.test((e as Error).message))
      throw new ImageTooLargeError(`the picture has more than ${maxPixels ?? 268402689} pixels`, { cause: e });
    throw e;
  }
  const { data, info } = decoded;
  if (info.channels !== channels || data.length !== info.width * info.height * channels) {
    throw new Error(`loadImage: decoded ${info.width}x${info.height}x${info.channels} (${data.length} bytes), expected ${channels} channels`);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return new Tensor<'uint8'>(bytes, [info.height, info.width, channels]);
}
