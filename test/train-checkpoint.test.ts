/**
 * Checkpoints: contents round trip (model, optimizer, scheduler, info), the
 * `.old` fallback, and a child process killed (SIGKILL) in the middle of writing a
 * large checkpoint, after which the previous checkpoint still loads intact.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import { Linear } from '../src/nn/linear.js';
import { Adam, StepLR } from '../src/optim/index.js';
import { loadCheckpoint, saveCheckpoint, tsvisionVersion } from '../src/train/index.js';
import { manualSeed, randn } from '../src/tensor/random.js';
import { Tensor } from '../src/tensor/tensor.js';
import '../src/tensor/methods.js';

const root = mkdtempSync(join(tmpdir(), 'tsv-ckpt-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('checkpoint', () => {
  test('round trip of weights, optimizer and scheduler state, and info', () => {
    manualSeed(1);
    const net = new Linear(4, 3);
    const opt = new Adam(net.parameters(), { lr: 0.01 });
    const sched = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      {
        const y = net.call(randn([5, 4]));
        y.mul(y).mean().backward();
      }
      opt.step();
      sched.step();
    }
    const dir = join(root, 'rt');
    saveCheckpoint(dir, {
      modelState: net.stateDict(),
      optimizer: opt,
      scheduler: sched,
      info: {
        architecture: { name: 'mlp', config: { inputSize: 4, numClasses: 3 } },
        classes: ['a', 'b', 'c'],
        epoch: 3,
        step: 3,
        metrics: { loss: 0.5, best: Infinity },
      },
    });
    assert.deepEqual(readdirSync(dir).sort(), ['checkpoint.json', 'model.safetensors', 'optimizer.safetensors']);
    const ck = loadCheckpoint(dir);
    assert.equal(ck.info.epoch, 3);
    assert.equal(ck.info.metrics.best, Infinity);
    assert.deepEqual(ck.info.classes, ['a', 'b', 'c']);
    assert.equal(ck.tsvisionVersion, tsvisionVersion());
    assert.notEqual(ck.tsvisionVersion, 'unknown');
    assert.equal(ck.optimizerName, 'Adam');
    assert.equal(ck.schedulerName, 'StepLR');
    assert.deepEqual(Array.from(ck.modelState.get('weight')!.data), Array.from(net.weight.data));

    const net2 = new Linear(4, 3);
    const opt2 = new Adam(net2.parameters(), { lr: 0.01 });
    const sched2 = new StepLR(opt2, { stepSize: 2, gamma: 0.5 });
    net2.loadStateDict(ck.modelState);
    opt2.loadStateDict(ck.optimizerState as never);
    sched2.loadStateDict(ck.schedulerState as never);
    assert.deepEqual(opt2.paramGroups[0].lr, opt.paramGroups[0].lr);
    const s1 = opt.state.get(net.weight)!;
    const s2 = opt2.state.get(net2.weight)!;
    assert.deepEqual(Array.from(s2.exp_avg_sq!.data), Array.from(s1.exp_avg_sq!.data));
    assert.equal(s2.step!.item(), 3);
  });

  test('falls back to name.old when name is missing; refuses a missing checkpoint', () => {
    const dir = join(root, 'fb');
    saveCheckpoint(dir, { modelState: new Map([['w', new Tensor(Float32Array.from([1]), [1])]]), info: { epoch: 1 } });
    saveCheckpoint(dir, { modelState: new Map([['w', new Tensor(Float32Array.from([2]), [1])]]), info: { epoch: 2 } });
    assert.ok(!existsSync(`${dir}.old`));
    renameSync(dir, `${dir}.old`); // as if killed between the two renames
    const ck = loadCheckpoint(dir);
    assert.equal(ck.info.epoch, 2);
    assert.equal(ck.path, `${dir}.old`);
    // the next save keeps .old until the new one is in place, then removes it
    saveCheckpoint(dir, { modelState: new Map([['w', new Tensor(Float32Array.from([3]), [1])]]), info: { epoch: 3 } });
    assert.equal(loadCheckpoint(dir).info.epoch, 3);
    assert.ok(!existsSync(`${dir}.old`));
    assert.throws(() => loadCheckpoint(join(root, 'nothing')), /no checkpoint at .*nothing/);
    mkdirSync(join(root, 'notck'));
    writeFileSync(join(root, 'notck', 'checkpoint.json'), '{"format":"other"}');
    assert.throws(() => loadCheckpoint(join(root, 'notck')), /not a tsvision checkpoint/);
    // a directory that is not a checkpoint is never replaced
    mkdirSync(join(root, 'mine'));
    writeFileSync(join(root, 'mine', 'notes.txt'), 'keep me');
    assert.throws(() => saveCheckpoint(join(root, 'mine'), { modelState: new Map() }), /exists and is not a checkpoint/);
    assert.ok(existsSync(join(root, 'mine', 'notes.txt')));
  });

  test('SIGKILL in the middle of writing leaves the previous checkpoint loadable', async () => {
    const dir = join(root, 'big');
    const mod = pathToFileURL(join(import.meta.dirname, '..', 'src', 'train', 'checkpoint.js')).href;
    const tensorMod = pathToFileURL(join(import.meta.dirname, '..', 'src', 'tensor', 'tensor.js')).href;
    // the child writes checkpoints whose every value (and epoch) is v, for v = 1, 2, ...
    const script = `
      import { saveCheckpoint } from ${JSON.stringify(mod)};
      import { Tensor } from ${JSON.stringify(tensorMod)};
      const [dir, first] = process.argv.slice(2);
      const make = (v) => new Map(Array.from({ length: 6 }, (_, i) => [\`layer\${i}.weight\`, new Tensor(new Float32Array(1 << 21).fill(v), [1 << 21])]));
      for (let v = Number(first); ; v++) {
        saveCheckpoint(dir, { modelState: make(v), info: { epoch: v } });
        process.stdout.write(\`saved \${v}\\n\`);
        if (first === '1') process.exit(0);
      }`;
    const childPath = join(root, 'child.mjs');
    writeFileSync(childPath, script);
    const run = (first: string, killWhen: ((out: string) => boolean) | null): Promise<{ out: string; signal: string | null }> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [childPath, dir, first], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        let timer: NodeJS.Timeout | null = null;
        child.stdout.on('data', (d) => {
          out += d;
        });
        if (killWhen) {
          // kill as soon as a temporary checkpoint directory holds a partly written file
          timer = setInterval(() => {
            const tmp = readdirSync(root).find((f) => f.startsWith('big.tmp-'));
            if (tmp && killWhen(out) && readdirSync(join(root, tmp)).length > 0) {
              clearInterval(timer!);
              child.kill('SIGKILL');
            }
          }, 1);
        }
        child.on('error', reject);
        child.on('exit', (_code, signal) => {
          if (timer) clearInterval(timer);
          resolve({ out, signal });
        });
      });
    const first = await run('1', null);
    assert.match(first.out, /saved 1/);
    assert.equal(loadCheckpoint(dir).info.epoch, 1);
    // killed while writing its first checkpoint (2): 1 survives
    const k1 = await run('2', () => true);
    assert.equal(k1.signal, 'SIGKILL');
    assert.doesNotMatch(k1.out, /saved/);
    const check = (): number => {
      const ck = loadCheckpoint(dir);
      const v = ck.info.epoch!;
      assert.equal(ck.modelState.size, 6);
      for (const t of ck.modelState.values()) {
        assert.equal(t.size, 1 << 21);
        assert.ok(
          t.data.every((x) => x === v),
          `every value is ${v}`,
        );
      }
      return v;
    };
    assert.equal(check(), 1);
    assert.ok(
      readdirSync(root).some((f) => f.startsWith('big.tmp-')),
      'the killed write left its temporary directory',
    );
    // killed in the middle of a later save: the last complete one loads
    const k2 = await run('10', (out) => /saved 11/.test(out));
    assert.equal(k2.signal, 'SIGKILL');
    const v = check();
    assert.ok(v === 11 || v === 12, `loaded ${v}`);
    // a later save cleans the dead processes' temporaries
    saveCheckpoint(dir, { modelState: new Map([['w', new Tensor(Float32Array.from([5]), [1])]]), info: { epoch: 99 } });
    assert.deepEqual(
      readdirSync(root).filter((f) => f.startsWith('big.')),
      [],
    );
    assert.equal(loadCheckpoint(dir).info.epoch, 99);
  });
});
