/**
 * Fine-tuning: pretrained weights into a network whose head may differ, and the
 * parameter groups of a discriminative schedule (early layers learn slower).
 *
 *   const net = getModel('resnet18', { numClasses: 2 });
 *   const report = loadMatchingWeights(net, loadPth('resnet18-f37072fd.pth').tensors);
 *   // report.skipped: [{ key: 'fc.weight', reason: 'shape [1000, 512], the network has [2, 512]' }, ...]
 *   net.freeze().unfreeze(net.classifier);               // train the new head only
 *   const groups = stageParamGroups(net, 1e-3, { groups: 3, factor: 10 });   // later: every layer
 */
import type { Parameter } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ImageClassifier } from './classifier.js';

export interface MatchReport {
  /** keys copied into the network */
  loaded: string[];
  /** keys of the file the network has in another shape (typically a classifier for another number of classes) */
  skipped: { key: string; reason: string }[];
  /** keys of the network the file lacks: they keep their fresh initialisation */
  missing: string[];
  /** keys of the file the network does not have */
  unexpected: string[];
}

const shape = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Copies every tensor of `weights` whose key and shape fit the network; reports the
 * rest. Nothing is copied when fewer than half of the network's keys fit, which
 * means the file is for another architecture (an Error names a few keys of each).
 */
export function loadMatchingWeights(net: ImageClassifier, weights: ReadonlyMap<string, Tensor>): MatchReport {
  const own = net.stateDict();
  const fit = new Map<string, Tensor>();
  const report: MatchReport = { loaded: [], skipped: [], missing: [], unexpected: [] };
  for (const [key, dst] of own) {
    const src = weights.get(key);
    if (!src) report.missing.push(key);
    else if (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i])) {
      report.skipped.push({ key, reason: `shape ${shape(src.shape)}, the network has ${shape(dst.shape)}` });
    } else {
      fit.set(key, src);
      report.loaded.push(key);
    }
  }
  report.unexpected = [...weights.keys()].filter((k) => !own.has(k));
  if (report.loaded.length < own.size / 2) {
    const some = (keys: string[]) => keys.slice(0, 3).join(', ') + (keys.length > 3 ? ', …' : '');
    throw new Error(
      `loadMatchingWeights: only ${report.loaded.length} of the network's ${own.size} tensors are in the weights; ` +
        `are they for another architecture? The network has ${some([...own.keys()])}; the weights have ${some([...weights.keys()])}`,
    );
  }
  net.loadStateDict(fit, { strict: false });
  return report;
}

/** One line about a MatchReport, e.g. "loaded 100 of 102 tensors; fc.weight, fc.bias kept fresh (shape [1000, 512], ...)". */
export function describeMatch(report: MatchReport): string {
  const total = report.loaded.length + report.skipped.length + report.missing.length;
  const fresh = [...report.skipped.map((s) => `${s.key} (${s.reason})`), ...report.missing.map((k) => `${k} (not in the weights)`)];
  return `loaded ${report.loaded.length} of ${total} tensors` + (fresh.length ? `; newly initialised: ${fresh.join(', ')}` : '');
}

export interface StageGroupOptions {
  /** how many groups, the head last (default 3) */
  groups?: number;
  /** each group learns `factor` times slower than the next (default 10) */
  factor?: number;
}

/**
 * Parameter groups for discriminative learning rates: the classifier's parameters
 * are the last group (lr), the backbone's are split at the network's stage
 * boundaries (featureInfo) into groups - 1 groups, earlier groups at lr / factor^k.
 * Give the result to an optimizer as its parameter groups.
 */
export function stageParamGroups(net: ImageClassifier, lr: number, { groups = 3, factor = 10 }: StageGroupOptions = {}): { params: Parameter[]; lr: number }[] {
  if (!Number.isInteger(groups) || groups < 1) throw new RangeError(`stageParamGroups: groups must be a positive integer, got ${groups}`);
  const headPrefix = `${net.classifier}.`;
  const named = net.namedParameters();
  const head = named.filter(([k]) => k.startsWith(headPrefix)).map(([, p]) => p);
  const body = named.filter(([k]) => !k.startsWith(headPrefix));
  const out: { params: Parameter[]; lr: number }[] = [];
  const bodyGroups = groups - 1;
  if (bodyGroups > 0 && body.length > 0) {
    // where each stage ends, as an index into `body`: a stage owns the parameters up to its module's last one
    const ends = net.featureInfo
      .map((s) => {
        let last = -1;
        body.forEach(([k], i) => {
          if (k === s.module || k.startsWith(`${s.module}.`)) last = i;
        });
        return last + 1;
      })
      .filter((e) => e > 0);
    const cuts: number[] = [];
    for (let g = 1; g < bodyGroups; g++) {
      const target = (body.length * g) / bodyGroups;
      // the stage boundary nearest to an even split (or the even split when there are no stages)
      const best = ends.length ? ends.reduce((a, e) => (Math.abs(e - target) < Math.abs(a - target) ? e : a)) : Math.round(target);
      cuts.push(best);
    }
    const bounds = [0, ...[...new Set(cuts)].sort((a, b) => a - b).filter((c) => c > 0 && c < body.length), body.length];
    for (let g = 0; g + 1 < bounds.length; g++) out.push({ params: body.slice(bounds[g], bounds[g + 1]).map(([, p]) => p), lr: 0 });
  } else if (body.length > 0) {
    head.unshift(...body.map(([, p]) => p));
  }
  out.push({ params: head, lr });
  out.forEach((g, i) => {
    g.lr = lr / factor ** (out.length - 1 - i);
  });
  return out.filter((g) => g.params.length > 0);
}
