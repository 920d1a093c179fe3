/**
 * `tsvision export --checkpoint DIR --format onnx --out FILE [--image-size N]`: the
 * checkpoint's network as an ONNX file (docs/deploy.md), with its class names and
 * preprocessing in the file's metadata. The network, classes and preprocessing come
 * from the same Predictor that `predict` uses.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { exportOnnx, OnnxExportError, ONNX_OPSET } from '../export/onnx.js';
import { zeros } from '../tensor/creation.js';
import { tsvisionVersion } from '../train/checkpoint.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError, loadPredictor } from './common.js';

export const EXPORT: CommandSpec = {
  name: 'export',
  summary: 'Writes a checkpoint as an ONNX file (opset 17, any batch size) with its classes and preprocessing.',
  options: [
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'the checkpoint to export (e.g. runs/convnet/best)' },
    { name: 'format', type: 'string', choices: ['onnx'], default: 'onnx', help: 'the file format' },
    { name: 'out', type: 'string', value: 'FILE', help: 'where to write the model (e.g. model.onnx)' },
    { name: 'image-size', type: 'int', help: "the input's side in pixels (default: the checkpoint's crop size)" },
  ],
  epilog: 'The graph takes input [N, C, S, S] float32 (preprocessed as the metadata entry `preprocess` says) and gives logits [N, classes].',
};

export function exportCommand(argv: string[], say: (line?: string) => void): number {
  const where = 'tsvision export';
  const { values, positionals, help } = parseCommand(EXPORT, argv);
  if (help) {
    say(helpText(EXPORT));
    return 0;
  }
  if (positionals.length) throw new UsageError(`${where}: unexpected argument ${positionals[0]}`);
  const checkpoint = values.checkpoint as string | undefined;
  const out = values.out as string | undefined;
  if (!checkpoint) throw new UsageError(`${where}: --checkpoint DIR is required`);
  if (!out) throw new UsageError(`${where}: --out FILE is required`);
  const outDir = dirname(resolve(out));
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) throw new CommandError(`${where}: the folder of --out ${out} does not exist`);
  const predictor = loadPredictor(checkpoint, where);
  const crop = predictor.preprocess.cropSize;
  const size = (values['image-size'] as number | undefined) ?? crop;
  // the metadata describes the input the graph takes: a different size scales the resize step with it
  const preprocess =
    size === crop ? predictor.preprocess : { ...predictor.preprocess, cropSize: size, resizeSize: Math.round((predictor.preprocess.resizeSize * size) / crop) };
  const channels = predictor.preprocess.channels;
  try {
    exportOnnx(predictor.net as Parameters<typeof exportOnnx>[0], zeros([1, channels, size, size]), out, {
      classes: predictor.classes,
      preprocess,
      producer: 'tsvision',
      producerVersion: tsvisionVersion(),
    });
  } catch (e) {
    if (e instanceof OnnxExportError) throw new CommandError(`${where}: ${e.message.replace(/^exportOnnx: /, '')}`);
    // a network that refuses the size (too small for its pooling, a fixed-size layer)
    if (e instanceof RangeError || (e as Error)?.name === 'ShapeError') {
      throw new CommandError(`${where}: the network does not take ${size}x${size} input: ${(e as Error).message.split('\n')[0]}`);
    }
    throw e;
  }
  const mb = statSync(out).size / 1e6;
  say(`${out}: ONNX opset ${ONNX_OPSET}, input [N, ${channels}, ${size}, ${size}], ${predictor.classes.length} classes, ${mb.toFixed(1)} MB`);
  return 0;
}
