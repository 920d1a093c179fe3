/**
 * `tsvision dashboard RUNS_DIR...`: the dashboard page for finished runs and for runs
 * that another process is training (their files are watched), side by side, until
 * SIGINT or SIGTERM.
 */
import { DashboardError, startDashboard } from '../dashboard/server.js';
import { watchRuns } from '../dashboard/watch.js';
import { helpText, parseCommand, UsageError, type CommandSpec } from './args.js';
import { CommandError, requireFolder } from './common.js';

export const DASHBOARD: CommandSpec = {
  name: 'dashboard',
  summary:
    'Serves a web page with the curves, evaluations and settings of training runs (finished, or running elsewhere: it follows their files), side by side.',
  positionals: 'RUNS_DIR...',
  options: [
    { name: 'port', type: 'port', default: 6006, help: 'the port to listen on (0: a free one)' },
    { name: 'host', type: 'string', value: 'HOST', default: '127.0.0.1', help: 'the address to listen on' },
  ],
  epilog:
    'Each RUNS_DIR is a run folder (what tsvision train --out wrote: history.csv, steps.csv, run.json, evaluation/) or a folder of them;\n' +
    'a run started there later appears on the page. Stop with Ctrl-C.',
};

/** Resolves when the process is asked to stop. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function dashboard(argv: string[], say: (line?: string) => void): Promise<number> {
  const where = 'tsvision dashboard';
  const { values, positionals, help } = parseCommand(DASHBOARD, argv);
  if (help) {
    say(helpText(DASHBOARD));
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`${where}: give one or more run folders (e.g. runs/ or runs/convnet)`);
  for (const dir of positionals) requireFolder(dir, where, 'the run folder');
  let server;
  try {
    server = await startDashboard({ host: values.host as string, port: values.port as number });
  } catch (e) {
    if (e instanceof DashboardError) throw new CommandError(`${where}: ${e.message}`);
    throw e;
  }
  const runs = watchRuns(server, positionals);
  say(`${where}: listening on ${server.url}`);
  say(
    runs.length
      ? `${runs.length} run${runs.length > 1 ? 's' : ''}: ${runs.map((r) => `${r.name} (${r.status})`).join(', ')}`
      : `No runs in ${positionals.join(', ')} yet; a run started there will appear.`,
  );
  await untilSignal();
  await server.close();
  return 0;
}
