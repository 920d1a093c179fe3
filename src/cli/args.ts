/**
 * Argument parsing for the tsvision subcommands: each command declares its
 * options once, and gets both the parser and its --help text from that.
 * Errors are one line, naming the command and the option (UsageError).
 */
import { parseArgs } from 'node:util';

/**
 * The kinds of numeric option, each with its range (an option's own min / max narrow it):
 * int: a positive integer; count: an integer >= 0; port: 0 to 65535; number: a positive
 * number; non-negative: a number >= 0; fraction: a number in (0, 1] (a target recall or
 * precision); probability: a number in [0, 1].
 */
export type NumericKind = 'int' | 'count' | 'port' | 'number' | 'non-negative' | 'fraction' | 'probability';
export type OptionType = 'string' | 'flag' | NumericKind;

interface Range {
  int: boolean;
  min: number;
  /** min itself is excluded */
  open: boolean;
  max?: number;
}

const KINDS: Record<NumericKind, Range> = {
  int: { int: true, min: 1, open: false },
  count: { int: true, min: 0, open: false },
  port: { int: true, min: 0, open: false, max: 65535 },
  number: { int: false, min: 0, open: true },
  'non-negative': { int: false, min: 0, open: false },
  fraction: { int: false, min: 0, open: true, max: 1 },
  probability: { int: false, min: 0, open: false, max: 1 },
};

/** The range of a numeric option: its kind's, or its own min (inclusive) and max where it gives them. */
export function optionRange(o: OptionSpec): Range {
  const k = KINDS[o.type as NumericKind];
  return o.min !== undefined ? { int: k.int, min: o.min, open: false, max: o.max ?? k.max } : { ...k, max: o.max ?? k.max };
}

/** What a numeric option must be, as its error message says it: 'a positive integer', 'a number in (0, 1]', ... */
export function describeRange(o: OptionSpec): string {
  const { int, min, open, max } = optionRange(o);
  if (o.type === 'port' && min === 0 && max === 65535) return 'a port number (0 to 65535)';
  if (int) {
    if (max === undefined) return min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    return `an integer from ${min} to ${max}`;
  }
  if (max === undefined) return open && min === 0 ? 'a positive number' : min === 0 ? 'a non-negative number' : `a number ${open ? '>' : '>='} ${min}`;
  if (o.type === 'probability' && min === 0 && max === 1) return 'a probability in [0, 1]';
  return `a number in ${open ? '(' : '['}${min}, ${max}]`;
}

// a decimal number as people write it: no hex, no 'Infinity', no blanks
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
// a value that starts with a dash but is a number, not an option ('-1', '-.5', '-2e-3')
const NEGATIVE = /^-(\d|\.\d)/;

export interface OptionSpec {
  name: string;
  type: OptionType;
  help: string;
  /** shown in the help as the value's name (default: the type) */
  value?: string;
  default?: string | number | boolean;
  /** allowed values of a string option */
  choices?: readonly string[];
  /** a numeric option's own bounds within its kind's range (min inclusive) */
  min?: number;
  max?: number;
  /** words a numeric option takes beside numbers (--lr auto), kept as strings */
  words?: readonly string[];
}

export interface CommandSpec {
  name: string;
  /** one line: what it does */
  summary: string;
  /** positional arguments as shown in the usage line ('IMAGE...|DIR'), or none */
  positionals?: string;
  options: OptionSpec[];
  /** text after the options in --help */
  epilog?: string;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Parsed {
  values: Record<string, string | number | boolean | undefined>;
  positionals: string[];
  help: boolean;
  /** the options given on the command line (not defaulted) */
  given: Set<string>;
}

function usageLine(spec: CommandSpec): string {
  return `usage: tsvision ${spec.name} ${spec.positionals ? `${spec.positionals} ` : ''}[options]`;
}

/** The command's --help text. */
export function helpText(spec: CommandSpec): string {
  const rows = spec.options.map((o) => {
    const left = o.type === 'flag' ? `--${o.name}` : `--${o.name} ${o.value ?? (o.choices ? o.choices.join('|') : o.type === 'string' ? 'TEXT' : 'N')}`;
    const def = o.default !== undefined && o.type !== 'flag' ? ` (default ${o.default})` : '';
    return [left, `${o.help}${def}`];
  });
  rows.push(['--help', 'this text']);
  const w = Math.max(...rows.map((r) => r[0].length));
  const options = rows.map(([l, r]) => `  ${l.padEnd(w)}  ${r}`).join('\n');
  return `${usageLine(spec)}\n\n${spec.summary}\n\noptions:\n${options}${spec.epilog ? `\n\n${spec.epilog}` : ''}`;
}

/** Parses argv for `spec`; throws a UsageError (one line) on anything unknown or malformed. */
export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const where = `tsvision ${spec.name}`;
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const o of spec.options) options[o.name] = { type: o.type === 'flag' ? 'boolean' : 'string' };
  // parseArgs takes '--lr -1' for two options: join the value to its option ('--lr=-1') when it is a
  // negative number, or anything but another --option after a numeric option (so '--lr -Infinity' is refused by name)
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const o = a.startsWith('--') && !a.includes('=') ? spec.options.find((x) => x.name === a.slice(2)) : undefined;
    const next = argv[i + 1];
    const joins =
      o !== undefined &&
      o.type !== 'flag' &&
      next !== undefined &&
      next.startsWith('-') &&
      (NEGATIVE.test(next) || (o.type !== 'string' && !next.startsWith('--')));
    if (joins) args.push(`${a}=${argv[++i]}`);
    else args.push(a);
  }
  let raw: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    raw = parseArgs({ args, options, allowPositionals: true, strict: true }) as typeof raw;
  } catch (e) {
    // node's messages are long and mention parseArgs; keep the gist
    const m = /Unknown option '([^']+)'/.exec((e as Error).message);
    if (m) throw new UsageError(`${where}: unknown option ${m[1]} (see tsvision ${spec.name} --help)`);
    const v = /Option '([^']+?)(?: <value>)?' argument missing/.exec((e as Error).message);
    if (v) throw new UsageError(`${where}: ${v[1].replace(/^-\w, /, '')} needs a value`);
    const amb = /Option '([^']+?)(?: <value>)?' argument is ambiguous/.exec((e as Error).message);
    if (amb) {
      const name = amb[1].replace(/^-\w, /, '');
      throw new UsageError(`${where}: ${name} needs a value (write ${name}=VALUE for a value that starts with -)`);
    }
    throw new UsageError(`${where}: ${(e as Error).message.split('\n')[0]}`);
  }
  const values: Parsed['values'] = {};
  const given = new Set<string>();
  for (const o of spec.options) {
    const v = raw.values[o.name];
    if (v !== undefined) given.add(o.name);
    if (v === undefined) {
      values[o.name] = o.default;
      continue;
    }
    if (o.type === 'flag') {
      values[o.name] = v;
      continue;
    }
    const s = v as string;
    if (o.type === 'string') {
      if (o.choices && !o.choices.includes(s)) throw new UsageError(`${where}: --${o.name} must be one of ${o.choices.join(', ')}, got '${s}'`);
      values[o.name] = s;
      continue;
    }
    if (o.words?.includes(s)) {
      values[o.name] = s;
      continue;
    }
    const { int, min, open, max } = optionRange(o);
    const x = Number(s);
    const ok = DECIMAL.test(s) && Number.isFinite(x) && (!int || Number.isSafeInteger(x)) && (open ? x > min : x >= min) && (max === undefined || x <= max);
    if (!ok) throw new UsageError(`${where}: --${o.name} must be ${describeRange(o)}${o.words ? ` or ${o.words.join(' or ')}` : ''}, got ${s}`);
    values[o.name] = x;
  }
  return { values, positionals: raw.positionals, help: raw.values.help === true, given };
}
