/**
 * summary(model, inputShape): a Keras-style account of a model, layer by layer,
 * from one forward pass on zeros: output shapes, parameters, multiply-accumulates
 * and receptive fields.
 *
 * It watches the pass with a forward pre-hook and a forward hook on every module;
 * the hooks are removed and every module's training flag restored afterwards, also
 * when the forward throws.
 */
import { noGrad } from '../tensor/autograd.js';
import { zeros } from '../tensor/creation.js';
import { fmtShape } from '../tensor/errors.js';
import { Tensor } from '../tensor/tensor.js';
import { ConvNd, ConvTransposeNd } from './conv.js';
import { Linear } from './linear.js';
import type { AnyModule, HookHandle, Parameter } from './module.js';
import { AdaptivePoolNd, PoolNd } from './pooling.js';
import { countParameters } from './utils.js';

export interface SummaryRow {
  /** The module's state-dict path ('' for the model itself). */
  name: string;
  /** Its class name. */
  type: string;
  /** 0 for the model, 1 for its children, and so on. */
  depth: number;
  /** True for a module without children (a layer). */
  leaf: boolean;
  /** Shapes of the tensors passed to forward. */
  inputShapes: number[][];
  /** Shape of the output (the first tensor of an array output); null when forward returned no tensor. */
  outputShape: number[] | null;
  /** Parameters this module owns directly, each tensor counted on the first row that shows it: the rows add up to the model's total. */
  params: number;
  /** The trainable (requiresGrad) part of params. */
  trainableParams: number;
  /** Parameters of the module and everything inside it (equals params for a layer). */
  totalParams: number;
  /**
   * Multiply-accumulates of this layer for the whole input batch. Counted for
   * convolutions (output elements · inChannels/groups · ∏kernel), transposed
   * convolutions (input elements · outChannels/groups · ∏kernel) and Linear (output
   * elements · inFeatures); 0 for everything else (normalisation, pooling, activations,
   * elementwise work; biases are not counted).
   */
  macs: number;
  /** MACs of this call including every module called inside it. */
  totalMacs: number;
  /**
   * Receptive field per spatial axis: how many input pixels one output position can
   * see (padding positions included, so it may exceed the input). null when the
   * output has no spatial axes (after Flatten) or the input has none.
   */
  receptiveField: number[] | null;
  /** Input pixels between neighbouring output positions per axis (the effective stride: the product of the strides so far). */
  jump: number[] | null;
}

export interface ModelSummary {
  inputShape: number[];
  outputShape: number[] | null;
  /** One row per call of a layer (and of a module that owns parameters directly); every module's call when `containers` was set. */
  rows: SummaryRow[];
  /** countParameters(model), tied parameters once. */
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Sum of the layers' MACs. */
  totalMacs: number;
  /** The table, as printed. */
  toString(): string;
}

export interface SummaryOptions {
  /** Print the table: true prints with console.log, a function receives the text. */
  print?: boolean | ((text: string) => void);
  /** Also list containers and blocks (indented by depth; their parameters and MACs are totals of their contents). */
  containers?: boolean;
}

/** Receptive-field state of a tensor [N, C, ...spatial]. */
interface Field {
  r: number[];
  j: number[];
  spatial: number[];
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function layerMacs(m: AnyModule, x: Tensor | undefined, y: Tensor | undefined): number {
  if (!x || !y) return 0;
  if (m instanceof ConvNd) return ((y.size * m.inChannels) / m.groups) * prod(m.kernelSize);
  if (m instanceof ConvTransposeNd) return ((x.size * m.outChannels) / m.groups) * prod(m.kernelSize);
  if (m instanceof Linear) return y.size * m.inFeatures;
  return 0;
}

/** The output's field, from the input's field and the layer; null when the spatial structure is lost. */
function nextField(m: AnyModule, f: Field, x: Tensor, y: Tensor): Field | null {
  const dims = f.spatial.length;
  if (y.ndim !== dims + 2) return null;
  const spatial = y.shape.slice(2);
  const windowed = (k: readonly number[], s: readonly number[], d: readonly number[]): Field => ({
    r: f.r.map((r, i) => r + d[i] * (k[i] - 1) * f.j[i]),
    j: f.j.map((j, i) => j * s[i]),
    spatial,
  });
  if (m instanceof ConvNd || m instanceof PoolNd) return windowed(m.kernelSize, m.stride, m.dilation);
  if (m instanceof ConvTransposeNd) {
    // Output o depends on inputs i with i·s + t·d = o + p: at most ⌈kEff/s⌉ neighbouring ones.
    return {
      r: f.r.map((r, i) => r + (Math.ceil((m.dilation[i] * (m.kernelSize[i] - 1) + 1) / m.stride[i]) - 1) * f.j[i]),
      j: f.j.map((j, i) => j / m.stride[i]),
      spatial,
    };
  }
  if (m instanceof AdaptivePoolNd) {
    const inSize = x.shape.slice(2);
    const widest = (n: number, out: number) => Math.max(...Array.from({ length: out }, (_, i) => Math.ceil(((i + 1) * n) / out) - Math.floor((i * n) / out)));
    return {
      r: f.r.map((r, i) => r + (widest(inSize[i], spatial[i]) - 1) * f.j[i]),
      j: f.j.map((j, i) => (j * inSize[i]) / spatial[i]),
      spatial,
    };
  }
  // Any other layer that keeps the spatial size is taken to work per position.
  return spatial.every((s, i) => s === f.spatial[i]) ? { ...f, spatial } : null;
}

const sameSpatial = (f: Field, t: Tensor) => t.ndim === f.spatial.length + 2 && f.spatial.every((s, i) => s === t.shape[i + 2]);

/** The widest of `fields` for a tensor of t's spatial size (how a residual add or a concat merges its branches). */
function widest(fields: readonly Field[], t: Tensor): Field | undefined {
  let best: Field | undefined;
  for (const f of fields) if (sameSpatial(f, t) && (!best || prod(f.r) >= prod(best.r))) best = f;
  return best;
}

const firstTensor = (v: unknown): Tensor | undefined =>
  v instanceof Tensor ? v : Array.isArray(v) ? v.find((t): t is Tensor => t instanceof Tensor) : undefined;

/**
 * Runs model on zeros(inputShape) (batch included: [1, 3, 224, 224]) under noGrad in
 * evaluation mode, and reports every layer call in forward order. Receptive fields
 * follow the tensors: a layer's input field is that of the layer output it was
 * given; a tensor made between layers by tensor ops (a residual add, a concat) gets
 * the widest field recorded for a tensor of its spatial size, which is exact for
 * such merges and a lower bound after a branch that mixes globally (squeeze-and-excitation).
 */
export function summary(model: AnyModule, inputShape: readonly number[], { print = false, containers = false }: SummaryOptions = {}): ModelSummary {
  const modules = model.namedModules();
  const names = new Map(modules.map(([n, m]) => [m, n]));
  const modes = modules.map(([, m]) => [m, m.training] as const);
  const rows: SummaryRow[] = [];
  const open: { row: SummaryRow; firstField: number }[] = [];
  const seen = new Set<Parameter>();
  const dims = inputShape.length - 2;
  const fieldOf = new WeakMap<Tensor, Field>();
  const fields: Field[] = [];
  const handles: HookHandle[] = [];
  let output: unknown;

  const before = (m: AnyModule, args: unknown[]): void => {
    const name = names.get(m) ?? '?';
    const own = m.parameters({ recurse: false }).filter((p) => !seen.has(p));
    for (const p of own) seen.add(p);
    const leaf = m.children().length === 0;
    const row: SummaryRow = {
      name,
      type: m.constructor.name,
      depth: name === '' ? 0 : name.split('.').length,
      leaf,
      inputShapes: args.filter((a): a is Tensor => a instanceof Tensor).map((t) => [...t.shape]),
      outputShape: null,
      params: own.reduce((a, p) => a + p.size, 0),
      trainableParams: own.reduce((a, p) => a + (p.requiresGrad ? p.size : 0), 0),
      totalParams: countParameters(m),
      macs: 0,
      totalMacs: 0,
      receptiveField: null,
      jump: null,
    };
    rows.push(row);
    open.push({ row, firstField: fields.length });
  };

  const after = (m: AnyModule, args: unknown[], out: unknown): void => {
    const { row, firstField } = open.pop()!;
    const leaf = row.leaf;
    const x = firstTensor(args);
    const y = firstTensor(out);
    row.outputShape = y ? [...y.shape] : null;
    row.macs = layerMacs(m, x, y);
    row.totalMacs += row.macs;
    for (const o of open) o.row.totalMacs += row.macs;
    if (dims >= 1 && x && y && !fieldOf.has(y)) {
      const inField = fieldOf.get(x) ?? widest(fields, x);
      const f = leaf ? (inField ? nextField(m, inField, x, y) : null) : (widest(fields.slice(firstField), y) ?? widest(fields, y) ?? null);
      if (f) {
        fieldOf.set(y, f);
        fields.push(f);
      }
    }
    const f = y && fieldOf.get(y);
    if (f) {
      row.receptiveField = [...f.r];
      row.jump = [...f.j];
    }
  };

  try {
    for (const [, m] of modules) {
      handles.push(m.registerForwardPreHook((mod, args) => before(mod, args)));
      handles.push(m.registerForwardHook((mod, args, out) => after(mod, args, out)));
    }
    model.eval();
    const input = zeros(inputShape);
    if (dims >= 1) {
      const f = { r: new Array<number>(dims).fill(1), j: new Array<number>(dims).fill(1), spatial: inputShape.slice(2) };
      fieldOf.set(input, f);
      fields.push(f);
    }
    output = noGrad(() => model.call(input));
  } finally {
    for (const h of handles) h.remove();
    for (const [m, mode] of modes) m.training = mode;
  }

  const totalParams = countParameters(model);
  const trainableParams = countParameters(model, { trainableOnly: true });
  const out = firstTensor(output);
  const result: ModelSummary = {
    inputShape: [...inputShape],
    outputShape: out ? [...out.shape] : null,
    rows: rows.filter((r) => containers || r.leaf || r.params > 0),
    totalParams,
    trainableParams,
    nonTrainableParams: totalParams - trainableParams,
    totalMacs: rows.reduce((a, r) => a + r.macs, 0),
    toString: () => formatSummary(result, model.constructor.name, containers),
  };
  if (print) (typeof print === 'function' ? print : console.log)(result.toString());
  return result;
}

const int = (n: number) => n.toLocaleString('en-US');
const axes = (v: number[] | null) => (v ? v.map((x) => (Number.isInteger(x) ? String(x) : x.toFixed(3).replace(/0+$/, ''))).join('x') : '-');

function formatSummary(s: ModelSummary, modelName: string, containers: boolean): string {
  const header = ['Layer (type)', 'Output shape', 'Param #', 'MACs', 'Receptive field', 'Jump'];
  const body = s.rows.map((r) => [
    `${containers ? '  '.repeat(r.depth) : ''}${r.name || '(model)'} (${r.type})`,
    r.outputShape ? fmtShape(r.outputShape) : '-',
    int(r.leaf ? r.params : r.totalParams),
    int(r.leaf ? r.macs : r.totalMacs),
    axes(r.receptiveField),
    axes(r.jump),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const width = widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1);
  return [
    `Model: ${modelName}`,
    '─'.repeat(width),
    line(header),
    '═'.repeat(width),
    ...body.map(line),
    '═'.repeat(width),
    `Total params: ${int(s.totalParams)}`,
    `Trainable params: ${int(s.trainableParams)}`,
    `Non-trainable params: ${int(s.nonTrainableParams)}`,
    `Total MACs: ${int(s.totalMacs)} (convolutions and linear layers, for the whole batch)`,
    `Input shape: ${fmtShape(s.inputShape)}; output shape: ${s.outputShape ? fmtShape(s.outputShape) : '-'}`,
    '─'.repeat(width),
  ].join('\n');
}
