/** Building blocks shared by the model families: one concept per file. */
export { makeDivisible } from './make-divisible.js';
export { Conv2dNormActivation, batchNorm2d, type Conv2dNormActivationOptions, type NormFactory, type ActivationFactory } from './conv-norm-activation.js';
export { SqueezeExcitation, type SqueezeExcitationOptions } from './squeeze-excitation.js';
export { InvertedResidual, InvertedResidualV3, type InvertedResidualConfig } from './inverted-residual.js';
export { MBConv, FusedMBConv, type MBConvConfig } from './mbconv.js';
export { FeaturesClassifier, featureStages, type FeaturesClassifierParts } from './features-classifier.js';
export { initMobileWeights, type LinearInit } from './init-weights.js';
