/**
 * `tsvision rescore PREDICTIONS`: every metric again from a predictions file
 * alone (no model, no images): accuracy, confusion matrix, per-class table,
 * most confused pairs, worst mistakes, and a class's operating point.
 */
import { scorePredictions } from '../metrics/analysis.js';
import { readPredictions } from '../metrics/predictions.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError } from './common.js';
import { operatingPointOption } from './evaluate.js';

export const RESCORE: CommandSpec = {
  name: 'rescore',
  summary: 'Recomputes every metric from a predictions file written by tsvision evaluate (or train).',
  positionals: 'PREDICTIONS',
  options: [
    { name: 'class', type: 'string', value: 'NAME', help: 'a class to find an operating point for (with --target-precision or --target-recall)' },
    { name: 'target-precision', type: 'fraction', value: 'P', help: "the lowest threshold on the class's probability reaching this precision" },
    { name: 'target-recall', type: 'fraction', value: 'R', help: 'the threshold reaching this recall with the best precision' },
    { name: 'worst', type: 'count', default: 10, help: 'mistakes to list' },
    { name: 'pairs', type: 'count', default: 5, help: 'confused class pairs to list' },
  ],
  epilog:
    "The file has one line per image: each class's probability, the one-hot truth, the one-hot prediction, the path;\n" +
    'e.g. "0.64460 0.35540 1 0 1 0 ./data/val/logo/13.jpeg". A "# classes: [...]" line names the classes.',
};

export function rescore(argv: string[], say: (line?: string) => void): number {
  const where = 'tsvision rescore';
  const { values, positionals, help } = parseCommand(RESCORE, argv);
  if (help) {
    say(helpText(RESCORE));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`${where}: give one predictions file`);
  let file;
  try {
    file = readPredictions(positionals[0]);
  } catch (e) {
    throw new CommandError(`${where}: ${(e as Error).message}`);
  }
  const scores = scorePredictions(file.classes, file.records, {
    worst: values.worst as number,
    pairs: values.pairs as number,
    operatingPoint: operatingPointOption(values, file.classes, where),
  });
  say(scores.text.trimEnd());
  return 0;
}
