/**
 * ONNX export. The network runs once in evaluation mode on an example input with an
 * op tracer installed (src/tensor/autograd.ts), so every op of the forward pass is
 * seen, including the adds, concatenations, reshapes and products written inside
 * `forward` methods between modules. Tensors are told apart by identity: the input
 * and what ops compute from it are the graph's values; parameters and buffers become
 * initializers under their state-dict keys; anything computed from constants alone
 * is folded into a constant. Forward hooks only tell which module an op ran in, so
 * an op ONNX cannot express is reported with its module's path.
 *
 * The graph: opset 17, input `input` [N, C, H, W] float32, output `logits`
 * [N, classes], the batch dimension symbolic (each tensor's batch axis is followed
 * through reshapes and transposes; an op that mixes it with other axes is refused).
 * Batch norm that directly follows a convolution is folded into its weight and bias.
 */
import { writeFileAtomic } from '../core/atomic.js';
import type { ConvGeometry, PoolGeometry, UnaryOp } from '../backend/backend.js';
import { noGrad, setTracer, type OpAttrs } from '../tensor/autograd.js';
import { fmtShape } from '../tensor/errors.js';
import { concat } from '../tensor/ops/movement.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { architectureOf } from '../models/registry.js';
import { AttributeType, DataType, onnxType } from './onnx-schema.js';

export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17. */
const IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Class names in output order; written as the metadata entry `classes` (a JSON array). */
  classes?: readonly string[];
  /** The preprocessing the network expects (a PreprocessConfig); written as the metadata entry `preprocess` (JSON). */
  preprocess?: object;
  /** producer_name of the model (default 'tsvision'). */
  producer?: string;
  /** producer_version of the model. */
  producerVersion?: string;
}

/** Metadata keys the exporter writes. */
export const ONNX_METADATA_KEYS = { classes: 'classes', preprocess: 'preprocess', architecture: 'architecture' } as const;

/** One op of the traced forward pass. */
interface TracedOp {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly out: Tensor;
  readonly attrs: OpAttrs | undefined;
  /** Dotted path of the innermost module running when the op ran ('' for the network itself). */
  readonly module: string;
}

type Net = Module<[Tensor], Tensor>;

/** Runs net on x in evaluation mode with the tracer on; the module's modes are restored afterwards. */
function trace(net: Net, x: Tensor): { ops: TracedOp[]; output: unknown } {
  const ops: TracedOp[] = [];
  const stack: string[] = [];
  const modes = net.modules().map((m) => [m, m.training] as const);
  const handles = net.namedModules().flatMap(([name, m]) => [
    m.registerForwardPreHook(() => {
      stack.push(name);
    }),
    m.registerForwardHook(() => {
      stack.pop();
    }),
  ]);
  net.eval();
  const prev = setTracer((name, inputs, out, attrs) => ops.push({ name, inputs, out, attrs, module: stack.length ? stack[stack.length - 1] : '' }));
  try {
    const output = noGrad(() => net.call(x));
    return { ops, output };
  } finally {
    setTracer(prev);
    for (const h of handles) h.remove();
    for (const [m, training] of modes) m.training = training;
  }
}

interface Attribute {
  name: string;
  type: number;
  i?: number;
  f?: number;
  ints?: number[];
  floats?: number[];
}

interface OnnxNode {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: Attribute[];
}

interface Initializer {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}

const int = (name: string, i: number): Attribute => ({ name, type: AttributeType.INT, i });
const float = (name: string, f: number): Attribute => ({ name, type: AttributeType.FLOAT, f });
const ints = (name: string, values: readonly number[]): Attribute => ({ name, type: AttributeType.INTS, ints: [...values] });

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Thrown for a network (or a part of one) the exporter cannot express exactly. */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

const BINARY: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min' };
const SIMPLE_UNARY: Partial<Record<UnaryOp, string>> = {
  neg: 'Neg',
  exp: 'Exp',
  log: 'Log',
  sqrt: 'Sqrt',
  abs: 'Abs',
  sign: 'Sign',
  relu: 'Relu',
  sigmoid: 'Sigmoid',
  tanh: 'Tanh',
  hardswish: 'HardSwish',
};

/** Turns the traced ops into ONNX nodes and initializers. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  /** Names of the graph's values: the input and what ops computed from it. */
  readonly names = new Map<Tensor, string>();
  /** The batch axis of each value. */
  readonly batch = new Map<Tensor, number>();
  /** Storage of the values: a "constant" sharing it was made from the input outside the ops. */
  readonly valueData = new Set<unknown>();
  readonly constNames = new Map<Tensor, string>();
  readonly initializers = new Map<string, Initializer>();
  /** The convolution node that computed a value (for folding a batch norm into it). */
  readonly convOf = new Map<Tensor, { node: OnnxNode; op: TracedOp }>();
  /** The ReduceSum node that computed a value (a mean is a sum divided by the count: one ReduceMean). */
  readonly sumOf = new Map<Tensor, { node: OnnxNode; axes: number[]; keepdim: boolean; count: number }>();
  /** The zero Pad node of spatial axes that computed a value (for merging it into the convolution that reads it). */
  readonly padOf = new Map<Tensor, { node: OnnxNode; x: Tensor; before: number[]; after: number[] }>();
  readonly keyNames: Set<string>;
  #count = 0;
  #op: TracedOp | null = null;

  constructor(
    readonly rootName: string,
    readonly keys: Map<Tensor, string>,
    readonly uses: Map<Tensor, number>,
    readonly output: Tensor,
  ) {
    this.keyNames = new Set(keys.values());
  }

  where(op: TracedOp): string {
    return op.module ? `'${op.module}'` : `the top-level ${this.rootName}`;
  }

  fail(detail: string): never {
    const op = this.#op!;
    throw new OnnxExportError(`exportOnnx: ${this.where(op)} op '${op.name}' ${detail}`);
  }

  unsupported(op: TracedOp): never {
    throw new OnnxExportError(`exportOnnx: ${this.where(op)} uses op '${op.name}', which ONNX export does not support`);
  }

  /** A fresh value name for out (`logits` for the network's output). */
  fresh(out: Tensor | null, label: string): string {
    if (out === this.output) return 'logits';
    const op = this.#op;
    return `${op?.module || 'root'}/${label}_${this.#count++}`;
  }

  define(t: Tensor, name: string, batchAxis: number): void {
    this.names.set(t, name);
    this.batch.set(t, batchAxis);
    this.valueData.add(t.data);
  }

  isValue(t: Tensor): boolean {
    return this.names.has(t);
  }

  batchOf(t: Tensor): number {
    return this.batch.get(t)!;
  }

  node(opType: string, inputs: string[], outputs: string[], attribute: Attribute[] = []): OnnxNode {
    const op = this.#op;
    const n: OnnxNode = { name: `${op?.module || 'root'}/${opType}_${this.nodes.length}`, op_type: opType, input: inputs, output: outputs, attribute };
    this.nodes.push(n);
    return n;
  }

  /** A one-output node into a fresh value. */
  emit(opType: string, inputs: string[], attribute: Attribute[] = [], out: Tensor | null = null): string {
    const name = this.fresh(out, opType);
    this.node(opType, inputs, [name], attribute);
    return name;
  }

  addInitializer(name: string, dims: readonly number[], dataType: number, data: ArrayBufferView): string {
    this.initializers.set(name, { name, dims: [...dims], data_type: dataType, raw_data: bytesOf(data) });
    return name;
  }

  uniqueName(base: string): string {
    let name = base;
    for (let k = 1; this.initializers.has(name) || this.keyNames.has(name); k++) name = `${base}_${k}`;
    return name;
  }

  /** The name of a value, or of the constant t (an initializer, under its state-dict key when it is a parameter or buffer). */
  ref(t: Tensor): string {
    const v = this.names.get(t);
    if (v !== undefined) return v;
    const known = this.constNames.get(t);
    if (known !== undefined) return known;
    const dataType = t.dtype === 'float32' ? DataType.FLOAT : t.dtype === 'int32' ? DataType.INT32 : DataType.UINT8;
    const name = this.keys.get(t) ?? this.uniqueName(`const_${this.constNames.size}`);
    this.constNames.set(t, name);
    return this.addInitializer(name, t.shape, dataType, t.data);
  }

  f32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.addInitializer(this.uniqueName(`const_${this.initializers.size}`), dims, DataType.FLOAT, Float32Array.from(values));
  }

  i64(values: readonly number[]): string {
    return this.addInitializer(
      this.uniqueName(`const_${this.initializers.size}`),
      [values.length],
      DataType.INT64,
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
  }

  /** The single batch axis of an op's output, given how each input's axes align with it (numpy broadcasting). */
  broadcastBatch(inputs: readonly Tensor[], out: Tensor): number {
    let b = -1;
    for (const t of inputs) {
      if (!this.isValue(t)) continue;
      const aligned = this.batchOf(t) + out.ndim - t.ndim;
      if (b >= 0 && aligned !== b) this.fail(`combines inputs whose batch axes differ (${b} and ${aligned})`);
      b = aligned;
    }
    for (const t of inputs) {
      if (this.isValue(t)) continue;
      const i = b - (out.ndim - t.ndim);
      if (i >= 0 && t.shape[i] !== 1) this.fail(`reads a constant of shape ${fmtShape(t.shape)} whose batch axis is not 1: the batch size would be fixed`);
    }
    return b;
  }

  run(op: TracedOp): void {
    this.#op = op;
    for (const t of tensorsOf(op)) {
      if (!this.isValue(t) && this.valueData.has(t.data))
        this.fail('reads a tensor made from the input outside the traced ops (a Tensor built on its storage)');
    }
    const a = (op.attrs ?? {}) as Record<string, unknown>;
    if ('map' in a) return this.unary(op, a.map as UnaryOp, a.p0 as number, a.p1 as number);
    const [x] = op.inputs;
    const out = op.out;
    switch (op.name) {
      case 'add':
      case 'sub':
      case 'mul':
      case 'div':
      case 'pow':
      case 'maximum':
      case 'minimum': {
        if (op.name === 'div' && this.asMean(op)) return;
        const b = this.broadcastBatch(op.inputs, out);
        return this.define(
          out,
          this.emit(
            BINARY[op.name],
            op.inputs.map((t) => this.ref(t)),
            [],
            out,
          ),
          b,
        );
      }
      case 'where': {
        const cond = a.cond as Tensor;
        if (this.isValue(cond)) this.unsupported(op);
        const b = this.broadcastBatch([cond, ...op.inputs], out);
        const c = this.addInitializer(this.uniqueName(`const_${this.initializers.size}`), cond.shape, DataType.BOOL, cond.data);
        return this.define(out, this.emit('Where', [c, this.ref(op.inputs[0]), this.ref(op.inputs[1])], [], out), b);
      }
      case 'detach':
      case 'clone':
        return this.define(out, this.ref(x), this.batchOf(x));
      case 'reshape':
        return this.reshape(x, out);
      case 'permute': {
        const dims = a.dims as number[];
        return this.define(out, this.emit('Transpose', [this.ref(x)], [ints('perm', dims)], out), dims.indexOf(this.batchOf(x)));
      }
      case 'broadcastTo': {
        const b = this.batchOf(x) + out.ndim - x.ndim;
        const shape = out.shape.map((d, i) => (i === b ? 1 : d));
        return this.define(out, this.emit('Expand', [this.ref(x), this.i64(shape)], [], out), b);
      }
      case 'concat': {
        const axis = a.axis as number;
        const b = this.broadcastBatch(op.inputs, out);
        if (axis === b) this.fail('concatenates along the batch axis');
        if (op.inputs.some((t) => !this.isValue(t))) this.fail('concatenates a constant with the batch: the batch size would be fixed');
        return this.define(
          out,
          this.emit(
            'Concat',
            op.inputs.map((t) => this.ref(t)),
            [int('axis', axis)],
            out,
          ),
          b,
        );
      }
      case 'slice': {
        const axis = a.axis as number;
        if (axis === this.batchOf(x)) this.fail('slices the batch axis');
        const inputs = [this.ref(x), this.i64([a.start as number]), this.i64([a.end as number]), this.i64([axis]), this.i64([a.step as number])];
        return this.define(out, this.emit('Slice', inputs, [], out), this.batchOf(x));
      }
      case 'pad': {
        const before = a.before as number[];
        const after = out.shape.map((d, i) => d - x.shape[i] - before[i]);
        const b = this.batchOf(x);
        if (before[b] || after[b]) this.fail('pads the batch axis');
        const inputs = [this.ref(x), this.i64([...before, ...after]), this.f32([a.value as number], [])];
        const name = this.fresh(out, 'Pad');
        const node = this.node('Pad', inputs, [name]);
        this.define(out, name, b);
        if (a.value === 0 && b === 0 && !before[1] && !after[1]) this.padOf.set(out, { node, x, before, after });
        return;
      }
      case 'indexSelect': {
        const axis = a.axis as number;
        if (axis === this.batchOf(x)) this.fail('selects along the batch axis');
        const index = a.index as Tensor;
        if (this.isValue(index)) this.unsupported(op);
        const idx = this.i64([...(index.data as Int32Array)]);
        return this.define(out, this.emit('Gather', [this.ref(x), idx], [int('axis', axis)], out), this.batchOf(x));
      }
      case 'sum':
      case 'max':
      case 'min': {
        const axes = a.axes as number[];
        const keepdim = a.keepdim as boolean;
        const b = this.batchOf(x);
        if (axes.includes(b)) this.fail('reduces over the batch axis');
        const nb = keepdim ? b : b - axes.filter((d) => d < b).length;
        if (op.name !== 'sum') {
          const name = this.emit(op.name === 'max' ? 'ReduceMax' : 'ReduceMin', [this.ref(x)], [ints('axes', axes), int('keepdims', keepdim ? 1 : 0)], out);
          return this.define(out, name, nb);
        }
        const name = this.fresh(out, 'ReduceSum');
        const node = this.node('ReduceSum', [this.ref(x), this.i64(axes)], [name], [int('keepdims', keepdim ? 1 : 0)]);
        this.sumOf.set(out, { node, axes, keepdim, count: axes.reduce((p, d) => p * x.shape[d], 1) });
        return this.define(out, name, nb);
      }
      case 'softmax':
      case 'logSoftmax': {
        const axis = a.axis as number;
        if (axis === this.batchOf(x)) this.fail('normalises over the batch axis');
        return this.define(out, this.emit(op.name === 'softmax' ? 'Softmax' : 'LogSoftmax', [this.ref(x)], [int('axis', axis)], out), this.batchOf(x));
      }
      case 'softplus':
        return this.define(out, this.emit('Softplus', [this.ref(x)], [], out), this.batchOf(x));
      case 'linear':
        return this.linear(op);
      case 'matmul':
        return this.matmul(op);
      case 'conv':
        return this.conv(op, a as unknown as ConvGeometry);
      case 'convTranspose':
        return this.convTranspose(op, a as unknown as ConvGeometry & { outputPadding: number[] });
      case 'batchNorm':
        return this.batchNorm(op);
      default:
        if (/^(max|avg|adaptiveAvg|adaptiveMax)Pool[123]d$/.test(op.name)) return this.pool(op, a as unknown as PoolGeometry);
        this.unsupported(op);
    }
  }

  /** sum(x, axes) / count, the way `mean` computes, becomes the sum's node turned into a ReduceMean. */
  asMean(op: TracedOp): boolean {
    const [a, c] = op.inputs;
    const sum = this.sumOf.get(a);
    if (!sum || this.isValue(c) || c.size !== 1 || (c.data as Float32Array)[0] !== sum.count || this.uses.get(a) !== 1 || a === this.output) return false;
    const name = this.fresh(op.out, 'ReduceMean');
    Object.assign(sum.node, {
      op_type: 'ReduceMean',
      input: [sum.node.input[0]],
      output: [name],
      attribute: [ints('axes', sum.axes), int('keepdims', sum.keepdim ? 1 : 0)],
    });
    this.names.delete(a);
    this.define(op.out, name, this.batchOf(a));
    return true;
  }

  unary(op: TracedOp, map: UnaryOp, p0: number, p1: number): void {
    const x = op.inputs[0];
    const out = op.out;
    const b = this.batchOf(x);
    const xn = this.ref(x);
    const simple = SIMPLE_UNARY[map];
    let name: string;
    if (simple) name = this.emit(simple, [xn], [], out);
    else {
      switch (map) {
        case 'silu':
          name = this.emit('Mul', [xn, this.emit('Sigmoid', [xn])], [], out);
          break;
        case 'hardsigmoid':
          name = this.emit('HardSigmoid', [xn], [float('alpha', 1 / 6), float('beta', 0.5)], out);
          break;
        case 'leakyRelu':
          name = this.emit('LeakyRelu', [xn], [float('alpha', p0)], out);
          break;
        case 'clamp':
          name = this.emit('Clip', [xn, p0 === -Infinity ? '' : this.f32([p0], []), p1 === Infinity ? '' : this.f32([p1], [])], [], out);
          break;
        case 'powScalar':
          name = this.emit('Pow', [xn, this.f32([p0], [])], [], out);
          break;
        case 'rdiv':
          name = this.emit('Div', [this.f32([p0], []), xn], [], out);
          break;
        case 'affine': {
          if (p0 === 1 && p1 === 0) return this.define(out, xn, b);
          const scaled = p0 === 1 ? xn : this.emit('Mul', [xn, this.f32([p0], [])], [], p1 === 0 ? out : null);
          name = p1 === 0 ? scaled : this.emit('Add', [scaled, this.f32([p1], [])], [], out);
          break;
        }
        case 'gelu': {
          // x·Φ(x) = 0.5·x·(1 + erf(x/√2)): opset 17 has no Gelu
          const erf = this.emit('Erf', [this.emit('Div', [xn, this.f32([Math.SQRT2], [])])]);
          const half = this.emit('Mul', [xn, this.f32([0.5], [])]);
          name = this.emit('Mul', [half, this.emit('Add', [erf, this.f32([1], [])])], [], out);
          break;
        }
        case 'geluTanh': {
          // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
          const cube = this.emit('Mul', [xn, this.emit('Mul', [xn, xn])]);
          const inner = this.emit('Add', [xn, this.emit('Mul', [cube, this.f32([0.044715], [])])]);
          const t = this.emit('Tanh', [this.emit('Mul', [inner, this.f32([Math.sqrt(2 / Math.PI)], [])])]);
          const half = this.emit('Mul', [xn, this.f32([0.5], [])]);
          name = this.emit('Mul', [half, this.emit('Add', [t, this.f32([1], [])])], [], out);
          break;
        }
        default:
          this.unsupported(op);
      }
    }
    this.define(out, name, b);
  }

  /** Reshape with the batch axis left to ONNX (-1), so any batch size fits; refused when the batch is merged or split. */
  reshape(x: Tensor, out: Tensor): void {
    const b = this.batchOf(x);
    const n = x.shape[b];
    const before = x.shape.slice(0, b).reduce((p, d) => p * d, 1);
    let ob = -1;
    for (let i = 0, p = 1; i < out.ndim; p *= out.shape[i], i++) {
      if (p === before && out.shape[i] === n) {
        ob = i;
        break;
      }
    }
    if (ob < 0) this.fail(`reshapes ${fmtShape(x.shape)} to ${fmtShape(out.shape)}, merging or splitting the batch axis ${b}`);
    const shape = out.shape.map((d, i) => (i === ob ? -1 : d));
    this.define(out, this.emit('Reshape', [this.ref(x), this.i64(shape)], [], out), ob);
  }

  linear(op: TracedOp): void {
    const [x, w, bias] = op.inputs;
    const b = this.isValue(x) ? this.batchOf(x) : -1;
    if (b < 0 || b === x.ndim - 1) this.fail('has its batch axis in the features');
    if (x.ndim === 2) {
      const inputs = [this.ref(x), this.ref(w), ...(bias ? [this.ref(bias)] : [])];
      return this.define(op.out, this.emit('Gemm', inputs, [int('transB', 1)], op.out), b);
    }
    const mm = this.emit('MatMul', [this.ref(x), this.emit('Transpose', [this.ref(w)], [ints('perm', [1, 0])])], [], bias ? null : op.out);
    this.define(op.out, bias ? this.emit('Add', [mm, this.ref(bias)], [], op.out) : mm, b);
  }

  matmul(op: TracedOp): void {
    const [a, m] = op.inputs;
    const out = op.out;
    let b = -1;
    // a's batch may be its rows or a leading axis, m's only a leading axis: never the contracted one
    for (const [t, limit] of [
      [a, a.ndim - 1],
      [m, m.ndim - 2],
    ] as const) {
      if (!this.isValue(t)) continue;
      if (t.ndim < 2 || this.batchOf(t) >= limit) this.fail('multiplies along the batch axis');
      const aligned = this.batchOf(t) + out.ndim - t.ndim;
      if (b >= 0 && aligned !== b) this.fail('combines inputs whose batch axes differ');
      b = aligned;
    }
    for (const t of [a, m]) {
      const i = b - (out.ndim - t.ndim);
      if (!this.isValue(t) && i >= 0 && i < t.ndim - 2 && t.shape[i] !== 1) this.fail('reads a constant with the batch size in its shape');
    }
    this.define(out, this.emit('MatMul', [this.ref(a), this.ref(m)], [], out), b);
  }

  conv(op: TracedOp, g: ConvGeometry): void {
    const [x, w, bias] = op.inputs;
    if (this.batchOf(x) !== 0) this.fail('has its batch axis elsewhere than axis 0');
    let input = this.ref(x);
    let pads = [...g.padding, ...g.padding];
    const padded = this.padOf.get(x);
    if (padded && this.uses.get(x) === 1 && x !== this.output) {
      // zero padding of the spatial axes just before (TensorFlow's "same", odd on one side) becomes the convolution's own, per side
      this.nodes.splice(this.nodes.indexOf(padded.node), 1);
      input = this.ref(padded.x);
      pads = [...g.padding.map((p, i) => p + padded.before[i + 2]), ...g.padding.map((p, i) => p + padded.after[i + 2])];
    }
    const attrs = [ints('kernel_shape', g.kernel), ints('strides', g.stride), ints('pads', pads), ints('dilations', g.dilation), int('group', g.groups)];
    const name = this.fresh(op.out, 'Conv');
    const node = this.node('Conv', [input, this.ref(w), ...(bias ? [this.ref(bias)] : [])], [name], attrs);
    this.define(op.out, name, 0);
    if (!this.isValue(w) && !(bias && this.isValue(bias))) this.convOf.set(op.out, { node, op });
  }

  convTranspose(op: TracedOp, g: ConvGeometry & { outputPadding: number[] }): void {
    const [x, w] = op.inputs;
    if (this.batchOf(x) !== 0) this.fail('has its batch axis elsewhere than axis 0');
    const attrs = [
      ints('kernel_shape', g.kernel),
      ints('strides', g.stride),
      ints('pads', [...g.padding, ...g.padding]),
      ints('dilations', g.dilation),
      ints('output_padding', g.outputPadding),
      int('group', g.groups),
    ];
    this.define(op.out, this.emit('ConvTranspose', [this.ref(x), this.ref(w)], attrs, op.out), 0);
  }

  batchNorm(op: TracedOp): void {
    const a = op.attrs as Record<string, unknown>;
    const x = op.inputs[0];
    if (a.training) this.fail('runs in training mode');
    if (this.batchOf(x) !== 0) this.fail('has its batch axis elsewhere than axis 0');
    const c = x.shape[1];
    const eps = a.eps as number;
    const mean = a.runningMean as Tensor;
    const variance = a.runningVar as Tensor;
    const weight = a.weight as Tensor | null;
    const bias = a.bias as Tensor | null;
    for (const t of [mean, variance, weight, bias]) if (t && this.isValue(t)) this.fail('has statistics or an affine map computed from the input');
    const conv = this.convOf.get(x);
    if (conv && this.uses.get(x) === 1 && x !== this.output) {
      // y = (conv(x)·W + b - mean)·γ/√(var + ε) + β: scale W and shift b per output channel, in float64
      const [, w, convBias] = conv.op.inputs;
      const m = mean.data as Float32Array;
      const v = variance.data as Float32Array;
      const per = w.size / c;
      const wd = w.data as Float32Array;
      const folded = new Float32Array(w.size);
      const shift = new Float32Array(c);
      for (let o = 0; o < c; o++) {
        const scale = (weight ? (weight.data as Float32Array)[o] : 1) / Math.sqrt(v[o] + eps);
        for (let k = o * per; k < (o + 1) * per; k++) folded[k] = wd[k] * scale;
        shift[o] = ((convBias ? (convBias.data as Float32Array)[o] : 0) - m[o]) * scale + (bias ? (bias.data as Float32Array)[o] : 0);
      }
      const wKey = this.keys.get(w);
      const base = wKey && wKey.endsWith('.weight') ? wKey.slice(0, -'.weight'.length) : `${op.module || 'root'}.conv`;
      const reuse = (t: Tensor | undefined, key: string) => (t && this.uses.get(t) === 1 && this.keys.get(t) === key ? key : this.uniqueName(key));
      conv.node.input[1] = this.addInitializer(reuse(w, `${base}.weight`), w.shape, DataType.FLOAT, folded);
      conv.node.input[2] = this.addInitializer(reuse(convBias, `${base}.bias`), [c], DataType.FLOAT, shift);
      const name = this.fresh(op.out, 'Conv');
      conv.node.output[0] = name;
      this.names.delete(x);
      return this.define(op.out, name, 0);
    }
    const ones = () => this.f32(new Array<number>(c).fill(1));
    const zeros = () => this.f32(new Array<number>(c).fill(0));
    const inputs = [this.ref(x), weight ? this.ref(weight) : ones(), bias ? this.ref(bias) : zeros(), this.ref(mean), this.ref(variance)];
    this.define(op.out, this.emit('BatchNormalization', inputs, [float('epsilon', eps)], op.out), 0);
  }

  pool(op: TracedOp, g: PoolGeometry): void {
    const x = op.inputs[0];
    const dims = g.inSize.length;
    if (x.ndim !== dims + 2 || this.batchOf(x) !== 0) this.fail(`needs an input [N, C, ...] with the batch first, got ${fmtShape(x.shape)}`);
    const isMax = op.name.startsWith('max') || op.name.startsWith('adaptiveMax');
    const out = op.out;
    let name: string;
    if (g.adaptive) {
      if (g.outSize.every((s) => s === 1)) name = this.emit(isMax ? 'GlobalMaxPool' : 'GlobalAveragePool', [this.ref(x)], [], out);
      else if (g.inSize.every((n, i) => n % g.outSize[i] === 0)) {
        const k = g.inSize.map((n, i) => n / g.outSize[i]);
        name = this.emit(isMax ? 'MaxPool' : 'AveragePool', [this.ref(x)], [ints('kernel_shape', k), ints('strides', k)], out);
      } else name = this.adaptiveSeparable(x, g, isMax, out);
      return this.define(out, name, 0);
    }
    // ceil mode shows as more outputs than the floor rule gives
    const floorOut = g.inSize.map((n, i) => Math.floor((n + 2 * g.padding[i] - g.dilation[i] * (g.kernel[i] - 1) - 1) / g.stride[i]) + 1);
    const ceil = g.outSize.some((o, i) => o > floorOut[i]) ? 1 : 0;
    const common = [ints('kernel_shape', g.kernel), ints('strides', g.stride), int('ceil_mode', ceil)];
    if (isMax) {
      name = this.emit('MaxPool', [this.ref(x)], [...common, ints('pads', [...g.padding, ...g.padding]), ints('dilations', g.dilation)], out);
    } else if (ceil && g.countIncludePad && g.padding.some((p) => p > 0)) {
      // PyTorch counts the padding but not a last window's overhang past it: pad explicitly, then count only real elements
      const pads = [0, 0, ...g.padding, 0, 0, ...g.padding];
      const padded = this.emit('Pad', [this.ref(x), this.i64(pads), this.f32([0], [])]);
      name = this.emit('AveragePool', [padded], [...common, int('count_include_pad', 0)], out);
    } else {
      const attrs = [...common, ints('pads', [...g.padding, ...g.padding]), int('count_include_pad', g.countIncludePad ? 1 : 0)];
      name = this.emit('AveragePool', [this.ref(x)], attrs, out);
    }
    this.define(out, name, 0);
  }

  /**
   * Adaptive pooling whose windows overlap or differ in size: PyTorch's windows
   * [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) pooled one spatial axis at a time (a mean or max over
   * a box is one over rows of ones over columns), each window a Slice and a reduction.
   */
  adaptiveSeparable(x: Tensor, g: PoolGeometry, isMax: boolean, out: Tensor): string {
    let cur = this.ref(x);
    const axesToDo = g.inSize.map((_, i) => i).filter((i) => g.inSize[i] !== g.outSize[i]);
    axesToDo.forEach((i, k) => {
      const axis = i + 2;
      const n = g.inSize[i];
      const o = g.outSize[i];
      const parts: string[] = [];
      for (let j = 0; j < o; j++) {
        const start = Math.floor((j * n) / o);
        const end = Math.ceil(((j + 1) * n) / o);
        const part = this.emit('Slice', [cur, this.i64([start]), this.i64([end]), this.i64([axis])]);
        parts.push(end - start === 1 ? part : this.emit(isMax ? 'ReduceMax' : 'ReduceMean', [part], [ints('axes', [axis]), int('keepdims', 1)]));
      }
      cur = this.emit('Concat', parts, [int('axis', axis)], k === axesToDo.length - 1 ? out : null);
    });
    return axesToDo.length ? cur : this.emit('Identity', [cur], [], out);
  }
}

/** The ops the output depends on, in order (ops whose results are dropped, as an unused branch, are left out). */
function liveOps(ops: readonly TracedOp[], output: Tensor): TracedOp[] {
  const needed = new Set<Tensor>([output]);
  const live: TracedOp[] = [];
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i];
    if (!needed.has(op.out)) continue;
    live.push(op);
    for (const t of tensorsOf(op)) needed.add(t);
  }
  return live.reverse();
}

/** Every tensor an op reads: its inputs and the tensors among its attributes. */
function tensorsOf(op: TracedOp): Tensor[] {
  const extra = op.attrs ? Object.values(op.attrs).filter((v): v is Tensor => v instanceof Tensor) : [];
  return [...op.inputs, ...extra];
}

function valueInfo(name: string, shape: readonly number[], batchAxis: number): object {
  const dim = shape.map((d, i) => (i === batchAxis ? { dim_param: 'N' } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}

/**
 * The ONNX model of `net` in evaluation mode, as bytes: traced on `exampleInput`
 * ([N, C, H, W] float32; H and W are fixed by it, N stays free). Throws an
 * OnnxExportError naming the module and op for anything ONNX cannot express exactly.
 */
export function exportOnnxBytes(net: Net, exampleInput: Tensor, options: OnnxExportOptions = {}): Uint8Array {
  if (!(exampleInput instanceof Tensor) || exampleInput.dtype !== 'float32' || exampleInput.ndim < 2) {
    throw new OnnxExportError(
      `exportOnnx: the example input must be a float32 tensor [N, C, ...], got ${exampleInput?.dtype} ${fmtShape(exampleInput?.shape ?? [])}`,
    );
  }
  // two images at least, so the batch axis cannot be mistaken for another size-1 axis
  const x = exampleInput.shape[0] === 1 ? noGrad(() => concat([exampleInput, exampleInput], 0)) : exampleInput;
  const { ops, output } = trace(net, x);
  if (!(output instanceof Tensor) || output.dtype !== 'float32') {
    throw new OnnxExportError(`exportOnnx: the network must return one float32 tensor, got ${output instanceof Tensor ? output.dtype : typeof output}`);
  }
  const keys = new Map<Tensor, string>();
  for (const [k, t] of [...net.namedParameters(), ...net.namedBuffers()]) keys.set(t, k);
  const live = liveOps(ops, output);
  const uses = new Map<Tensor, number>([[output, 1]]);
  for (const op of live) for (const t of tensorsOf(op)) uses.set(t, (uses.get(t) ?? 0) + 1);

  const g = new GraphBuilder(net.constructor.name, keys, uses, output);
  g.define(x, 'input', 0);
  for (const op of live) {
    // an op of constants alone is folded: its result is a constant
    if (tensorsOf(op).some((t) => g.isValue(t))) g.run(op);
  }
  if (!g.isValue(output)) throw new OnnxExportError('exportOnnx: the output does not depend on the input');
  if (g.names.get(output) !== 'logits') g.node('Identity', [g.names.get(output)!], ['logits']);

  const referenced = new Set(g.nodes.flatMap((n) => n.input));
  const initializer = [...g.initializers.values()].filter((t) => referenced.has(t.name));
  const metadata: { key: string; value: string }[] = [];
  if (options.classes) metadata.push({ key: ONNX_METADATA_KEYS.classes, value: JSON.stringify(options.classes) });
  if (options.preprocess) metadata.push({ key: ONNX_METADATA_KEYS.preprocess, value: JSON.stringify(options.preprocess) });
  const arch = architectureOf(net);
  if (arch) metadata.push({ key: ONNX_METADATA_KEYS.architecture, value: JSON.stringify(arch) });
  const model = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: options.producer ?? 'tsvision',
    producer_version: options.producerVersion ?? '',
    graph: {
      name: arch?.name ?? net.constructor.name,
      node: g.nodes,
      initializer,
      input: [valueInfo('input', x.shape, 0)],
      output: [valueInfo('logits', output.shape, g.batchOf(output))],
    },
    metadata_props: metadata,
  };
  // shared: the writer's own buffer, not one more copy of every weight
  return onnxType('ModelProto').encode(model).finish(true);
}

/** Writes the ONNX model of `net` (see exportOnnxBytes) to `path`, atomically. */
export function exportOnnx(net: Net, exampleInput: Tensor, path: string, options: OnnxExportOptions = {}): void {
  writeFileAtomic(path, exportOnnxBytes(net, exampleInput, options));
}
