/**
 * stratifiedSplit: indices for a train / validation split that keeps every
 * class's share (scikit-learn's train_test_split(stratify=y) in spirit): each
 * class gives round(count * valFraction) of its samples to validation, at least
 * one when it has two or more, so a small class is never absent from either side.
 */
import { Generator, permutation } from '../tensor/random.js';

export interface StratifiedSplit {
  /** indices of the training samples, ascending */
  train: number[];
  /** indices of the validation samples, ascending */
  val: number[];
}

export function stratifiedSplit(targets: ArrayLike<number>, valFraction: number, { seed = 0 }: { seed?: number } = {}): StratifiedSplit {
  if (!(valFraction >= 0 && valFraction < 1)) throw new RangeError(`stratifiedSplit: the validation fraction must be in [0, 1), got ${valFraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i];
    if (!byClass.has(t)) byClass.set(t, []);
    byClass.get(t)!.push(i);
  }
  const g = new Generator(seed);
  const train: number[] = [];
  const val: number[] = [];
  for (const t of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(t)!;
    let k = Math.round(idx.length * valFraction);
    if (valFraction > 0 && idx.length >= 2) k = Math.min(Math.max(k, 1), idx.length - 1);
    const perm = permutation(idx.length, { generator: g }).data;
    perm.forEach((p, j) => (j < k ? val : train).push(idx[p]));
  }
  const asc = (a: number, b: number) => a - b;
  return { train: train.sort(asc), val: val.sort(asc) };
}
