/**
 * FeaturesClassifier: the layout of torchvision's MobileNets and EfficientNets (and of
 * VGG and AlexNet), with the classifier contract:
 *
 *   features     a Sequential of stages                      → forwardFeatures
 *   avgpool      global average pooling (no module in MobileNetV2, which pools functionally)
 *   classifier   a Sequential (dropout, Linear, ...) after flattening, ending in the final Linear
 *
 * The contract's `classifier` is the final Linear's dotted name ('classifier.1'), so the
 * three children are registered by members() rather than as fields of the same names;
 * `features` and `head` give them to code.
 */
import { Linear, Module, Sequential } from '../../nn/index.js';
import { adaptiveAvgPool2d } from '../../nn/functional.js';
import type { Tensor } from '../../tensor/tensor.js';
import '../../tensor/methods.js';
import { classifierLayer, type FeatureInfo, type HeadOptions, type ImageClassifier } from '../classifier.js';

export interface FeaturesClassifierParts {
  features: Sequential;
  /** registered as 'avgpool'; null: adaptive average pooling to 1x1 without a module */
  avgpool: Module | null;
  /** the layers after pooling and flattening; the last is the final Linear */
  classifier: Module[];
  firstConv: string;
  featureInfo: FeatureInfo[];
}

export class FeaturesClassifier extends Module implements ImageClassifier {
  readonly #features: Sequential;
  readonly #avgpool: Module | null;
  readonly #head: Sequential;
  readonly numFeatures: number;
  readonly firstConv: string;
  readonly featureInfo: readonly FeatureInfo[];

  constructor({ features, avgpool, classifier, firstConv, featureInfo }: FeaturesClassifierParts) {
    super();
    const last = classifier.at(-1);
    if (!(last instanceof Linear)) throw new TypeError(`${new.target.name}: the classifier must end with a Linear`);
    this.#features = features;
    this.#avgpool = avgpool;
    this.#head = new Sequential(...classifier);
    this.numFeatures = last.inFeatures;
    this.firstConv = firstConv;
    this.featureInfo = featureInfo;
  }

  protected override members(): [string, unknown][] {
    const own: [string, unknown][] = [['features', this.#features]];
    if (this.#avgpool) own.push(['avgpool', this.#avgpool]);
    own.push(['classifier', this.#head]);
    return [...own, ...super.members()];
  }

  /** the feature extractor, torchvision's `features` */
  get features(): Sequential {
    return this.#features;
  }

  /** the layers after pooling, torchvision's `classifier` Sequential */
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
    return this.#features.call(x);
  }

  forwardHead(features: Tensor, { preLogits = false }: HeadOptions = {}): Tensor {
    let y = (this.#avgpool ? this.#avgpool.call(features) : adaptiveAvgPool2d(features, 1)).flatten(1);
    // the whole head through its own call, so hooks on the 'classifier' child run
    if (!preLogits) return this.#head.call(y);
    for (let i = 0; i < this.#head.length - 1; i++) y = this.#head.at(i).call(y);
    return y;
  }

  forward(x: Tensor): Tensor {
    return this.forwardHead(this.forwardFeatures(x));
  }
}

/**
 * The stages of a feature extractor from its layers (dotted name, output channels,
 * stride): for each total stride, the last layer that has it.
 */
export function featureStages(layers: readonly { module: string; channels: number; stride: number }[]): FeatureInfo[] {
  const stages: FeatureInfo[] = [];
  let reduction = 1;
  for (const { module, channels, stride } of layers) {
    reduction *= stride;
    if (stages.at(-1)?.reduction === reduction) stages.pop();
    stages.push({ module, channels, reduction });
  }
  return stages;
}
