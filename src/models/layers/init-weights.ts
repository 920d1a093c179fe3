/**
 * The initialisation of torchvision's MobileNets and EfficientNets: convolutions
 * kaiming normal with fan out (the backward pass keeps its variance through the
 * narrow projections), zero biases, norms at scale 1 and shift 0, and the Linear
 * layers as each family chooses.
 */
import { BatchNormNd, ConvNd, GroupNorm, init, Linear, type Module } from '../../nn/index.js';

export type LinearInit = 'normal0.01' | 'uniformFanOut';

export function initMobileWeights(net: Module, linear: LinearInit): void {
  for (const m of net.modules()) {
    if (m instanceof ConvNd) {
      init.kaimingNormal(m.weight, { mode: 'fanOut' });
      if (m.bias) init.zeros(m.bias);
    } else if (m instanceof BatchNormNd || m instanceof GroupNorm) {
      if (m.weight) init.ones(m.weight);
      if (m.bias) init.zeros(m.bias);
    } else if (m instanceof Linear) {
      if (linear === 'normal0.01') init.normal(m.weight, { std: 0.01 });
      else {
        const r = 1 / Math.sqrt(m.outFeatures);
        init.uniform(m.weight, { a: -r, b: r });
      }
      if (m.bias) init.zeros(m.bias);
    }
  }
}
