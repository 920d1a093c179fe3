/**
 * `tsvision explain --checkpoint DIR IMAGE [--class NAME] [--out FILE]`: the top classes of a
 * picture and where in it the evidence for one class lies (Grad-CAM), written as the map
 * blended over the picture as the network saw it.
 */
import { basename, extname } from 'node:path';
import { statSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { GradCamError } from '../metrics/gradcam.js';
import { explainImage } from '../train/explain.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError, loadPredictor } from './common.js';

export const EXPLAIN: CommandSpec = {
  name: 'explain',
  summary: "Shows where a picture holds the evidence for a class (Grad-CAM over the network's last convolutional stage), as an overlay PNG.",
  positionals: 'IMAGE',
  options: [
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'the checkpoint to use (e.g. runs/convnet/best)' },
    { name: 'class', type: 'string', value: 'NAME', help: 'the class to explain (default: the predicted one)' },
    { name: 'out', type: 'string', value: 'FILE', help: 'the overlay PNG (default: IMAGE-NAME.gradcam.png in the current folder)' },
    { name: 'topk', type: 'int', default: 3, help: 'classes to show' },
    { name: 'size', type: 'int', default: 224, help: "the overlay's smallest side: a smaller network input is scaled up to it" },
  ],
  epilog: 'The map is the ReLU of the activations weighted by the mean gradient of the class score per channel, upsampled and scaled to [0, 1].',
};

export async function explain(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision explain';
  const { values, positionals, help } = parseCommand(EXPLAIN, argv);
  if (help) {
    say(helpText(EXPLAIN));
    return 0;
  }
  const checkpoint = values.checkpoint as string | undefined;
  if (!checkpoint) throw new UsageError(`${where}: --checkpoint DIR is required`);
  if (positionals.length !== 1) throw new UsageError(`${where}: give one image (got ${positionals.length})`);
  const image = positionals[0];
  try {
    if (!statSync(image).isFile()) throw new CommandError(`${where}: ${image} is not a file`);
  } catch (e) {
    if (e instanceof CommandError) throw e;
    throw new CommandError(`${where}: ${image} does not exist`);
  }
  const predictor = loadPredictor(checkpoint, where);
  const name = values.class as string | undefined;
  if (name !== undefined && !predictor.classes.includes(name))
    throw new UsageError(`${where}: --class: no class '${name}'; the classes are ${predictor.classes.join(', ')}`);
  const out = (values.out as string | undefined) ?? `${basename(image, extname(image))}.gradcam.png`;
  let e;
  try {
    e = await explainImage(predictor, image, {
      minSize: values.size as number,
      ...(name !== undefined ? { classIndex: predictor.classes.indexOf(name) } : {}),
    });
  } catch (err) {
    if (err instanceof GradCamError) throw new CommandError(`${where}: ${err.message}`);
    throw new CommandError(`${where}: ${image}: ${(err as Error).message.split('\n')[0]}`);
  }
  writeFileAtomic(out, e.png);
  say(
    `${image}  ${predictor
      .top(e.probs, values.topk as number)
      .map((t) => `${t.class} ${t.probability.toFixed(4)}`)
      .join('  ')}`,
  );
  say(
    `Grad-CAM of '${predictor.classes[e.classIndex]}' (${(e.probs[e.classIndex] * 100).toFixed(1)}%) over stage '${e.layer}': ${out} (${e.overlayWidth}x${e.overlayHeight})`,
  );
  return 0;
}
