/**
 * transformFromSpec: rebuilds a built-in transform from the spec its `spec()`
 * method gave (its class name and constructor arguments). This is how a
 * DataLoader worker thread gets the same augmentation as the main thread:
 * objects with code cannot cross threads, their descriptions can.
 */
import { Compose, Normalize, ToTensor } from './basic.js';
import {
  CenterCrop, Letterbox, Pad, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, RandomRotation, RandomVerticalFlip, Resize,
} from './geometric.js';
import type { Transform, TransformSpec } from './image.js';
import { ColorJitter, Grayscale, RandomGrayscale } from './photometric.js';

type Build = (...args: any[]) => Transform;

const BUILDERS: Record<string, Build> = {
  Compose: (parts: TransformSpec[]) => new Compose(parts.map(transformFromSpec)),
  ToTensor: () => new ToTensor(),
  Normalize: (mean, std) => new Normalize(mean, std),
  Resize: (size, options) => new Resize(size, options),
  CenterCrop: (size) => new CenterCrop(size),
  Pad: (padding, options) => new Pad(padding, options),
  RandomCrop: (size, options) => new RandomCrop(size, options),
  RandomResizedCrop: (size, options) => new RandomResizedCrop(size, options),
  RandomHorizontalFlip: (p) => new RandomHorizontalFlip(p),
  RandomVerticalFlip: (p) => new RandomVerticalFlip(p),
  RandomRotation: (degrees, options) => new RandomRotation(degrees, options),
  Letterbox: (size, options) => new Letterbox(size, options),
  ColorJitter: (options) => new ColorJitter(options),
  Grayscale: (channels) => new Grayscale(channels),
  RandomGrayscale: (p) => new RandomGrayscale(p),
};

/** The transform a spec describes; a TypeError for a name that is not a built-in transform. */
export function transformFromSpec(spec: TransformSpec): Transform {
  const build = spec && typeof spec.name === 'string' && Object.hasOwn(BUILDERS, spec.name) ? BUILDERS[spec.name] : undefined;
  if (!build || !Array.isArray(spec.args)) {
    throw new TypeError(`transformFromSpec: ${JSON.stringify(spec?.name)} is not a built-in transform (known: ${Object.keys(BUILDERS).join(', ')})`);
  }
  return build(...spec.args);
}

/** The first name in a spec (or its Compose parts) that transformFromSpec does not know, or null. */
export function unknownTransform(spec: TransformSpec): string | null {
  if (!Object.hasOwn(BUILDERS, spec.name)) return spec.name;
  if (spec.name === 'Compose') {
    for (const part of spec.args[0] as TransformSpec[]) {
      const unknown = unknownTransform(part);
      if (unknown !== null) return unknown;
    }
  }
  return null;
}
