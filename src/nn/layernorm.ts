/** LayerNorm. */
import { empty, type Tensor } from '../tensor/tensor.js';
import { layerNorm } from './functional.js';
import * as init from './init.js';
import { Module, Parameter } from './module.js';

export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn weight (init 1) and bias (init 0) of shape normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

/**
 * y = (x - E[x]) / √(Var[x] + eps) · weight + bias, with mean and biased variance
 * over the trailing dimensions normalizedShape. x: [..., *normalizedShape] → same shape.
 */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], { eps = 1e-5, elementwiseAffine = true }: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`LayerNorm: normalizedShape must be positive integers, got [${shape.join(', ')}]`);
    }
    this.normalizedShape = Object.freeze(shape);
    this.eps = eps;
    this.elementwiseAffine = elementwiseAffine;
    this.weight = elementwiseAffine ? new Parameter(empty(shape)) : null;
    this.bias = elementwiseAffine ? new Parameter(empty(shape)) : null;
    this.resetParameters();
  }

  /** weight = 1, bias = 0. */
  resetParameters(): void {
    if (this.weight) init.ones(this.weight);
    if (this.bias) init.zeros(this.bias);
  }

  forward(x: Tensor): Tensor<'float32'> {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `[${this.normalizedShape.join(', ')}], eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
