/**
 * Argument parsing for the tsvision subcommands: each command declares its
 * options once, and gets both the parser and its --help text from that.
 * Errors are one line, naming the command and the option (UsageError).
 */
import { parseArgs } from 'node:util';

export type OptionType = 'string' | 'int' | 'number' | 'flag';

export interface OptionSpec {
  name: string;
  type: OptionType;
  help: string;
  /** shown in the help as the value's name (default: the type) */
  value?: string;
  default?: string | number | boolean;
  /** allowed values of a string option */
  choices?: readonly string[];
  /** an int or number must be >= min (default: int >= 1, number > 0 unless min is given) */
  min?: number;
  max?: number;
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
  let raw: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    raw = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof raw;
  } catch (e) {
    // node's messages are long and mention parseArgs; keep the gist
    const m = /Unknown option '([^']+)'/.exec((e as Error).message);
    if (m) throw new UsageError(`${where}: unknown option ${m[1]} (see tsvision ${spec.name} --help)`);
    const v = /Option '([^']+?)(?: <value>)?' argument missing/.exec((e as Error).message);
    if (v) throw new UsageError(`${where}: ${v[1].replace(/^-\w, /, '')} needs a value`);
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
    const x = Number(s);
    const int = o.type === 'int';
    const min = o.min ?? (int ? 1 : undefined);
    const ok =
      s.trim() !== '' && Number.isFinite(x) && (!int || Number.isInteger(x)) && (min === undefined ? x > 0 : x >= min) && (o.max === undefined || x <= o.max);
    if (!ok) {
      const range = int
        ? min === 1 && o.max === undefined
          ? 'a positive integer'
          : `an integer${min !== undefined ? ` >= ${min}` : ''}${o.max !== undefined ? ` and <= ${o.max}` : ''}`
        : (min === undefined ? 'a positive number' : `a number >= ${min}`) + (!int && o.max !== undefined ? ` and <= ${o.max}` : '');
      throw new UsageError(`${where}: --${o.name} needs ${range}, got ${s}`);
    }
    values[o.name] = x;
  }
  return { values, positionals: raw.positionals, help: raw.values.help === true, given };
}
