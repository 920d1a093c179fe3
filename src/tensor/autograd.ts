/**
 * The tape. Each op that has an input requiring grad records a GradNode on its
 * output; backward() walks the nodes in reverse topological order, calling each
 * node's backward once with the summed gradient of its output.
 */
import { backend } from '../backend/index.js';
import { fmtShape, ShapeError } from './errors.js';
import { shapesEqual } from './shape.js';
import { Tensor, type GradNode } from './tensor.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (for evaluation and parameter updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * What an op tells an export tracer beside its inputs: its settings (stride, axes,
 * the unary map's name and parameters, ...) and tensors it reads that are not
 * differentiable inputs (running statistics, an index, a mask).
 */
export type OpAttrs = object;

/** Called by every op, when set, with its name, inputs, output and attributes (src/export traces a forward pass with it). */
export type OpTracer = (name: string, inputs: readonly Tensor[], out: Tensor, attrs: OpAttrs | undefined) => void;

let tracer: OpTracer | null = null;

/** Whether an op tracer is set: inference shortcuts (fuseForInference's fused layers) stand aside so the tracer sees every op. */
export function isTracing(): boolean {
  return tracer !== null;
}

/** Installs `t` as the op tracer (null removes it) and returns the previous one. */
export function setTracer(t: OpTracer | null): OpTracer | null {
  const prev = tracer;
  tracer = t;
  return prev;
}

/** Tells the tracer, if any, about an op that has no backward (a comparison, a cast, argmax, detach). Returns out. */
export function traced<T extends Tensor>(out: T, name: string, inputs: readonly Tensor[], attrs?: OpAttrs): T {
  if (tracer !== null) tracer(name, inputs, out, attrs);
  return out;
}

/**
 * Records `name` on the tape for `out` when any input requires grad, and tells the
 * tracer when one is set (`attrs`: the op's settings, see OpAttrs). Returns out.
 * The node points at each input's own node (or at the input itself when it is a
 * leaf), never at an intermediate tensor, so a tensor's storage lives only as long
 * as the caller or a backward closure that saved it holds it.
 */
export function record<T extends Tensor>(
  out: T,
  name: string,
  inputs: readonly Tensor[],
  backward: (grad: Tensor<'float32'>) => (Tensor | null)[],
  attrs?: OpAttrs,
): T {
  if (tracer !== null) tracer(name, inputs, out, attrs);
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return out;
  out.requiresGrad = true;
  out.gradFn = { name, next: inputs.map((t) => (t.requiresGrad ? (t.gradFn ?? t) : null)), backward: backward as GradNode['backward'] };
  return out;
}

/** Elementwise a + b for equal-shaped float32 tensors, outside the tape. */
function addRaw(a: Tensor, b: Tensor): Tensor<'float32'> {
  const be = backend();
  const out = be.alloc('float32', a.size);
  const strides = a.shape.length ? [1] : [];
  be.binary('add', a.size ? [a.size] : [], a.data as Float32Array, strides, b.data as Float32Array, strides, out);
  return new Tensor(out, a.shape);
}

function copyRaw(a: Tensor): Tensor<'float32'> {
  const out = backend().alloc('float32', a.size);
  out.set(a.data);
  return new Tensor(out, a.shape);
}

export interface BackwardOptions {
  /** Keep the graph so backward can run through it again. */
  retainGraph?: boolean;
}

/**
 * Accumulates d(root)/d(leaf) into every leaf's .grad. A non-scalar root needs
 * `grad`, the gradient of some scalar with respect to it.
 */
export function backward(root: Tensor, grad?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new Error('backward: the tensor does not require grad (no input had requiresGrad set, or it was made under noGrad)');
  }
  let rootGrad: Tensor<'float32'>;
  if (grad) {
    if (!shapesEqual(grad.shape, root.shape)) {
      throw new ShapeError(`backward: gradient shape ${fmtShape(grad.shape)} does not match tensor shape ${fmtShape(root.shape)}`);
    }
    rootGrad = grad as Tensor<'float32'>;
  } else {
    if (root.size !== 1) {
      throw new ShapeError(`backward: a gradient argument is needed for a non-scalar tensor of shape ${fmtShape(root.shape)}`);
    }
    const one = backend().alloc('float32', 1);
    one[0] = 1;
    rootGrad = new Tensor(one, root.shape);
  }

  const rootNode = root.gradFn;
  if (!rootNode) {
    root.grad = root.grad ? addRaw(root.grad, rootGrad) : copyRaw(rootGrad);
    return;
  }
  // Reverse topological order of the nodes by an iterative depth-first search.
  const order: (GradNode | undefined)[] = [];
  const seen = new Set<GradNode>([rootNode]);
  const stack: [GradNode, number][] = [[rootNode, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top[1] < top[0].next.length) {
      const next = top[0].next[top[1]++];
      if (next && !(next instanceof Tensor) && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(top[0]);
      stack.pop();
    }
  }
  seen.clear();

  // gradients flowing to nodes, and summed per leaf (applied at the end, in the order leaves are reached)
  const grads = new Map<GradNode | Tensor, Tensor<'float32'>>([[rootNode, rootGrad]]);
  const leaves: Tensor[] = [];
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    order[i] = undefined;
    const g = grads.get(node);
    grads.delete(node);
    if (!g) continue;
    if (!node.backward) {
      throw new Error(`backward: the graph through ${node.name} was already freed; pass { retainGraph: true } to the first backward`);
    }
    const fn = node.backward;
    const inputGrads = noGrad(() => fn(g));
    node.next.forEach((target, k) => {
      const ig = inputGrads[k];
      if (!ig || !target) return;
      const prev = grads.get(target);
      if (!prev && target instanceof Tensor) leaves.push(target);
      grads.set(target, (prev ? addRaw(prev, ig) : ig) as Tensor<'float32'>);
    });
    if (!options.retainGraph) {
      // what the node saved and where it points go with it: the forward pass's tensors do
      // not outlive the backward pass through an output the caller still holds
      node.backward = null;
      node.next = [];
    }
  }
  for (const t of leaves) {
    const g = grads.get(t)!;
    // copy first: g may be shared with other branches
    t.grad = t.grad ? addRaw(t.grad, g) : copyRaw(g);
  }
}
