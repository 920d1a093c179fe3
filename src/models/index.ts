/**
 * tsvision.models: the model zoo and its registry (getModel, listModels).
 */
import '../tensor/methods.js';

export {
  registerModel, getModel, listModels, architectureOf, setArchitecture, modelEntry, modelForData,
  type ModelBuilder, type ModelConfig, type ModelEntry, type DataShape, type RegisterOptions,
} from './registry.js';
export {
  mlp, lenet5, seedCifarCNN, seedSmallNet, MLP, LeNet5, ImageClassification, Net,
  type MLPConfig, type LeNet5Config, type SeedCNNConfig,
} from './classic.js';
export { convnet, ConvNet, type ConvNetConfig } from './convnet.js';
