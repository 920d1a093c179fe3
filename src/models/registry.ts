/**
 * The model registry: builders by name, so a checkpoint records its architecture as
 * { name, config } and Model.load rebuilds it.
 *
 *   const net = getModel('lenet5', { numClasses: 10 });
 *   architectureOf(net);   // { name: 'lenet5', config: { numClasses: 10 } }
 */
import type { Module } from '../nn/module.js';
import type { JsonValue } from '../optim/serialize.js';

export type ModelConfig = { [key: string]: JsonValue };
export type ModelBuilder = (config: any) => Module;

export interface ModelEntry {
  name: string;
  builder: ModelBuilder;
  description: string;
}

const REGISTRY = new Map<string, ModelEntry>();
const ARCHITECTURE = new WeakMap<Module, { name: string; config: ModelConfig }>();

/** Registers a builder under `name` (refuses duplicates, as torchvision's register_model). */
export function registerModel(name: string, builder: ModelBuilder, description = ''): void {
  if (REGISTRY.has(name)) throw new Error(`registerModel: a model named "${name}" is already registered`);
  REGISTRY.set(name, { name, builder, description });
}

/** Builds the registered model `name` with `config`, and remembers both on the module (see architectureOf). */
export function getModel(name: string, config: ModelConfig = {}): Module {
  const entry = REGISTRY.get(name);
  if (!entry) throw new RangeError(`getModel: no model named "${name}"; registered: ${[...REGISTRY.keys()].join(', ')}`);
  const net = entry.builder(config);
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
