/**
 * `tsvision evaluate --checkpoint DIR --data DIR`: classifies every image of an
 * ImageFolder with a trained checkpoint, prints accuracy, the confusion matrix,
 * the per-class table, the most confused pairs and the worst mistakes, and
 * writes predictions.txt (one line of probabilities per image), report.txt, report.html (with the
 * mistaken pictures) and metrics.json.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ImageFolder } from '../data/image-folder.js';
import { scorePredictions, type ScoreOptions } from '../metrics/analysis.js';
import { htmlReport } from '../metrics/html.js';
import { writePredictions } from '../metrics/predictions.js';
import { writeFileAtomic } from '../core/atomic.js';
import { parseCommand, helpText, UsageError, type CommandSpec } from './args.js';
import type { Predictor } from '../train/predictor.js';
import { GradCamError } from '../metrics/gradcam.js';
import { explainImage } from '../train/explain.js';
import { CommandError, loadPredictor, requireFolder, toRecords, TTA_OPTION } from './common.js';
import type { TTA } from '../train/tta.js';

export const EVALUATE: CommandSpec = {
  name: 'evaluate',
  summary: 'Judges a trained classifier on a folder of labelled images (one subfolder per class).',
  options: [
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'the checkpoint to evaluate (e.g. runs/convnet/best)' },
    { name: 'data', type: 'string', value: 'DIR', help: 'images in one subfolder per class, named as in training' },
    { name: 'out', type: 'string', value: 'DIR', help: 'where predictions.txt, report.txt and metrics.json go (default: evaluation/ beside the checkpoint)' },
    { name: 'batch-size', type: 'int', default: 64, help: 'images per batch' },
    { name: 'class', type: 'string', value: 'NAME', help: 'a class to find an operating point for (with --target-precision or --target-recall)' },
    { name: 'target-precision', type: 'fraction', value: 'P', help: "the lowest threshold on the class's probability reaching this precision" },
    { name: 'target-recall', type: 'fraction', value: 'R', help: 'the threshold reaching this recall with the best precision' },
    { name: 'worst', type: 'count', default: 10, help: 'mistakes to list' },
    TTA_OPTION,
    {
      name: 'raw-weights',
      type: 'flag',
      help: 'a checkpoint with a moving average of the weights (train --ema): judge the trained weights instead of the average',
    },
  ],
  epilog: 'Re-score the predictions file later, without the model: tsvision rescore PREDICTIONS.',
};

/**
 * --class NAME with --target-precision P or --target-recall R, checked: undefined without --class.
 * `checkClass` may refuse the name before a missing target is reported (shared with serve and tag).
 */
export function operatingPointGoal(
  values: Record<string, unknown>,
  where: string,
  checkClass?: (name: string) => void,
): { className: string; goal: 'precision' | 'recall'; target: number } | undefined {
  const name = values.class as string | undefined;
  const p = values['target-precision'] as number | undefined;
  const r = values['target-recall'] as number | undefined;
  if (p !== undefined && r !== undefined) throw new UsageError(`${where}: give --target-precision or --target-recall, not both`);
  if (name === undefined) {
    if (p !== undefined || r !== undefined) throw new UsageError(`${where}: --target-${p !== undefined ? 'precision' : 'recall'} needs --class NAME`);
    return undefined;
  }
  checkClass?.(name);
  if (p === undefined && r === undefined) throw new UsageError(`${where}: --class needs --target-precision P or --target-recall R`);
  return { className: name, goal: p !== undefined ? 'precision' : 'recall', target: (p ?? r)! };
}

/** --class with --target-precision / --target-recall as a ScoreOptions operating point (shared with rescore). */
export function operatingPointOption(values: Record<string, unknown>, classes: readonly string[], where: string): ScoreOptions['operatingPoint'] {
  const wanted = operatingPointGoal(values, where, (name) => {
    if (!classes.includes(name)) throw new UsageError(`${where}: no class '${name}'; the classes are ${classes.join(', ')}`);
  });
  return wanted && { classIndex: classes.indexOf(wanted.className), goal: wanted.goal, target: wanted.target };
}

export interface EvaluateFilesInput {
  classifier: Predictor;
  paths: readonly string[];
  /** each path's class index in classifier.classes */
  targets: ArrayLike<number>;
  outDir: string;
  batchSize: number;
  score: ScoreOptions;
  say: (line?: string) => void;
  where: string;
  /** files already reported as unreadable (not reported again) */
  reported?: ReadonlySet<string>;
}

/** Classifies the files, writes the three reports into outDir, prints the scores; returns the accuracy. */
export async function evaluateFiles({ classifier, paths, targets, outDir, batchSize, score, say, where, reported }: EvaluateFilesInput): Promise<number> {
  const skipped: string[] = [];
  const results = await classifier.classifyFiles(paths, {
    batchSize,
    onSkip: (path, reason) => {
      skipped.push(path);
      if (!reported?.has(path)) process.stderr.write(`${where}: skipped ${path}: ${reason}\n`);
    },
  });
  if (results.length === 0) throw new CommandError(`${where}: none of the ${paths.length} images could be read`);
  const records = toRecords(results, paths, targets);
  const scores = scorePredictions(classifier.classes, records, score);
  mkdirSync(outDir, { recursive: true });
  const predictionsFile = join(outDir, 'predictions.txt');
  writePredictions(predictionsFile, classifier.classes, records);
  const how = [classifier.weights === 'ema' ? "the weights' moving average" : '', classifier.tta !== 'none' ? `${classifier.tta} test-time augmentation` : '']
    .filter(Boolean)
    .join(', ');
  const header =
    `Evaluation of ${classifier.source}${how ? ` (${how})` : ''} on ${records.length} images` +
    `${skipped.length ? ` (${skipped.length} unreadable, skipped)` : ''}.\n\n`;
  writeFileAtomic(join(outDir, 'report.txt'), Buffer.from(header + scores.text, 'utf8'));
  const overlays = await mistakeOverlays(classifier, scores.worst, join(outDir, 'gradcam'));
  const html = htmlReport({ title: `Evaluation of ${classifier.source}`, classes: classifier.classes, scores, pageDir: outDir, overlays });
  writeFileAtomic(join(outDir, 'report.html'), Buffer.from(html, 'utf8'));
  const r = scores.report;
  const metrics = {
    checkpoint: classifier.source,
    weights: classifier.weights,
    tta: classifier.tta,
    images: records.length,
    skipped,
    accuracy: r.accuracy,
    classes: classifier.classes,
    confusionMatrix: scores.confusion.matrix,
    perClass: r.classes,
    macro: r.macro,
    weighted: r.weighted,
    mostConfused: scores.pairs.map((p) => ({ true: classifier.classes[p.target], predicted: classifier.classes[p.predicted], count: p.count })),
    worstMistakes: scores.worst.map((m) => ({
      path: m.path,
      true: classifier.classes[m.target],
      predicted: classifier.classes[m.predicted],
      confidence: m.confidence,
    })),
    operatingPoint: scores.operatingPoint,
  };
  writeFileAtomic(join(outDir, 'metrics.json'), Buffer.from(`${JSON.stringify(metrics, null, 2)}\n`, 'utf8'));
  say(header + scores.text.trimEnd());
  say(`\nWritten: ${predictionsFile} (one line per image: probabilities, one-hot truth, one-hot prediction, path), report.txt, metrics.json,`);
  say(`and ${join(outDir, 'report.html')} (open it in a browser to see the mistakes).`);
  return r.accuracy;
}

export async function evaluate(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision evaluate';
  const { values, help } = parseCommand(EVALUATE, argv);
  if (help) {
    say(helpText(EVALUATE));
    return 0;
  }
  const checkpoint = values.checkpoint as string | undefined;
  const data = values.data as string | undefined;
  if (!checkpoint) throw new UsageError(`${where}: --checkpoint DIR is required`);
  if (!data) throw new UsageError(`${where}: --data DIR is required (a folder with one subfolder per class)`);
  requireFolder(data, where, '--data');
  const classifier = loadPredictor(checkpoint, where, { tta: values.tta as TTA, ...(values['raw-weights'] ? { weights: 'raw' as const } : {}) });
  const score: ScoreOptions = { worst: values.worst as number, operatingPoint: operatingPointOption(values, classifier.classes, where) };
  let folder: ImageFolder;
  try {
    folder = new ImageFolder(data, { channels: classifier.preprocess.channels });
  } catch (e) {
    throw new CommandError(`${where}: ${(e as Error).message.replace(/^ImageFolder: /, '')}`);
  }
  const unknown = folder.classes.filter((c) => !classifier.classes.includes(c));
  if (unknown.length > 0) {
    throw new CommandError(
      `${where}: ${data} has class folder${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `'${c}'`).join(', ')} that the model does not know; ` +
        `its classes are ${classifier.classes.join(', ')}`,
    );
  }
  const toModel = folder.classes.map((c) => classifier.classes.indexOf(c));
  const outDir = (values.out as string | undefined) ?? join(dirname(resolve(classifier.source)), 'evaluation');
  const accuracy = await evaluateFiles({
    classifier,
    paths: folder.samples.map((s) => s[0]),
    targets: folder.samples.map((s) => toModel[s[1]]),
    outDir,
    batchSize: values['batch-size'] as number,
    score,
    say,
    where,
  });
  return Number.isNaN(accuracy) ? 1 : 0;
}

/**
 * Grad-CAM overlays of the worst mistakes for the report: where the network saw the class it
 * said, and where it saw the true one, as DIR/<k>-said.png and DIR/<k>-true.png. None for a
 * network without a convolutional stage; a picture that fails is left without.
 */
async function mistakeOverlays(
  classifier: Predictor,
  worst: readonly { path: string; predicted: number; target: number }[],
  dir: string,
): Promise<({ said: string; truth: string } | null)[]> {
  const out: ({ said: string; truth: string } | null)[] = [];
  if (worst.length > 0) mkdirSync(dir, { recursive: true });
  for (const [k, m] of worst.entries()) {
    try {
      const said = join(dir, `${k + 1}-said.png`);
      const truth = join(dir, `${k + 1}-true.png`);
      writeFileAtomic(said, (await explainImage(classifier, m.path, { classIndex: m.predicted, minSize: 160 })).png);
      writeFileAtomic(truth, (await explainImage(classifier, m.path, { classIndex: m.target, minSize: 160 })).png);
      out.push({ said, truth });
    } catch (e) {
      if (e instanceof GradCamError) return [];
      out.push(null);
    }
  }
  return out;
}
