#!/usr/bin/env python3
"""Writes test/fixtures/nn.json: PyTorch reference values for test/nn-parity.test.ts
and the module-structure checks of test/nn-module.test.ts.

Regenerate (from the repository root) with

    /usr/bin/python3 tools/make_nn_fixtures.py

(any python3 that can import torch; the fixtures were made with torch 1.13). The
output is deterministic: the same torch version writes the same bytes.

"cases": one module (a layer, a small model, or a loss) each:
  name        unique, "<Module>/<what>"
  module      the tsvision class the TS test builds (see MODULES there)
  args        its constructor options, in tsvision's names; tensor-valued options
              (a loss's weight, posWeight) as {dtype, shape, data}
  training    the mode the module runs in
  stateDict   [[key, tensor]] in PyTorch's order: loaded with loadStateDict, and the
              keys must equal the TS module's stateDict() keys
  inputs      [{dtype, shape, data, grad}]: float32 inputs (grad true: checked) or
              int32 class targets
  output      {dtype, shape, data, w}: w is the fixed random weight of the scalar
              sum(output * w) that is backpropagated
  grads       per input: d(sum(output * w))/d(input), null for int targets
  paramGrads  [[name, data]] for every parameter, in named_parameters() order
Parameters and inputs are float32 values; the reference is computed in float64
from them, then rounded to float32 and written with 9 significant digits.
Non-finite values are written as the strings "NaN", "Infinity", "-Infinity".

"structures": key names and orders of a few models, for the Module API tests.
"""
import json
import math
import os
import sys
from collections import OrderedDict

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'nn.json')

torch.manual_seed(20240611)
GEN = torch.Generator().manual_seed(20240611)


# ---- inputs (float32) -------------------------------------------------------------------

def uniform(shape, lo=-1.0, hi=1.0):
    return (torch.rand(shape, generator=GEN, dtype=torch.float32) * (hi - lo) + lo).to(torch.float32)


def avoiding(shape, lo, hi, kinks, gap=0.1):
    """Uniform in [lo, hi) with every value at least `gap` from each kink."""
    x = uniform(shape, lo, hi)
    for k in kinks:
        near = (x - k).abs() < gap
        x = torch.where(near, torch.where(x >= k, x + gap, x - gap), x)
    return x.to(torch.float32)


def targets(shape, classes):
    return torch.randint(0, classes, shape, generator=GEN, dtype=torch.int64)


def probs(shape):
    """Class probabilities along dim 1."""
    return torch.softmax(uniform(shape, -2, 2).double(), 1).to(torch.float32)


def weights(shape):
    """The fixed loss weight w for an output of `shape`."""
    return uniform(shape, 0.5, 1.5)


def randomize(module):
    """Fills every parameter (and float buffer) with float32 random values, so the reference sees exactly the stored values."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(uniform(tuple(p.shape), -0.8, 0.8))
    return module


# ---- serialisation ---------------------------------------------------------------------

def num(v):
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    r = float('%.9g' % v)
    return 0.0 if r == 0 else r  # no -0.0 in the JSON


def f32_list(t):
    return [num(v) for v in t.detach().to(torch.float32).reshape(-1).tolist()]


def tensor_json(t):
    if t.dtype.is_floating_point:
        return {'dtype': 'float32', 'shape': list(t.shape), 'data': f32_list(t)}
    return {'dtype': 'int32', 'shape': list(t.shape), 'data': [int(v) for v in t.reshape(-1).tolist()]}


CASES = []
NAMES = set()


def case(name, module_name, args, module, inputs, training=False, no_grad=()):
    """Runs the float64 copy of `module` (float32-valued parameters) on float64 copies of the inputs.

    Float inputs get gradients unless their position is in no_grad."""
    if name in NAMES:
        raise ValueError('duplicate case ' + name)
    NAMES.add(name)
    for t in inputs:
        assert t.dtype in (torch.float32, torch.int64), name
    state = [[k, tensor_json(v)] for k, v in module.state_dict().items()]
    m = module.double()
    m.train(training)
    leaves = []
    for i, t in enumerate(inputs):
        if t.dtype == torch.float32:
            leaves.append(t.to(torch.float64).requires_grad_(i not in no_grad))
        else:
            leaves.append(t)
    out = m(*leaves)
    w = weights(tuple(out.shape))
    (out * w.to(torch.float64)).sum().backward()
    CASES.append({
        'name': name,
        'module': module_name,
        'args': args,
        'training': training,
        'stateDict': state,
        'inputs': [dict(tensor_json(t), grad=bool(x.requires_grad)) for t, x in zip(inputs, leaves)],
        'output': dict(tensor_json(out), w=f32_list(w)),
        'grads': [f32_list(x.grad) if x.requires_grad else None for x in leaves],
        'paramGrads': [[k, f32_list(p.grad)] for k, p in m.named_parameters()],
    })


def tj(t):
    return tensor_json(t) if t is not None else None


# ---- layers --------------------------------------------------------------------------

case('Linear/5_4', 'Linear', {'inFeatures': 5, 'outFeatures': 4, 'bias': True}, randomize(nn.Linear(5, 4)), [uniform((3, 5))])
case('Linear/no_bias', 'Linear', {'inFeatures': 5, 'outFeatures': 4, 'bias': False}, randomize(nn.Linear(5, 4, bias=False)), [uniform((3, 5))])
case('Linear/3d_input', 'Linear', {'inFeatures': 5, 'outFeatures': 3, 'bias': True}, randomize(nn.Linear(5, 3)), [uniform((2, 3, 5))])
case('Linear/1d_input', 'Linear', {'inFeatures': 5, 'outFeatures': 3, 'bias': True}, randomize(nn.Linear(5, 3)), [uniform((5,))])

case('LayerNorm/6', 'LayerNorm', {'normalizedShape': [6], 'eps': 1e-5, 'elementwiseAffine': True},
     randomize(nn.LayerNorm(6)), [uniform((4, 6), -2, 2)])
case('LayerNorm/3x4', 'LayerNorm', {'normalizedShape': [3, 4], 'eps': 1e-5, 'elementwiseAffine': True},
     randomize(nn.LayerNorm([3, 4])), [uniform((2, 3, 4), -2, 2)])
case('LayerNorm/no_affine_eps1e-3', 'LayerNorm', {'normalizedShape': [5], 'eps': 1e-3, 'elementwiseAffine': False},
     nn.LayerNorm(5, eps=1e-3, elementwise_affine=False), [uniform((2, 3, 5), -2, 2)])
case('LayerNorm/offset_input', 'LayerNorm', {'normalizedShape': [8], 'eps': 1e-5, 'elementwiseAffine': True},
     randomize(nn.LayerNorm(8)), [uniform((3, 8), 9, 11)])

ACTIVATIONS = [
    ('ReLU', {}, nn.ReLU(), [0]),
    ('ReLU6', {}, nn.ReLU6(), [0, 6]),
    ('LeakyReLU', {'negativeSlope': 0.2}, nn.LeakyReLU(0.2), [0]),
    ('Tanh', {}, nn.Tanh(), []),
    ('Sigmoid', {}, nn.Sigmoid(), []),
    ('SiLU', {}, nn.SiLU(), []),
    ('GELU', {'approximate': 'none'}, nn.GELU(), []),
    ('GELU', {'approximate': 'tanh'}, nn.GELU(approximate='tanh'), []),
    ('Hardswish', {}, nn.Hardswish(), [-3, 3]),
    ('Hardsigmoid', {}, nn.Hardsigmoid(), [-3, 3]),
]
for name, args, mod, kinks in ACTIVATIONS:
    suffix = '_' + args['approximate'] if 'approximate' in args else ''
    case(f'{name}/3x7{suffix}', name, args, mod, [avoiding((3, 7), -7, 7, kinks)])
case('Softmax/dim1', 'Softmax', {'dim': 1}, nn.Softmax(dim=1), [uniform((3, 5), -3, 3)])
case('Softmax/dim-1_3d', 'Softmax', {'dim': -1}, nn.Softmax(dim=-1), [uniform((2, 3, 4), -3, 3)])
case('Softmax/dim0', 'Softmax', {'dim': 0}, nn.Softmax(dim=0), [uniform((3, 5), -3, 3)])
case('LogSoftmax/dim1', 'LogSoftmax', {'dim': 1}, nn.LogSoftmax(dim=1), [uniform((3, 5), -3, 3)])
case('LogSoftmax/dim1_4d', 'LogSoftmax', {'dim': 1}, nn.LogSoftmax(dim=1), [uniform((2, 3, 2, 2), -3, 3)])

case('Dropout/eval', 'Dropout', {'p': 0.3}, nn.Dropout(0.3), [uniform((4, 5))], training=False)
case('Identity/3x4', 'Identity', {}, nn.Identity(), [uniform((3, 4))])
case('Flatten/default', 'Flatten', {'startDim': 1, 'endDim': -1}, nn.Flatten(), [uniform((2, 3, 2, 2))])
case('Flatten/0_1', 'Flatten', {'startDim': 0, 'endDim': 1}, nn.Flatten(0, 1), [uniform((2, 3, 2, 2))])


# ---- small models ------------------------------------------------------------------------

def mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.LayerNorm(8), nn.Dropout(0.5), nn.Linear(8, 3))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.fc(x))) + x


class Net(nn.Module):
    """A nested custom module: an own parameter and buffer, a ModuleList of blocks, a named Sequential."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Sequential(OrderedDict([('norm', nn.LayerNorm(4)), ('fc', nn.Linear(4, 2))]))
        self.scale = nn.Parameter(torch.ones(1))
        self.register_buffer('step', torch.zeros((), dtype=torch.long))

    def forward(self, x):
        x = self.stem(x)
        for b in self.blocks:
            x = b(x)
        return self.head(x) * self.scale


def net():
    m = randomize(Net())
    with torch.no_grad():
        for i, b in enumerate(m.blocks):
            b.bn.running_mean.copy_(uniform((4,), -0.5, 0.5))
            b.bn.running_var.copy_(uniform((4,), 0.5, 2.0))
            b.bn.num_batches_tracked.fill_(7 + i)
        m.step.fill_(3)
    return m


case('MLP/eval', 'MLP', {}, randomize(mlp()), [uniform((5, 4))], training=False)
case('Net/eval', 'Net', {}, net(), [uniform((3, 3))], training=False)


# ---- losses ----------------------------------------------------------------------------

def loss_case(name, module_name, args, module, inputs, no_grad=()):
    case(name, module_name, args, module, inputs, no_grad=no_grad)


def ce(name, x, y, reduction='mean', weight=None, ignore_index=-100, label_smoothing=0.0):
    args = {'reduction': reduction, 'ignoreIndex': ignore_index, 'labelSmoothing': label_smoothing, 'weight': tj(weight)}
    mod = nn.CrossEntropyLoss(weight=weight, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    loss_case(f'CrossEntropyLoss/{name}', 'CrossEntropyLoss', args, mod, [x, y])


def nll(name, x, y, reduction='mean', weight=None, ignore_index=-100):
    args = {'reduction': reduction, 'ignoreIndex': ignore_index, 'weight': tj(weight)}
    mod = nn.NLLLoss(weight=weight, ignore_index=ignore_index, reduction=reduction)
    loss_case(f'NLLLoss/{name}', 'NLLLoss', args, mod, [x, y])


def with_ignored(y, positions, value=-100):
    y = y.clone().reshape(-1)
    y[positions] = value
    return y


X5 = uniform((5, 4), -3, 3)
Y5 = torch.tensor([3, 0, 2, 2, 1])
W4 = uniform((4,), 0.2, 2.0)
for r in ['mean', 'sum', 'none']:
    ce(f'{r}', X5, Y5, r)
    ce(f'weight_{r}', X5, Y5, r, weight=W4)
    ce(f'smooth0.1_{r}', X5, Y5, r, label_smoothing=0.1)
    ce(f'smooth0.2_weight_ignore_{r}', X5, with_ignored(Y5, [1, 3]), r, weight=W4, label_smoothing=0.2)
ce('ignore_default_mean', X5, with_ignored(Y5, [0, 4]))
ce('ignore_default_sum', X5, with_ignored(Y5, [0, 4]), 'sum')
ce('ignore_2_mean', X5, Y5, ignore_index=2)
ce('ignore_2_weight_mean', X5, Y5, weight=W4, ignore_index=2)
ce('ignore_2_none', X5, Y5, 'none', ignore_index=2)
ce('smooth1.0_mean', X5, Y5, label_smoothing=1.0)
ce('all_ignored_mean', X5, torch.full((5,), -100, dtype=torch.long))
ce('all_ignored_smooth_mean', X5, torch.full((5,), -100, dtype=torch.long), label_smoothing=0.1)
X4D = uniform((2, 3, 2, 2), -3, 3)
Y4D = targets((2, 2, 2), 3)
W3 = uniform((3,), 0.2, 2.0)
ce('4d_mean', X4D, Y4D)
ce('4d_none', X4D, Y4D, 'none')
ce('4d_weight_ignore_smooth_mean', X4D, with_ignored(Y4D, [1, 6]).reshape(2, 2, 2), weight=W3, label_smoothing=0.15)
ce('4d_weight_ignore_smooth_none', X4D, with_ignored(Y4D, [1, 6]).reshape(2, 2, 2), 'none', weight=W3, label_smoothing=0.15)
ce('3d_sum', uniform((2, 4, 3), -3, 3), targets((2, 3), 4), 'sum')
XL = (uniform((4, 6), -1, 1) * 1000).to(torch.float32)
YL = torch.tensor([0, 5, 2, 3])
ce('large_logits_mean', XL, YL)
ce('large_logits_smooth_weight_mean', XL, YL, weight=uniform((6,), 0.5, 1.5), label_smoothing=0.1)
ce('unbatched_mean', uniform((5,), -3, 3), torch.tensor(2))
ce('unbatched_none', uniform((5,), -3, 3), torch.tensor(4), 'none')
# class-probability targets
ce('probs_mean', X5, probs((5, 4)))
ce('probs_smooth_weight_sum', X5, probs((5, 4)), 'sum', weight=W4, label_smoothing=0.1)
ce('probs_none_4d', X4D, probs((2, 3, 2, 2)), 'none')

XN = torch.log_softmax(uniform((6, 5), -2, 2).double(), 1).to(torch.float32)
YN = torch.tensor([4, 0, 1, 1, 3, 2])
W5 = uniform((5,), 0.2, 2.0)
for r in ['mean', 'sum', 'none']:
    nll(r, XN, YN, r)
    nll(f'weight_ignore_{r}', XN, with_ignored(YN, [2]), r, weight=W5)
nll('ignore_1_mean', XN, YN, ignore_index=1)
nll('raw_scores_mean', uniform((6, 5), -3, 3), YN)
nll('4d_weight_mean', uniform((2, 3, 2, 2), -3, 0), Y4D, weight=W3)
nll('all_ignored_mean', XN, torch.full((6,), -100, dtype=torch.long))


def bce(name, x, y, reduction='mean', weight=None, no_grad=()):
    args = {'reduction': reduction, 'weight': tj(weight)}
    loss_case(f'BCELoss/{name}', 'BCELoss', args, nn.BCELoss(weight=weight, reduction=reduction), [x, y], no_grad=no_grad)


def bcel(name, x, y, reduction='mean', weight=None, pos_weight=None):
    args = {'reduction': reduction, 'weight': tj(weight), 'posWeight': tj(pos_weight)}
    mod = nn.BCEWithLogitsLoss(weight=weight, pos_weight=pos_weight, reduction=reduction)
    loss_case(f'BCEWithLogitsLoss/{name}', 'BCEWithLogitsLoss', args, mod, [x, y])


XP = uniform((3, 4), 0.02, 0.98)
YP = uniform((3, 4), 0, 1)
for r in ['mean', 'sum', 'none']:
    bce(r, XP, YP, r)
    bce(f'weight_{r}', XP, YP, r, weight=uniform((4,), 0.2, 2.0))
bce('hard_targets_mean', XP, (uniform((3, 4)) > 0).to(torch.float32))
# 0 and 1 exactly: logs clamp at -100, the input gradient is (x - y) / max(x(1 - x), 1e-12)
bce('extremes_sum', torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1e-30, 0.5]), torch.tensor([1.0, 0.0, 0.0, 1.0, 0.3, 0.6, 1.0, 0.5]),
    'sum', no_grad=(1,))

XG = uniform((3, 4), -4, 4)
YG = uniform((3, 4), 0, 1)
for r in ['mean', 'sum', 'none']:
    bcel(r, XG, YG, r)
    bcel(f'pos_weight_{r}', XG, YG, r, pos_weight=uniform((4,), 0.5, 3.0))
bcel('weight_pos_weight_mean', XG, YG, weight=uniform((3, 1), 0.2, 2.0), pos_weight=uniform((4,), 0.5, 3.0))
bcel('large_logits_sum', torch.tensor([-100.0, -40.0, -20.0, 20.0, 40.0, 100.0]), torch.tensor([0.0, 1.0, 0.3, 0.7, 0.0, 1.0]), 'sum')
bcel('zero_logits_mean', torch.zeros(2, 3), uniform((2, 3), 0, 1))

XR = uniform((3, 4), -2, 2)
YR = (XR + torch.where(uniform((3, 4)) >= 0, 1.0, -1.0) * uniform((3, 4), 0.1, 1.0)).to(torch.float32)  # |x - y| >= 0.1
for r in ['mean', 'sum', 'none']:
    loss_case(f'MSELoss/{r}', 'MSELoss', {'reduction': r}, nn.MSELoss(reduction=r), [XR, YR])
    loss_case(f'L1Loss/{r}', 'L1Loss', {'reduction': r}, nn.L1Loss(reduction=r), [XR, YR])


# ---- structures ---------------------------------------------------------------------------

# MixUp's targets (lam 0.7, each sample with the reversed batch's), with and without smoothing; last, so that
# the output weights they draw leave every earlier case's values as they were
Y5_MIX = 0.7 * nn.functional.one_hot(Y5, 4).float() + 0.3 * nn.functional.one_hot(Y5.flip(0), 4).float()
ce('probs_mixup_mean', X5, Y5_MIX)
ce('probs_mixup_smooth0.1_mean', X5, Y5_MIX, label_smoothing=0.1)


def structure(name, model):
    return {
        'name': name,
        'stateDict': [[k, list(v.shape), 'int32' if not v.dtype.is_floating_point else 'float32'] for k, v in model.state_dict().items()],
        'namedParameters': [k for k, _ in model.named_parameters()],
        'namedBuffers': [k for k, _ in model.named_buffers()],
        'namedModules': [k for k, _ in model.named_modules()],
        'parameterCount': sum(p.numel() for p in model.parameters()),
    }


STRUCTURES = [
    structure('Sequential(Linear, ReLU, Linear)', nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))),
    structure('MLP', mlp()),
    structure('Net', Net()),
]


def main():
    doc = {
        'generator': 'tools/make_nn_fixtures.py',
        'torch': torch.__version__.split('+')[0],
        'cases': CASES,
        'structures': STRUCTURES,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(doc, separators=(',', ':'), allow_nan=False)
    # one case per line keeps diffs readable
    text = text.replace(',{"name"', ',\n{"name"').replace('"cases":[{', '"cases":[\n{').replace('"structures":[{', '"structures":[\n{')
    with open(OUT, 'w') as fh:
        fh.write(text + '\n')
    print(f'wrote {len(CASES)} cases, {len(STRUCTURES)} structures, {len(text) + 1} bytes to {os.path.relpath(OUT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
