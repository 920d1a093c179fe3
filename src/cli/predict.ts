/**
 * `tsvision predict --checkpoint DIR IMAGE...|DIR`: the top classes of each image,
 * as text or JSON. A folder is searched for images (recursively, sorted); a file
 * that cannot be read is reported on stderr and the rest are still classified
 * (the exit status is then 1).
 */
import { statSync } from 'node:fs';
import { findImages, IMAGE_EXTENSIONS } from '../data/image-folder.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError, loadPredictor, TTA_OPTION } from './common.js';
import type { TTA } from '../train/tta.js';

export const PREDICT: CommandSpec = {
  name: 'predict',
  summary: 'Classifies images with a trained checkpoint.',
  positionals: 'IMAGE...|DIR',
  options: [
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'the checkpoint to use (e.g. runs/convnet/best)' },
    { name: 'topk', type: 'int', default: 3, help: 'classes to show per image' },
    { name: 'json', type: 'flag', help: 'print a JSON array instead of text' },
    { name: 'batch-size', type: 'int', default: 64, help: 'images per batch' },
    TTA_OPTION,
  ],
  epilog: `Folders are searched recursively for ${IMAGE_EXTENSIONS.join(' ')} files.`,
};

export async function predict(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision predict';
  const { values, positionals, help } = parseCommand(PREDICT, argv);
  if (help) {
    say(helpText(PREDICT));
    return 0;
  }
  const checkpoint = values.checkpoint as string | undefined;
  if (!checkpoint) throw new UsageError(`${where}: --checkpoint DIR is required`);
  if (positionals.length === 0) throw new UsageError(`${where}: give images or a folder of images`);
  const failed: string[] = [];
  const fail = (path: string, reason: string) => {
    failed.push(path);
    process.stderr.write(`${where}: skipped ${path}: ${reason}\n`);
  };
  const paths: string[] = [];
  for (const p of positionals) {
    let st;
    try {
      st = statSync(p);
    } catch {
      fail(p, 'no such file');
      continue;
    }
    if (st.isDirectory()) {
      const found = findImages(p);
      if (found.length === 0) fail(p, `no images (${IMAGE_EXTENSIONS.join(' ')}) in this folder`);
      paths.push(...found);
    } else {
      paths.push(p);
    }
  }
  const predictor = loadPredictor(checkpoint, where, { tta: values.tta as TTA });
  if (paths.length === 0) throw new CommandError(`${where}: no images to classify`);
  const results = await predictor.classifyFiles(paths, { batchSize: values['batch-size'] as number, onSkip: fail });
  const rows = results.map(({ path, probs }) => ({
    path,
    top: predictor.top(probs, values.topk as number).map((t) => ({ ...t, probability: Number(t.probability.toFixed(6)) })),
  }));
  if (values.json) {
    say(JSON.stringify(rows, null, 2));
  } else {
    for (const r of rows) say(`${r.path}  ${r.top.map((t) => `${t.class} ${t.probability.toFixed(4)}`).join('  ')}`);
  }
  return failed.length > 0 ? 1 : 0;
}
