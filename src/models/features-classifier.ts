/**
 * The layout torchvision gives VGG and AlexNet: three children
 *   features     a Sequential of convolutions and pooling (forwardFeatures)
 *   avgpool      adaptive pooling to a fixed grid, then flatten
 *   classifier   a Sequential whose last layer is the final Linear
 * so state-dict keys are 'features.0.weight', 'classifier.6.bias', as PyTorch's.
 *
 * The contract's `classifier` is the dotted name of the final Linear ('classifier.6'),
 * so the head Sequential is registered under the name 'classifier' by members()
 * rather than held in a field of that name; `head` gives it.
 */
import type { Sequential } from '../nn/containers.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import '../tensor/methods.js';
import type { Tensor } from '../tensor/tensor.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from './classifier.js';

export interface FeaturesClassifierOptions {
  /** dotted name of the first convolution, e.g. 'features.0' */
  firstConv: string;
  featureInfo: FeatureInfo[];
}

export abstract class FeaturesClassifier extends Module implements ImageClassifier {
  features: Sequential;
  avgpool: Module;
  readonly #head: Sequential;
  readonly numFeatures: number;
  readonly firstConv: string;
  readonly featureInfo: readonly FeatureInfo[];

  protected constructor(features: Sequential, avgpool: Module, head: Sequential, { firstConv, featureInfo }: FeaturesClassifierOptions) {
    super();
    const last = head.at(-1);
    if (!(last instanceof Linear)) throw new TypeError(`${new.target.name}: the classifier's last layer must be a Linear`);
    this.features = features;
    this.avgpool = avgpool;
    this.#head = head;
    this.numFeatures = last.inFeatures;
    this.firstConv = firstConv;
    this.featureInfo = featureInfo;
  }

  /** features, avgpool, then the head under the name 'classifier'. */
  protected override members(): [string, unknown][] {
    return [...super.members(), ['classifier', this.#head]];
  }

  /** The head Sequential (the child named 'classifier'). */
  get head(): Sequential {
    return this.#head;
  }

  get classifier(): string {
    return `classifier.${this.#head.length - 1}`;
  }

  get numClasses(): number {
    const c = this.#head.at(-1);
    return c instanceof Linear ? c.outFeatures : 0;
  }

  resetClassifier(numClasses: number): void {
    this.#head.registerModule(String(this.#head.length - 1), classifierLayer(this.numFeatures, numClasses));
  }

  forwardFeatures(x: Tensor): Tensor {
    return this.features.call(x);
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    let y = this.avgpool.call(features).flatten(1);
    if (!preLogits) return this.#head.call(y);
    for (let i = 0; i < this.#head.length - 1; i++) y = this.#head.at(i).call(y);
    return y;
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }
}
