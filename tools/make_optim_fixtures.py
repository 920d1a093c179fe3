#!/usr/bin/env python3
"""Writes test/fixtures/optim.json: PyTorch reference values for test/optim-parity.test.ts.

Regenerate (from the repository root) with

    /usr/bin/python3 tools/make_optim_fixtures.py

(any python3 that can import torch; the fixtures were made with torch 1.13). The
output is deterministic: the same torch version writes the same bytes.

"optimizers": one optimizer configuration each:
  name         unique, "<Optimizer>/<what>"
  optimizer    SGD | Adam | AdamW | RMSprop (the tsvision class)
  options      the constructor's options, in tsvision's camelCase names
  groups       null (one group of every parameter) or [{params: [indices], ...options}]
  params       the initial parameters, [{dtype, shape, data}] (float32)
  grads        per step, per parameter: the gradient's data, or null (no grad: skipped)
  trajectory   per step, per parameter: the parameter's data after that step
  stateDicts   {"3": ..., "5": ...}: PyTorch's optimizer.state_dict() after 3 and 5 steps,
               tensors as {dtype, shape, data}, PyTorch's own keys (foreach, differentiable, ...)

"schedulers": one schedule each, over an optimizer with two parameter groups:
  optimizer, optimizerOptions, groupLrs   the optimizer (tsvision names) and each group's lr
  scheduler, args                         the tsvision class and its options (children for
                                          SequentialLR / ChainedScheduler: {scheduler, args} lists)
  metrics                                 ReduceLROnPlateau only: the metric of each step
  initialLrs                              set as each group's initialLr first (resuming with lastEpoch)
  lrs                                     each group's lr after construction, then after each step
  momenta                                 each group's momentum (or beta1) alongside, when the
                                          optimizer has one
  stateDict                               the scheduler's state_dict() at the end (JSON-able
                                          entries only; non-finite numbers as strings)

"clip": clip_grad_norm_ / clip_grad_value_ cases: grads (null: no grad), maxNorm, normType,
  (clipValue), the returned total norm and the clipped grads.

Float32 tensors are written with 9 significant digits (read back as float32, each is
the same value), Python floats (learning rates, norms) exactly. Non-finite numbers are written as the strings
"NaN", "Infinity", "-Infinity".
"""
import json
import math
import os
import warnings
from collections import Counter

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'optim.json')

GEN = torch.Generator().manual_seed(20240612)
SHAPES = [(4, 5), (7,), (2, 3, 2)]
STEPS = 5


def uniform(shape, lo=-1.0, hi=1.0):
    return (torch.rand(shape, generator=GEN, dtype=torch.float32) * (hi - lo) + lo).to(torch.float32)


def num(v):
    v = float(v)
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return v


def f32(v):
    """A float32 value in 9 significant digits, which read back as float32 is the same value."""
    v = num(v)
    return v if isinstance(v, str) else float('%.9g' % v)


def enc(t):
    return {'dtype': 'float32', 'shape': list(t.shape), 'data': [f32(v) for v in t.detach().reshape(-1).tolist()]}


def jsonable(v):
    """PyTorch's state-dict values as JSON (tensors encoded; functions and the like dropped as None)."""
    if isinstance(v, torch.Tensor):
        return enc(v.float()) if v.dim() > 0 else num(v.item())
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return num(v)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (dict, Counter)):
        return {str(k): jsonable(x) for k, x in v.items() if not callable(x)}
    return None


# ---- optimizers -------------------------------------------------------------------------------

TORCH_NAMES = {'weightDecay': 'weight_decay'}


def torch_options(options):
    return {TORCH_NAMES.get(k, k): (tuple(v) if k == 'betas' else v) for k, v in options.items()}


def optimizer_case(name, optimizer, options, groups=None, missing=()):
    """missing: (step, param) pairs whose gradient is None at that step (1-based steps)."""
    params0 = [uniform(s) for s in SHAPES]
    grads = [[uniform(s) for s in SHAPES] for _ in range(STEPS)]
    for step, i in missing:
        grads[step - 1][i] = None
    params = [torch.nn.Parameter(p.clone()) for p in params0]
    cls = getattr(torch.optim, optimizer)
    if groups is None:
        opt = cls(params, **torch_options(options))
    else:
        opt = cls([dict(torch_options({k: v for k, v in g.items() if k != 'params'}), params=[params[i] for i in g['params']])
                   for g in groups], **torch_options(options))
    trajectory, state_dicts = [], {}
    for k in range(STEPS):
        for p, g in zip(params, grads[k]):
            p.grad = None if g is None else g.clone()
        opt.step()
        trajectory.append([enc(p)['data'] for p in params])
        if k + 1 in (3, 5):
            state_dicts[str(k + 1)] = jsonable(opt.state_dict())
    return {
        'name': name, 'optimizer': optimizer, 'options': options, 'groups': groups,
        'params': [enc(p) for p in params0],
        'grads': [[None if g is None else enc(g)['data'] for g in step] for step in grads],
        'trajectory': trajectory, 'stateDicts': state_dicts,
    }


def optimizer_cases():
    two_groups = [{'params': [0, 2]}, {'params': [1], 'lr': 0.02}]
    return [
        optimizer_case('SGD/plain', 'SGD', {'lr': 0.1}),
        optimizer_case('SGD/momentum', 'SGD', {'lr': 0.1, 'momentum': 0.9}),
        optimizer_case('SGD/nesterov', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'nesterov': True}),
        optimizer_case('SGD/dampening', 'SGD', {'lr': 0.1, 'momentum': 0.8, 'dampening': 0.3}),
        optimizer_case('SGD/weight_decay', 'SGD', {'lr': 0.05, 'weightDecay': 0.1}),
        optimizer_case('SGD/momentum_weight_decay', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'weightDecay': 0.01}),
        optimizer_case('SGD/maximize', 'SGD', {'lr': 0.1, 'momentum': 0.5, 'maximize': True}),
        optimizer_case('SGD/missing_grads', 'SGD', {'lr': 0.1, 'momentum': 0.9}, missing=[(1, 1), (3, 1), (4, 2)]),
        optimizer_case('SGD/two_groups', 'SGD', {'lr': 0.1, 'momentum': 0.9},
                       [{'params': [0, 2]}, {'params': [1], 'lr': 0.01, 'momentum': 0.5, 'nesterov': True}]),
        optimizer_case('Adam/default', 'Adam', {}),
        optimizer_case('Adam/lr', 'Adam', {'lr': 0.01}),
        optimizer_case('Adam/weight_decay', 'Adam', {'lr': 0.01, 'weightDecay': 0.1}),
        optimizer_case('Adam/amsgrad', 'Adam', {'lr': 0.01, 'amsgrad': True}),
        optimizer_case('Adam/amsgrad_weight_decay', 'Adam', {'lr': 0.01, 'amsgrad': True, 'weightDecay': 0.05}),
        optimizer_case('Adam/betas_eps', 'Adam', {'lr': 0.02, 'betas': [0.8, 0.99], 'eps': 1e-6}),
        optimizer_case('Adam/maximize', 'Adam', {'lr': 0.01, 'maximize': True}),
        optimizer_case('Adam/missing_grads', 'Adam', {'lr': 0.01}, missing=[(1, 0), (2, 0), (4, 2)]),
        optimizer_case('Adam/two_groups', 'Adam', {'lr': 0.01}, [{'params': [0, 2]}, {'params': [1], 'lr': 0.001, 'amsgrad': True}]),
        optimizer_case('AdamW/default', 'AdamW', {}),
        optimizer_case('AdamW/lr', 'AdamW', {'lr': 0.01}),
        optimizer_case('AdamW/weight_decay_amsgrad', 'AdamW', {'lr': 0.01, 'weightDecay': 0.1, 'amsgrad': True}),
        optimizer_case('AdamW/two_groups', 'AdamW', {'lr': 0.01}, [{'params': [0, 2]}, {'params': [1], 'lr': 0.03, 'weightDecay': 0}]),
        optimizer_case('RMSprop/plain', 'RMSprop', {}),
        optimizer_case('RMSprop/alpha_eps', 'RMSprop', {'lr': 0.005, 'alpha': 0.9, 'eps': 1e-6}),
        optimizer_case('RMSprop/centered', 'RMSprop', {'lr': 0.01, 'centered': True}),
        optimizer_case('RMSprop/momentum', 'RMSprop', {'lr': 0.01, 'momentum': 0.9}),
        optimizer_case('RMSprop/centered_momentum_weight_decay', 'RMSprop', {'lr': 0.01, 'centered': True, 'momentum': 0.5, 'weightDecay': 0.05}),
        optimizer_case('RMSprop/maximize', 'RMSprop', {'lr': 0.01, 'maximize': True}),
        optimizer_case('RMSprop/two_groups', 'RMSprop', {'lr': 0.01}, two_groups),
    ]


# ---- schedulers -------------------------------------------------------------------------------

SCHED = torch.optim.lr_scheduler
# SequentialLR restarts a child with step(0), PyTorch's own use of its deprecated form.
warnings.filterwarnings('ignore', message='The epoch parameter in')
SCHED_NAMES = {'stepSize': 'step_size', 'tMax': 'T_max', 'etaMin': 'eta_min', 'startFactor': 'start_factor',
               'endFactor': 'end_factor', 'totalIters': 'total_iters', 'maxLr': 'max_lr', 'totalSteps': 'total_steps',
               'stepsPerEpoch': 'steps_per_epoch', 'pctStart': 'pct_start', 'annealStrategy': 'anneal_strategy',
               'cycleMomentum': 'cycle_momentum', 'baseMomentum': 'base_momentum', 'maxMomentum': 'max_momentum',
               'divFactor': 'div_factor', 'finalDivFactor': 'final_div_factor', 'threePhase': 'three_phase',
               'thresholdMode': 'threshold_mode', 'minLr': 'min_lr', 'lastEpoch': 'last_epoch'}


def build_scheduler(opt, name, args):
    if name in ('SequentialLR', 'ChainedScheduler'):
        children = [build_scheduler(opt, c['scheduler'], c['args']) for c in args['schedulers']]
        if name == 'ChainedScheduler':
            return SCHED.ChainedScheduler(children)
        return SCHED.SequentialLR(opt, children, milestones=args['milestones'])
    return getattr(SCHED, name)(opt, **{SCHED_NAMES.get(k, k): v for k, v in args.items()})


def momenta(opt):
    g0 = opt.param_groups[0]
    if 'betas' in g0:
        return [g['betas'][0] for g in opt.param_groups]
    if 'momentum' in g0:
        return [g['momentum'] for g in opt.param_groups]
    return None


def scheduler_case(name, scheduler, args, optimizer='SGD', optimizer_options=None, group_lrs=(0.1, 0.02), steps=30, metrics=None,
                   initial_lrs=None):
    optimizer_options = {'momentum': 0.9} if optimizer_options is None else optimizer_options
    params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    cls = getattr(torch.optim, optimizer)
    opt = cls([{'params': [p], 'lr': lr} for p, lr in zip(params, group_lrs)], **torch_options(optimizer_options))
    if initial_lrs is not None:  # resuming with last_epoch: the groups carry initial_lr
        for g, lr in zip(opt.param_groups, initial_lrs):
            g['initial_lr'] = lr
    sched = build_scheduler(opt, scheduler, args)
    lrs, moms = [[g['lr'] for g in opt.param_groups]], [momenta(opt)]
    for k in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[k])
        else:
            sched.step()
        lrs.append([g['lr'] for g in opt.param_groups])
        moms.append(momenta(opt))
    case = {'name': name, 'optimizer': optimizer, 'optimizerOptions': optimizer_options, 'groupLrs': list(group_lrs),
            'scheduler': scheduler, 'args': args, 'lrs': lrs}
    if metrics is not None:
        case['metrics'] = metrics
    if initial_lrs is not None:
        case['initialLrs'] = list(initial_lrs)
    if moms[0] is not None:
        case['momenta'] = moms
    case['stateDict'] = jsonable(sched.state_dict())
    return case


def plateau_metrics():
    # falls, stalls, improves a little (below and above the threshold), stalls again
    return [1.0, 0.9, 0.8, 0.8, 0.81, 0.79995, 0.8, 0.7, 0.7, 0.7, 0.7, 0.69999, 0.6, 0.6, 0.6,
            0.6, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.4, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45]


def scheduler_cases():
    return [
        scheduler_case('StepLR', 'StepLR', {'stepSize': 7, 'gamma': 0.5}),
        scheduler_case('StepLR/default_gamma', 'StepLR', {'stepSize': 3}),
        scheduler_case('MultiStepLR', 'MultiStepLR', {'milestones': [5, 12, 12, 20], 'gamma': 0.3}),
        scheduler_case('ExponentialLR', 'ExponentialLR', {'gamma': 0.9}),
        scheduler_case('CosineAnnealingLR/restarts', 'CosineAnnealingLR', {'tMax': 10, 'etaMin': 0.001}),
        scheduler_case('CosineAnnealingLR/one_period', 'CosineAnnealingLR', {'tMax': 30}),
        scheduler_case('CosineAnnealingLR/resumed', 'CosineAnnealingLR', {'tMax': 10, 'etaMin': 0.001, 'lastEpoch': 4},
                       initial_lrs=(0.2, 0.04)),
        scheduler_case('StepLR/resumed', 'StepLR', {'stepSize': 4, 'gamma': 0.5, 'lastEpoch': 6}, initial_lrs=(0.2, 0.04)),
        scheduler_case('CosineAnnealingLR/adam', 'CosineAnnealingLR', {'tMax': 7, 'etaMin': 1e-4}, optimizer='Adam', optimizer_options={}),
        scheduler_case('LinearLR/warmup', 'LinearLR', {'startFactor': 0.25, 'endFactor': 1.0, 'totalIters': 8}),
        scheduler_case('LinearLR/default', 'LinearLR', {}),
        scheduler_case('LinearLR/decay', 'LinearLR', {'startFactor': 1.0, 'endFactor': 0.1, 'totalIters': 20}),
        scheduler_case('OneCycleLR/sgd', 'OneCycleLR', {'maxLr': [0.5, 0.1], 'totalSteps': 31}),
        scheduler_case('OneCycleLR/adam_linear_three_phase', 'OneCycleLR',
                       {'maxLr': 0.01, 'epochs': 4, 'stepsPerEpoch': 8, 'pctStart': 0.25, 'annealStrategy': 'linear',
                        'threePhase': True, 'divFactor': 10.0, 'finalDivFactor': 100.0, 'baseMomentum': 0.8, 'maxMomentum': 0.9},
                       optimizer='Adam', optimizer_options={}),
        scheduler_case('OneCycleLR/no_momentum_cycle', 'OneCycleLR', {'maxLr': 0.3, 'totalSteps': 40, 'cycleMomentum': False},
                       optimizer_options={}),
        scheduler_case('OneCycleLR/rmsprop', 'OneCycleLR', {'maxLr': 0.05, 'totalSteps': 30, 'pctStart': 0.4}, optimizer='RMSprop',
                       optimizer_options={}, steps=29),
        scheduler_case('SequentialLR/warmup_cosine', 'SequentialLR',
                       {'schedulers': [{'scheduler': 'LinearLR', 'args': {'startFactor': 0.1, 'totalIters': 5}},
                                       {'scheduler': 'CosineAnnealingLR', 'args': {'tMax': 25}}], 'milestones': [5]}),
        scheduler_case('SequentialLR/three', 'SequentialLR',
                       {'schedulers': [{'scheduler': 'ExponentialLR', 'args': {'gamma': 0.9}},
                                       {'scheduler': 'StepLR', 'args': {'stepSize': 4, 'gamma': 0.5}},
                                       {'scheduler': 'MultiStepLR', 'args': {'milestones': [3, 6], 'gamma': 0.2}}],
                        'milestones': [8, 20]}),
        scheduler_case('ChainedScheduler', 'ChainedScheduler',
                       {'schedulers': [{'scheduler': 'LinearLR', 'args': {'startFactor': 0.5, 'totalIters': 4}},
                                       {'scheduler': 'ExponentialLR', 'args': {'gamma': 0.95}}]}),
        scheduler_case('ReduceLROnPlateau/min_rel', 'ReduceLROnPlateau',
                       {'mode': 'min', 'factor': 0.5, 'patience': 2, 'cooldown': 1, 'minLr': [0.01, 0.004]},
                       metrics=plateau_metrics()),
        scheduler_case('ReduceLROnPlateau/max_abs', 'ReduceLROnPlateau',
                       {'mode': 'max', 'factor': 0.3, 'patience': 1, 'threshold': 0.05, 'thresholdMode': 'abs',
                        'minLr': 0.005, 'eps': 1e-3},
                       metrics=[-m for m in plateau_metrics()]),
        scheduler_case('ReduceLROnPlateau/default', 'ReduceLROnPlateau', {}, metrics=plateau_metrics()),
    ]


# ---- clipping ---------------------------------------------------------------------------------

def clip_case(name, max_norm=None, norm_type=2.0, clip_value=None, scale=1.0, missing=()):
    grads = [None if i in missing else uniform(s) * scale for i, s in enumerate(SHAPES)]
    params = [torch.nn.Parameter(torch.zeros(s)) for s in SHAPES]
    for p, g in zip(params, grads):
        p.grad = None if g is None else g.clone()
    case = {'name': name, 'grads': [None if g is None else enc(g) for g in grads]}
    if clip_value is not None:
        torch.nn.utils.clip_grad_value_(params, clip_value)
        case['clipValue'] = clip_value
    else:
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        case.update({'maxNorm': max_norm, 'normType': num(norm_type), 'totalNorm': num(total.item())})
    case['clipped'] = [None if p.grad is None else enc(p.grad)['data'] for p in params]
    return case


def clip_cases():
    return [
        clip_case('norm2/clipped', max_norm=1.0),
        clip_case('norm2/unclipped', max_norm=100.0),
        clip_case('norm2/large', max_norm=5.0, scale=1000.0),
        clip_case('norm2/tiny', max_norm=1e-6, scale=1e-6),
        clip_case('inf', max_norm=0.5, norm_type=math.inf),
        clip_case('norm1', max_norm=2.0, norm_type=1.0),
        clip_case('norm3', max_norm=0.7, norm_type=3.0),
        clip_case('missing_grad', max_norm=0.8, missing=(1,)),
        clip_case('value', clip_value=0.3),
        clip_case('value/missing_grad', clip_value=0.5, missing=(0,)),
    ]


def main():
    fixtures = {
        'generator': 'tools/make_optim_fixtures.py',
        'torch': torch.__version__,
        'optimizers': optimizer_cases(),
        'schedulers': scheduler_cases(),
        'clip': clip_cases(),
    }
    with open(OUT, 'w') as f:
        f.write('{')
        f.write(','.join(f'\n{json.dumps(k)}:{json.dumps(v, separators=(",", ":"))}' for k, v in fixtures.items()))
        f.write('\n}\n')
    print(f'wrote {os.path.normpath(OUT)}: {len(fixtures["optimizers"])} optimizer, {len(fixtures["schedulers"])} scheduler, '
          f'{len(fixtures["clip"])} clipping cases')


if __name__ == '__main__':
    main()
