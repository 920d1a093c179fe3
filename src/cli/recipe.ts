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

export const RECIPE_OPTIONS: OptionSpec[] = [
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
