/** `tsvision summary --model NAME` and `tsvision models`: what a network is, before training it. */
import { knownWeights, listModels, MODEL_STATS, modelEntry, modelForData } from '../models/index.js';
import { summary as layerSummary } from '../nn/summary.js';
import { helpText, parseCommand, type CommandSpec } from './args.js';
import { CommandError } from './common.js';

export const SUMMARY: CommandSpec = {
  name: 'summary',
  summary: "Prints a model's layers: output shapes, parameters, multiply-adds and receptive fields.",
  options: [
    { name: 'model', type: 'string', value: 'NAME', default: 'convnet', help: 'a registered model (tsvision models lists them)' },
    { name: 'image-size', type: 'int', value: 'N', help: "the input's side (default: the model's)" },
    { name: 'channels', type: 'int', max: 3, default: 3, help: '3 (RGB) or 1 (grey)' },
    { name: 'num-classes', type: 'int', min: 2, default: 10, help: 'outputs of the classifier' },
  ],
};

export const MODELS: CommandSpec = { name: 'models', summary: 'Lists the registered models.', options: [] };

export function summary(argv: string[], say: (line?: string) => void): number {
  const where = 'tsvision summary';
  const { values, help } = parseCommand(SUMMARY, argv);
  if (help) {
    say(helpText(SUMMARY));
    return 0;
  }
  const name = values.model as string;
  let entry;
  try {
    entry = modelEntry(name);
  } catch {
    throw new CommandError(`${where}: unknown model '${name}'; the models are ${listModels().join(', ')}`);
  }
  const channels = values.channels as number;
  if (channels !== 1 && channels !== 3) throw new CommandError(`${where}: --channels must be 1 or 3, got ${channels}`);
  const imageSize = (values['image-size'] as number | undefined) ?? entry.imageSize;
  let net;
  try {
    net = modelForData(name, { channels, imageSize, numClasses: values['num-classes'] as number });
  } catch (e) {
    throw new CommandError(`${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  say(`${name}: ${entry.description}\ninput [1, ${channels}, ${imageSize}, ${imageSize}]\n`);
  say(layerSummary(net, [1, channels, imageSize, imageSize]).toString().trimEnd());
  return 0;
}

export function models(argv: string[], say: (line?: string) => void): number {
  const { help } = parseCommand(MODELS, argv);
  if (help) {
    say(helpText(MODELS));
    return 0;
  }
  const names = listModels();
  const w = Math.max(...names.map((n) => n.length));
  const num = (v: number | undefined, scale: number, digits: number) => (v === undefined ? '-' : (v / scale).toFixed(digits));
  say(`${'model'.padEnd(w)}  input  params (M)   GMACs  weights`);
  for (const n of names) {
    const e = modelEntry(n);
    const stats = MODEL_STATS[n];
    const weights = knownWeights(n)
      .map((k) => k.name.slice(n.length + 1) + (k.accuracy ? ` ${k.accuracy.top1}%` : ''))
      .join(', ');
    say(
      `${n.padEnd(w)}  ${String(e.imageSize).padStart(5)}  ${num(stats?.params, 1e6, 2).padStart(10)}  ${num(stats?.macs, 1e9, 2).padStart(6)}  ` +
        `${weights || '-'}`,
    );
  }
  say('\nparams and GMACs (multiply-accumulates) with 1000 classes at the input size; weights: known ImageNet files (--weights NAME.TAG), with top-1.');
  say("tsvision summary --model NAME prints a model's layers.");
  return 0;
}
