/**
 * Predictor: a trained classifier ready to answer, the one inference path of the
 * library, the command line, the server and the tagger.
 *
 *   const p = Predictor.fromCheckpoint('runs/logos/best');
 *   const rows = await p.classifyFiles(['a.jpg', 'b.png'], { topk: 3 });
 *   const probs = p.probabilities(batch);          // [N, C, H, W] → [N, classes], synchronous
 *
 * It owns its network in evaluation mode: every forward runs synchronously under
 * noGrad, so concurrent callers (requests awaiting decodes) never see the network
 * switch modes. Pictures are decoded with sharp and preprocessed by the checkpoint's
 * PreprocessConfig, exactly as in training's evaluation.
 */
import { loadImage } from '../data/decode.js';
import { DataLoader } from '../data/loader.js';
import { SampleError } from '../data/errors.js';
import { getModel, modelEntry, type ImageClassifier } from '../models/index.js';
import { fuseForInference, type InferenceFusion } from '../nn/fuse.js';
import { skipInit } from '../nn/init.js';
import { StateDictError, type Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { softmax } from '../tensor/ops/reduce.js';
import type { Tensor } from '../tensor/tensor.js';
import { evalTransform, parsePreprocess, type PreprocessConfig } from '../transforms/presets.js';
import type { Compose } from '../transforms/basic.js';
import { loadCheckpoint, resolveCheckpoint, type CheckpointContents } from './checkpoint.js';
import { checkTTA, ttaProbabilities, type TTA } from './tta.js';

/** A checkpoint that cannot serve: the message is one line naming the checkpoint. */
export class PredictorError extends Error {
  override name = 'PredictorError';
}

export interface PredictorOptions {
  preprocess: PreprocessConfig;
  classes: string[];
  /** where the network came from (a checkpoint directory), for messages */
  source?: string;
  /** the checkpoint's recorded epoch, when there is one */
  epoch?: number;
  /**
   * Run the network's inference form (batch norm folded into convolutions, activations in their
   * epilogues; see fuseForInference), set up on the first batch. Default true. The network's own
   * weights are then read once: call resetFusion() after changing them.
   */
  fuse?: boolean;
  /** test-time augmentation of probabilities() and everything built on it (default 'none'; see tta.ts) */
  tta?: TTA;
  /** which of a checkpoint's weights the network holds, for messages: 'raw', or 'ema' (the moving average) */
  weights?: 'raw' | 'ema';
}

export interface FromCheckpointOptions {
  /** a checkpoint holding a moving average of the weights (ModelEma) serves the average unless this is 'raw' */
  weights?: 'raw' | 'ema';
  tta?: TTA;
}

export interface TopClass {
  class: string;
  index: number;
  probability: number;
}

export interface FileResult {
  /** position in the list of paths given */
  index: number;
  path: string;
  /** every class's probability, in class order */
  probs: number[];
}

export interface ClassifyOptions {
  batchSize?: number;
  /** told of each file that does not decode; the file is left out of the results */
  onSkip?: (path: string, reason: string) => void;
}

/** A StateDictError's gist on one line. */
export function stateDictGist(e: StateDictError): string {
  const some = (keys: string[]) => `${keys.slice(0, 2).join(', ')}${keys.length > 2 ? ', …' : ''}`;
  const parts: string[] = [];
  if (e.missingKeys.length) parts.push(`${e.missingKeys.length} missing (${some(e.missingKeys)})`);
  if (e.unexpectedKeys.length) parts.push(`${e.unexpectedKeys.length} unexpected (${some(e.unexpectedKeys)})`);
  if (e.mismatchedKeys.length) {
    const m = e.mismatchedKeys[0];
    parts.push(`${e.mismatchedKeys.length} of another shape (${m.key}: [${m.got.join(', ')}], the network has [${m.expected.join(', ')}])`);
  }
  return parts.join('; ');
}

/** The k most probable classes of one probability row, most probable first (ties: the lower index first). */
export function topK(probs: ArrayLike<number>, classes: readonly string[], k: number): TopClass[] {
  return Array.from(probs, (probability, index) => ({ class: classes[index], index, probability }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, Math.max(0, Math.min(k, probs.length)));
}

export class Predictor {
  readonly net: Module;
  readonly preprocess: PreprocessConfig;
  readonly classes: string[];
  readonly source: string;
  readonly epoch: number | null;
  readonly transform: Compose;
  readonly fuse: boolean;
  readonly tta: TTA;
  readonly weights: 'raw' | 'ema';
  #fusion: InferenceFusion | null = null;

  /** Takes `net` over: it is put in evaluation mode and kept there. */
  constructor(net: Module, { preprocess, classes, source = '<network>', epoch, fuse = true, tta = 'none', weights = 'raw' }: PredictorOptions) {
    if (classes.length < 1) throw new PredictorError(`Predictor: ${source} has no class names`);
    this.net = net.eval();
    this.preprocess = preprocess;
    this.classes = [...classes];
    this.source = source;
    this.epoch = epoch ?? null;
    this.transform = evalTransform(preprocess);
    this.fuse = fuse;
    try {
      this.tta = checkTTA(tta, 'Predictor');
    } catch (e) {
      throw new PredictorError((e as Error).message);
    }
    this.weights = weights;
  }

  /** What the inference form fused (null before the first batch, or with fuse off). */
  get fusion(): InferenceFusion | null {
    return this.#fusion;
  }

  /** Drops the inference form, so that the next batch builds it again from the network's current weights. */
  resetFusion(): void {
    this.#fusion?.remove();
    this.#fusion = null;
  }

  #forward(x: Tensor): Tensor {
    if (this.fuse && this.#fusion === null) this.#fusion = fuseForInference(this.net, x);
    return noGrad(() => this.net.call(x));
  }

  /** The classifier of a checkpoint directory (as tsvision train and Model.save write), with its recorded preprocessing and classes. */
  static fromCheckpoint(dir: string, { weights, tta = 'none' }: FromCheckpointOptions = {}): Predictor {
    if (resolveCheckpoint(dir) === null) throw new PredictorError(`no checkpoint at ${dir} (expected a folder with checkpoint.json, as tsvision train writes)`);
    let ck: CheckpointContents;
    try {
      ck = loadCheckpoint(dir);
    } catch (e) {
      throw new PredictorError((e as Error).message.split('\n')[0]);
    }
    const arch = ck.info.architecture;
    if (!arch) throw new PredictorError(`the checkpoint at ${ck.path} does not record its architecture`);
    const classes = ck.info.classes;
    if (!classes || classes.length < 2) throw new PredictorError(`the checkpoint at ${ck.path} does not record its class names`);
    let preprocess: PreprocessConfig;
    try {
      preprocess = parsePreprocess(ck.info.preprocessing, ck.path);
    } catch (e) {
      throw new PredictorError((e as Error).message);
    }
    let net: ImageClassifier;
    try {
      modelEntry(arch.name);
      // the checkpoint holds every tensor (loadStateDict is strict), so skip the random initialisation
      net = skipInit(() => getModel(arch.name, arch.config));
    } catch (e) {
      throw new PredictorError(`the checkpoint at ${ck.path} is a '${arch.name}', which this tsvision cannot build: ${(e as Error).message}`);
    }
    if (weights === 'ema' && !ck.emaState) throw new PredictorError(`the checkpoint at ${ck.path} holds no moving average of the weights (train with --ema)`);
    const served = weights === 'raw' || !ck.emaState ? 'raw' : 'ema';
    try {
      net.loadStateDict(served === 'ema' ? ck.emaState! : ck.modelState);
    } catch (e) {
      if (e instanceof StateDictError)
        throw new PredictorError(`the weights in ${ck.path} do not fit a '${arch.name}' ${JSON.stringify(arch.config)}: ${stateDictGist(e)}`);
      throw e;
    }
    return new Predictor(net, { preprocess, classes, source: ck.path, epoch: ck.info.epoch, tta, weights: served });
  }

  /** Logits for a preprocessed batch [N, C, H, W], synchronously (the network's own: no test-time augmentation). */
  logits(x: Tensor): Tensor {
    return this.#forward(x);
  }

  /** Class probabilities (softmax of the logits; with tta, averaged over the views) for a preprocessed batch, synchronously. */
  probabilities(x: Tensor): Tensor {
    if (this.tta !== 'none') return ttaProbabilities((v) => this.#forward(v), x, this.tta);
    const logits = this.#forward(x);
    return noGrad(() => softmax(logits, 1));
  }

  /**
   * A picture (a file, or its bytes) decoded as this classifier's channels: the uint8 [H, W, C] tensor that
   * preprocess() takes. The two steps are apart so that a server can decode on one thread and preprocess on another.
   */
  decode(input: string | Uint8Array, { maxPixels }: { maxPixels?: number } = {}): Promise<Tensor<'uint8'>> {
    return loadImage(input, { channels: this.preprocess.channels, maxPixels });
  }

  /** A decoded picture preprocessed (resize, crop, normalisation), synchronously: the [C, H, W] tensor the network takes. */
  preprocessImage(image: Tensor<'uint8'>): Tensor {
    return this.transform.apply(image) as Tensor;
  }

  /** A picture file (or its bytes) decoded and preprocessed: the [C, H, W] tensor the network takes. */
  async loadInput(input: string | Uint8Array): Promise<Tensor> {
    return this.preprocessImage(await this.decode(input));
  }

  /** Every class's probability for each file, in order; a file that does not decode is told to onSkip and left out. */
  async classifyFiles(paths: readonly string[], { batchSize = 64, onSkip }: ClassifyOptions = {}): Promise<FileResult[]> {
    const dataset = {
      length: paths.length,
      getItem: async (i: number): Promise<[Tensor, number]> => {
        try {
          return [await this.loadInput(paths[i]), i];
        } catch (e) {
          onSkip?.(paths[i], (e as Error).message);
          throw new SampleError(`${paths[i]}: ${(e as Error).message}`, i, paths[i]);
        }
      },
    };
    const out: FileResult[] = [];
    for await (const [x, idx] of new DataLoader(dataset, { batchSize, prefetch: 2 }) as AsyncIterable<[Tensor, Tensor<'int32'>]>) {
      const p = this.probabilities(x);
      const c = p.shape[1];
      const data = p.data as Float32Array;
      idx.data.forEach((index, r) => out.push({ index, path: paths[index], probs: Array.from(data.subarray(r * c, (r + 1) * c)) }));
    }
    return out;
  }

  /** The k most probable classes of a probability row. */
  top(probs: ArrayLike<number>, k = 5): TopClass[] {
    return topK(probs, this.classes, k);
  }
}
