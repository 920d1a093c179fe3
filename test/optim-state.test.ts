/**
 * optim's API: checkpoint round trips (optimizer and scheduler state dicts through JSON
 * continue training identically), parameter groups, zeroGrad, skipped parameters,
 * validation and error messages, gradient clipping by hand, serialisation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tv from '../src/index.js';
import * as optim from '../src/optim/index.js';
import { assertClose, uniform } from './helpers.js';

const { Parameter } = tv.nn;
const SHAPES = [[3, 4], [5], [2, 2, 3]];

/** Fresh parameters, each a copy of `values`. */
function paramsFrom(values: Float32Array[]): tv.nn.Parameter[] {
  return values.map((v, i) => new Parameter(tv.tensor(v, { shape: SHAPES[i] })));
}

const initial = SHAPES.map((s) => uniform(s).data);
/** Fixed gradients for 6 steps; parameter 1 has none at step 2 (it is skipped then). */
const gradients = Array.from({ length: 6 }, (_, k) => SHAPES.map((s, i) => (k === 2 && i === 1 ? null : uniform(s).data)));

function applyGrads(params: tv.nn.Parameter[], step: number): void {
  params.forEach((p, i) => {
    const g = gradients[step][i];
    p.grad = g ? tv.tensor(g, { shape: p.shape }) : null;
  });
}

/** Saves a state dict the way a checkpoint does: to JSON text and back. */
function throughJSON<T>(sd: unknown, tensors?: Map<string, tv.Tensor>): T {
  return optim.stateFromJSON<T>(JSON.parse(JSON.stringify(optim.stateToJSON(sd, { tensors }))), { tensors });
}

type MakeOptimizer = (params: tv.nn.Parameter[]) => optim.AnyOptimizer;

const OPTIMIZERS: [string, MakeOptimizer][] = [
  ['SGD momentum nesterov weightDecay', (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ['SGD plain', (p) => new optim.SGD(p, { lr: 0.1 })],
  ['Adam amsgrad', (p) => new optim.Adam(p, { lr: 0.01, amsgrad: true, weightDecay: 0.01 })],
  ['AdamW', (p) => new optim.AdamW(p, { lr: 0.01 })],
  ['RMSprop centered momentum', (p) => new optim.RMSprop(p, { lr: 0.01, centered: true, momentum: 0.5 })],
  ['Adam two groups', (p) => new optim.Adam([{ params: [p[0], p[2]] }, { params: [p[1]], lr: 0.003, betas: [0.8, 0.9] }], { lr: 0.01 })],
];

function train(params: tv.nn.Parameter[], opt: optim.AnyOptimizer, from: number, to: number): void {
  for (let k = from; k < to; k++) {
    applyGrads(params, k);
    opt.step();
  }
}

describe('optimizer state dict round trip', () => {
  for (const [name, make] of OPTIMIZERS) {
    for (const external of [false, true]) {
      test(`${name}: 3 steps, save${external ? ' (tensors apart)' : ''}, load into a fresh optimizer, 3 more = 6 uninterrupted`, () => {
        const ref = paramsFrom(initial);
        const refOpt = make(ref);
        train(ref, refOpt, 0, 6);

        const first = paramsFrom(initial);
        const firstOpt = make(first);
        train(first, firstOpt, 0, 3);
        const saved = throughJSON<optim.OptimizerStateDict>(firstOpt.stateDict(), external ? new Map() : undefined);
        const savedValues = first.map((p) => Float32Array.from(p.data));

        const resumed = paramsFrom(savedValues);
        const resumedOpt = make(resumed);
        resumedOpt.loadStateDict(saved);
        train(resumed, resumedOpt, 3, 6);
        resumed.forEach((p, i) => assert.deepEqual(p.data, ref[i].data, `parameter ${i} differs from the uninterrupted run`));
        assert.deepEqual(JSON.stringify(optim.stateToJSON(resumedOpt.stateDict())), JSON.stringify(optim.stateToJSON(refOpt.stateDict())));
      });
    }
  }

  test('loading copies the tensors: the saved state dict is not changed by later steps', () => {
    const params = paramsFrom(initial);
    const opt = new optim.Adam(params, { lr: 0.01 });
    train(params, opt, 0, 2);
    const sd = opt.stateDict();
    const snapshot = JSON.stringify(optim.stateToJSON(sd));
    const other = new optim.Adam(paramsFrom(initial), { lr: 0.01 });
    other.loadStateDict(sd);
    const [p0] = other.paramGroups[0].params;
    p0.grad = tv.onesLike(p0) as tv.Tensor<'float32'>;
    other.step();
    assert.equal(JSON.stringify(optim.stateToJSON(sd)), snapshot);
  });

  test('the state dict has PyTorch structure, names and indices across groups', () => {
    const p = paramsFrom(initial);
    const opt = new optim.SGD([{ params: [p[0]] }, { params: [p[1], p[2]], lr: 0.01, weightDecay: 0.1 }], { lr: 0.1, momentum: 0.9 });
    p[2].grad = tv.onesLike(p[2]) as tv.Tensor<'float32'>;
    opt.step();
    const sd = opt.stateDict();
    assert.deepEqual(sd.param_groups, [
      { lr: 0.1, momentum: 0.9, dampening: 0, weight_decay: 0, nesterov: false, maximize: false, params: [0] },
      { lr: 0.01, momentum: 0.9, dampening: 0, weight_decay: 0.1, nesterov: false, maximize: false, params: [1, 2] },
    ]);
    assert.deepEqual(Object.keys(sd.state), ['2']);
    assert.deepEqual(Object.keys(sd.state[2]), ['momentum_buffer']);
  });

  test('loadStateDict checks everything before changing anything', () => {
    const p = paramsFrom(initial);
    const opt = new optim.Adam(p, { lr: 0.01 });
    train(p, opt, 0, 1);
    const before = JSON.stringify(optim.stateToJSON(opt.stateDict()));
    const good = throughJSON<optim.OptimizerStateDict>(opt.stateDict());
    const bad = (edit: (sd: optim.OptimizerStateDict) => void, message: RegExp) => {
      const sd = throughJSON<optim.OptimizerStateDict>(good);
      edit(sd);
      assert.throws(() => opt.loadStateDict(sd), message);
      assert.equal(JSON.stringify(optim.stateToJSON(opt.stateDict())), before, 'the optimizer changed');
    };
    bad((sd) => sd.param_groups.push({ ...sd.param_groups[0] }), /2 parameter groups, the optimizer 1/);
    bad((sd) => sd.param_groups[0].params.pop(), /parameter group 0 has 2 parameters in the state dict, 3 in the optimizer/);
    bad((sd) => {
      sd.state[1].exp_avg = tv.zeros([4]);
    }, /state 1\.exp_avg: shape \[4\] does not match the parameter's \[5\]/);
    bad((sd) => {
      sd.state[0].momentum_buffer = tv.zeros([3, 4]);
    }, /state 0\.momentum_buffer: unknown state key for Adam/);
    bad((sd) => {
      sd.param_groups[0].lr = -1;
    }, /Adam: expected lr >= 0, got -1 \(parameter group 0 of the state dict\)/);
    bad((sd) => {
      sd.param_groups[0].nesterov = true;
    }, /Adam: unknown option nesterov/);
    bad((sd) => {
      sd.param_groups[0].betas = [0.9];
    }, /expected betas to be a list of 2 numbers/);
    bad((sd) => {
      sd.state[7] = {};
    }, /state for parameter 7, which no parameter group lists/);
  });

  test("PyTorch's implementation keys are ignored and a plain number step is accepted", () => {
    const p = paramsFrom(initial);
    const opt = new optim.RMSprop(p);
    const sd = opt.stateDict();
    Object.assign(sd.param_groups[0], { foreach: null, differentiable: false });
    sd.state[0] = { step: 4, square_avg: tv.ones(SHAPES[0]) };
    opt.loadStateDict(sd);
    const s = opt.state.get(p[0])!;
    assert.equal(s.step.item(), 4);
    assert.deepEqual([...s.step.shape], []);
  });
});

// ---- schedulers ---------------------------------------------------------------------------------

type SchedulerLike = optim.LRScheduler | optim.ReduceLROnPlateau;
type MakeScheduler = (o: optim.AnyOptimizer) => SchedulerLike;
interface Run {
  params: tv.nn.Parameter[];
  opt: optim.AnyOptimizer;
  sched: SchedulerLike;
}

const METRICS = [1, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6];

const sgd: MakeOptimizer = (p) => new optim.SGD([{ params: [p[0], p[1]] }, { params: [p[2]], lr: 0.05 }], { lr: 0.1, momentum: 0.9 });
const adam: MakeOptimizer = (p) => new optim.Adam([{ params: [p[0], p[1]] }, { params: [p[2]], lr: 0.005 }], { lr: 0.01 });

const SCHEDULERS: [string, MakeOptimizer, MakeScheduler][] = [
  ['StepLR', sgd, (o) => new optim.StepLR(o, { stepSize: 3, gamma: 0.5 })],
  ['MultiStepLR', sgd, (o) => new optim.MultiStepLR(o, { milestones: [2, 5, 5, 9] })],
  ['ExponentialLR', adam, (o) => new optim.ExponentialLR(o, { gamma: 0.8 })],
  ['CosineAnnealingLR', sgd, (o) => new optim.CosineAnnealingLR(o, { tMax: 4, etaMin: 0.001 })],
  ['LinearLR', adam, (o) => new optim.LinearLR(o, { startFactor: 0.1, totalIters: 8 })],
  ['OneCycleLR (SGD momentum)', sgd, (o) => new optim.OneCycleLR(o, { maxLr: 0.5, totalSteps: 14 })],
  [
    'OneCycleLR (Adam beta1, three phases)',
    adam,
    (o) => new optim.OneCycleLR(o, { maxLr: [0.05, 0.01], totalSteps: 14, threePhase: true, annealStrategy: 'linear' }),
  ],
  [
    'SequentialLR',
    sgd,
    (o) => new optim.SequentialLR(o, [new optim.LinearLR(o, { startFactor: 0.2, totalIters: 4 }), new optim.CosineAnnealingLR(o, { tMax: 6 })], [4]),
  ],
  [
    'ChainedScheduler',
    adam,
    (o) => new optim.ChainedScheduler([new optim.LinearLR(o, { startFactor: 0.5, totalIters: 3 }), new optim.ExponentialLR(o, { gamma: 0.9 })]),
  ],
  ['ReduceLROnPlateau', sgd, (o) => new optim.ReduceLROnPlateau(o, { patience: 1, factor: 0.5, cooldown: 1 })],
];

function start(values: Float32Array[], makeOpt: MakeOptimizer, makeSched: MakeScheduler): Run {
  const params = paramsFrom(values);
  const opt = makeOpt(params);
  return { params, opt, sched: makeSched(opt) };
}

/** One epoch: a training step with the fixed gradients, then the scheduler's step; returns each group's lr and momentum (or beta1). */
function epoch({ params, opt, sched }: Run, k: number): number[] {
  applyGrads(params, k % gradients.length);
  opt.step();
  if (sched instanceof optim.ReduceLROnPlateau) sched.step(METRICS[k]);
  else sched.step();
  return opt.paramGroups.flatMap((g) => {
    const h = g as unknown as { betas?: number[]; momentum?: number };
    return [g.lr, h.betas ? h.betas[0] : h.momentum!];
  });
}

describe('scheduler state dict round trip', () => {
  for (const [name, makeOpt, makeSched] of SCHEDULERS) {
    test(`${name}: 5 epochs, save both state dicts, resume in fresh objects, 8 more = 13 uninterrupted`, () => {
      const ref = start(initial, makeOpt, makeSched);
      const refTrace = Array.from({ length: 13 }, (_, k) => epoch(ref, k));

      const first = start(initial, makeOpt, makeSched);
      const firstTrace = Array.from({ length: 5 }, (_, k) => epoch(first, k));
      const checkpoint = JSON.stringify({
        optimizer: optim.stateToJSON(first.opt.stateDict()),
        scheduler: optim.stateToJSON(first.sched.stateDict()),
      });

      // As a resumed job does: build the optimizer and the scheduler, then load their state dicts.
      const saved = JSON.parse(checkpoint) as { optimizer: optim.JsonValue; scheduler: optim.JsonValue };
      const resumed = start(
        first.params.map((p) => Float32Array.from(p.data)),
        makeOpt,
        makeSched,
      );
      resumed.opt.loadStateDict(optim.stateFromJSON(saved.optimizer));
      resumed.sched.loadStateDict(optim.stateFromJSON(saved.scheduler));
      assert.deepEqual(resumed.sched.getLastLr(), first.sched.getLastLr(), 'getLastLr after loading');
      const resumedTrace = Array.from({ length: 8 }, (_, k) => epoch(resumed, k + 5));
      assert.deepEqual([...firstTrace, ...resumedTrace], refTrace, 'lr and momentum per epoch');
      resumed.params.forEach((p, i) => assert.deepEqual(p.data, ref.params[i].data, `parameter ${i}`));
      assert.deepEqual(resumed.sched.stateDict(), ref.sched.stateDict());
    });
  }

  test('loading restores the settings too, as PyTorch does (a scheduler built with others continues like the saved one)', () => {
    const pairs: [MakeOptimizer, MakeScheduler, MakeScheduler][] = [
      [sgd, (o) => new optim.StepLR(o, { stepSize: 3, gamma: 0.5 }), (o) => new optim.StepLR(o, { stepSize: 5 })],
      [sgd, (o) => new optim.MultiStepLR(o, { milestones: [6, 8, 8] }), (o) => new optim.MultiStepLR(o, { milestones: [1], gamma: 0.9 })],
      [sgd, (o) => new optim.CosineAnnealingLR(o, { tMax: 4, etaMin: 0.001 }), (o) => new optim.CosineAnnealingLR(o, { tMax: 9 })],
      [adam, (o) => new optim.LinearLR(o, { startFactor: 0.1, totalIters: 8 }), (o) => new optim.LinearLR(o, { endFactor: 0.5 })],
      [adam, (o) => new optim.ExponentialLR(o, { gamma: 0.8 }), (o) => new optim.ExponentialLR(o, { gamma: 0.5 })],
      [
        sgd,
        (o) => new optim.OneCycleLR(o, { maxLr: 0.5, totalSteps: 14, annealStrategy: 'linear', threePhase: true }),
        (o) => new optim.OneCycleLR(o, { maxLr: 0.5, totalSteps: 20, cycleMomentum: false }),
      ],
      [
        sgd,
        (o) => new optim.ReduceLROnPlateau(o, { patience: 1, factor: 0.5, cooldown: 1, mode: 'max', thresholdMode: 'abs' }),
        (o) => new optim.ReduceLROnPlateau(o),
      ],
    ];
    for (const [makeOpt, makeSaved, makeOther] of pairs) {
      const ref = start(initial, makeOpt, makeSaved);
      const refTrace = Array.from({ length: 13 }, (_, k) => epoch(ref, k));
      const first = start(initial, makeOpt, makeSaved);
      Array.from({ length: 5 }, (_, k) => epoch(first, k));
      const resumed = start(
        first.params.map((p) => Float32Array.from(p.data)),
        makeOpt,
        makeOther,
      );
      resumed.opt.loadStateDict(throughJSON(first.opt.stateDict()));
      resumed.sched.loadStateDict(throughJSON(first.sched.stateDict()));
      const name = ref.sched.constructor.name;
      assert.deepEqual(
        Array.from({ length: 8 }, (_, k) => epoch(resumed, k + 5)),
        refTrace.slice(5),
        `${name}: lr and momentum per epoch`,
      );
      assert.deepEqual(resumed.sched.stateDict(), ref.sched.stateDict(), `${name}: state dict`);
    }
  });

  test('ReduceLROnPlateau: a best of Infinity survives stateToJSON, and a plain JSON null reads as no best yet', () => {
    const opt = new optim.SGD(paramsFrom(initial), { lr: 0.1 });
    const s = new optim.ReduceLROnPlateau(opt, { mode: 'max' });
    assert.equal(s.best, -Infinity);
    const viaHelper = throughJSON<optim.SchedulerStateDict>(s.stateDict());
    assert.equal(viaHelper.best, -Infinity);
    const plain = JSON.parse(JSON.stringify(s.stateDict())) as optim.SchedulerStateDict;
    assert.equal(plain.best, null);
    s.step(3);
    s.loadStateDict(plain);
    assert.equal(s.best, -Infinity);
    s.step(2);
    assert.equal(s.best, 2);
  });
});

// ---- optimizer API ------------------------------------------------------------------------------

describe('Optimizer', () => {
  test('parameter groups get the defaults, each its own copy of betas', () => {
    const p = paramsFrom(initial);
    const opt = new optim.Adam([{ params: [p[0]] }, { params: [p[1], p[2]], lr: 0.1, amsgrad: true }], { betas: [0.8, 0.9] });
    assert.equal(opt.paramGroups[0].lr, 1e-3);
    assert.equal(opt.paramGroups[1].lr, 0.1);
    assert.equal(opt.paramGroups[0].amsgrad, false);
    assert.equal(opt.paramGroups[1].amsgrad, true);
    assert.deepEqual(opt.paramGroups[1].betas, [0.8, 0.9]);
    assert.notEqual(opt.paramGroups[0].betas, opt.paramGroups[1].betas);
    assert.notEqual(opt.paramGroups[0].betas, opt.defaults.betas);
    assert.equal(new optim.AdamW(p).paramGroups[0].weightDecay, 1e-2);
    assert.equal(new optim.Adam(p).paramGroups[0].weightDecay, 0);
    assert.deepEqual({ ...new optim.RMSprop(p).defaults }, { lr: 1e-2, momentum: 0, alpha: 0.99, eps: 1e-8, centered: false, weightDecay: 0, maximize: false });
  });

  test('changing a group lr changes the next update (schedulers rely on it)', () => {
    const [a] = paramsFrom([Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])]);
    const opt = new optim.SGD([a], { lr: 0.5 });
    a.grad = tv.onesLike(a) as tv.Tensor<'float32'>;
    opt.step();
    assert.equal(a.data[0], 0.5);
    opt.paramGroups[0].lr = 0.25;
    opt.step();
    assert.equal(a.data[0], 0.25);
  });

  test('addParamGroup adds a group with the defaults filled in', () => {
    const p = paramsFrom(initial);
    const opt = new optim.SGD([p[0]], { lr: 0.1, momentum: 0.9 });
    opt.addParamGroup({ params: [p[1]], lr: 0.01 });
    assert.equal(opt.paramGroups.length, 2);
    assert.equal(opt.paramGroups[1].momentum, 0.9);
    assert.equal(opt.paramGroups[1].lr, 0.01);
    assert.throws(() => opt.addParamGroup({ params: [p[0]] }), /some parameters appear in more than one parameter group \(parameter group 2\)/);
  });

  test('updates parameters in place, so modules keep their references', () => {
    const model = new tv.nn.Linear(3, 2);
    const weight = model.weight;
    const data = weight.data;
    const opt = new optim.Adam(model.parameters(), { lr: 0.1 });
    model
      .call(uniform([4, 3]))
      .sum()
      .backward();
    opt.step();
    assert.equal(model.weight, weight);
    assert.equal(model.weight.data, data);
    assert.notDeepEqual(
      Array.from(data),
      Array.from(model.stateDict().get('weight')!.data).map(() => 0),
    );
  });

  test('zeroGrad sets grads to null, or with setToNone false fills them with zeros in place', () => {
    const p = paramsFrom(initial);
    const opt = new optim.SGD(p, { lr: 0.1 });
    for (const x of p) x.grad = tv.onesLike(x) as tv.Tensor<'float32'>;
    const g0 = p[0].grad!;
    opt.zeroGrad({ setToNone: false });
    assert.equal(p[0].grad, g0);
    assert.deepEqual(Array.from(g0.data), new Array(g0.size).fill(0));
    opt.zeroGrad();
    assert.ok(p.every((x) => x.grad === null));
  });

  test('step skips parameters without a grad (no state for them) and returns the closure loss', () => {
    const p = paramsFrom(initial);
    const before = Array.from(p[1].data);
    const opt = new optim.Adam(p);
    p[0].grad = tv.onesLike(p[0]) as tv.Tensor<'float32'>;
    const loss = opt.step(() => 42);
    assert.equal(loss, 42);
    assert.deepEqual(Array.from(p[1].data), before);
    assert.ok(opt.state.has(p[0]));
    assert.ok(!opt.state.has(p[1]));
    assert.equal(opt.state.get(p[0])!.step.item(), 1);
  });

  test('maximize ascends', () => {
    const [a] = paramsFrom([new Float32Array(12)]);
    const opt = new optim.SGD([a], { lr: 1, maximize: true });
    a.grad = tv.onesLike(a) as tv.Tensor<'float32'>;
    opt.step();
    assert.equal(a.data[0], 1);
    assert.equal(a.grad.data[0], 1, 'the gradient itself is not changed');
  });

  test("PyTorch's validation errors, naming the option", () => {
    const p = paramsFrom(initial);
    assert.throws(
      () => new optim.SGD(p, { lr: 0.1, nesterov: true }),
      /SGD: Nesterov momentum requires a momentum and zero dampening, got momentum 0 and dampening 0/,
    );
    assert.throws(() => new optim.SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov momentum requires/);
    assert.throws(() => new optim.SGD(p), /SGD: no lr given; pass \{ lr \} to the optimizer or to every parameter group/);
    assert.doesNotThrow(() => new optim.SGD([{ params: p, lr: 0.1 }]));
    assert.throws(() => new optim.SGD(p, { lr: -0.1 }), /SGD: expected lr >= 0, got -0\.1/);
    assert.throws(() => new optim.SGD(p, { lr: 0.1, momentum: -1 }), /expected momentum >= 0/);
    assert.throws(() => new optim.SGD(p, { lr: 0.1, weightDecay: -1 }), /expected weightDecay >= 0/);
    assert.throws(() => new optim.Adam(p, { betas: [1, 0.999] }), /Adam: expected betas\[0\] in \[0, 1\), got 1/);
    assert.throws(() => new optim.AdamW(p, { betas: [0.9, -0.1] }), /AdamW: expected betas\[1\] in \[0, 1\), got -0\.1/);
    assert.throws(() => new optim.Adam(p, { eps: -1 }), /expected eps >= 0/);
    assert.throws(() => new optim.RMSprop(p, { alpha: -1 }), /RMSprop: expected alpha >= 0/);
    assert.throws(() => new optim.Adam(p, { lr: NaN }), /expected lr >= 0, got NaN/);
    assert.throws(() => new optim.Adam([{ params: [p[0]] }, { params: [p[1]], lr: -1 }]), /expected lr >= 0, got -1 \(parameter group 1\)/);
  });

  test('parameter lists are checked', () => {
    const p = paramsFrom(initial);
    const model = new tv.nn.Linear(2, 2);
    assert.throws(() => new optim.SGD([], { lr: 1 }), /SGD: got an empty parameter list/);
    assert.throws(() => new optim.SGD(model as unknown as tv.nn.Parameter[], { lr: 1 }), /did you mean model\.parameters\(\)\?/);
    assert.throws(() => new optim.SGD([p[0], p[0]], { lr: 1 }), /a parameter appears twice in a parameter group/);
    assert.throws(
      () => new optim.SGD([{ params: [p[0]] }, { params: [p[0], p[1]] }], { lr: 1 }),
      /some parameters appear in more than one parameter group \(parameter group 1\)/,
    );
    const y = p[0].mul(2) as tv.Tensor<'float32'>;
    assert.throws(() => new optim.SGD([y], { lr: 1 }), /can't optimize a non-leaf tensor/);
    assert.throws(
      () => new optim.SGD([tv.zeros([2], { dtype: 'int32' }) as unknown as tv.nn.Parameter], { lr: 1 }),
      /can only optimize float32 tensors, got int32/,
    );
    assert.throws(() => new optim.SGD(p, { lr: 1, weight_decay: 0.1 } as optim.SGDOptions), /SGD: unknown option weight_decay \(did you mean weightDecay\?\)/);
    assert.throws(() => new optim.SGD(p, { lr: 1, nesterov: 1 } as unknown as optim.SGDOptions), /SGD: expected nesterov to be a boolean, got 1/);
    assert.ok(new optim.SGD([{ params: p[0] }], { lr: 1 }).paramGroups[0].params[0] === p[0], 'a single tensor as params');
  });

  test('step refuses a gradient of the wrong size', () => {
    const p = paramsFrom(initial);
    const opt = new optim.SGD(p, { lr: 1 });
    p[0].grad = tv.zeros([2]);
    assert.throws(() => opt.step(), /SGD\.step: a gradient of shape \[2\] for a parameter of shape \[3, 4\]/);
  });
});

// ---- clipping by hand ---------------------------------------------------------------------------

describe('clipping', () => {
  const withGrads = (...grads: (number[] | null)[]) =>
    grads.map((g) => {
      const p = new Parameter(tv.zeros([g?.length ?? 1]));
      p.grad = g ? tv.tensor(g) : null;
      return p;
    });

  test('clipGradNorm scales to maxNorm / (total + 1e-6) and returns the total norm', () => {
    const p = withGrads([3], [4], null);
    const total = optim.clipGradNorm(p, 1);
    assert.equal(total, 5);
    assertClose(p[0].grad!.data, [0.6], { rtol: 1e-6 });
    assertClose(p[1].grad!.data, [0.8], { rtol: 1e-6 });
    assert.ok(p[1].grad!.data[0] < 0.8, 'the 1e-6 keeps the clipped norm just below maxNorm');
  });

  test('clipGradNorm leaves gradients under maxNorm alone, and handles Infinity and p norms', () => {
    const p = withGrads([3, -4]);
    assert.equal(optim.clipGradNorm(p, 10), 5);
    assert.deepEqual(Array.from(p[0].grad!.data), [3, -4]);
    assert.equal(optim.clipGradNorm(withGrads([3, -4], [-6]), 100, Infinity), 6);
    assert.equal(optim.clipGradNorm(withGrads([3, -4], [-6]), 100, 1), 13);
    assertClose([optim.clipGradNorm(withGrads([1, 2], [2]), 100, 3)], [Math.cbrt(17)], { rtol: 1e-6 });
    assert.equal(optim.clipGradNorm(withGrads(null), 1), 0);
    assert.throws(() => optim.clipGradNorm(withGrads([1]), 1, 0), /expected normType > 0 or Infinity, got 0/);
  });

  test('a non-finite total norm makes the grads NaN, or throws with errorIfNonfinite', () => {
    const p = withGrads([NaN, 1], [2]);
    assert.ok(Number.isNaN(optim.clipGradNorm(p, 1)));
    assert.ok(Number.isNaN(p[1].grad!.data[0]));
    assert.throws(
      () => optim.clipGradNorm(withGrads([Infinity], [1]), 1, 2, { errorIfNonfinite: true }),
      /the total norm of order 2 of the gradients is Infinity/,
    );
  });

  test('clipGradValue clamps each element', () => {
    const p = withGrads([-3, 0.5, 2, -0.1]);
    optim.clipGradValue(p, 1);
    assert.deepEqual(Array.from(p[0].grad!.data), [-1, 0.5, 1, Math.fround(-0.1)]);
    assert.throws(() => optim.clipGradValue(p, -1), /expected clipValue >= 0/);
  });
});

// ---- schedulers: behaviour and errors -----------------------------------------------------------

describe('schedulers', () => {
  const opt = () => new optim.SGD(paramsFrom(initial), { lr: 0.1, momentum: 0.9 });

  test('construction records initialLr and performs the initial step', () => {
    const o = opt();
    const s = new optim.LinearLR(o, { startFactor: 0.5, totalIters: 2 });
    assert.equal(o.paramGroups[0].initialLr, 0.1);
    assert.equal(s.lastEpoch, 0);
    assert.deepEqual(s.getLastLr(), [0.05]);
    assert.equal(o.stateDict().param_groups[0].initial_lr, 0.1);
  });

  test('resuming with lastEpoch needs initialLr', () => {
    assert.throws(
      () => new optim.StepLR(opt(), { stepSize: 2, lastEpoch: 3 }),
      /StepLR: parameter group 0 has no initialLr, which resuming \(lastEpoch 3\) needs/,
    );
    const o = opt();
    o.paramGroups[0].initialLr = 0.1;
    const s = new optim.StepLR(o, { stepSize: 2, gamma: 0.5, lastEpoch: 3 });
    assert.equal(s.lastEpoch, 4);
    assert.deepEqual(s.getLastLr(), [0.05]);
  });

  test('a group added after the scheduler was built: chainable steps scale it, closed forms leave it (values from PyTorch 1.13)', () => {
    const o = opt();
    const seq = new optim.SequentialLR(o, [new optim.ExponentialLR(o, { gamma: 0.5 }), new optim.CosineAnnealingLR(o, { tMax: 4 })], [2]);
    o.addParamGroup({ params: [new Parameter(tv.zeros([2]))], lr: 0.3 });
    const lrs = Array.from({ length: 6 }, () => {
      seq.step();
      return o.paramGroups.map((g) => g.lr);
    });
    const torch = [
      [0.05, 0.15],
      [0.1, 0.15],
      [0.08535533905932738, 0.12803300858899105],
      [0.05, 0.075],
      [0.014644660940672627, 0.02196699141100894],
      [0, 0],
    ];
    assertClose(lrs.flat(), torch.flat(), { rtol: 1e-12, atol: 1e-17 });
  });

  test('OneCycleLR refuses to step past totalSteps', () => {
    const s = new optim.OneCycleLR(opt(), { maxLr: 1, totalSteps: 3 });
    for (let i = 0; i < 3; i++) s.step();
    assert.throws(() => s.step(), /OneCycleLR: tried to step 5 times; the schedule has totalSteps 3/);
    assert.equal(s.lastEpoch, 3, 'a refused step changes nothing');
  });

  test('validation errors', () => {
    assert.throws(() => new optim.StepLR(opt(), { stepSize: 0 }), /StepLR: expected stepSize to be a positive integer, got 0/);
    assert.throws(() => new optim.LinearLR(opt(), { startFactor: 0 }), /LinearLR: expected startFactor in \(0, 1\], got 0/);
    assert.throws(() => new optim.CosineAnnealingLR(opt(), { tMax: 0 }), /expected tMax > 0/);
    assert.throws(() => new optim.MultiStepLR(opt(), { milestones: [1.5] }), /expected milestones to be a list of integers/);
    assert.throws(() => new optim.OneCycleLR(opt(), { maxLr: 1 }), /give either totalSteps or \(epochs and stepsPerEpoch\)/);
    assert.throws(() => new optim.OneCycleLR(opt(), { maxLr: 1, epochs: 2 }), /expected a positive integer stepsPerEpoch, got undefined/);
    assert.throws(() => new optim.OneCycleLR(opt(), { maxLr: [1, 2], totalSteps: 5 }), /expected 1 values for maxLr, got 2/);
    assert.throws(() => new optim.OneCycleLR(opt(), { maxLr: 1, totalSteps: 5, pctStart: 1.5 }), /expected pctStart in \[0, 1\]/);
    assert.throws(() => new optim.ReduceLROnPlateau(opt(), { factor: 1 }), /ReduceLROnPlateau: expected factor < 1, got 1/);
    assert.throws(() => new optim.ReduceLROnPlateau(opt(), { mode: 'up' as 'min' }), /expected mode 'min' or 'max'/);
    const o = opt();
    assert.throws(() => new optim.SequentialLR(o, [new optim.StepLR(o, { stepSize: 2 })], [3]), /expected one milestone fewer than schedulers/);
    assert.throws(() => new optim.SequentialLR(o, [new optim.StepLR(opt(), { stepSize: 2 })], []), /scheduler 0 belongs to another optimizer/);
    assert.throws(() => new optim.StepLR({} as optim.AnyOptimizer, { stepSize: 1 }), /StepLR: expected an Optimizer/);
    assert.throws(() => new optim.StepLR(o, { stepSize: 1 }).loadStateDict({ gamma: 0.5 }), /expected a scheduler state dict with last_epoch/);
  });

  test('ReduceLROnPlateau takes a one-element tensor as the metric', () => {
    const o = opt();
    const s = new optim.ReduceLROnPlateau(o, { patience: 0 });
    s.step(tv.scalar(1));
    s.step(tv.scalar(2));
    assertClose(s.getLastLr(), [0.01], { rtol: 1e-12 });
  });
});

describe('stateToJSON / stateFromJSON', () => {
  test('tensors inline or apart, non-finite numbers as strings, exact float32 values', () => {
    const t = tv.tensor([0.1, -Infinity, NaN, 3e-39]);
    const value = { a: t, b: [Infinity, 1, 'min'], c: null, d: true };
    const inline = optim.stateToJSON(value);
    assert.deepEqual(inline, {
      a: { dtype: 'float32', shape: [4], data: [Math.fround(0.1), '-Infinity', 'NaN', Math.fround(3e-39)] },
      b: ['Infinity', 1, 'min'],
      c: null,
      d: true,
    });
    const back = optim.stateFromJSON<typeof value>(JSON.parse(JSON.stringify(inline)));
    assert.deepEqual(Array.from(back.a.data), Array.from(t.data));
    assert.deepEqual(back.b, [Infinity, 1, 'min']);
    const tensors = new Map<string, tv.Tensor>();
    const apart = optim.stateToJSON({ state: { 0: { exp_avg: t } } }, { tensors });
    assert.deepEqual(apart, { state: { 0: { exp_avg: { $tensor: 'state.0.exp_avg' } } } });
    assert.equal(tensors.get('state.0.exp_avg'), t);
    assert.throws(() => optim.stateFromJSON(apart), /tensor "state\.0\.exp_avg" \(at state\.0\.exp_avg\) is not in the tensors map/);
  });
});
