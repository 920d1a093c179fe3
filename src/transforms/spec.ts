/**
 * transformFromSpec: rebuilds a built-in transform from the spec its `spec()`
 * method gave (its class name and constructor arguments). This is how a
 * DataLoader worker thread gets the same augmentation as the main thread:
 * objects with code cannot cross threads, their descriptions can.
 *
 * Each transform's module registers its class's builder right after the class
 * (registerTransform), so a class is known wherever its module is loaded; a
 * worker imports ./index.ts to have them all. This module imports no transform.
 */
import type { Transform, TransformSpec } from './image.js';

type Build = (...args: any[]) => Transform;

const BUILDERS = new Map<string, Build>();

/** Makes transformFromSpec build specs named `name` (a class's name, as its spec() gives it) with `build(...spec.args)`. */
export function registerTransform(name: string, build: Build): void {
  if (BUILDERS.has(name)) throw new Error(`registerTransform: "${name}" is registered already`);
  BUILDERS.set(name, build);
}

/** The transform a spec describes; a TypeError for a name that is not a built-in transform. */
export function transformFromSpec(spec: TransformSpec): Transform {
  const build = spec && typeof spec.name === 'string' ? BUILDERS.get(spec.name) : undefined;
  if (!build || !Array.isArray(spec.args)) {
    throw new TypeError(`transformFromSpec: ${JSON.stringify(spec?.name)} is not a built-in transform (known: ${[...BUILDERS.keys()].join(', ')})`);
  }
  return build(...spec.args);
}

/** The first name in a spec (or its Compose parts, the one spec that nests) that transformFromSpec does not know, or null. */
export function unknownTransform(spec: TransformSpec): string | null {
  if (!BUILDERS.has(spec.name)) return spec.name;
  if (spec.name === 'Compose') {
    for (const part of spec.args[0] as TransformSpec[]) {
      const unknown = unknownTransform(part);
      if (unknown !== null) return unknown;
    }
  }
  return null;
}
