/**
 * `tsvision train --data DIR ...`: trains a registered model on an ImageFolder,
 * with a validation folder or a stratified split, the preset's augmentation,
 * checkpoints (last, best by validation loss, final) and history.csv in --out,
 * then evaluates the best checkpoint on the validation images.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { basename, join, resolve } from 'node:path';
import { ImageFolder } from '../data/image-folder.js';
import { Subset, withTransform } from '../data/dataset.js';
import type { SampleError } from '../data/errors.js';
import { stratifiedSplit } from '../data/split.js';
import { findWeights, getModel, listModels, modelEntry, stageParamGroups } from '../models/index.js';
import { countParameters } from '../nn/index.js';
import { CosineAnnealingLR } from '../optim/lr_scheduler.js';
import { OneCycleLR } from '../optim/one_cycle.js';
import { manualSeed } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { CSVLogger, ModelCheckpoint, type SchedulerLike } from '../train/callbacks.js';
import { readNumberCsv, StepLogger, writeCurvesSvg } from '../train/curves.js';
import { Dashboard } from '../dashboard/callback.js';
import { DashboardError } from '../dashboard/server.js';
import { untilSignal } from './dashboard.js';
import { resolveCheckpoint } from '../train/checkpoint.js';
import { Accuracy } from '../train/metrics.js';
import { Model, type FitOptions } from '../train/model.js';
import { evalTransform, parsePreprocess, trainTransform, AUGMENTATIONS, RESIZE_MODES, type PreprocessConfig } from '../transforms/presets.js';
import { getNumThreads } from '../backend/index.js';
import { DECIMAL, helpText, parseCommand, UsageError, type CommandSpec, type Parsed } from './args.js';
import { CommandError, loadPredictor, requireFolder } from './common.js';
import { loadPretrained, openWeights, pretrainedPreprocess } from './pretrained.js';
import { evaluateFiles } from './evaluate.js';
import { applyRecipe, describeRecipe, RECIPE_OPTIONS, recipeEma, recipeFit, recipeLoss, recipeOf, recipeSettings } from './recipe.js';
import type { Lock } from '../core/lock.js';
import { lockRunFolder, trainFailure } from './train-guard.js';
import { inputDefaults, type InputDefaults } from './data-defaults.js';
import { surveyImages } from '../data/survey.js';
import { makeOptimizer, sweepLearningRates } from './lr-auto.js';

export const TRAIN: CommandSpec = {
  name: 'train',
  summary: 'Trains a classifier on a folder of images with one subfolder per class (data/cat/*.jpg, data/dog/*.jpg, ...).',
  options: [
    { name: 'data', type: 'string', value: 'DIR', help: 'the training images, one subfolder per class' },
    { name: 'val', type: 'string', value: 'DIR', help: 'validation images in the same layout (instead of --val-split)' },
    {
      name: 'val-split',
      type: 'number',
      value: 'F',
      min: 0,
      max: 0.9,
      default: 0.2,
      help: 'share of each class held out for validation when there is no --val (0: none)',
    },
    { name: 'model', type: 'string', value: 'NAME', default: 'convnet', help: 'a registered model (tsvision models lists them); with known --weights, theirs' },
    {
      name: 'weights',
      type: 'string',
      value: 'FILE|NAME',
      help:
        'start from these weights (.pth, .pt, .bin, .safetensors, or a known name such as resnet50.imagenet, downloaded once): every tensor that ' +
        'fits is loaded, a classifier for another number of classes starts fresh',
    },
    {
      name: 'freeze',
      type: 'string',
      choices: ['none', 'backbone'],
      default: 'none',
      help: 'backbone: train only the classifier (batch norm kept in eval mode)',
    },
    {
      name: 'freeze-epochs',
      type: 'count',
      default: 0,
      help: 'train only the classifier for N epochs, then every layer, earlier stages at 1/10 and 1/100 of the learning rate',
    },
    { name: 'epochs', type: 'int', default: 10, help: 'epochs in all (a resumed run counts the epochs already done)' },
    { name: 'batch-size', type: 'int', default: 32, help: 'images per step' },
    { name: 'optimizer', type: 'string', choices: ['sgd', 'adam', 'adamw'], default: 'adamw', help: 'sgd (momentum 0.9, nesterov), adam or adamw' },
    {
      name: 'lr',
      type: 'number',
      words: ['auto'],
      value: 'X|auto',
      help: "peak learning rate (default 0.05 for sgd, 0.001 for adam and adamw); auto: the learning-rate finder's suggestion (see tsvision lr-find)",
    },
    { name: 'weight-decay', type: 'non-negative', value: 'X', help: 'default 5e-4 for sgd, 0 for adam, 0.05 for adamw' },
    { name: 'schedule', type: 'string', choices: ['onecycle', 'cosine', 'none'], default: 'onecycle', help: 'learning-rate schedule' },
    { name: 'image-size', type: 'int', value: 'N', help: "the side images are resized to (default: the pictures' own, at most the model's: 64 for convnet)" },
    { name: 'channels', type: 'int', min: 1, max: 3, help: '3 (RGB) or 1 (grey) (default: 1 when the pictures are grey)' },
    {
      name: 'resize',
      type: 'string',
      choices: RESIZE_MODES,
      default: 'crop',
      help: 'crop: short side then centre crop; letterbox: whole picture, padded; stretch',
    },
    {
      name: 'augment',
      type: 'string',
      choices: AUGMENTATIONS,
      help:
        'standard: random crops, flips, colour; light: small shifts, no flips (digits, text); ' +
        'trivial, rand, auto: crops and flips, then TrivialAugmentWide, RandAugment or AutoAugment (ImageNet policy); none',
    },
    { name: 'out', type: 'string', value: 'DIR', help: 'where checkpoints, history.csv and the evaluation go (default runs/MODEL)' },
    { name: 'resume', type: 'flag', help: 'continue the run in --out from its last checkpoint' },
    { name: 'seed', type: 'count', default: 0, help: 'seeds the weights, the split, the order and the augmentation' },
    { name: 'workers', type: 'count', default: 0, help: 'worker threads decoding and augmenting images (0: the main thread, between steps)' },
    { name: 'dashboard', type: 'flag', help: 'serve a live web page of the run (curves, evaluations); it stays up after training until Ctrl-C' },
    { name: 'dashboard-port', type: 'port', default: 6006, help: 'the port of --dashboard on 127.0.0.1 (0: a free one)' },
    ...RECIPE_OPTIONS,
    {
      name: 'balance',
      type: 'flag',
      help: 'draw every class equally often (a weighted sampler, 1 / class count per image, with replacement) instead of shuffling',
    },
  ],
  epilog:
    "Checkpoints: OUT/last (every epoch), OUT/best (lowest validation loss; with --ema, the average's), OUT/final. History: OUT/history.csv (per epoch),\n" +
    'OUT/steps.csv (per step), OUT/curves.svg (the curves, drawn at the end).\n' +
    'Evaluation of the best checkpoint on the validation images: OUT/evaluation/ (predictions.txt, report.txt, metrics.json).' +
    '\nUnless given, --image-size, --channels and --augment are chosen from a survey of the training pictures; a header line each says what and why.',
};

const DEFAULT_LR = { sgd: 0.05, adam: 1e-3, adamw: 1e-3 } as const;
const DEFAULT_WD = { sgd: 5e-4, adam: 0, adamw: 0.05 } as const;

function openFolder(path: string, channels: 1 | 3, where: string, what: string, options: ConstructorParameters<typeof ImageFolder>[1] = {}): ImageFolder<any> {
  requireFolder(path, where, what);
  try {
    return new ImageFolder(path, { ...options, channels });
  } catch (e) {
    throw new CommandError(`${where}: ${(e as Error).message.replace(/^ImageFolder: /, '')}`);
  }
}

/** Per-channel mean and std of up to 256 training images after the evaluation resize (ToTensor scale, [0, 1]). */
async function channelStats(
  images: ImageFolder<any>,
  indices: readonly number[],
  preset: Omit<PreprocessConfig, 'mean' | 'std'>,
): Promise<{ mean: number[]; std: number[] }> {
  const c = preset.channels;
  const ones = new Array<number>(c).fill(1);
  const folder = withTransform(images, evalTransform({ ...preset, mean: new Array<number>(c).fill(0), std: ones }));
  const take = Math.min(256, indices.length);
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  let n = 0;
  for (let j = 0; j < take; j++) {
    let x: Tensor;
    try {
      [x] = (await folder.getItem(indices[Math.floor((j * indices.length) / take)])) as [Tensor, number];
    } catch {
      continue; // unreadable: the folder has reported it
    }
    const plane = x.size / c;
    const d = x.data as Float32Array;
    for (let k = 0; k < c; k++) {
      for (let i = k * plane; i < (k + 1) * plane; i++) {
        sum[k] += d[i];
        sq[k] += d[i] * d[i];
      }
    }
    n += plane;
  }
  if (n === 0) return { mean: new Array<number>(c).fill(0.5), std: new Array<number>(c).fill(0.25) };
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sq, (s, k) => Math.max(Math.sqrt(Math.max(s / n - mean[k] ** 2, 0)), 1e-3));
  const round = (v: number) => Number(v.toFixed(4));
  return { mean: mean.map(round), std: std.map(round) };
}

function readJSON(path: string): any {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** The checkpoint.json a resumed run continues from: one that does not parse is named, not guessed around. */
function readCheckpointJSON(path: string, where: string): any {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CommandError(`${where}: --resume: ${path}: ${(e as Error).message.split('\n')[0]}; restore it or start a new run with another --out`);
  }
}

export async function train(argv: string[], say: (line?: string) => void, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const run: RunGuard = { lock: null, outDir: null };
  try {
    return await trainGuarded(argv, say, out, run);
  } catch (e) {
    throw trainFailure(e, 'tsvision train', run.outDir);
  } finally {
    run.lock?.release();
  }
}

/** The run's --out and its lock, once taken (released by train whatever happens). */
interface RunGuard {
  lock: Lock | null;
  outDir: string | null;
}

async function trainGuarded(argv: string[], say: (line?: string) => void, out: NodeJS.WritableStream, run: RunGuard): Promise<number> {
  const where = 'tsvision train';
  const parsed = parseCommand(TRAIN, argv);
  if (parsed.help) {
    say(helpText(TRAIN));
    return 0;
  }
  const data = parsed.values.data as string | undefined;
  if (!data) throw new UsageError(`${where}: --data DIR is required (a folder with one subfolder per class)`);
  const weightsArg = parsed.values.weights as string | undefined;
  // known weights name the architecture, unless --model says otherwise
  const knownArch = weightsArg !== undefined && !parsed.given.has('model') ? findWeights(weightsArg)?.architecture : undefined;
  if (knownArch) parsed.values.model = knownArch;
  const outDir = (parsed.values.out as string | undefined) ?? join('runs', parsed.values.model as string);
  requireFolder(data, where, '--data');
  // one run per --out: a second is refused before it reads or writes anything there
  run.lock = lockRunFolder(outDir, where);
  run.outDir = outDir;

  // an earlier run in --out: continue it with --resume, with its own settings; never overwrite it
  const lastDir = join(outDir, 'last');
  const previous = resolveCheckpoint(lastDir);
  if (previous && !parsed.values.resume)
    throw new CommandError(`${where}: ${outDir} already holds a training run; pass --resume to continue it, or choose another --out`);
  let values = parsed.values;
  let resumed: { preset: PreprocessConfig; classes: string[] } | null = null;
  if (parsed.values.resume && previous) {
    const ck = readCheckpointJSON(join(previous, 'checkpoint.json'), where);
    const run = readJSON(join(outDir, 'run.json'))?.settings as Record<string, string | number | boolean> | undefined;
    if (!run) throw new CommandError(`${where}: ${outDir} has no run.json, so its settings are unknown; start a new run with another --out`);
    const arch = ck?.architecture?.name as string | undefined;
    if (parsed.given.has('model') && arch && arch !== parsed.values.model) {
      throw new CommandError(`${where}: the checkpoint in ${previous} is a '${arch}', not a '${parsed.values.model}'; drop --model or choose another --out`);
    }
    for (const k of parsed.given) {
      if (!(k in run) || run[k] === parsed.values[k] || (k === 'epochs' && run.schedule === 'none')) continue;
      // --lr is read as text (a number or auto): the rate found by --lr auto, or the same number, is the same setting
      if (k === 'lr' && (parsed.values.lr === 'auto' ? run['lr-auto'] === true : Number(parsed.values.lr) === run.lr)) continue;
      const why = k === 'epochs' ? `its ${run.schedule} learning-rate schedule was planned for ${run.epochs} epochs` : 'a resumed run keeps its settings';
      throw new CommandError(`${where}: --${k} ${parsed.values[k]} differs from the run in ${outDir} (${run[k]}): ${why}; start a new run with another --out`);
    }
    values = { ...parsed.values, ...run, ...(parsed.given.has('epochs') ? { epochs: parsed.values.epochs } : {}) };
    resumed = { preset: parsePreprocess(ck?.preprocessing, `${where}: ${previous}`), classes: ck?.classes ?? [] };
  } else if (parsed.values.resume) {
    say(`No checkpoint in ${lastDir} to resume from: starting a new run.`);
  }
  const {
    modelName,
    seed,
    channels,
    reported,
    base,
    classes,
    trainIdx,
    valPaths,
    valTargets,
    preset,
    imageSize,
    net,
    trainSet,
    valSet,
    recipeApplied,
    inputLines,
  } = await setUpData(values, parsed.given, { where, data, outDir, weightsArg, resumed }, say);
  const freezeEpochs = Math.min(values['freeze-epochs'] as number, values.epochs as number);

  const opt = values.optimizer as 'sgd' | 'adam' | 'adamw';
  const lrArg = parseLr(values.lr, where);
  let lr = typeof lrArg === 'number' ? lrArg : DEFAULT_LR[opt];
  const weightDecay = (values['weight-decay'] as number | undefined) ?? DEFAULT_WD[opt];
  const epochs = values.epochs as number;
  const batchSize = values['batch-size'] as number;
  const schedule = values.schedule as string;
  const recipe = recipeOf(values, where);
  const ema = recipeEma(recipe);
  let lrLine: string | null = null;
  if (lrArg === 'auto' && !resumed) {
    say(`Learning-rate finder (--lr auto) on the ${trainIdx.length} training images:`);
    const found = await sweepLearningRates(
      { net, trainSet, opt, weightDecay, recipe, numClasses: classes.length, batchSize, seed, workers: values.workers as number, outDir, where },
      say,
    );
    lr = found.lr;
    lrLine = `Learning rate: ${lr}, found by the learning-rate finder (the steepest descent of the loss; ${found.svg}).`;
    say('');
  }
  if (!resumed) {
    // what --resume continues with
    const settings = {
      model: modelName,
      epochs,
      'batch-size': batchSize,
      optimizer: opt,
      lr,
      ...(lrArg === 'auto' ? { 'lr-auto': true } : {}),
      'weight-decay': weightDecay,
      schedule,
      'image-size': imageSize,
      channels,
      resize: preset.resizeMode,
      augment: preset.augment,
      seed,
      freeze: values.freeze as string,
      'freeze-epochs': freezeEpochs,
      balance: values.balance === true,
      ...(weightsArg !== undefined ? { weights: weightsArg } : {}),
      ...recipeSettings(recipe),
      recipe: (values.recipe as string | undefined) ?? 'none',
      ...(values.val !== undefined ? { val: values.val as string } : { 'val-split': values['val-split'] as number }),
    };
    mkdirSync(outDir, { recursive: true });
    writeFileAtomic(join(outDir, 'run.json'), Buffer.from(`${JSON.stringify({ command: ['tsvision', 'train', ...argv], settings }, null, 2)}\n`, 'utf8'));
  }
  const stepsPerEpoch = Math.ceil(trainIdx.length / batchSize);
  /** The optimizer and schedule of a phase of `phaseEpochs` epochs: plain, or per-stage learning rates after a frozen phase. */
  const phase = (phaseEpochs: number, stages: boolean) => {
    const params = stages ? stageParamGroups(net, lr, { groups: 3, factor: 10 }) : net.parameters();
    const optimizer = makeOptimizer(opt, params, lr, weightDecay);
    const maxLr = stages ? (params as { lr: number }[]).map((g) => g.lr) : lr;
    const scheduler: SchedulerLike | null =
      schedule === 'onecycle'
        ? new OneCycleLR(optimizer, { maxLr, totalSteps: Math.max(1, phaseEpochs * Math.ceil(stepsPerEpoch / recipe.accumulate)) })
        : schedule === 'cosine'
          ? new CosineAnnealingLR(optimizer, { tMax: phaseEpochs })
          : null;
    return { optimizer, ...recipeLoss(recipe), metrics: [new Accuracy()], scheduler };
  };
  const resumedEpoch = resumed ? ((readJSON(join(previous ?? lastDir, 'checkpoint.json'))?.epoch as number | undefined) ?? 0) : 0;
  const inFrozenPhase = freezeEpochs > 0 && resumedEpoch < freezeEpochs;
  if (inFrozenPhase) net.freeze().unfreeze(net.classifier);
  const model = new Model(net, { classes, preprocessing: { ...preset } }).prepare(
    inFrozenPhase ? phase(freezeEpochs, false) : freezeEpochs > 0 ? phase(epochs - freezeEpochs, true) : phase(epochs, false),
  );

  // with the average on, best is the epoch whose average scored best: the average is what it serves
  const monitor = ema && valSet ? 'eval_ema_loss' : 'eval_loss';
  const checkpoints = new ModelCheckpoint({ dir: outDir, saveFreq: 0, monitor });
  if (resumed) {
    const best = readJSON(join(resolveCheckpoint(join(outDir, 'best')) ?? join(outDir, 'best'), 'checkpoint.json'))?.metrics?.[monitor];
    if (typeof best === 'number') checkpoints.best = best;
  }
  const counts = classes.map((_, k) => trainIdx.reduce((a, i) => a + (base.targets[i] === k ? 1 : 0), 0));
  say(`tsvision train: ${modelName} (${countParameters(net).toLocaleString('en-US')} parameters) on ${getNumThreads()} CPU threads.`);
  say(
    `Data: ${trainIdx.length} training images in ${classes.length} classes (${classes.map((c, k) => `${c} ${counts[k]}`).join(', ')}); ` +
      `${valPaths.length ? `${valPaths.length} validation images` : 'no validation'}.`,
  );
  say(
    `Input: ${imageSize}x${imageSize} ${channels === 3 ? 'RGB' : 'grey'}, resize ${preset.resizeMode}, augmentation ${preset.augment}, mean ` +
      `[${preset.mean.join(', ')}], std [${preset.std.join(', ')}].`,
  );
  for (const line of inputLines) say(line);
  say(
    `Optimizer: ${opt} lr ${lr} weight decay ${weightDecay}, schedule ${schedule}; ${epochs} epochs of ${stepsPerEpoch} steps (batch ${batchSize}). ` +
      `Output: ${outDir}`,
  );
  if (recipeApplied?.line) say(recipeApplied.line);
  if (lrLine) say(lrLine);
  const recipeLine = describeRecipe(recipe, batchSize);
  if (recipeLine) say(recipeLine);
  if (values.balance === true) say(`Sampling: balanced, each class drawn 1/${classes.length} of the time (a weighted sampler with replacement).`);
  if (freezeEpochs > 0) say(`Fine-tuning: the classifier alone for ${freezeEpochs} epoch(s), then every layer (earlier stages at lr / 10 and lr / 100).`);
  else if (values.freeze === 'backbone')
    say(
      `Fine-tuning: the classifier alone; the backbone is frozen (${countParameters(net, { trainableOnly: true }).toLocaleString('en-US')} parameters learn).`,
    );
  say('');

  let dash: Dashboard | null = null;
  if (parsed.values.dashboard) {
    // a resumed run shows the epochs it keeps
    const kept = (rows: ReturnType<typeof readNumberCsv>) => rows.filter((r) => r.epoch <= resumedEpoch);
    dash = new Dashboard({
      port: parsed.values['dashboard-port'] as number,
      name: basename(resolve(outDir)),
      dir: outDir,
      settings: readJSON(join(outDir, 'run.json'))?.settings ?? {},
      evalPaths: valPaths,
      classes,
      log: (line) => say(line),
      ...(resumed ? { history: { epochs: kept(readNumberCsv(join(outDir, 'history.csv'))), steps: kept(readNumberCsv(join(outDir, 'steps.csv'))) } } : {}),
    });
    try {
      await dash.start();
    } catch (e) {
      if (e instanceof DashboardError) throw new CommandError(`${where}: --dashboard: ${e.message}`);
      throw e;
    }
    say('');
  }

  const verbose = (out as NodeJS.WriteStream).isTTY ? 1 : 2;
  const fitOptions: FitOptions = {
    batchSize,
    shuffle: true,
    seed,
    verbose,
    logFreq: Math.max(1, Math.ceil(stepsPerEpoch / 4)),
    out,
    numWorkers: parsed.values.workers as number,
    balance: values.balance === true,
    evalData: valSet ?? undefined,
    // the history row before the checkpoints: a run killed between them resumes from the previous
    // checkpoint, and the logger drops the rows after it, so no epoch is missing or written twice
    callbacks: [
      new CSVLogger(join(outDir, 'history.csv')),
      checkpoints,
      new StepLogger(join(outDir, 'steps.csv')),
      ...(ema ? [ema] : []),
      ...(dash ? [dash] : []),
    ],
    ...recipeFit(recipe, classes.length),
  };
  if (inFrozenPhase) {
    await model.fit(trainSet, { ...fitOptions, epochs: freezeEpochs, ...(resumed ? { resume: lastDir } : {}) });
    net.unfreeze();
    model.prepare(phase(epochs - freezeEpochs, true));
    if (epochs > freezeEpochs) await model.fit(trainSet, { ...fitOptions, epochs });
  } else {
    await model.fit(trainSet, { ...fitOptions, epochs, ...(resumed ? { resume: lastDir } : {}) });
  }
  if (base.badFiles.size > 0) say(`\n${base.badFiles.size} image(s) in ${data} could not be read and were skipped (listed above).`);
  say(`\nCurves: ${writeCurvesSvg(outDir, `${modelName} in ${outDir}`)}`);

  if (!valSet) {
    say(`\nDone. Checkpoints in ${outDir} (last, final); no validation images, so no evaluation.`);
    return await keepDashboard(dash, say);
  }
  const bestDir = existsSync(join(outDir, 'best', 'checkpoint.json')) ? join(outDir, 'best') : join(outDir, 'final');
  const classifier = loadPredictor(bestDir, where);
  const which = classifier.weights === 'ema' ? "lowest validation loss of the weights' moving average, which it serves" : 'lowest validation loss';
  say(`\nThe best checkpoint (epoch ${classifier.epoch}, ${which}) on the ${valPaths.length} validation images:\n`);
  await evaluateFiles({
    classifier,
    paths: valPaths,
    targets: valTargets,
    outDir: join(outDir, 'evaluation'),
    batchSize: Math.max(batchSize, 64),
    score: {},
    say,
    where,
    reported,
  });
  say(`\nNext: tsvision evaluate --checkpoint ${bestDir} --data DIR, or tsvision predict --checkpoint ${bestDir} IMAGE...`);
  await dash?.showPredictions(join(outDir, 'evaluation', 'predictions.txt'), `${bestDir} checkpoint (epoch ${classifier.epoch})`);
  return await keepDashboard(dash, say);
}

/** Surveys the training pictures and chooses the input that fits them (data-defaults.ts). */
async function chooseInput(
  base: ImageFolder<any>,
  entry: ReturnType<typeof modelEntry>,
  values: Record<string, unknown>,
  given: ReadonlySet<string>,
  numClasses: number,
): Promise<InputDefaults> {
  const weightsArg = values.weights as string | undefined;
  const known = weightsArg !== undefined ? findWeights(weightsArg) : null;
  const pretrained = weightsArg === undefined ? null : { cropSize: known?.preprocess.cropSize ?? entry.imageSize, name: known ? known.name : 'the weights' };
  const survey = await surveyImages(base.samples.map((s) => s[0]));
  return inputDefaults(survey, {
    model: entry,
    pretrained,
    resizeMode: values.resize as string,
    numClasses,
    given: { imageSize: values['image-size'] as number | undefined, channels: values.channels as 1 | 3 | undefined },
  });
}

/** Puts the chosen input into `values` where neither the command line nor the recipe set it; the header's lines for those. */
function fittedLines(fitted: InputDefaults, values: Record<string, unknown>, given: ReadonlySet<string>, byRecipe: readonly string[]): string[] {
  const lines: string[] = [];
  const open = (k: string) => !given.has(k) && !byRecipe.includes(k);
  // pretrained weights keep their own size, which pretrainedPreprocess applies
  if (open('image-size')) {
    if (values.weights === undefined) values['image-size'] = fitted.imageSize;
    lines.push(`Image size: ${fitted.why.imageSize}`);
  }
  if (open('channels')) lines.push(`Channels: ${fitted.why.channels}`);
  if (open('augment')) {
    values.augment = fitted.augment;
    lines.push(`Augmentation: ${fitted.why.augment}`);
  }
  return lines;
}

/** With --dashboard, the page stays up after training until SIGINT or SIGTERM. */
async function keepDashboard(dash: Dashboard | null, say: (line?: string) => void): Promise<number> {
  if (!dash) return 0;
  say(`\nThe dashboard stays at ${dash.url} until Ctrl-C.`);
  await untilSignal();
  await dash.close();
  return 0;
}

type ValSet = { length: number; getItem(i: number): unknown };

/**
 * What train and lr-find set up alike from the data and model options: the folder listed once,
 * the validation split, the preprocessing (with measured mean and std), the network (with
 * --weights and --freeze backbone) and the datasets.
 */
export async function setUpData(
  values: Parsed['values'],
  given: ReadonlySet<string>,
  {
    where,
    data,
    outDir,
    weightsArg,
    resumed,
  }: { where: string; data: string; outDir: string; weightsArg?: string; resumed: { preset: PreprocessConfig; classes: string[] } | null },
  say: (line?: string) => void,
) {
  const parsed = { given };
  const modelName = values.model as string;
  const seed = values.seed as number;
  const channelsArg = values.channels as number | undefined;
  if (channelsArg !== undefined && channelsArg !== 1 && channelsArg !== 3) throw new UsageError(`${where}: --channels must be 1 or 3, got ${channelsArg}`);
  let entry;
  try {
    entry = modelEntry(modelName);
  } catch {
    throw new CommandError(`${where}: unknown model '${modelName}'; the models are ${listModels().join(', ')}`);
  }
  let channels = resumed?.preset.channels ?? (channelsArg as 1 | 3 | undefined) ?? 3;

  // a file that does not decode: one line naming it, then training goes on without it
  const reported = new Set<string>();
  const report = (e: SampleError) => {
    if (e.path !== undefined) reported.add(e.path);
    process.stderr.write(`${where}: ${e.message.replace(/^ImageFolder: /, '')}\n`);
  };
  // the folder is listed once; the statistics, training and validation sets are views of it
  let base = openFolder(data, channels, where, '--data', { onError: report });
  const classes = [...base.classes];
  if (resumed && resumed.classes.join('\n') !== classes.join('\n')) {
    throw new CommandError(`${where}: the run in ${outDir} was trained on classes ${resumed.classes.join(', ')}, but ${data} has ${classes.join(', ')}`);
  }
  // what the command line leaves open is chosen from a survey of the pictures
  const fitted: InputDefaults | null = resumed ? null : await chooseInput(base, entry, values, parsed.given, classes.length);
  if (fitted && !parsed.given.has('channels') && fitted.channels !== channels) {
    channels = fitted.channels;
    base = new ImageFolder(data, { onError: report, channels }, { classes: base.classes, samples: base.samples as [string, number][] });
  }
  let trainIdx: number[] = base.samples.map((_, i) => i);
  let valPaths: string[] = [];
  let valTargets: number[] = [];
  let makeVal: ((p: PreprocessConfig) => ValSet) | null = null;
  if (values.val !== undefined) {
    const valDir = values.val as string;
    const v = openFolder(valDir, channels, where, '--val', { onError: report });
    const unknown = v.classes.filter((c) => !classes.includes(c));
    if (unknown.length)
      throw new CommandError(
        `${where}: --val ${valDir} has class folder${unknown.length > 1 ? 's' : ''} ${unknown.map((c) => `'${c}'`).join(', ')} that ${data} lacks`,
      );
    const toTrain = v.classes.map((c) => classes.indexOf(c));
    valPaths = v.samples.map((s) => s[0]);
    valTargets = v.samples.map((s) => toTrain[s[1]]);
    // relabel only when the folders' classes differ (a function cannot go to a worker thread)
    const same = toTrain.every((t, k) => t === k);
    makeVal = (p) => withTransform(v, evalTransform(p), same ? undefined : (t: number) => toTrain[t]);
  } else if ((values['val-split'] as number) > 0) {
    const split = stratifiedSplit(base.targets, values['val-split'] as number, { seed });
    trainIdx = split.train;
    valPaths = split.val.map((i) => base.samples[i][0]);
    valTargets = split.val.map((i) => base.samples[i][1]);
    makeVal = (p) => withTransform(new Subset(base, split.val), evalTransform(p));
  }

  const recipeApplied = resumed ? null : applyRecipe(values, parsed.given, { trainImages: trainIdx.length });
  const inputLines = fitted ? fittedLines(fitted, values, parsed.given, recipeApplied?.set ?? []) : [];
  const pretrained = weightsArg !== undefined && !resumed ? await openWeights(weightsArg, where) : null;
  const sizeArg = values['image-size'] as number | undefined;
  let preset: PreprocessConfig;
  if (resumed) preset = resumed.preset;
  else if (pretrained) preset = pretrainedPreprocess(pretrained.known?.preprocess ?? null, sizeArg ?? entry.imageSize, channels, values, parsed.given);
  else {
    const s = sizeArg ?? entry.imageSize;
    const shape = {
      resizeSize: s,
      cropSize: s,
      interpolation: 'bilinear' as const,
      channels,
      resizeMode: values.resize as PreprocessConfig['resizeMode'],
      augment: values.augment as PreprocessConfig['augment'],
    };
    preset = { ...shape, ...(await channelStats(base, trainIdx, shape)) };
  }
  const imageSize = preset.cropSize;

  manualSeed(seed);
  let net;
  try {
    net = getModel(modelName, { ...entry.configFor({ channels, imageSize, numClasses: classes.length }), ...pretrained?.known?.config });
  } catch (e) {
    throw new CommandError(`${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (pretrained) say(loadPretrained(net, pretrained, where));
  if (values.freeze === 'backbone') net.freeze().unfreeze(net.classifier);
  const trainSet = withTransform(new Subset(base, trainIdx), trainTransform(preset));
  const valSet = makeVal ? makeVal(preset) : null;
  return {
    modelName,
    seed,
    channels,
    reported,
    base,
    classes,
    trainIdx,
    valPaths,
    valTargets,
    preset,
    imageSize,
    net,
    trainSet,
    valSet,
    recipeApplied,
    inputLines,
  };
}

/** --lr: a positive number, or 'auto'; undefined when not given. */
function parseLr(v: unknown, where: string): number | 'auto' | undefined {
  if (v === undefined || typeof v === 'number') return v;
  if (v === 'auto') return 'auto';
  // parseCommand has checked it: a positive number, or auto
  const x = Number(v);
  if (!DECIMAL.test(String(v)) || !Number.isFinite(x) || x <= 0) throw new UsageError(`${where}: --lr must be a positive number or auto, got ${String(v)}`);
  return x;
}
