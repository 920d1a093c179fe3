/**
 * tsvision.models: the model zoo and its registry (getModel, listModels). Every
 * family's table is registered here, once, from this one list.
 */
import '../tensor/methods.js';
import { CLASSIC_MODELS } from './classic.js';
import { CONVNET_MODELS } from './convnet.js';
import { RESNET_MODELS } from './resnet.js';
import { MOBILENET_MODELS } from './mobilenet.js';
import { EFFICIENTNET_MODELS } from './efficientnet.js';
import { registerModels } from './registry.js';
import { TORCHVISION_WEIGHTS } from './torchvision-weights.js';
import { registerWeights } from './weights.js';

registerModels([
  ...CLASSIC_MODELS,
  ...CONVNET_MODELS,
  ...RESNET_MODELS,
  ...MOBILENET_MODELS,
  ...EFFICIENTNET_MODELS,
]);
registerWeights(TORCHVISION_WEIGHTS);

export {
  registerModel, registerModels, getModel, listModels, architectureOf, setArchitecture, modelEntry, modelForData,
  type ModelBuilder, type ModelConfig, type ModelDefinition, type ModelEntry, type DataShape, type RegisterOptions,
} from './registry.js';
export {
  isImageClassifier, classifierLayer, SequentialClassifier,
  type ImageClassifier, type FeatureInfo, type HeadOptions, type SequentialClassifierOptions,
} from './classifier.js';
export { loadMatchingWeights, describeMatch, stageParamGroups, type MatchReport, type StageGroupOptions } from './finetune.js';
export {
  registerWeights, findWeights, knownWeights, resolveWeights, downloadWeights, weightsCacheDir, WeightsError, type ResolvedWeights,
} from './weights.js';
export { TORCHVISION_WEIGHTS } from './torchvision-weights.js';
export { IMAGENET_CLASSES } from './imagenet-classes.js';
export { hashPrefixOf, type PretrainedWeights, type PretrainedAccuracy } from './pretrained.js';
export {
  mlp, lenet5, mnistCNN, cifarCNN, smallNet, MLP, LeNet5, MnistCNN, CifarCNN, SmallNet,
  type MLPConfig, type LeNet5Config, type SmallCNNConfig,
} from './classic.js';
export { convnet, ConvNet, type ConvNetConfig } from './convnet.js';
export { resnet, ResNet, BasicBlock, Bottleneck, type ResNetConfig, type ResNetName } from './resnet.js';
export {
  mobilenetV2, mobilenetV3Large, mobilenetV3Small, MobileNetV2, MobileNetV3,
  type MobileNetV2Config, type MobileNetV3Config, type MobileNetV3Name,
} from './mobilenet.js';
export { efficientnet, EfficientNet, type EfficientNetConfig, type EfficientNetName } from './efficientnet.js';
export * as layers from './layers/index.js';
