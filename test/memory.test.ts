/**
 * Memory: what the tape keeps alive between the forward and the backward pass, and how
 * the native allocator reuses cached blocks of other sizes instead of mapping fresh memory.
 */
import assert from 'node:assert/strict';
import { setTimeout as tick } from 'node:timers/promises';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tv from '../src/index.js';
import type { Tensor } from '../src/tensor/tensor.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A full collection after the current job, so that WeakRefs made in it no longer hold their targets. */
async function collect(): Promise<void> {
  await tick(0);
  gc();
  await tick(0);
}

/**
 * Runs `op` on an intermediate tensor t (on the tape, the only reference to it dropped
 * afterwards) and reports whether t's storage outlived the forward pass.
 */
async function inputKept(op: (t: Tensor) => Tensor): Promise<boolean> {
  const x = tv.randn([4, 8, 16, 16], { requiresGrad: true });
  const make = () => {
    const t = tv.mul(x, 1.5);
    return { ref: new WeakRef(t.data), y: op(t) };
  };
  const { ref, y } = make();
  await collect();
  const kept = ref.deref() !== undefined;
  tv.sum(y).backward(); // the graph still works without the input
  assert.ok(x.grad, 'the gradient reached x');
  return kept;
}

describe('what the tape keeps', () => {
  const other = tv.randn([4, 8, 16, 16]);
  const weight = tv.randn([8, 1, 1], { requiresGrad: true });
  const freed: [string, (t: Tensor) => Tensor][] = [
    ['add', (t) => tv.add(t, other)],
    ['sub', (t) => tv.sub(other, t)],
    ['div by a constant tensor', (t) => tv.div(t, other)],
    ['relu (keeps its output)', (t) => tv.relu(t)],
    ['sigmoid (keeps its output)', (t) => tv.sigmoid(t)],
    ['sqrt (keeps its output)', (t) => tv.sqrt(t)],
    ['maxPool2d', (t) => tv.nn.functional.maxPool2d(t, { kernelSize: 2 })],
    ['avgPool2d', (t) => tv.nn.functional.avgPool2d(t, { kernelSize: 2 })],
    ['sum', (t) => tv.sum(t, [2, 3])],
    ['softmax', (t) => tv.softmax(t, 1)],
    ['slice', (t) => tv.slice(t, 1, 0, 4)],
    ['pad', (t) => tv.pad(t, [1, 1])],
    ['concat', (t) => tv.concat([t, other], 1)],
    ['broadcastTo', (t) => tv.broadcastTo(tv.slice(t, 0, 0, 1), [3, 8, 16, 16])],
    ['permute', (t) => tv.permute(t, [0, 2, 3, 1])],
    ['where', (t) => tv.where(tv.gt(other, 0), t, other)],
    ['dropout (a product with a constant mask)', (t) => tv.nn.functional.dropout(t, 0.5, true)],
  ];
  for (const [name, op] of freed) {
    test(`${name}: the input is freed before the backward pass`, async () => {
      assert.equal(await inputKept(op), false);
    });
  }
  // The control: ops whose derivative reads their input keep it (so the probe can see a kept input).
  for (const [name, op] of [
    ['mul by a tensor that requires grad', (t: Tensor) => tv.mul(t, weight)],
    ['silu', (t: Tensor) => tv.silu(t)],
  ] as const) {
    test(`${name}: the input is kept, its derivative reads it`, async () => {
      assert.equal(await inputKept(op), true);
    });
  }
});

describe('the allocator', { skip: tv.backendName() !== 'native' }, () => {
  const MB = 2 ** 20;
  /** Allocates a float32 tensor of `mb` MiB, lets it die, and waits until its block is back in the cache. */
  async function churn(mb: number): Promise<void> {
    const live = tv.memoryStats().liveBytes;
    (() => tv.zeros([(mb * MB) / 4]))();
    for (let i = 0; i < 20 && tv.memoryStats().liveBytes > live; i++) await collect();
  }

  test('a request larger than any cached block grows one (mremap) instead of mapping fresh memory beside it', async () => {
    tv.emptyCache();
    await churn(8);
    const before = tv.memoryStats();
    assert.ok(before.cachedBytes >= 8 * MB, `cached ${before.cachedBytes}`);
    const big = tv.zeros([(40 * MB) / 4]);
    const after = tv.memoryStats();
    assert.equal(after.misses, before.misses, 'no fresh mapping');
    assert.equal(after.cachedBytes, before.cachedBytes - 8 * MB, 'the 8 MiB block was used');
    assert.equal(big.data[big.size - 1], 0);
  });

  test('a request far smaller than a cached block takes its head and returns the tail', async () => {
    tv.emptyCache();
    await churn(40);
    const before = tv.memoryStats();
    const small = tv.zeros([(3 * MB) / 4]);
    const after = tv.memoryStats();
    assert.equal(after.misses, before.misses, 'no fresh mapping');
    assert.equal(after.cachedBytes, before.cachedBytes - 40 * MB, 'the 40 MiB block was cut down');
    assert.ok(after.liveBytes - before.liveBytes <= 4 * MB, `live grew by ${(after.liveBytes - before.liveBytes) / MB} MiB`);
    small.data.fill(1);
    assert.equal(tv.sum(small).item(), (3 * MB) / 4);
  });
});
