/**
 * `tsvision worker --checkpoint DIR --redis URL`: takes the jobs `tsvision tag --redis`
 * enqueues, classifies their files (read from shared storage) and returns the results
 * through the queue. SIGTERM or Ctrl-C finishes the jobs in hand, then exits; a worker
 * that dies instead has its jobs run again by the others (src/tag/queue.ts).
 */
import { DEFAULT_QUEUE, shownUrl, startTagWorker, TagQueueError } from '../tag/queue.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError, loadPredictor, requireFolder } from './common.js';
import { checkRedisUrl } from './tag.js';

export const WORKER: CommandSpec = {
  name: 'worker',
  summary: 'Takes tsvision tag jobs from a Redis queue and classifies their files, until SIGTERM.',
  options: [
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'the checkpoint to use: the same one the tag command was given' },
    { name: 'redis', type: 'string', value: 'URL', help: 'the Redis the tag command enqueued on (redis://host:6379)' },
    { name: 'queue', type: 'string', value: 'NAME', default: DEFAULT_QUEUE, help: 'the BullMQ queue' },
    { name: 'concurrency', type: 'int', default: 1, help: 'jobs in hand at once (decoding overlaps; the network runs one batch at a time)' },
    { name: 'batch-size', type: 'int', default: 32, help: 'images per batch through the network' },
    { name: 'input', type: 'string', value: 'DIR', help: "read the jobs' files under this folder instead of the --input the tag command was given" },
    { name: 'lock-duration', type: 'int', default: 30000, help: "ms a job's lock lasts without renewal: how soon a dead worker's job can run elsewhere" },
    { name: 'stalled-interval', type: 'int', default: 30000, help: 'ms between checks for jobs whose worker died' },
    { name: 'max-stalled', type: 'count', default: 2, help: 'times a job may lose its worker before it fails (its files then written as errors)' },
  ],
  epilog: 'Every worker needs the files at the same paths (shared storage, or --input), Redis reachable, and the same checkpoint as the tag command.',
};

export async function worker(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision worker';
  const { values, positionals, help } = parseCommand(WORKER, argv);
  if (help) {
    say(helpText(WORKER));
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`${where}: unexpected argument '${positionals[0]}'`);
  const checkpoint = values.checkpoint as string | undefined;
  const redis = values.redis as string | undefined;
  if (!checkpoint) throw new UsageError(`${where}: --checkpoint DIR is required`);
  if (!redis) throw new UsageError(`${where}: --redis URL is required`);
  checkRedisUrl(redis, where);
  const root = values.input as string | undefined;
  if (root) requireFolder(root, where, '--input');
  const predictor = loadPredictor(checkpoint, where);
  const queue = values.queue as string;
  const log = (line: string) => say(`${where}: ${line}`);
  let running;
  try {
    running = await startTagWorker({
      predictor,
      redis,
      queue,
      concurrency: values.concurrency as number,
      batchSize: values['batch-size'] as number,
      root,
      lockDuration: values['lock-duration'] as number,
      stalledInterval: values['stalled-interval'] as number,
      maxStalledCount: values['max-stalled'] as number,
      log,
    });
  } catch (e) {
    if (e instanceof TagQueueError) throw new CommandError(`${where}: ${e.message}`);
    throw e;
  }
  log(`${running.name} waiting for jobs on queue ${queue} at ${shownUrl(redis)} with ${predictor.source} (SIGTERM or Ctrl-C: finish the job in hand and exit)`);
  let stop: (s: NodeJS.Signals) => void = () => {};
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    stop = resolve;
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  process.removeListener('SIGTERM', stop);
  process.removeListener('SIGINT', stop);
  log(`${signal}: finishing the jobs in hand (again to stop at once)`);
  const again = () => process.exit(130);
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  await running.close();
  process.removeListener('SIGTERM', again);
  process.removeListener('SIGINT', again);
  log('stopped');
  return 0;
}
