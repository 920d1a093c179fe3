/**
 * tsvision.models: the model zoo and its registry (getModel, listModels). Every
 * family's table is registered here, once, from this one list.
 */
import '../tensor/methods.js';
import { CLASSIC_MODELS } from './classic.js';
import { CONVNET_MODELS } from './convnet.js';
import { RESNET_MODELS } from './resnet.js';
import { GOOGLENET_MODELS } from './googlenet.js';
import { INCEPTION_MODELS } from './inception.js';
import { SHUFFLENET_MODELS } from './shufflenet.js';
import { EFFICIENTNET_PYTORCH_MODELS } from './efficientnet_pytorch.js';
import { EFFICIENTNET_PYTORCH_WEIGHTS } from './efficientnet_pytorch-weights.js';
import { ALEXNET_MODELS } from './alexnet.js';
import { VGG_MODELS } from './vgg.js';
import { MOBILENET_MODELS } from './mobilenet.js';
import { EFFICIENTNET_MODELS } from './efficientnet.js';
import { registerModels } from './registry.js';
import { TORCHVISION_WEIGHTS } from './torchvision-weights.js';
import { registerWeights } from './weights.js';

registerModels([
  ...CLASSIC_MODELS,
  ...CONVNET_MODELS,
  ...RESNET_MODELS,
  ...GOOGLENET_MODELS,
  ...INCEPTION_MODELS,
  ...SHUFFLENET_MODELS,
  ...EFFICIENTNET_PYTORCH_MODELS,
  ...VGG_MODELS,
  ...ALEXNET_MODELS,
  ...MOBILENET_MODELS,
  ...EFFICIENTNET_MODELS,
]);
registerWeights(TORCHVISION_WEIGHTS);
registerWeights(EFFICIENTNET_PYTORCH_WEIGHTS);

export {
  registerModel,
  registerModels,
  getModel,
  listModels,
  architectureOf,
  setArchitecture,
  modelEntry,
  modelForData,
  type ModelBuilder,
  type ModelConfig,
  type ModelDefinition,
  type ModelEntry,
  type DataShape,
  type RegisterOptions,
} from './registry.js';
export {
  isImageClassifier,
  classifierLayer,
  SequentialClassifier,
  type ImageClassifier,
  type FeatureInfo,
  type HeadOptions,
  type SequentialClassifierOptions,
} from './classifier.js';
export { loadMatchingWeights, describeMatch, stageParamGroups, type MatchReport, type StageGroupOptions } from './finetune.js';
export { registerWeights, findWeights, knownWeights, resolveWeights, downloadWeights, weightsCacheDir, WeightsError, type ResolvedWeights } from './weights.js';
export { TORCHVISION_WEIGHTS } from './torchvision-weights.js';
export { IMAGENET_CLASSES } from './imagenet-classes.js';
export { MODEL_STATS } from './model-stats.js';
export { hashPrefixOf, type PretrainedWeights, type PretrainedAccuracy } from './pretrained.js';
export {
  mlp,
  lenet5,
  mnistCNN,
  cifarCNN,
  smallNet,
  MLP,
  LeNet5,
  MnistCNN,
  CifarCNN,
  SmallNet,
  type MLPConfig,
  type LeNet5Config,
  type SmallCNNConfig,
} from './classic.js';
export { convnet, ConvNet, type ConvNetConfig } from './convnet.js';
export {
  googlenet,
  GoogLeNet,
  BasicConv2d,
  Inception,
  InceptionAux,
  transformImagenetInput,
  type GoogLeNetConfig,
  type GoogLeNetOutputs,
} from './googlenet.js';
export {
  inceptionV3,
  Inception3,
  InceptionA,
  InceptionB,
  InceptionC,
  InceptionD,
  InceptionE,
  InceptionAux as Inception3Aux,
  type Inception3Config,
  type InceptionOutputs,
} from './inception.js';
export { shufflenetV2, ShuffleNetV2, InvertedResidual as ShuffleNetV2Unit, type ShuffleNetV2Config } from './shufflenet.js';
export {
  efficientnetPyTorch,
  EfficientNetPyTorch,
  MBConvBlock as EfficientNetPyTorchBlock,
  SamePaddingConv2d,
  samePadding,
  EFFICIENTNET_PYTORCH_VARIANTS,
  type EfficientNetPyTorchConfig,
  type EfficientNetPyTorchName,
} from './efficientnet_pytorch.js';
export { EFFICIENTNET_PYTORCH_WEIGHTS, efficientnetPyTorchPreprocess } from './efficientnet_pytorch-weights.js';
export { resnet, ResNet, BasicBlock, Bottleneck, type ResNetConfig, type ResidualBlock } from './resnet.js';
export { vgg, vggFeatures, initVGGWeights, VGG, type VGGConfig } from './vgg.js';
export { alexnet, AlexNet, type AlexNetConfig } from './alexnet.js';
export {
  mobilenetV2,
  mobilenetV3Large,
  mobilenetV3Small,
  MobileNetV2,
  MobileNetV3,
  type MobileNetV2Config,
  type MobileNetV3Config,
  type MobileNetV3Name,
} from './mobilenet.js';
export { efficientnet, EfficientNet, type EfficientNetConfig, type EfficientNetName } from './efficientnet.js';
export * as layers from './layers/index.js';
