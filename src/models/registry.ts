/**
 * The model registry: builders by name, so a checkpoint records its architecture as
 * { name, config } and Model.load rebuilds it. Every registered model keeps the
 * classifier contract (ImageClassifier); getModel refuses a builder that does not.
 *
 *   const net = getModel('lenet5', { numClasses: 10 });
 *   architectureOf(net);   // { name: 'lenet5', config: { numClasses: 10 } }
 */
import type { Module } from '../nn/module.js';
import type { JsonValue } from '../core/json.js';
import { isImageClassifier, type ImageClassifier } from './classifier.js';

export type ModelConfig = { [key: string]: JsonValue };
// each family's builder takes its own config type
export type ModelBuilder = (config: any) => ImageClassifier;

/** What a data set needs of a classifier: its input and its number of classes. */
export interface DataShape {
  /** image channels (1 grey, 3 RGB) */
  channels: number;
  /** the square input's side, in pixels */
  imageSize: number;
  numClasses: number;
}

export interface RegisterOptions {
  description?: string;
  /** the config for a data set's channels, image size and classes; throw a RangeError for a size the model cannot take */
  configFor?: (data: DataShape) => ModelConfig;
  /** the input size the model is designed for (default 224) */
  imageSize?: number;
  /** the smallest square input the model's pooling allows (default 1); configFor refuses smaller sizes */
  minImageSize?: number;
}

/** A row of a family's registration table. */
export interface ModelDefinition extends RegisterOptions {
  name: string;
  builder: ModelBuilder;
}

export type ModelEntry = Required<ModelDefinition>;

const REGISTRY = new Map<string, ModelEntry>();
const ARCHITECTURE = new WeakMap<Module, { name: string; config: ModelConfig }>();

/** Registers a builder under `name` (refuses duplicates). */
export function registerModel(name: string, builder: ModelBuilder, options: RegisterOptions | string = {}): void {
  if (REGISTRY.has(name)) throw new Error(`registerModel: a model named "${name}" is already registered`);
  const {
    description = '',
    configFor = ({ numClasses }: DataShape) => ({ numClasses }),
    imageSize = 224,
    minImageSize = 1,
  } = typeof options === 'string' ? { description: options } : options;
  REGISTRY.set(name, { name, builder, description, configFor, imageSize, minImageSize });
}

/** Registers every row of a family's table. */
export function registerModels(definitions: readonly ModelDefinition[]): void {
  for (const { name, builder, ...options } of definitions) registerModel(name, builder, options);
}

/** The registry entry of `name`; a RangeError listing the registered names when there is none. */
export function modelEntry(name: string): ModelEntry {
  const entry = REGISTRY.get(name);
  if (!entry) throw new RangeError(`no model named "${name}"; registered: ${listModels().join(', ')}`);
  return entry;
}

/** The registered model `name`, configured for a data set's channels, image size and number of classes. */
export function modelForData(name: string, data: DataShape): ImageClassifier {
  return getModel(name, modelEntry(name).configFor(data));
}

/** Builds the registered model `name` with `config`, and remembers both on the module (see architectureOf). */
export function getModel(name: string, config: ModelConfig = {}): ImageClassifier {
  const entry = REGISTRY.get(name);
  if (!entry) throw new RangeError(`getModel: no model named "${name}"; registered: ${listModels().join(', ')}`);
  const net = entry.builder(config);
  if (!isImageClassifier(net)) {
    throw new TypeError(
      `getModel: the builder of "${name}" returned a ${(net as object)?.constructor?.name ?? typeof net} without the classifier contract ` +
        `(forwardFeatures, forwardHead, resetClassifier, classifier)`,
    );
  }
  ARCHITECTURE.set(net, { name, config: JSON.parse(JSON.stringify(config)) as ModelConfig });
  return net;
}

/** Names of the registered models, sorted. */
export function listModels(): string[] {
  return [...REGISTRY.keys()].sort();
}

/** The { name, config } a module was built from by getModel (or tagged with), else null. */
export function architectureOf(net: Module): { name: string; config: ModelConfig } | null {
  return ARCHITECTURE.get(net) ?? null;
}

/** Records that `net` is the registered model `name` built with `config` (for modules built directly). */
export function setArchitecture(net: Module, name: string, config: ModelConfig = {}): void {
  if (!REGISTRY.has(name)) throw new RangeError(`setArchitecture: no model named "${name}"`);
  ARCHITECTURE.set(net, { name, config: JSON.parse(JSON.stringify(config)) as ModelConfig });
}
