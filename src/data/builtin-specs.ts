/**
 * The worker-thread factory of the in-memory data sets (MNIST, FashionMNIST,
 * CIFAR10, CIFAR100): their portability() names this module, and a DataLoader
 * worker rebuilds the same data set from the same files, with the transform
 * rebuilt from its spec. (A separate module, so that mnist.ts and cifar.ts need
 * not import each other.)
 */
import { transformFromSpec } from '../transforms/spec.js';
import type { TransformSpec } from '../transforms/image.js';
import { CIFAR10, CIFAR100 } from './cifar.js';
import type { Dataset } from './dataset.js';
import { FashionMNIST, MNIST } from './mnist.js';

export interface BuiltinSpec {
  kind: 'MNIST' | 'FashionMNIST' | 'CIFAR10' | 'CIFAR100';
  root: string;
  train: boolean;
  /** CIFAR100's label set */
  labels?: 'fine' | 'coarse';
  transform?: TransformSpec;
}

/** The worker's copy of a built-in in-memory data set. */
export function builtinFromSpec(spec: BuiltinSpec): Dataset<unknown> {
  const options = { root: spec.root, train: spec.train, ...(spec.transform ? { transform: transformFromSpec(spec.transform) } : {}) };
  switch (spec.kind) {
    case 'MNIST':
      return new MNIST(options);
    case 'FashionMNIST':
      return new FashionMNIST(options);
    case 'CIFAR10':
      return new CIFAR10(options);
    case 'CIFAR100':
      return new CIFAR100({ ...options, labels: spec.labels ?? 'fine' });
  }
}
