/**
 * Label-noise suspects: training pictures that a trained model confidently gives to
 * another class than their folder's. A model that learnt the rest of its class well
 * and still disagrees, sure of itself, often points at a wrong label (or a picture
 * that belongs to no class). Run through the one inference path, Predictor.
 */
import type { AuditReport, FileRef, LabelSuspect } from '../data/audit.js';
import type { Predictor } from './predictor.js';

export interface LabelSuspectOptions {
  /** a suspect's predicted class has at least this probability (default 0.8) */
  minConfidence?: number;
  /** at most this many, highest loss first (default 24) */
  limit?: number;
  batchSize?: number;
  /** told of each file that does not decode (it is left out) */
  onSkip?: (path: string, reason: string) => void;
}

export interface LabelSuspectResult {
  suspects: LabelSuspect[];
  /** pictures classified */
  checked: number;
  /** classes of the files that the model does not know (their files are not checked) */
  unknownClasses: string[];
}

/**
 * Classifies `files` (with their folder's class) and returns the ones whose most probable class is
 * another, with probability >= minConfidence, highest cross-entropy of the folder's label first.
 */
export async function findLabelSuspects(
  predictor: Predictor,
  files: readonly Pick<FileRef, 'path' | 'class'>[],
  { minConfidence = 0.8, limit = 24, batchSize = 64, onSkip }: LabelSuspectOptions = {},
): Promise<LabelSuspectResult> {
  const index = new Map(predictor.classes.map((c, k) => [c, k]));
  const known = files.filter((f) => index.has(f.class));
  const unknownClasses = [...new Set(files.filter((f) => !index.has(f.class)).map((f) => f.class))].sort();
  const results = await predictor.classifyFiles(
    known.map((f) => f.path),
    { batchSize, onSkip },
  );
  const suspects: LabelSuspect[] = [];
  for (const { index: i, probs } of results) {
    const label = index.get(known[i].class)!;
    let best = 0;
    for (let k = 1; k < probs.length; k++) if (probs[k] > probs[best]) best = k;
    if (best === label || probs[best] < minConfidence) continue;
    const labelProb = probs[label];
    suspects.push({
      path: known[i].path,
      class: known[i].class,
      predicted: predictor.classes[best],
      confidence: probs[best],
      labelProb,
      loss: -Math.log(Math.max(labelProb, 1e-12)),
    });
  }
  suspects.sort((a, b) => b.loss - a.loss || (a.path < b.path ? -1 : 1));
  return { suspects: suspects.slice(0, limit), checked: results.length, unknownClasses };
}

/** The report with its label-noise suspects (and a finding naming them, when there are any). */
export function withSuspects(report: AuditReport, result: LabelSuspectResult, minConfidence: number): AuditReport {
  const findings = report.findings.filter((f) => f.kind !== 'label-suspect');
  if (result.suspects.length > 0) {
    findings.push({
      kind: 'label-suspect',
      message:
        `the model gives these training pictures to another class with probability >= ${minConfidence} (highest loss first): ` +
        'look at each; move a mislabelled picture to its class, delete one that belongs to none',
      files: result.suspects.map((s) => ({ path: s.path, split: 'train', class: s.class })),
      details: result.suspects.map((s) => `said ${s.predicted} ${s.confidence.toFixed(3)}, ${s.class} ${s.labelProb.toFixed(3)} (loss ${s.loss.toFixed(2)})`),
    });
  }
  return { ...report, findings, suspects: result.suspects };
}
