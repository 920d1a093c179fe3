/**
 * `tsvision tag --checkpoint DIR --input DIR --out FILE`: every picture under a folder
 * classified, one JSON line per file (src/tag/output.ts), resumable after a kill. With
 * `--redis URL` the files go to `tsvision worker`s on any number of machines through a
 * BullMQ queue, and this process collects their results into the same file.
 */
import { resolve } from 'node:path';
import { IMAGE_EXTENSIONS } from '../data/image-folder.js';
import { DEFAULT_QUEUE, enqueueAndCollect, shownUrl, TagQueueError } from '../tag/queue.js';
import { TagOutput, TagOutputError } from '../tag/output.js';
import { listPictures, tagLocal, type TagCounts } from '../tag/tagger.js';
import { OperatingPointError, operatingPointFor, type DeployedOperatingPoint } from '../train/operating-point.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError, loadPredictor, requireFolder } from './common.js';
import { operatingPointOption } from './evaluate.js';

export const TAG: CommandSpec = {
  name: 'tag',
  summary: 'Tags every picture under a folder with its class, one JSON line per file; resumes after a kill; with --redis, on many machines.',
  options: [
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'the checkpoint to use (e.g. runs/convnet/best)' },
    { name: 'input', type: 'string', value: 'DIR', help: 'the folder of pictures (searched recursively); output paths are relative to it' },
    { name: 'out', type: 'string', value: 'FILE', help: 'the JSONL output; lines already there are kept and their files skipped' },
    {
      name: 'batch-size',
      type: 'int',
      default: 32,
      help: 'images per batch on this machine, each fsynced before the next (with --redis, the workers have their own)',
    },
    { name: 'topk', type: 'int', default: 3, help: 'classes listed per picture' },
    { name: 'class', type: 'string', value: 'NAME', help: 'a class to flag (with --target-recall or --target-precision): adds "passes" to each line' },
    { name: 'target-recall', type: 'fraction', value: 'R', help: "the evaluation's threshold reaching this recall with the best precision" },
    { name: 'target-precision', type: 'fraction', value: 'P', help: "the evaluation's lowest threshold reaching this precision" },
    { name: 'redis', type: 'string', value: 'URL', help: 'redis://host:6379: enqueue the files for tsvision worker processes and collect their results' },
    { name: 'queue', type: 'string', value: 'NAME', default: DEFAULT_QUEUE, help: 'the BullMQ queue (with --redis)' },
    { name: 'job-size', type: 'int', default: 32, help: 'files per queued job (with --redis)' },
  ],
  epilog:
    `Pictures: ${IMAGE_EXTENSIONS.join(' ')}. Each line: {"path", "class", "probability", "top": [{class, index, probability}], "passes"?}, ` +
    'or {"path", "error"} for a file that cannot be read. The exit status is 1 when any file was unreadable (or, with --redis, in a job that failed). ' +
    'The threshold for --class is chosen on the predictions tsvision evaluate wrote beside the checkpoint.',
};

/** Checks a --redis value; throws a UsageError naming `where`. */
export function checkRedisUrl(url: string, where: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${where}: --redis needs a URL like redis://host:6379, got '${url}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UsageError(`${where}: --redis needs a redis:// or rediss:// URL, got '${url}'`);
}

export async function tag(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision tag';
  const { values, positionals, help, given } = parseCommand(TAG, argv);
  if (help) {
    say(helpText(TAG));
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`${where}: unexpected argument '${positionals[0]}' (the folder goes after --input)`);
  const checkpoint = values.checkpoint as string | undefined;
  const input = values.input as string | undefined;
  const out = values.out as string | undefined;
  if (!checkpoint) throw new UsageError(`${where}: --checkpoint DIR is required`);
  if (!input) throw new UsageError(`${where}: --input DIR is required`);
  if (!out) throw new UsageError(`${where}: --out FILE is required`);
  const redis = values.redis as string | undefined;
  if (redis) checkRedisUrl(redis, where);
  else for (const o of ['queue', 'job-size']) if (given.has(o)) throw new UsageError(`${where}: --${o} needs --redis URL`);
  requireFolder(input, where, '--input');

  const predictor = loadPredictor(checkpoint, where);
  const wanted = operatingPointOption(values, predictor.classes, where);
  let op: DeployedOperatingPoint | undefined;
  if (wanted) {
    try {
      op = operatingPointFor(predictor, { className: predictor.classes[wanted.classIndex], goal: wanted.goal, target: wanted.target });
    } catch (e) {
      if (e instanceof OperatingPointError) throw new CommandError(`${where}: ${e.message}`);
      throw e;
    }
    say(
      `${where}: '${op.class}' passes at probability >= ${op.threshold} (target ${op.goal} ${op.target}; ` +
        `precision ${op.precision.toFixed(4)}, recall ${op.recall.toFixed(4)} on ${op.source})`,
    );
  }

  let output: TagOutput;
  try {
    output = TagOutput.open(out);
  } catch (e) {
    if (e instanceof TagOutputError) throw new CommandError(`${where}: ${e.message}`);
    throw new CommandError(`${where}: cannot open --out ${out}: ${(e as Error).message.split('\n')[0]}`);
  }
  let counts: TagCounts;
  try {
    const root = resolve(input);
    const files = listPictures(root);
    if (output.repairedBytes > 0) say(`${where}: cut a torn last line (${output.repairedBytes} bytes) from ${out}`);
    const already = files.filter((f) => output.has(f)).length;
    if (already > 0) say(`${where}: resuming: ${already} of ${files.length} files are already in ${out}`);
    const onUnreadable = (path: string, reason: string) => {
      process.stderr.write(`${where}: unreadable ${path}: ${reason}\n`);
    };
    const topk = values.topk as number;
    if (redis) {
      counts = await enqueueAndCollect({
        redis,
        queue: values.queue as string,
        root,
        files,
        output,
        jobSize: values['job-size'] as number,
        classes: predictor.classes,
        topk,
        op,
        onUnreadable,
        onEnqueued: (jobs, n) => say(`${where}: ${jobs} jobs (${n} files) on queue ${values.queue} at ${shownUrl(redis)}; waiting for tsvision worker`),
        onProgress: (done, total) => say(`${where}: ${done} of ${total} files done`),
        onJobFailed: (_id, reason) => process.stderr.write(`${where}: ${reason}\n`),
      });
    } else {
      // a line every 10 s, so that a long run shows it is moving
      const t0 = performance.now();
      let shown = t0;
      const onBatch = (written: number) => {
        const now = performance.now();
        if (now - shown < 10000) return;
        shown = now;
        say(`${where}: ${already + written} of ${files.length} files done, ${(written / ((now - t0) / 1000)).toFixed(1)} images/s`);
      };
      counts = await tagLocal({ predictor, root, files, output, batchSize: values['batch-size'] as number, topk, op, onUnreadable, onBatch });
    }
  } catch (e) {
    if (e instanceof TagQueueError) throw new CommandError(`${where}: ${e.message}`);
    throw e;
  } finally {
    output.close();
  }
  const c = counts;
  const passing = op ? `, ${c.passing} passing (${op.class} >= ${op.threshold})` : '';
  const failed = c.failed > 0 ? `, ${c.failed} in failed jobs (run the command again to retry them)` : '';
  say(
    `${where}: ${c.files} files: ${c.tagged} tagged, ${c.unreadable} unreadable${passing}${failed}; ` +
      `${c.written} written by this run in ${c.seconds.toFixed(1)} s, ${c.imagesPerSecond.toFixed(1)} images/s; output ${out}`,
  );
  return c.unreadable > 0 || c.failed > 0 ? 1 : 0;
}
