/** The tsvision command as a user runs it (bin/tsvision.js in a child process). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI_FLAGS } from './helpers.js';

const bin = fileURLToPath(new URL('../../bin/tsvision.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [...CLI_FLAGS, bin, ...args], { encoding: 'utf8' });

test('help lists the commands', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /usage: tsvision <command>/);
  assert.match(r.stdout, /demo/);
});

test('every subcommand has --help', () => {
  const commands = [...run('--help').stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
  assert.deepEqual(commands, [
    'demo',
    'audit',
    'train',
    'evaluate',
    'predict',
    'tag',
    'worker',
    'rescore',
    'export',
    'serve',
    'summary',
    'models',
    'dashboard',
    'explain',
    'lr-find',
  ]);
  for (const command of commands) {
    const r = run(command, '--help');
    assert.equal(r.status, 0, command);
    assert.match(r.stdout, new RegExp(`^usage: tsvision ${command}\\b`, 'm'), command);
  }
});

test('errors are one clear line and a non-zero exit', () => {
  const unknown = run('frobnicate');
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /^tsvision: unknown command 'frobnicate'/);
  const bad = run('demo', '--epochs', 'many');
  assert.equal(bad.status, 2, 'a usage error');
  assert.equal(bad.stderr.trim(), 'tsvision demo: --epochs must be a positive integer, got many');
});
