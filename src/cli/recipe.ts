/**
 * The training recipe's options of `tsvision train` (MixUp / CutMix, label smoothing,
 * the weights' moving average, gradient accumulation) and what they turn into for
 * Model.fit. Declared once here; train.ts appends them to its options.
 */
import { Mixup } from '../data/mixing.js';
import { CrossEntropyLoss } from '../nn/loss.js';
import { ModelEma } from '../train/ema.js';
import type { FitOptions, PrepareOptions } from '../train/model.js';
import type { OptionSpec } from './args.js';
import { UsageError } from './args.js';

/** What a recipe's entry may depend on. */
export interface RecipeData {
  trainImages: number;
}

/** An option's value under a recipe: fixed, or chosen from the data (null: left at the option's own default). */
export type RecipeDefault = string | number | ((data: RecipeData) => string | number | null);

/** Mixing slows fitting; below this many training images a short run does not recover what it costs. */
export const MIXING_MIN_IMAGES = 1000;

const enoughToMix =
  (alpha: number) =>
  ({ trainImages }: RecipeData): number | null =>
    trainImages >= MIXING_MIN_IMAGES ? alpha : null;

/** `--recipe NAME`: defaults for other options, in one word; an option given on the command line overrides its entry. */
export const RECIPES: Record<string, Readonly<Record<string, RecipeDefault>>> = {
  none: {},
  strong: {
    'label-smoothing': 0.1,
    mixup: enoughToMix(0.2),
    cutmix: enoughToMix(1.0),
    // with warmup, the average spans about the last tenth of a run shorter than 9,000 steps
    ema: 0.999,
    augment: 'trivial',
  },
};

export const RECIPE_OPTIONS: OptionSpec[] = [
  {
    name: 'recipe',
    type: 'string',
    choices: Object.keys(RECIPES),
    default: 'none',
    help:
      `strong: label smoothing 0.1, MixUp 0.2 / CutMix 1.0 (from ${MIXING_MIN_IMAGES.toLocaleString('en-US')} training images), ` +
      'a moving average of the weights (0.999), TrivialAugmentWide; options given beside it win',
  },
  {
    name: 'mixup',
    type: 'non-negative',
    value: 'A',
    default: 0,
    help: 'MixUp: each batch blended with itself reversed, λ ~ Beta(A, A) (0.2-0.8 typical; 0: off)',
  },
  {
    name: 'cutmix',
    type: 'non-negative',
    value: 'A',
    default: 0,
    help: 'CutMix: a box of another picture pasted in, its share from Beta(A, A) (1.0 typical; 0: off); with --mixup, one or the other per batch',
  },
  { name: 'label-smoothing', type: 'probability', value: 'E', default: 0, help: 'targets (1-E)·onehot + E/classes (0.1 typical; 0: off)' },
  {
    name: 'ema',
    type: 'number',
    value: 'D',
    min: 0,
    max: 0.99999,
    help: "keep a moving average of the weights with decay D (0.99-0.9999), evaluated every epoch: best and the deployed weights are the average's",
  },
  { name: 'accumulate', type: 'int', default: 1, help: 'optimizer step every N batches: the gradient of N x --batch-size images' },
];

export interface Recipe {
  mixup: number;
  cutmix: number;
  labelSmoothing: number;
  ema: number | null;
  accumulate: number;
}

/** The recipe of parsed values (or a resumed run's settings). */
export function recipeOf(values: Record<string, unknown>, where: string): Recipe {
  const num = (k: string, d: number) => {
    const v = values[k];
    if (v === undefined) return d;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new UsageError(`${where}: --${k} needs a number, got ${String(v)}`);
    return v;
  };
  const ema = values.ema === undefined || values.ema === null ? null : num('ema', 0);
  return { mixup: num('mixup', 0), cutmix: num('cutmix', 0), labelSmoothing: num('label-smoothing', 0), ema, accumulate: num('accumulate', 1) };
}

/** What run.json records (so --resume continues with the same recipe). */
export function recipeSettings(r: Recipe): Record<string, number> {
  return { mixup: r.mixup, cutmix: r.cutmix, 'label-smoothing': r.labelSmoothing, accumulate: r.accumulate, ...(r.ema !== null ? { ema: r.ema } : {}) };
}

/** The loss for prepare(): smoothing in the loss, or in the mixed targets; evaluations use plain cross-entropy. */
export function recipeLoss(r: Recipe): Pick<PrepareOptions, 'loss' | 'evalLoss'> {
  const mixing = r.mixup > 0 || r.cutmix > 0;
  return {
    loss: new CrossEntropyLoss({ labelSmoothing: mixing ? 0 : r.labelSmoothing }),
    // the validation loss (which picks `best`) means the same whatever the recipe
    evalLoss: r.labelSmoothing > 0 ? new CrossEntropyLoss() : null,
  };
}

/** fit's options for the recipe. */
export function recipeFit(r: Recipe, numClasses: number): Pick<FitOptions, 'mixing' | 'accumulateSteps'> {
  const mixing =
    r.mixup > 0 || r.cutmix > 0
      ? new Mixup({ numClasses, mixupAlpha: r.mixup, cutmixAlpha: r.cutmix, labelSmoothing: r.labelSmoothing, prob: 1, switchProb: 0.5 })
      : null;
  return { mixing, accumulateSteps: r.accumulate };
}

/** The average, one for both phases of a fine-tuning run (with warmup, so that short runs are not held at the first weights), or null. */
export function recipeEma(r: Recipe): ModelEma | null {
  return r.ema === null ? null : new ModelEma({ decay: r.ema, warmup: true });
}

/** One line for the run's header, or null when nothing is on. */
export function describeRecipe(r: Recipe, batchSize: number): string | null {
  const parts: string[] = [];
  if (r.mixup > 0 && r.cutmix > 0) parts.push(`MixUp (alpha ${r.mixup}) or CutMix (alpha ${r.cutmix}) per batch`);
  else if (r.mixup > 0) parts.push(`MixUp (alpha ${r.mixup})`);
  else if (r.cutmix > 0) parts.push(`CutMix (alpha ${r.cutmix})`);
  if (r.labelSmoothing > 0) parts.push(`label smoothing ${r.labelSmoothing}`);
  if (r.ema !== null) parts.push(`moving average of the weights (decay ${r.ema}, with warmup)`);
  if (r.accumulate > 1) parts.push(`gradients of ${r.accumulate} batches per step (${r.accumulate * batchSize} images)`);
  return parts.length ? `Recipe: ${parts.join(', ')}.` : null;
}

/**
 * Sets the options `values[recipe]` names that the command line did not give (`given`), in place;
 * returns their names and the header's line, or null for the recipe `none`.
 */
export function applyRecipe(values: Record<string, unknown>, given: ReadonlySet<string>, data: RecipeData): { set: string[]; line: string | null } {
  const name = String(values.recipe ?? 'none');
  const table = RECIPES[name];
  if (!table) throw new UsageError(`tsvision train: --recipe must be one of ${Object.keys(RECIPES).join(', ')}, got '${name}'`);
  const set: string[] = [];
  const kept: string[] = [];
  const skipped: string[] = [];
  for (const [option, entry] of Object.entries(table)) {
    if (given.has(option)) {
      kept.push(`--${option} ${String(values[option])}`);
      continue;
    }
    const v = typeof entry === 'function' ? entry(data) : entry;
    if (v === null) {
      skipped.push(`--${option}`);
      continue;
    }
    values[option] = v;
    set.push(option);
  }
  if (Object.keys(table).length === 0) return { set, line: null };
  const parts = [set.length ? `sets ${set.map((o) => `--${o} ${String(values[o])}`).join(' ')}` : 'sets nothing'];
  if (kept.length) parts.push(`given: ${kept.join(' ')}`);
  if (skipped.length)
    parts.push(
      `no ${skipped.join(' or ')}: ${data.trainImages.toLocaleString('en-US')} training images, ` +
        `fewer than the ${MIXING_MIN_IMAGES.toLocaleString('en-US')} mixing needs`,
    );
  return { set, line: `Recipe ${name}: ${parts.join('; ')}.` };
}
