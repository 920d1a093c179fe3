/**
 * A quick survey of a folder's pictures: the sizes and colour of a sample, read from
 * the files' headers and a small thumbnail of each, so that `tsvision train` can choose
 * an input size, channels and augmentation that fit the data without decoding it all.
 */
import { loadSharp } from './decode.js';

export interface ImageSurvey {
  /** the files looked at */
  sampled: number;
  /** of those, the ones that could be read */
  read: number;
  /** medians over the pictures read (0 when none was) */
  medianWidth: number;
  medianHeight: number;
  /** median of each picture's shorter and longer side */
  medianShortSide: number;
  medianLongSide: number;
  /** pictures with one colour channel, or whose red, green and blue agree (a grey picture stored as RGB) */
  grey: number;
}

/** Mean |R-G| + |G-B| (0-255 levels) below which an RGB picture counts as grey: JPEG's chroma rounding leaves about 1. */
const GREY_TOLERANCE = 2;

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

/** Whether the picture at `path` is grey: one channel (plus alpha), or RGB channels that agree on a 32-pixel thumbnail. */
async function isGrey(sharp: Awaited<ReturnType<typeof loadSharp>>, path: string, channels: number, hasAlpha: boolean): Promise<boolean> {
  if (channels - (hasAlpha ? 1 : 0) <= 1) return true;
  const { data, info } = await sharp(path).resize(32, 32, { fit: 'inside' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels < 3) return true;
  let diff = 0;
  for (let i = 0; i < data.length; i += info.channels) diff += Math.abs(data[i] - data[i + 1]) + Math.abs(data[i + 1] - data[i + 2]);
  return diff / (data.length / info.channels) < GREY_TOLERANCE;
}

/**
 * Surveys up to `sample` of `paths`, evenly spaced over the list (an ImageFolder's list is
 * sorted by class, so every class is seen). Files that do not decode are left out of the
 * medians: the folder reports them when training reads them.
 */
export async function surveyImages(paths: readonly string[], { sample = 64 }: { sample?: number } = {}): Promise<ImageSurvey> {
  const sharp = await loadSharp();
  const take = Math.min(sample, paths.length);
  const picked = Array.from({ length: take }, (_, j) => paths[Math.floor((j * paths.length) / take)]);
  const rows = await Promise.all(
    picked.map(async (path) => {
      try {
        const m = await sharp(path).metadata();
        if (!m.width || !m.height) return null;
        return { width: m.width, height: m.height, grey: await isGrey(sharp, path, m.channels ?? 3, m.hasAlpha ?? false) };
      } catch {
        return null;
      }
    }),
  );
  const ok = rows.filter((r): r is NonNullable<typeof r> => r !== null);
  return {
    sampled: take,
    read: ok.length,
    medianWidth: median(ok.map((r) => r.width)),
    medianHeight: median(ok.map((r) => r.height)),
    medianShortSide: median(ok.map((r) => Math.min(r.width, r.height))),
    medianLongSide: median(ok.map((r) => Math.max(r.width, r.height))),
    grey: ok.filter((r) => r.grey).length,
  };
}
