/**
 * Every numeric option of every subcommand refuses bad values with one line naming the
 * option, what it must be and what it got, and exit status 2 (a usage error): a table of
 * bad values per kind of option, run through `main` in this process, and the command
 * itself in a child process for negative numbers (`--lr -1`, `--lr=-1`), which node's
 * parseArgs alone takes for options.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCommand, type OptionSpec } from '../src/cli/args.js';
import { COMMANDS, main } from '../src/cli/main.js';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));

/** What each kind of option must be, written out here rather than taken from args.ts. */
const KIND_TEXT: Record<string, string> = {
  int: 'a positive integer',
  count: 'a non-negative integer',
  port: 'a port number (0 to 65535)',
  number: 'a positive number',
  'non-negative': 'a non-negative number',
  fraction: 'a number in (0, 1]',
  probability: 'a probability in [0, 1]',
};

/** Options whose own bounds narrow their kind's. */
const OWN_TEXT: Record<string, string> = {
  'train --val-split': 'a number in [0, 0.9]',
  'train --channels': 'an integer from 1 to 3',
  'summary --channels': 'an integer from 1 to 3',
  'summary --num-classes': 'an integer >= 2',
  'audit --near-distance': 'an integer from 0 to 31',
  'train --ema': 'a number in [0, 0.99999]',
  'lr-find --val-split': 'a number in [0, 0.9]',
  'lr-find --channels': 'an integer from 1 to 3',
  'lr-find --num-iter': 'an integer >= 2',
  'lr-find --smoothing': 'a number in [0, 0.999]',
};

/** Values each kind must refuse. */
const BAD: Record<string, string[]> = {
  int: ['0', '-1', '1.5', 'many', '', '0x10', 'NaN', 'Infinity', '1e400', '9007199254740993'],
  count: ['-1', '2.5', 'x', '-0.5'],
  port: ['-1', '65536', '80.5', 'http'],
  number: ['0', '-1', '-0.5', '-1e-3', 'NaN', 'Infinity', '-Infinity', '1e999', 'fast', '1,5'],
  'non-negative': ['-1', '-1e-9', 'NaN', 'x'],
  fraction: ['0', '1.5', '-0.1', 'high'],
  probability: ['-0.1', '1.01', 'x'],
};

/** Values each kind must accept (within any option's own bounds, which the table below adds). */
const GOOD: Record<string, string[]> = {
  int: ['1', '64', '1e2'],
  count: ['0', '7'],
  port: ['0', '8080', '65535'],
  number: ['1e-3', '0.5', '+2', '.25'],
  'non-negative': ['0', '5e-4', '12'],
  fraction: ['1', '0.95', '.5'],
  probability: ['0', '1', '0.5'],
};

const numeric = (o: OptionSpec) => o.type !== 'string' && o.type !== 'flag';

async function runMain(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(args), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe('numeric options', () => {
  const options = COMMANDS.flatMap((c) => c.options.filter(numeric).map((o) => ({ command: c.name, spec: c, o })));

  test('every subcommand declares its numeric options with a known kind', () => {
    assert.ok(options.length >= 40, `${options.length} numeric options`);
    for (const { command, o } of options) {
      assert.ok(o.type in KIND_TEXT, `${command} --${o.name}: kind ${o.type}`);
      if (o.min !== undefined || o.max !== undefined)
        assert.ok(`${command} --${o.name}` in OWN_TEXT, `${command} --${o.name} has its own bounds: add it to OWN_TEXT`);
    }
  });

  test('bad values: one line naming the option, exit status 2, no stack', async () => {
    let cases = 0;
    for (const { command, o } of options) {
      const own = OWN_TEXT[`${command} --${o.name}`];
      const must = (own ?? KIND_TEXT[o.type]) + (o.words ? ` or ${o.words.join(' or ')}` : '');
      // an option with its own bounds: just past them, and what no number option takes
      const bad = own
        ? ['x', 'NaN', '', ...(o.max !== undefined ? [String(o.max + 1)] : []), ...(o.min !== undefined ? [String(o.min - 1)] : [])]
        : BAD[o.type];
      for (const value of bad) {
        for (const args of [
          [command, `--${o.name}`, value],
          [command, `--${o.name}=${value}`],
        ]) {
          const { code, stderr } = await runMain(args);
          const label = args.join(' ');
          assert.equal(code, 2, label);
          assert.equal(stderr, `tsvision ${command}: --${o.name} must be ${must}, got ${value}\n`, label);
          cases++;
        }
      }
    }
    assert.ok(cases > 500, `${cases} cases`);
  });

  test('good values are taken as numbers', () => {
    for (const { command, spec, o } of options) {
      const own = (v: string) => (o.min === undefined || Number(v) >= o.min) && (o.max === undefined || Number(v) <= o.max);
      for (const value of GOOD[o.type].filter(own)) {
        const parsed = parseCommand(spec, [`--${o.name}`, value]);
        assert.equal(parsed.values[o.name], Number(value), `${command} --${o.name} ${value}`);
      }
    }
  });

  test('a negative number is a value, not an option; a value starting with - needs --name=VALUE', () => {
    const train = COMMANDS.find((c) => c.name === 'train')!;
    assert.throws(() => parseCommand(train, ['--lr', '-1']), /^UsageError: tsvision train: --lr must be a positive number or auto, got -1$/);
    assert.throws(() => parseCommand(train, ['--lr', '-.5', '--data', 'x']), /--lr must be a positive number or auto, got -\.5$/);
    assert.throws(
      () => parseCommand(train, ['--out', '-x']),
      /^UsageError: tsvision train: --out needs a value \(write --out=VALUE for a value that starts with -\)$/,
    );
    assert.equal(parseCommand(train, ['--out=-x']).values.out, '-x');
    assert.equal(parseCommand(train, ['--out', '-1']).values.out, '-1');
    // after --, everything is positional
    assert.deepEqual(parseCommand(train, ['--', '--lr', '-1']).positionals, ['--lr', '-1']);
  });

  test('the command itself: --lr -1 and --port=-80 exit 2 with one line', () => {
    for (const args of [
      ['train', '--data', '.', '--lr', '-1'],
      ['serve', '--port=-80'],
    ]) {
      const r = spawnSync(process.execPath, [...CLI_FLAGS, bin, ...args], { encoding: 'utf8', env: { ...process.env, TSVISION_DEBUG: '' } });
      const name = args.find((a) => a.startsWith('--') && a !== '--data')!.split('=')[0];
      assert.equal(r.status, 2, args.join(' '));
      assert.match(
        r.stderr,
        new RegExp(`^tsvision ${args[0]}: ${name} must be a (positive number or auto|port number \\(0 to 65535\\)), got -\\d+\\n$`),
        args.join(' '),
      );
      assert.equal(r.stdout, '');
    }
  });
});
