/**
 * fuseForInference: the inference form of a network, without changing its modules,
 * parameters or state dict. In evaluation with the tape off,
 *
 *   - a batch norm whose only input is a convolution's output is folded into that
 *     convolution's weights (W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β) and passes
 *     its input through;
 *   - an elementwise activation (ReLU, ReLU6, SiLU, Hardswish, ...) whose only input is
 *     such a convolution's (or batch norm's) output runs in the convolution's epilogue,
 *     while each output row is in cache, and passes its input through.
 *
 * The pairs are found by watching one forward pass with hooks: which module call made
 * the tensor that another consumed. What runs between modules (a residual add, say) is
 * not seen by hooks, so the fused network is checked against the plain one on the
 * example input; activations that change the result are left unfused, then folds.
 * Training mode, or the tape on, runs the plain layers. Fused weights are a snapshot:
 * after changing the weights, call remove() and fuse again.
 *
 *   const fused = fuseForInference(net.eval(), example);   // fused.folded, fused.activations
 *   noGrad(() => net.call(x));                              // runs the fused kernels
 *   fused.remove();
 */
import type { Activation } from '../backend/index.js';
import { noGrad } from '../tensor/autograd.js';
import { WinogradWeights } from '../tensor/ops/conv.js';
import { Tensor } from '../tensor/tensor.js';
import { ElementwiseActivation } from './activation.js';
import { BatchNormNd } from './batchnorm.js';
import { ConvNd } from './conv.js';
import type { AnyModule } from './module.js';

export interface InferenceFusion {
  /** batch norms folded into their convolutions */
  folded: number;
  /** activations run in a convolution's epilogue */
  activations: number;
  /** the largest difference from the plain network's output on the example, relative to its largest magnitude */
  error: number;
  /** takes the fused forms off again */
  remove(): void;
}

/** One leaf module call: its inputs and output as ids, so that watching keeps no activation alive. */
interface Call {
  module: AnyModule;
  inputs: number[];
  output: number;
}

/** Every leaf module call of one forward pass, in order, and the network's output. */
function watch(net: AnyModule, example: Tensor): { calls: Call[]; output: unknown } {
  const calls: Call[] = [];
  const ids = new WeakMap<object, number>();
  let next = 0;
  const idOf = (v: unknown): number => {
    if (v === null || typeof v !== 'object') return -1;
    let id = ids.get(v);
    if (id === undefined) ids.set(v, (id = next++));
    return id;
  };
  const handles = net
    .namedModules()
    .filter(([, m]) => m.children().length === 0)
    .map(([, m]) =>
      m.registerForwardHook(
        (mod: AnyModule, inputs: unknown[], output: unknown) => void calls.push({ module: mod, inputs: inputs.map(idOf), output: idOf(output) }),
      ),
    );
  try {
    const output = noGrad(() => net.call(example));
    return { calls, output };
  } finally {
    for (const h of handles) h.remove();
  }
}

/** The tensors in a forward's output (a tensor, or an array or object of them). */
function tensorsOf(v: unknown): Tensor[] {
  if (v instanceof Tensor) return [v];
  if (Array.isArray(v)) return v.flatMap(tensorsOf);
  if (v && typeof v === 'object') return Object.values(v).flatMap(tensorsOf);
  return [];
}

/** max |a − b| over max |a| (1 when the output is all zeros), across the output's tensors. */
function relativeError(a: unknown, b: unknown): number {
  const ta = tensorsOf(a);
  const tb = tensorsOf(b);
  if (ta.length !== tb.length) return Infinity;
  let diff = 0;
  let scale = 0;
  ta.forEach((t, i) => {
    const x = t.data as Float32Array;
    const y = tb[i].data as Float32Array;
    if (x.length !== y.length) diff = Infinity;
    for (let j = 0; j < x.length && j < y.length; j++) {
      diff = Math.max(diff, Math.abs(x[j] - y[j]));
      if (Number.isNaN(x[j]) !== Number.isNaN(y[j])) diff = Infinity;
      scale = Math.max(scale, Math.abs(x[j]));
    }
  });
  return diff / Math.max(scale, 1e-30);
}

/** The convolution's weight and bias with the batch norm's evaluation affine map folded in. */
function folded(conv: ConvNd, bn: BatchNormNd): { weight: Tensor; bias: Tensor } {
  const mean = bn.running_mean!.data as Float32Array;
  const variance = bn.running_var!.data as Float32Array;
  const gamma = bn.weight?.data as Float32Array | undefined;
  const beta = bn.bias?.data as Float32Array | undefined;
  const w = conv.weight.data as Float32Array;
  const b = conv.bias?.data as Float32Array | undefined;
  const cOut = conv.weight.shape[0];
  const per = w.length / cOut;
  const weight = new Float32Array(w.length);
  const bias = new Float32Array(cOut);
  for (let o = 0; o < cOut; o++) {
    const scale = (gamma ? gamma[o] : 1) / Math.sqrt(variance[o] + bn.eps);
    for (let i = o * per; i < (o + 1) * per; i++) weight[i] = w[i] * scale;
    bias[o] = ((b ? b[o] : 0) - mean[o]) * scale + (beta ? beta[o] : 0);
  }
  return { weight: new Tensor(weight, conv.weight.shape), bias: new Tensor(bias, [cOut]) };
}

/** How far the fused network may drift from the plain one (float32 rounding of the folded weights). */
const TOLERANCE = 1e-3;

/**
 * Folds batch norms into convolutions and moves activations into convolution epilogues
 * for evaluation without the tape; `example` is an input the network takes (one batch).
 * The network should be in evaluation mode; modules in training mode are left alone.
 */
export function fuseForInference(net: AnyModule, example: Tensor): InferenceFusion {
  const { calls, output: reference } = watch(net, example);
  const timesCalled = new Map<AnyModule, number>();
  const producer = new Map<number, Call>();
  const consumers = new Map<number, number>();
  for (const c of calls) {
    timesCalled.set(c.module, (timesCalled.get(c.module) ?? 0) + 1);
    for (const t of c.inputs) if (t >= 0) consumers.set(t, (consumers.get(t) ?? 0) + 1);
    producer.set(c.output, c);
  }
  // the call that made x, when x is consumed by this call alone and that module runs once
  const soleProducer = (x: number): Call | undefined => {
    const p = producer.get(x);
    return p && consumers.get(x) === 1 && timesCalled.get(p.module) === 1 ? p : undefined;
  };

  const folds = new Map<ConvNd, BatchNormNd>();
  const acts = new Map<ConvNd, Activation>();
  const convOf = new Map<number, ConvNd>(); // a fused chain's output tensor → its convolution
  for (const c of calls) {
    const m = c.module;
    if (m.training) continue;
    if (m instanceof ConvNd) {
      if (timesCalled.get(m) === 1) convOf.set(c.output, m);
    } else if (m instanceof BatchNormNd && m.running_mean && m.running_var && timesCalled.get(m) === 1) {
      const p = soleProducer(c.inputs[0]);
      if (p && p.module instanceof ConvNd && !p.module.training && !folds.has(p.module)) {
        folds.set(p.module, m);
        convOf.set(c.output, p.module);
      }
    } else if (m instanceof ElementwiseActivation) {
      const x = c.inputs[0];
      const conv = convOf.get(x);
      if (conv && consumers.get(x) === 1 && !acts.has(conv)) acts.set(conv, m.activation);
    }
  }

  const apply = (withActivations: boolean) => {
    for (const conv of new Set([...folds.keys(), ...acts.keys()])) {
      const bn = folds.get(conv);
      const { weight, bias } = bn ? folded(conv, bn) : { weight: conv.weight, bias: conv.bias };
      const activation = withActivations ? acts.get(conv) : undefined;
      if (!bn && !activation) continue;
      conv.setInferenceConv({ weight, bias, activation, winograd: new WinogradWeights(weight) });
      bn?.setFoldedForInference(true);
    }
  };
  const remove = () => {
    for (const conv of new Set([...folds.keys(), ...acts.keys()])) conv.setInferenceConv(null);
    for (const bn of folds.values()) bn.setFoldedForInference(false);
  };
  const check = () =>
    relativeError(
      reference,
      noGrad(() => net.call(example)),
    );

  apply(true);
  let error = check();
  let activations = acts.size;
  if (!(error <= TOLERANCE)) {
    remove();
    apply(false);
    activations = 0;
    error = check();
  }
  let foldedCount = folds.size;
  if (!(error <= TOLERANCE)) {
    remove();
    foldedCount = 0;
    error = 0;
  }
  return { folded: foldedCount, activations, error, remove };
}
