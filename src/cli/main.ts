/** The `tsvision` command: argument parsing and wiring only. */
import { demo } from './demo.js';

const USAGE = `usage: tsvision <command> [options]

commands:
  demo [--epochs N] [--batch-size N]   train a CNN on MNIST, then evaluate it on the 10,000 test images
  help                                 this text`;

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`tsvision: ${name} needs a positive integer, got ${args[i + 1] ?? 'nothing'}`);
  return v;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case 'demo':
        if (args.includes('--help')) {
          console.log('usage: tsvision demo [--epochs 3] [--batch-size 64]\n\nTrains the classic MNIST CNN and prints the test accuracy, confusion matrix and per-class report.');
          return 0;
        }
        await demo({ epochs: option(args, '--epochs', 3), batchSize: option(args, '--batch-size', 64), out: process.stdout });
        return 0;
      case undefined:
      case 'help':
      case '--help':
        console.log(USAGE);
        return command === undefined ? 1 : 0;
      default:
        console.error(`tsvision: unknown command '${command}'\n\n${USAGE}`);
        return 1;
    }
  } catch (e) {
    console.error((e as Error).message);
    return 1;
  }
}
