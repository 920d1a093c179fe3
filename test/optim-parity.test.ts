/**
 * PyTorch parity of optim, against test/fixtures/optim.json (written by
 * tools/make_optim_fixtures.py with PyTorch 1.13):
 *  - every optimizer configuration: the parameters after each of 5 steps with fixed
 *    gradients (relative error <= 1e-5), on both backends; the state dict after 3 and 5
 *    steps (keys, options, buffers); and PyTorch's own state dict after 3 steps, loaded
 *    into a fresh optimizer, continuing to PyTorch's step 5;
 *  - every scheduler: each group's lr (and momentum or beta1) after construction and
 *    after each of ~30 steps (relative error <= 1e-7), and its state dict's keys and values;
 *  - clipGradNorm's total norm and clipped gradients, and clipGradValue.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as tv from '../src/index.js';
import { nativeBackend } from '../src/backend/index.js';
import * as optim from '../src/optim/index.js';
import { assertClose } from './helpers.js';

type Num = number | 'NaN' | 'Infinity' | '-Infinity';
type Json = optim.JsonValue;

interface TensorFixture {
  dtype: 'float32';
  shape: number[];
  data: Num[];
}

interface OptimizerCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop';
  options: Record<string, unknown>;
  groups: ({ params: number[] } & Record<string, unknown>)[] | null;
  params: TensorFixture[];
  grads: (Num[] | null)[][];
  trajectory: Num[][][];
  stateDicts: Record<'3' | '5', Json>;
}

interface SchedulerSpec {
  scheduler: string;
  args: Record<string, unknown>;
}

interface SchedulerCase extends SchedulerSpec {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'RMSprop';
  optimizerOptions: Record<string, unknown>;
  groupLrs: number[];
  metrics?: number[];
  /** Set as each group's initialLr before the scheduler is built (resuming with lastEpoch). */
  initialLrs?: number[];
  lrs: number[][];
  momenta?: number[][];
  stateDict: Json;
}

interface ClipCase {
  name: string;
  grads: (TensorFixture | null)[];
  maxNorm?: number;
  normType?: Num;
  clipValue?: number;
  totalNorm?: Num;
  clipped: (Num[] | null)[];
}

interface Fixtures {
  torch: string;
  optimizers: OptimizerCase[];
  schedulers: SchedulerCase[];
  clip: ClipCase[];
}

const fixtures = JSON.parse(readFileSync(new URL('../../test/fixtures/optim.json', import.meta.url), 'utf8')) as Fixtures;

const PARAM_TOL = { rtol: 1e-5, atol: 1e-7 };
const LR_TOL = { rtol: 1e-7, atol: 1e-15 };

function nums(values: readonly Num[]): number[] {
  return values.map((v) => (typeof v === 'number' ? v : Number(v)));
}

function tensorOf(data: readonly Num[], shape: readonly number[]): tv.Tensor<'float32'> {
  return tv.tensor(nums(data), { shape });
}

// ---- optimizers ---------------------------------------------------------------------------------

type AnyCtor = new (params: optim.ParamsInit<object>, options: object) => optim.AnyOptimizer;

const OPTIMIZERS: Record<string, AnyCtor> = {
  SGD: optim.SGD as unknown as AnyCtor,
  Adam: optim.Adam as unknown as AnyCtor,
  AdamW: optim.AdamW as unknown as AnyCtor,
  RMSprop: optim.RMSprop as unknown as AnyCtor,
};

function buildOptimizer(c: OptimizerCase, values: readonly (readonly Num[])[]): { params: tv.nn.Parameter[]; opt: optim.AnyOptimizer } {
  const params = c.params.map((p, i) => new tv.nn.Parameter(tensorOf(values[i], p.shape)));
  const spec = c.groups === null ? params : c.groups.map((g) => ({ ...g, params: g.params.map((i) => params[i]) }));
  const Ctor = OPTIMIZERS[c.optimizer];
  assert.ok(Ctor, `no tsvision optimizer for '${c.optimizer}'`);
  return { params, opt: new Ctor(spec, c.options) };
}

function setGrads(c: OptimizerCase, params: tv.nn.Parameter[], step: number): void {
  params.forEach((p, i) => {
    const g = c.grads[step][i];
    p.grad = g === null ? null : tensorOf(g, p.shape);
  });
}

/** PyTorch keys in param_groups that select its implementation; tsvision neither writes nor needs them. */
const IMPLEMENTATION_KEYS = new Set(['foreach', 'capturable', 'differentiable', 'fused']);

/** Our state dict against PyTorch's: the same groups, options, parameter indices, state keys and values. */
function checkStateDict(label: string, ours: optim.OptimizerStateDict, theirs: optim.OptimizerStateDict): void {
  assert.equal(ours.param_groups.length, theirs.param_groups.length, `${label}: number of groups`);
  ours.param_groups.forEach((g, gi) => {
    const t = theirs.param_groups[gi];
    const theirKeys = Object.keys(t)
      .filter((k) => !IMPLEMENTATION_KEYS.has(k))
      .sort();
    assert.deepEqual(Object.keys(g).sort(), theirKeys, `${label}: keys of param_groups[${gi}]`);
    for (const k of theirKeys) assert.deepEqual(g[k], t[k], `${label}: param_groups[${gi}].${k}`);
  });
  assert.deepEqual(Object.keys(ours.state).sort(), Object.keys(theirs.state).sort(), `${label}: parameters with state`);
  for (const [id, entry] of Object.entries(theirs.state)) {
    const mine = ours.state[id];
    assert.deepEqual(Object.keys(mine), Object.keys(entry), `${label}: state[${id}] keys (in PyTorch's order)`);
    for (const [key, v] of Object.entries(entry)) {
      const m = mine[key];
      if (v === null) assert.equal(m, null, `${label}: state[${id}].${key}`);
      else if (typeof v === 'number') {
        assert.ok(m instanceof tv.Tensor && m.ndim === 0, `${label}: state[${id}].${key} should be a 0-d tensor`);
        assert.equal(m.item(), v, `${label}: state[${id}].${key}`);
      } else {
        assert.ok(m instanceof tv.Tensor, `${label}: state[${id}].${key} should be a tensor`);
        assert.deepEqual([...m.shape], [...(v as tv.Tensor).shape], `${label}: state[${id}].${key} shape`);
        assertClose(m.data, (v as tv.Tensor).data, { ...PARAM_TOL, label: `${label}: state[${id}].${key}` });
      }
    }
  }
}

function runOptimizerCase(c: OptimizerCase): void {
  const { params, opt } = buildOptimizer(
    c,
    c.params.map((p) => p.data),
  );
  for (let k = 0; k < c.trajectory.length; k++) {
    setGrads(c, params, k);
    opt.step();
    params.forEach((p, i) => assertClose(p.data, nums(c.trajectory[k][i]), { ...PARAM_TOL, label: `${c.name}: parameter ${i} after step ${k + 1}` }));
    const saved = c.stateDicts[String(k + 1) as '3' | '5'];
    if (saved) checkStateDict(`${c.name}: state dict after step ${k + 1}`, opt.stateDict(), optim.stateFromJSON(saved));
  }
}

describe('optimizers match PyTorch', () => {
  const backends = nativeBackend ? (['native', 'reference'] as const) : (['reference'] as const);
  for (const name of backends) {
    describe(`${name} backend`, () => {
      let previous: 'native' | 'reference';
      before(() => {
        previous = tv.backendName();
        tv.setBackend(name);
      });
      after(() => tv.setBackend(previous));
      for (const c of fixtures.optimizers) test(c.name, () => runOptimizerCase(c));
    });
  }

  for (const c of fixtures.optimizers) {
    test(`${c.name}: PyTorch's state dict after 3 steps resumes to its step 5`, () => {
      const { params, opt } = buildOptimizer(c, c.trajectory[2]);
      opt.loadStateDict(optim.stateFromJSON(c.stateDicts['3']));
      for (let k = 3; k < 5; k++) {
        setGrads(c, params, k);
        opt.step();
      }
      params.forEach((p, i) => assertClose(p.data, nums(c.trajectory[4][i]), { ...PARAM_TOL, label: `${c.name}: parameter ${i} after resuming` }));
    });
  }

  test('every optimizer and option the brief lists has a fixture', () => {
    const names = new Set(fixtures.optimizers.map((c) => c.name));
    for (const n of [
      'SGD/plain',
      'SGD/momentum',
      'SGD/nesterov',
      'SGD/dampening',
      'SGD/weight_decay',
      'SGD/two_groups',
      'Adam/default',
      'Adam/weight_decay',
      'Adam/amsgrad',
      'AdamW/default',
      'RMSprop/plain',
      'RMSprop/centered',
      'RMSprop/momentum',
    ]) {
      assert.ok(names.has(n), `missing fixture ${n}`);
    }
  });
});

// ---- schedulers ---------------------------------------------------------------------------------

type SchedulerLike = optim.LRScheduler | optim.ReduceLROnPlateau;

function buildScheduler(opt: optim.AnyOptimizer, spec: SchedulerSpec): SchedulerLike {
  const a = spec.args;
  switch (spec.scheduler) {
    case 'StepLR':
      return new optim.StepLR(opt, a as unknown as optim.StepLROptions);
    case 'MultiStepLR':
      return new optim.MultiStepLR(opt, a as unknown as optim.MultiStepLROptions);
    case 'ExponentialLR':
      return new optim.ExponentialLR(opt, a as unknown as optim.ExponentialLROptions);
    case 'CosineAnnealingLR':
      return new optim.CosineAnnealingLR(opt, a as unknown as optim.CosineAnnealingLROptions);
    case 'LinearLR':
      return new optim.LinearLR(opt, a as optim.LinearLROptions);
    case 'OneCycleLR':
      return new optim.OneCycleLR(opt, a as unknown as optim.OneCycleLROptions);
    case 'ReduceLROnPlateau':
      return new optim.ReduceLROnPlateau(opt, a as optim.ReduceLROnPlateauOptions);
    case 'SequentialLR': {
      const children = (a.schedulers as SchedulerSpec[]).map((s) => buildScheduler(opt, s) as optim.LRScheduler);
      return new optim.SequentialLR(opt, children, a.milestones as number[]);
    }
    case 'ChainedScheduler':
      return new optim.ChainedScheduler((a.schedulers as SchedulerSpec[]).map((s) => buildScheduler(opt, s) as optim.LRScheduler));
    default:
      throw new Error(`no tsvision scheduler for '${spec.scheduler}'`);
  }
}

/** The optimizer and scheduler of a case: two groups of one parameter each, with the case's lrs. */
function buildScheduled(c: SchedulerCase): { opt: optim.AnyOptimizer; sched: SchedulerLike } {
  const groups = c.groupLrs.map((lr, i) => ({ params: [new tv.nn.Parameter(tv.zeros([i + 2]))], lr }));
  const opt = new OPTIMIZERS[c.optimizer](groups, c.optimizerOptions);
  c.initialLrs?.forEach((lr, i) => {
    opt.paramGroups[i].initialLr = lr;
  });
  return { opt, sched: buildScheduler(opt, c) };
}

function momenta(opt: optim.AnyOptimizer): number[] {
  return opt.paramGroups.map((g) => {
    const group = g as unknown as { betas?: number[]; momentum?: number };
    return group.betas ? group.betas[0] : group.momentum!;
  });
}

/** Our scheduler state dict against PyTorch's: shared keys equal, and only the listed keys differ. */
function checkSchedulerState(label: string, ours: unknown, theirs: unknown): void {
  if (typeof theirs === 'number') {
    assert.equal(typeof ours, 'number', `${label}: expected a number`);
    assertClose([ours as number], [theirs], { ...LR_TOL, label });
  } else if (Array.isArray(theirs)) {
    assert.ok(Array.isArray(ours) && ours.length === theirs.length, `${label}: expected a list of ${theirs.length}`);
    theirs.forEach((t, i) => checkSchedulerState(`${label}[${i}]`, (ours as unknown[])[i], t));
  } else if (theirs !== null && typeof theirs === 'object') {
    const o = ours as Record<string, unknown>;
    const t = theirs as Record<string, unknown>;
    const onlyOurs = Object.keys(o).filter((k) => !(k in t));
    const onlyTheirs = Object.keys(t).filter((k) => !(k in o));
    // PyTorch also saves verbose and an internal flag; its OneCycleLR saves the anneal function
    // (dropped from the fixture), which tsvision saves as anneal_strategy. SequentialLR and
    // ChainedScheduler keep the base class's counters in tsvision.
    const isComposite = '_schedulers' in t;
    const extra = isComposite ? ['base_lrs', 'last_epoch', '_step_count'] : ['anneal_strategy'];
    assert.deepEqual(
      onlyOurs.filter((k) => !extra.includes(k)),
      [],
      `${label}: keys PyTorch does not have`,
    );
    assert.deepEqual(
      onlyTheirs.filter((k) => k !== 'verbose' && k !== '_get_lr_called_within_step'),
      [],
      `${label}: PyTorch keys missing`,
    );
    for (const k of Object.keys(t)) if (k in o) checkSchedulerState(`${label}.${k}`, o[k], t[k]);
  } else {
    assert.equal(ours, theirs, label);
  }
}

describe('schedulers match PyTorch', () => {
  for (const c of fixtures.schedulers) {
    test(c.name, () => {
      const { opt, sched } = buildScheduled(c);
      const check = (k: number) => {
        const at = k === 0 ? 'after construction' : `after step ${k}`;
        const lrs = opt.paramGroups.map((g) => g.lr);
        assertClose(lrs, c.lrs[k], { ...LR_TOL, label: `${c.name}: lr ${at}` });
        assert.deepEqual(sched.getLastLr(), lrs, `${c.name}: getLastLr() ${at}`);
        if (c.momenta) assertClose(momenta(opt), c.momenta[k], { ...LR_TOL, label: `${c.name}: momentum ${at}` });
      };
      check(0);
      for (let k = 1; k < c.lrs.length; k++) {
        if (sched instanceof optim.ReduceLROnPlateau) sched.step(c.metrics![k - 1]);
        else sched.step();
        check(k);
      }
      checkSchedulerState(`${c.name}: stateDict`, sched.stateDict(), optim.stateFromJSON(c.stateDict));
    });
  }

  test('every scheduler the brief lists has a fixture', () => {
    const kinds = new Set(fixtures.schedulers.map((c) => c.scheduler));
    for (const k of [
      'StepLR',
      'MultiStepLR',
      'ExponentialLR',
      'CosineAnnealingLR',
      'OneCycleLR',
      'LinearLR',
      'SequentialLR',
      'ChainedScheduler',
      'ReduceLROnPlateau',
    ]) {
      assert.ok(kinds.has(k), `missing fixture for ${k}`);
    }
  });
});

// ---- clipping -----------------------------------------------------------------------------------

describe('gradient clipping matches PyTorch', () => {
  for (const c of fixtures.clip) {
    test(c.name, () => {
      const params = c.grads.map((g, i) => {
        const p = new tv.nn.Parameter(tv.zeros(g?.shape ?? [i + 1]));
        p.grad = g ? tensorOf(g.data, g.shape) : null;
        return p;
      });
      if (c.clipValue !== undefined) {
        optim.clipGradValue(params, c.clipValue);
      } else {
        const total = optim.clipGradNorm(params, c.maxNorm!, Number(c.normType));
        assertClose([total], [Number(c.totalNorm)], { rtol: 1e-6, atol: 0, label: `${c.name}: total norm` });
      }
      params.forEach((p, i) => {
        const want = c.clipped[i];
        if (want === null) assert.equal(p.grad, null, `${c.name}: parameter ${i} has no grad`);
        else assertClose(p.grad!.data, nums(want), { ...PARAM_TOL, label: `${c.name}: clipped grad ${i}` });
      });
    });
  }
});
