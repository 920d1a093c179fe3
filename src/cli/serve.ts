/**
 * `tsvision serve --checkpoint DIR [--port 8080] [--host 127.0.0.1]`: the HTTP
 * service (src/serve). Prints the bound address, serves until SIGTERM or SIGINT,
 * then stops accepting, answers the requests in flight and exits 0; a second
 * signal exits at once.
 */
import type { OperatingPointRequest } from '../train/operating-point.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError } from './common.js';
import { operatingPointGoal } from './evaluate.js';

export const SERVE: CommandSpec = {
  name: 'serve',
  summary: 'Serves a trained checkpoint over HTTP: POST /v1/classify, GET /health, GET /v1/model, GET /metrics.',
  options: [
    { name: 'checkpoint', type: 'string', value: 'DIR', help: 'the checkpoint to serve (e.g. runs/convnet/best)' },
    { name: 'port', type: 'port', default: 8080, help: 'the port to listen on (0: any free port)' },
    { name: 'host', type: 'string', value: 'ADDRESS', default: '127.0.0.1', help: 'the address to listen on (0.0.0.0: every interface)' },
    { name: 'max-batch', type: 'int', default: 16, help: 'pictures per batch, at most (1: no batching)' },
    { name: 'max-wait-ms', type: 'non-negative', default: 5, help: 'how long a picture may wait for others to join its batch' },
    { name: 'max-body-mb', type: 'number', default: 20, help: 'the largest request body in MiB (larger: 413)' },
    { name: 'max-pixels', type: 'int', default: 40000000, help: 'the most pixels of one picture, refused before decoding (more: 413)' },
    { name: 'max-files', type: 'int', default: 64, help: 'files per multipart request, at most' },
    { name: 'decoders', type: 'int', value: 'N', help: 'pictures decoded at once (default: a quarter of the cores, at least 1)' },
    {
      name: 'threads',
      type: 'int',
      value: 'N',
      help: "the network's kernel threads (default: TSVISION_NUM_THREADS, else the cores left after the main thread and the decoders, at least 1)",
    },
    { name: 'timeout-ms', type: 'int', default: 30000, help: 'a request not answered in this time gets 503' },
    {
      name: 'class',
      type: 'string',
      value: 'NAME',
      help: 'answer whether each picture passes an operating point for this class (with --target-recall or --target-precision)',
    },
    { name: 'target-recall', type: 'fraction', value: 'R', help: 'the threshold reaching this recall with the best precision' },
    { name: 'target-precision', type: 'fraction', value: 'P', help: "the lowest threshold on the class's probability reaching this precision" },
    {
      name: 'predictions',
      type: 'string',
      value: 'FILE',
      help: 'the predictions file the threshold is chosen on (default: evaluation/predictions.txt beside the checkpoint)',
    },
  ],
  epilog:
    'curl --data-binary @cat.jpg http://127.0.0.1:8080/v1/classify?topk=3, or curl -F a=@cat.jpg -F b=@dog.png for several pictures. ' +
    'The threshold of --class comes from the predictions tsvision evaluate wrote.',
};

/** --class with --target-recall / --target-precision (and --predictions) as an operating-point request, or undefined. */
function operatingPointRequest(values: Record<string, unknown>, where: string): OperatingPointRequest | undefined {
  const wanted = operatingPointGoal(values, where);
  if (!wanted) {
    if (values.predictions !== undefined) throw new UsageError(`${where}: --predictions needs --class NAME and a target`);
    return undefined;
  }
  return { ...wanted, predictions: values.predictions as string | undefined };
}

export async function serve(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision serve';
  const { values, positionals, help } = parseCommand(SERVE, argv);
  if (help) {
    say(helpText(SERVE));
    return 0;
  }
  const checkpoint = values.checkpoint as string | undefined;
  if (!checkpoint) throw new UsageError(`${where}: --checkpoint DIR is required`);
  if (positionals.length > 0) throw new UsageError(`${where}: takes no positional arguments, got ${positionals.join(' ')}`);
  const operatingPoint = operatingPointRequest(values, where);
  // loaded here, so that the other commands do not load fastify
  const { startServer, ServeError } = await import('../serve/index.js');
  let server;
  try {
    server = await startServer({
      checkpoint,
      host: values.host as string,
      port: values.port as number,
      maxBatch: values['max-batch'] as number,
      maxWaitMs: values['max-wait-ms'] as number,
      maxBodyMb: values['max-body-mb'] as number,
      maxPixels: values['max-pixels'] as number,
      maxFiles: values['max-files'] as number,
      decoders: values.decoders as number | undefined,
      threads: values.threads as number | undefined,
      timeoutMs: values['timeout-ms'] as number,
      operatingPoint,
      log: (line) => process.stderr.write(`${where}: ${line}\n`),
    });
  } catch (e) {
    if (e instanceof ServeError) throw new CommandError(`${where}: ${e.message}`);
    throw e;
  }
  const { model, operatingPoint: op } = server;
  say(
    `${where}: ${model.architecture?.name ?? 'a network'} from ${model.checkpoint}, ${model.classes.length} classes, ` +
      `batches of up to ${values['max-batch']} within ${values['max-wait-ms']} ms` +
      (op ? `; '${op.class}' passes at probability >= ${op.threshold} (${op.goal} ${op.target} on ${op.source})` : ''),
  );
  say(`${where}: listening on ${server.url}`);
  await new Promise<void>((resolve, reject) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`${where}: ${signal} again: exiting without waiting\n`);
        process.exit(1);
      }
      stopping = true;
      say(`${where}: ${signal}: finishing the requests in flight`);
      server.close().then(() => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        resolve();
      }, reject);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  say(`${where}: stopped`);
  return 0;
}
