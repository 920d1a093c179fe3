/**
 * `tsvision lr-find --data DIR [--model NAME] ...`: the learning-rate range test on the training
 * images, with train's own data, model and optimizer options (declared once, in TRAIN) and the
 * same setup; plots the loss against the rate in the terminal, writes OUT/lr-find.svg and
 * prints the suggested rate, which `train --lr X` (or `--lr auto`) takes.
 */
import { join } from 'node:path';
import { countParameters } from '../nn/index.js';
import { manualSeed } from '../tensor/random.js';
import { findWeights } from '../models/index.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { requireFolder } from './common.js';
import { SWEEP_OPTIONS, sweepLearningRates, type OptimizerName } from './lr-auto.js';
import { recipeOf } from './recipe.js';
import { setUpData, TRAIN } from './train.js';

/** train's options that shape the sweep: the data, the network, the input, the optimizer and the loss. */
const SHARED = [
  'data',
  'val',
  'val-split',
  'model',
  'weights',
  'freeze',
  'batch-size',
  'optimizer',
  'weight-decay',
  'image-size',
  'channels',
  'resize',
  'augment',
  'seed',
  'workers',
  'mixup',
  'cutmix',
  'label-smoothing',
];

export const LR_FIND: CommandSpec = {
  name: 'lr-find',
  summary: 'Finds a learning rate: the loss over a geometric sweep of rates (the range test), plotted, with the steepest descent suggested.',
  options: [
    ...TRAIN.options.filter((o) => SHARED.includes(o.name)),
    { name: 'out', type: 'string', value: 'DIR', help: 'where lr-find.svg goes (default runs/MODEL, where train would write)' },
    ...SWEEP_OPTIONS,
  ],
  epilog:
    'The suggestion is where the smoothed loss falls fastest against log(lr); the weights are not kept. ' +
    'train --lr auto runs the same sweep and trains with its suggestion.',
};

const DEFAULT_WD = { sgd: 5e-4, adam: 0, adamw: 0.05 } as const;

export async function lrFindCommand(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision lr-find';
  const parsed = parseCommand(LR_FIND, argv);
  if (parsed.help) {
    say(helpText(LR_FIND));
    return 0;
  }
  const values = parsed.values;
  const data = values.data as string | undefined;
  if (!data) throw new UsageError(`${where}: --data DIR is required (a folder with one subfolder per class)`);
  const weightsArg = values.weights as string | undefined;
  const knownArch = weightsArg !== undefined && !parsed.given.has('model') ? findWeights(weightsArg)?.architecture : undefined;
  if (knownArch) values.model = knownArch;
  const outDir = (values.out as string | undefined) ?? join('runs', values.model as string);
  requireFolder(data, where, '--data');
  if ((values['end-lr'] as number) <= (values['start-lr'] as number)) throw new UsageError(`${where}: --end-lr must be above --start-lr`);
  const { modelName, seed, classes, trainIdx, net, trainSet } = await setUpData(values, parsed.given, { where, data, outDir, weightsArg, resumed: null }, say);
  const opt = values.optimizer as OptimizerName;
  const weightDecay = (values['weight-decay'] as number | undefined) ?? DEFAULT_WD[opt];
  const batchSize = values['batch-size'] as number;
  say(
    `tsvision lr-find: ${modelName} (${countParameters(net).toLocaleString('en-US')} parameters), ${opt} weight decay ${weightDecay}, batch ${batchSize}, ` +
      `on ${trainIdx.length} training images in ${classes.length} classes.\n`,
  );
  manualSeed(seed);
  const { lr, svg } = await sweepLearningRates(
    {
      net,
      trainSet,
      opt,
      weightDecay,
      recipe: recipeOf(values, where),
      numClasses: classes.length,
      batchSize,
      seed,
      workers: values.workers as number,
      outDir,
      where,
      startLr: values['start-lr'] as number,
      endLr: values['end-lr'] as number,
      numIter: values['num-iter'] as number,
      smoothing: values.smoothing as number,
    },
    say,
  );
  say(`Suggested learning rate: ${lr} (the steepest descent of the smoothed loss). Plot: ${svg}`);
  say(`Next: tsvision train --data ${data} --model ${modelName} --optimizer ${opt} --lr ${lr}  (or --lr auto)`);
  return 0;
}
