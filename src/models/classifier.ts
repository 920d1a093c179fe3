/**
 * The classifier contract: what every registered model offers, so that fine-tuning,
 * feature extraction, export and interpretation work the same on every network.
 *
 *   forward(x)              = forwardHead(forwardFeatures(x))
 *   forwardFeatures(x)      the last feature map, before pooling ([N, C, H, W]; [N, C] for an MLP)
 *   forwardHead(f)          pooling, flatten, dropout, classifier → logits [N, numClasses]
 *   forwardHead(f, { preLogits: true })   the pooled features the classifier reads ([N, numFeatures])
 *   resetClassifier(n)      a fresh classifier with n outputs (0: none, forward returns pre-logits)
 *   firstConv, classifier   dotted module names of the first convolution and of the final Linear
 *   featureInfo             the stages: module name, channels and stride, for hooks that
 *                           take intermediate feature maps
 *
 * SequentialClassifier gives the contract to a network written as one nn.Sequential
 * (its state-dict keys stay "0.weight", "3.bias", … as PyTorch's for the same Sequential).
 */
import { Sequential } from '../nn/containers.js';
import { Identity, Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import type { Tensor } from '../tensor/tensor.js';

/** One feature stage: where its output is, how many channels it has and its total stride. */
export interface FeatureInfo {
  module: string;
  channels: number;
  reduction: number;
}

export interface HeadOptions {
  /** stop before the final Linear and return the features it reads (default false) */
  preLogits?: boolean;
}

export interface ImageClassifier extends Module {
  forwardFeatures(x: Tensor): Tensor;
  forwardHead(features: Tensor, options?: HeadOptions): Tensor;
  /** Replaces the final Linear by a freshly initialised one with numClasses outputs (0: an Identity). */
  resetClassifier(numClasses: number): void;
  /** outputs of the classifier (0 after resetClassifier(0)) */
  readonly numClasses: number;
  /** inputs of the classifier: the width of the pooled features */
  readonly numFeatures: number;
  /** dotted name of the first convolution (null for a network without one) */
  readonly firstConv: string | null;
  /** dotted name of the final Linear, e.g. 'fc' or 'classifier.1' */
  readonly classifier: string;
  readonly featureInfo: readonly FeatureInfo[];
}

const CONTRACT = ['forwardFeatures', 'forwardHead', 'resetClassifier'] as const;

/** True when `m` implements the classifier contract. */
export function isImageClassifier(m: unknown): m is ImageClassifier {
  return (
    m instanceof Module &&
    CONTRACT.every((k) => typeof (m as unknown as Record<string, unknown>)[k] === 'function') &&
    typeof (m as ImageClassifier).classifier === 'string'
  );
}

/** A Linear with n outputs reading `features` inputs, or an Identity when n is 0 (a network without head). */
export function classifierLayer(features: number, n: number): Linear | Identity {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`resetClassifier: numClasses must be a non-negative integer, got ${n}`);
  return n === 0 ? new Identity() : new Linear(features, n);
}

export interface SequentialClassifierOptions {
  /** index of the first head layer (pooling, flatten, dropout, the Linears) */
  headStart: number;
  firstConv: string | null;
  featureInfo?: FeatureInfo[];
}

/**
 * A network written as one Sequential: layers [0, headStart) are the features, the
 * rest the head, whose last layer is the classifier (a Linear).
 */
export class SequentialClassifier extends Sequential implements ImageClassifier {
  readonly #headStart: number;
  readonly #features: number;
  readonly firstConv: string | null;
  readonly featureInfo: readonly FeatureInfo[];

  constructor(layers: Module[], { headStart, firstConv, featureInfo = [] }: SequentialClassifierOptions) {
    super(...layers);
    const last = layers.at(-1);
    if (!(last instanceof Linear)) throw new TypeError('SequentialClassifier: the last layer must be the classifier Linear');
    if (!Number.isInteger(headStart) || headStart < 0 || headStart >= layers.length) {
      throw new RangeError(`SequentialClassifier: headStart ${headStart} is not a layer index below ${layers.length}`);
    }
    this.#headStart = headStart;
    this.#features = last.inFeatures;
    this.firstConv = firstConv;
    this.featureInfo = featureInfo;
  }

  get classifier(): string {
    return String(this.length - 1);
  }

  get numFeatures(): number {
    return this.#features;
  }

  get numClasses(): number {
    const c = this.at(-1);
    return c instanceof Linear ? c.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this.registerModule(this.classifier, classifierLayer(this.#features, numClasses));
  }

  #run(x: Tensor, from: number, to: number): Tensor {
    let y = x;
    for (let i = from; i < to; i++) y = this.at(i).call(y);
    return y;
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.#run(x, 0, this.#headStart);
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    return this.#run(features, this.#headStart, this.length - (preLogits ? 1 : 0));
  }
}
