#!/usr/bin/env python3
"""Writes test/fixtures/ops.json: PyTorch reference values for test/pytorch-parity.test.ts.

Regenerate (from the repository root) with

    python3 tools/make_fixtures.py

It needs PyTorch (Debian: `apt-get install python3-torch`; where another
python3 comes first on PATH, e.g. pyenv, run `/usr/bin/python3 tools/make_fixtures.py`).
The output is deterministic: the same torch version writes the same bytes.

Each case holds
  name     unique, "<op>/<what>"
  op       the tsvision operation the TS test maps to a call (see OPS there)
  args     the op's non-tensor arguments (tsvision's names)
  inputs   [{dtype, shape, data}]: float32 inputs (exact float32 values), int32
           indices or uint8 masks
  outputs  [{dtype, shape, data, w}]: the op's results (split has several); w is
           the fixed random weight of the loss for float outputs, null otherwise
  grads    per input: d(sum_k sum(out_k * w_k))/d(input) for float inputs,
           null for index/mask inputs or where no output is float
Inputs are float32 (drawn from a fixed torch seed and shaped to stay away from
kinks and ties); the reference is computed in float64 from those float32 values,
then rounded to float32 and written with 9 significant digits.
"""
import json
import math
import os
import sys
import warnings

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'ops.json')

torch.manual_seed(20240607)
GEN = torch.Generator().manual_seed(20240607)


# ---- input makers (all return float32 tensors) -------------------------------

def uniform(shape, lo=-1.0, hi=1.0):
    return (torch.rand(shape, generator=GEN, dtype=torch.float32) * (hi - lo) + lo).to(torch.float32)


def away(shape, gap=0.1, lo=-1.0, hi=1.0):
    """Uniform values with magnitude at least `gap` (for abs, relu and other kinks at 0)."""
    u = uniform(shape, lo, hi)
    return torch.where(u >= 0, u + gap, u - gap).to(torch.float32)


def avoiding(shape, lo, hi, kinks, gap=0.1):
    """Uniform in [lo, hi) with every value at least `gap` from each kink."""
    x = uniform(shape, lo, hi)
    for k in kinks:
        near = (x - k).abs() < gap
        x = torch.where(near, torch.where(x >= k, x + gap, x - gap), x)
    return x.to(torch.float32)


def distinct(shape, scale=0.1, spread=0.03):
    """Values without ties (a shuffled ramp plus a small jitter): for max/min/argmax."""
    n = 1
    for d in shape:
        n *= d
    perm = torch.randperm(n, generator=GEN).to(torch.float32)
    jitter = torch.rand(n, generator=GEN) * spread
    return ((perm - n / 2) * scale + jitter).reshape(shape).to(torch.float32)


def weights(shape):
    """The fixed loss weight w for an output of `shape`."""
    return uniform(shape, 0.5, 1.5)


def ints(values, shape=None):
    t = torch.tensor(values, dtype=torch.int64)
    return t.reshape(shape) if shape is not None else t


def mask(shape):
    return (torch.rand(shape, generator=GEN) < 0.5).to(torch.uint8)


# ---- serialisation --------------------------------------------------------------

def f32_list(t):
    """Float values rounded to float32, with 9 significant digits (enough to round-trip float32)."""
    vals = t.detach().to(torch.float32).reshape(-1).tolist()
    out = []
    for v in vals:
        if math.isnan(v) or math.isinf(v):
            raise ValueError('non-finite value in a fixture')
        r = float('%.9g' % v)
        out.append(0.0 if r == 0 else r)  # no -0.0 in the JSON
    return out


def tensor_json(t, dtype):
    if dtype == 'float32':
        data = f32_list(t)
    else:
        data = [int(v) for v in t.reshape(-1).tolist()]
    return {'dtype': dtype, 'shape': list(t.shape), 'data': data}


def dtype_name(t):
    if t.dtype.is_floating_point:
        return 'float32'
    if t.dtype == torch.uint8 or t.dtype == torch.bool:
        return 'uint8'
    return 'int32'


CASES = []
NAMES = set()


def case(name, op, fn, inputs, args=None):
    """fn maps the float64 (or integer) torch inputs to one tensor or a list of tensors."""
    if name in NAMES:
        raise ValueError('duplicate case ' + name)
    NAMES.add(name)
    args = args or {}
    dtypes = [dtype_name(t) for t in inputs]
    leaves = []
    for t, d in zip(inputs, dtypes):
        if d == 'float32':
            assert t.dtype == torch.float32, name
            leaves.append(t.to(torch.float64).requires_grad_(True))
        elif d == 'uint8':
            leaves.append(t.to(torch.bool))
        else:
            leaves.append(t.to(torch.int64))
    res = fn(*leaves)
    outs = list(res) if isinstance(res, (list, tuple)) else [res]
    loss = None
    out_json = []
    for o in outs:
        od = dtype_name(o)
        entry = tensor_json(o, od)
        if od == 'float32':
            w = weights(tuple(o.shape))
            entry['w'] = f32_list(w)
            # the loss uses exactly the stored (float32) w
            term = (o * w.to(torch.float64)).sum()
            loss = term if loss is None else loss + term
        else:
            entry['w'] = None
        out_json.append(entry)
    grads = [None] * len(inputs)
    if loss is not None:
        float_leaves = [x for x, d in zip(leaves, dtypes) if d == 'float32']
        gs = torch.autograd.grad(loss, float_leaves, allow_unused=True)
        k = 0
        for i, d in enumerate(dtypes):
            if d == 'float32':
                g = gs[k]
                k += 1
                if g is None:
                    g = torch.zeros_like(leaves[i])
                grads[i] = f32_list(g)
    CASES.append({
        'name': name,
        'op': op,
        'args': args,
        'inputs': [tensor_json(t, d) for t, d in zip(inputs, dtypes)],
        'outputs': out_json,
        'grads': grads,
    })


# ---- elementwise arithmetic -------------------------------------------------------

BINARY = {
    'add': lambda a, b: a + b,
    'sub': lambda a, b: a - b,
    'mul': lambda a, b: a * b,
    'div': lambda a, b: a / b,
}
BCAST = [
    ('same_3x4', (3, 4), (3, 4)),
    ('row_3x4_4', (3, 4), (4,)),
    ('outer_3x1_1x4', (3, 1), (1, 4)),
    ('lead_2x3x4_3x1', (2, 3, 4), (3, 1)),
    ('scalar0d_2x3_0d', (2, 3), ()),
]
for op, f in BINARY.items():
    for tag, sa, sb in BCAST:
        a = uniform(sa)
        b = away(sb, 0.5, -1.5, 1.5) if op == 'div' else uniform(sb)
        case(f'{op}/{tag}', op, f, [a, b])
case('div/broadcast_numerator_4_3x4', 'div', BINARY['div'], [uniform((4,)), away((3, 4), 0.5, -1.5, 1.5)])

# scalar operands (tsvision's affine / rdiv paths)
case('addScalar/3x4', 'addScalar', lambda x: x + 0.75, [uniform((3, 4))], {'value': 0.75})
case('subScalar/3x4', 'subScalar', lambda x: x - 1.25, [uniform((3, 4))], {'value': 1.25})
case('mulScalar/3x4', 'mulScalar', lambda x: x * -2.5, [uniform((3, 4))], {'value': -2.5})
case('divScalar/3x4', 'divScalar', lambda x: x / 3.0, [uniform((3, 4))], {'value': 3.0})
case('rsubScalar/3x4', 'rsubScalar', lambda x: 2.0 - x, [uniform((3, 4))], {'value': 2.0})
case('rdivScalar/3x4', 'rdivScalar', lambda x: 1.5 / x, [away((3, 4), 0.3, -2, 2)], {'value': 1.5})

case('rpowScalar/2^x', 'rpowScalar', lambda x: torch.pow(2.0, x), [uniform((3, 4), -2.0, 2.0)], {'value': 2.0})

# pow: tensor ^ tensor with a positive base, and tensor ^ scalar
case('pow/same_3x4', 'pow', torch.pow, [uniform((3, 4), 0.5, 2.0), uniform((3, 4), -2.0, 2.0)])
case('pow/broadcast_2x3x4_4', 'pow', torch.pow, [uniform((2, 3, 4), 0.5, 2.0), uniform((4,), -1.5, 2.5)])
case('pow/broadcast_3x1_1x4', 'pow', torch.pow, [uniform((3, 1), 0.3, 2.0), uniform((1, 4), -2.0, 2.0)])
for p in [2.0, 3.0, 0.5, -1.5, 1.7]:
    x = uniform((3, 5), 0.3, 2.0) if p != int(p) or p < 0 else uniform((3, 5), -2.0, 2.0)
    case(f'powScalar/p{p}', 'powScalar', lambda t, p=p: torch.pow(t, p), [x], {'exponent': p})

# maximum / minimum (no ties), with broadcasting
def no_ties(a, b):
    assert bool((a != b).all()), 'maximum/minimum inputs must not tie'
    return [a, b]


for op, f in [('maximum', torch.maximum), ('minimum', torch.minimum)]:
    case(f'{op}/same_3x4', op, f, no_ties(distinct((3, 4), 0.1), distinct((3, 4), 0.1) + 0.013))
    case(f'{op}/broadcast_2x3x4_3x1', op, f, no_ties(distinct((2, 3, 4), 0.1), distinct((3, 1), 0.5) + 0.017))
    case(f'{op}/broadcast_4_3x4', op, f, no_ties(distinct((4,), 0.3) + 0.011, distinct((3, 4), 0.1)))

# ---- unary maps and activations --------------------------------------------------

case('neg/3x4', 'neg', torch.neg, [uniform((3, 4))])
case('neg/2x3x4', 'neg', torch.neg, [uniform((2, 3, 4))])
case('exp/3x4', 'exp', torch.exp, [uniform((3, 4), -3.0, 3.0)])
case('exp/0d', 'exp', torch.exp, [uniform((), -1.0, 1.0)])
case('log/3x4', 'log', torch.log, [uniform((3, 4), 0.05, 5.0)])
case('log/17', 'log', torch.log, [uniform((17,), 0.5, 50.0)])
case('sqrt/3x4', 'sqrt', torch.sqrt, [uniform((3, 4), 0.05, 4.0)])
case('sqrt/2x9', 'sqrt', torch.sqrt, [uniform((2, 9), 1.0, 100.0)])
case('abs/3x4', 'abs', torch.abs, [away((3, 4))])
case('abs/33', 'abs', torch.abs, [away((33,), 0.05, -3.0, 3.0)])
case('clamp/min_max', 'clamp', lambda x: torch.clamp(x, -0.5, 0.5),
     [avoiding((4, 5), -1.5, 1.5, [-0.5, 0.5])], {'min': -0.5, 'max': 0.5})
case('clamp/min_only', 'clamp', lambda x: torch.clamp(x, min=0.2),
     [avoiding((4, 5), -1.0, 1.0, [0.2])], {'min': 0.2, 'max': None})
case('clamp/max_only', 'clamp', lambda x: torch.clamp(x, max=-0.1),
     [avoiding((4, 5), -1.0, 1.0, [-0.1])], {'min': None, 'max': -0.1})
case('relu/3x4', 'relu', torch.relu, [away((3, 4))])
case('relu/40', 'relu', torch.relu, [away((40,), 0.05, -4, 4)])
case('relu6/5x8', 'relu6', F.relu6, [avoiding((5, 8), -3.0, 9.0, [0.0, 6.0])])
case('leakyRelu/slope0.1', 'leakyRelu', lambda x: F.leaky_relu(x, 0.1), [away((4, 6), 0.1, -3, 3)], {'slope': 0.1})
case('sigmoid/4x6', 'sigmoid', torch.sigmoid, [uniform((4, 6), -6.0, 6.0)])
case('sigmoid/large', 'sigmoid', torch.sigmoid, [torch.tensor([-30.0, -12.0, -5.0, 0.3, 5.0, 12.0, 30.0])])
case('tanh/4x6', 'tanh', torch.tanh, [uniform((4, 6), -4.0, 4.0)])
case('silu/4x6', 'silu', F.silu, [uniform((4, 6), -6.0, 6.0)])
case('gelu/exact', 'gelu', lambda x: F.gelu(x), [uniform((4, 6), -5.0, 5.0)], {'approximate': 'none'})
case('gelu/tanh', 'gelu', lambda x: F.gelu(x, approximate='tanh'), [uniform((4, 6), -5.0, 5.0)], {'approximate': 'tanh'})
case('sign/3x5', 'sign', torch.sign, [torch.cat([away((14,)), torch.zeros(1)]).reshape(3, 5)])
case('hardswish/5x8', 'hardswish', F.hardswish, [avoiding((5, 8), -5.0, 5.0, [-3.0, 3.0])])
case('hardsigmoid/5x8', 'hardsigmoid', F.hardsigmoid, [avoiding((5, 8), -5.0, 5.0, [-3.0, 3.0])])

# ---- matmul --------------------------------------------------------------------------

MATMUL = [
    ('2d_3x4_4x5', (3, 4), (4, 5)),
    ('2d_1x7_7x1', (1, 7), (7, 1)),
    ('2d_7x13_13x6', (7, 13), (13, 6)),
    ('1d_2d_4_4x5', (4,), (4, 5)),
    ('2d_1d_3x4_4', (3, 4), (4,)),
    ('1d_1d_6_6', (6,), (6,)),
    ('3d_3d_2x3x4_2x4x5', (2, 3, 4), (2, 4, 5)),
    ('bcast_2x1x3x4_3x4x5', (2, 1, 3, 4), (3, 4, 5)),
    ('bcast_5x3x4_4x2', (5, 3, 4), (4, 2)),
    ('bcast_3x4_2x4x5', (3, 4), (2, 4, 5)),
    ('bcast_1d_3d_4_2x4x3', (4,), (2, 4, 3)),
    ('bcast_3d_1d_2x3x4_4', (2, 3, 4), (4,)),
]
for tag, sa, sb in MATMUL:
    case(f'matmul/{tag}', 'matmul', torch.matmul, [uniform(sa), uniform(sb)])

# ---- reductions ------------------------------------------------------------------------

def red_dims(axes, ndim):
    return tuple(range(ndim)) if axes is None else axes


REDUCE_AXES = [
    ('axis1', (3, 4, 5), 1, False),
    ('axis1_keepdim', (3, 4, 5), 1, True),
    ('axis_neg1', (3, 4, 5), -1, False),
    ('axis0_2d', (4, 6), 0, False),
    ('axes_0_2', (3, 4, 5), [0, 2], False),
    ('axes_0_2_keepdim', (3, 4, 5), [0, 2], True),
    ('axes_1_2', (3, 4, 5), [1, 2], False),
    ('all', (3, 4, 5), None, False),
    ('all_keepdim', (3, 4, 5), None, True),
    ('axes_0_1_3', (2, 3, 2, 4), [0, 1, 3], True),
]
for tag, shape, axes, keepdim in REDUCE_AXES:
    nd = len(shape)
    dims = red_dims(axes if not isinstance(axes, int) else [axes], nd)
    dims = tuple(d % nd for d in dims)
    args = {'axes': axes, 'keepdim': keepdim}
    case(f'sum/{tag}', 'sum', lambda x, d=dims, k=keepdim: torch.sum(x, dim=d, keepdim=k), [uniform(shape)], args)
    case(f'mean/{tag}', 'mean', lambda x, d=dims, k=keepdim: torch.mean(x, dim=d, keepdim=k), [uniform(shape)], args)
    case(f'max/{tag}', 'max', lambda x, d=dims, k=keepdim: torch.amax(x, dim=d, keepdim=k), [distinct(shape)], args)
    case(f'min/{tag}', 'min', lambda x, d=dims, k=keepdim: torch.amin(x, dim=d, keepdim=k), [distinct(shape)], args)

# sum/mean of a larger tensor (exercises the native reduction's blocking)
case('sum/axis1_2x160', 'sum', lambda x: torch.sum(x, dim=1), [uniform((2, 160))], {'axes': 1, 'keepdim': False})
case('mean/all_257', 'mean', lambda x: torch.mean(x), [uniform((257,))], {'axes': None, 'keepdim': False})
case('sum/axes_neg1_0', 'sum', lambda x: torch.sum(x, dim=(0, 2)), [uniform((3, 4, 5))], {'axes': [-1, 0], 'keepdim': False})
case('max/axes_neg1_0_keepdim', 'max', lambda x: torch.amax(x, dim=(0, 2), keepdim=True), [distinct((3, 4, 5))], {'axes': [-1, 0], 'keepdim': True})

for op, f in [('argmax', torch.argmax), ('argmin', torch.argmin)]:
    case(f'{op}/axis1', op, lambda x, f=f: f(x, dim=1), [distinct((3, 4, 5))], {'axis': 1, 'keepdim': False})
    case(f'{op}/axis0_keepdim', op, lambda x, f=f: f(x, dim=0, keepdim=True), [distinct((4, 6))], {'axis': 0, 'keepdim': True})
    case(f'{op}/axis_neg1', op, lambda x, f=f: f(x, dim=-1), [distinct((3, 7))], {'axis': -1, 'keepdim': False})
    case(f'{op}/flat', op, lambda x, f=f: f(x), [distinct((3, 4, 5))], {'axis': None, 'keepdim': False})

VAR = [
    ('axis1_c1', (3, 4, 5), 1, 1, False),
    ('axis1_c0', (3, 4, 5), 1, 0, False),
    ('axis_neg1_c1_keepdim', (4, 6), -1, 1, True),
    ('axes_0_2_c1', (3, 4, 5), [0, 2], 1, False),
    ('all_c1', (3, 4, 5), None, 1, False),
    ('all_c0', (3, 4, 5), None, 0, False),
]
for tag, shape, axes, corr, keepdim in VAR:
    nd = len(shape)
    dims = red_dims(axes if not isinstance(axes, int) else [axes], nd)
    dims = tuple(d % nd for d in dims)
    case(f'var/{tag}', 'var', lambda x, d=dims, c=corr, k=keepdim: torch.var(x, dim=d, unbiased=bool(c), keepdim=k),
         [uniform(shape, -2.0, 3.0)], {'axes': axes, 'correction': corr, 'keepdim': keepdim})

# ---- softmax / logSoftmax --------------------------------------------------------------

def big_logits(shape):
    x = uniform(shape, -3.0, 3.0)
    flat = x.reshape(-1)
    flat[0] = 50.0
    flat[3] = -50.0
    flat[7] = 49.0
    flat[-1] = -48.5
    return flat.reshape(shape)


for op, f in [('softmax', torch.softmax), ('logSoftmax', torch.log_softmax)]:
    case(f'{op}/2d_axis1', op, lambda x, f=f: f(x, 1), [uniform((4, 6), -3, 3)], {'axis': 1})
    case(f'{op}/3d_axis1', op, lambda x, f=f: f(x, 1), [uniform((2, 5, 3), -3, 3)], {'axis': 1})
    case(f'{op}/3d_axis_last', op, lambda x, f=f: f(x, -1), [uniform((2, 3, 5), -3, 3)], {'axis': -1})
    case(f'{op}/3d_axis1_large', op, lambda x, f=f: f(x, 1), [big_logits((2, 5, 3))], {'axis': 1})
    case(f'{op}/3d_axis_last_large', op, lambda x, f=f: f(x, -1), [big_logits((2, 3, 5))], {'axis': -1})
    case(f'{op}/1d', op, lambda x, f=f: f(x, 0), [uniform((7,), -3, 3)], {'axis': 0})
    case(f'{op}/2d_axis0', op, lambda x, f=f: f(x, 0), [uniform((5, 4), -3, 3)], {'axis': 0})

# ---- movement ------------------------------------------------------------------------------

case('reshape/3x4_to_2x6', 'reshape', lambda x: x.reshape(2, 6), [uniform((3, 4))], {'shape': [2, 6]})
case('reshape/2x3x4_to_neg1x2', 'reshape', lambda x: x.reshape(-1, 2), [uniform((2, 3, 4))], {'shape': [-1, 2]})
case('flatten/all', 'flatten', lambda x: torch.flatten(x), [uniform((2, 3, 4))], {'startDim': 0, 'endDim': -1})
case('flatten/1_2', 'flatten', lambda x: torch.flatten(x, 1, 2), [uniform((2, 3, 4, 2))], {'startDim': 1, 'endDim': 2})
case('squeeze/all', 'squeeze', lambda x: torch.squeeze(x), [uniform((1, 3, 1, 4))], {'dim': None})
case('squeeze/dim2', 'squeeze', lambda x: torch.squeeze(x, 2), [uniform((1, 3, 1, 4))], {'dim': 2})
case('squeeze/dim_not_one', 'squeeze', lambda x: torch.squeeze(x, 1), [uniform((1, 3, 1, 4))], {'dim': 1})
case('unsqueeze/0', 'unsqueeze', lambda x: torch.unsqueeze(x, 0), [uniform((3, 4))], {'dim': 0})
case('unsqueeze/neg1', 'unsqueeze', lambda x: torch.unsqueeze(x, -1), [uniform((3, 4))], {'dim': -1})
case('permute/2x3x4_201', 'permute', lambda x: x.permute(2, 0, 1), [uniform((2, 3, 4))], {'dims': [2, 0, 1]})
case('permute/4d_0231', 'permute', lambda x: x.permute(0, 2, 3, 1), [uniform((2, 3, 4, 5))], {'dims': [0, 2, 3, 1]})
case('transpose/2d', 'transpose', lambda x: x.transpose(0, 1), [uniform((3, 5))], {'dim0': 0, 'dim1': 1})
case('transpose/3d_0_2', 'transpose', lambda x: x.transpose(0, 2), [uniform((2, 3, 4))], {'dim0': 0, 'dim1': 2})
case('concat/dim0', 'concat', lambda a, b: torch.cat([a, b], 0), [uniform((2, 4)), uniform((3, 4))], {'dim': 0})
case('concat/dim1_three', 'concat', lambda a, b, c: torch.cat([a, b, c], 1),
     [uniform((2, 1, 3)), uniform((2, 4, 3)), uniform((2, 2, 3))], {'dim': 1})
case('concat/dim_neg1', 'concat', lambda a, b: torch.cat([a, b], -1), [uniform((3, 2)), uniform((3, 5))], {'dim': -1})
case('stack/dim0', 'stack', lambda a, b, c: torch.stack([a, b, c], 0), [uniform((2, 3)), uniform((2, 3)), uniform((2, 3))], {'dim': 0})
case('stack/dim_last', 'stack', lambda a, b: torch.stack([a, b], 2), [uniform((2, 3)), uniform((2, 3))], {'dim': 2})
case('split/size2_dim1', 'split', lambda x: list(torch.split(x, 2, 1)), [uniform((3, 5))], {'sizes': 2, 'dim': 1})
case('split/sizes_dim0', 'split', lambda x: list(torch.split(x, [1, 3, 2], 0)), [uniform((6, 2, 2))], {'sizes': [1, 3, 2], 'dim': 0})


def slicer(dim, start, end, step):
    def f(x):
        idx = [slice(None)] * x.dim()
        idx[dim] = slice(start, end, step)
        return x[tuple(idx)]
    return f


case('slice/dim1_1_4', 'slice', slicer(1, 1, 4, 1), [uniform((3, 6))], {'dim': 1, 'start': 1, 'end': 4, 'step': 1})
case('slice/dim0_step2', 'slice', slicer(0, 0, None, 2), [uniform((7, 3))], {'dim': 0, 'start': 0, 'end': None, 'step': 2})
case('slice/dim2_step3_neg', 'slice', slicer(2, -8, -1, 3), [uniform((2, 3, 9))], {'dim': 2, 'start': -8, 'end': -1, 'step': 3})
case('pad/last_1_2', 'pad', lambda x: F.pad(x, [1, 2]), [uniform((3, 4))], {'pads': [1, 2], 'value': 0})
case('pad/2d_value', 'pad', lambda x: F.pad(x, [1, 0, 2, 1], value=1.5), [uniform((2, 3, 4))], {'pads': [1, 0, 2, 1], 'value': 1.5})
case('pad/3dims', 'pad', lambda x: F.pad(x, [0, 1, 1, 1, 2, 0], value=-0.25), [uniform((2, 3, 2))], {'pads': [0, 1, 1, 1, 2, 0], 'value': -0.25})
case('indexSelect/dim0_repeats', 'indexSelect', lambda x, i: torch.index_select(x, 0, i),
     [uniform((4, 3)), ints([2, 0, 2, 3, 2])], {'dim': 0})
case('indexSelect/dim1_repeats', 'indexSelect', lambda x, i: torch.index_select(x, 1, i),
     [uniform((2, 5, 3)), ints([4, 4, 1, 0])], {'dim': 1})
case('gather/dim1', 'gather', lambda x, i: torch.gather(x, 1, i),
     [uniform((3, 4)), ints([[0, 3, 3], [1, 1, 1], [2, 0, 3]])], {'dim': 1})
case('gather/dim0_3d', 'gather', lambda x, i: torch.gather(x, 0, i),
     [uniform((3, 2, 2)), ints([[[0, 2], [1, 1]], [[2, 2], [0, 1]], [[1, 0], [2, 2]], [[0, 0], [0, 2]]])], {'dim': 0})
case('broadcastTo/3x1_to_2x3x4', 'broadcastTo', lambda x: x.expand(2, 3, 4), [uniform((3, 1))], {'shape': [2, 3, 4]})
case('broadcastTo/4_to_3x4', 'broadcastTo', lambda x: x.expand(3, 4), [uniform((4,))], {'shape': [3, 4]})
case('broadcastTo/1x3x1_to_2x3x5', 'broadcastTo', lambda x: x.expand(2, 3, 5), [uniform((1, 3, 1))], {'shape': [2, 3, 5]})

case('clone/3x4', 'clone', lambda x: x.clone(), [uniform((3, 4))])
case('cast/int32_truncates', 'cast', lambda x: x.to(torch.int32), [uniform((3, 4), -5.0, 5.0)], {'dtype': 'int32'})

# ---- comparisons (uint8 masks, no gradients) ---------------------------------------------------


def with_ties(shape, other):
    """Uniform values, half of them copied from `other` (broadcast) so eq/le/ge see exact ties."""
    x = uniform(shape)
    o = other.expand(shape)
    return torch.where(mask(shape).bool(), o, x).to(torch.float32)


for op, f in [('eq', torch.eq), ('ne', torch.ne), ('lt', torch.lt), ('le', torch.le), ('gt', torch.gt), ('ge', torch.ge)]:
    b = uniform((4,))
    case(f'{op}/broadcast_3x4_4', op, f, [with_ties((3, 4), b), b])
    case(f'{op}/scalar', op, lambda x, f=f: f(x, 0.25), [torch.cat([uniform((5,)), torch.full((3,), 0.25)])], {'value': 0.25})

# ---- where -----------------------------------------------------------------------------------

case('where/same_3x4', 'where', lambda c, a, b: torch.where(c, a, b), [mask((3, 4)), uniform((3, 4)), uniform((3, 4))])
case('where/broadcast_3x4_3x1_4', 'where', lambda c, a, b: torch.where(c, a, b), [mask((3, 4)), uniform((3, 1)), uniform((4,))])
case('where/scalar_b', 'whereScalar', lambda c, a: torch.where(c, a, torch.tensor(-0.5, dtype=torch.float64)),
     [mask((2, 5)), uniform((2, 5))], {'value': -0.5})
case('where/broadcast_cond_4_2x3x4', 'where', lambda c, a, b: torch.where(c, a, b), [mask((4,)), uniform((2, 3, 4)), uniform((3, 1))])

# ---- composite: cross-entropy shape -----------------------------------------------------------

case('crossEntropy/4x5', 'crossEntropy', lambda x, y: -F.log_softmax(x, 1).gather(1, y.unsqueeze(1)).mean(),
     [uniform((4, 5), -3, 3), ints([3, 0, 4, 3])])
case('crossEntropy/8x10_large', 'crossEntropy', lambda x, y: -F.log_softmax(x, 1).gather(1, y.unsqueeze(1)).mean(),
     [big_logits((8, 10)), ints([0, 3, 9, 9, 2, 5, 1, 7])])

# ---- convolution -------------------------------------------------------------------------------
# tsvision's conv1d/2d/3d(x, w, bias, {stride, padding, dilation, groups}) against F.conv*d;
# args hold only the options a case sets (the rest take tsvision's defaults, which are PyTorch's).
# Without bias the case has two inputs. Inputs stay small: ops.json carries x, w, out, w_out and
# every gradient.

CONV_F = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
# PyTorch warns that padding='same' with an even kernel copies the input (tsvision pads too).
warnings.filterwarnings('ignore', message="Using padding='same' with even kernel lengths")


def conv_kwargs(a):
    kw = {}
    for k in ('stride', 'padding', 'dilation', 'groups'):
        if k in a:
            v = a[k]
            kw[k] = tuple(v) if isinstance(v, list) else v
    return kw


CONV = [
    # (dims, what, x shape, w shape, bias, options)
    (1, 'basic_bias_n3', (3, 2, 6), (3, 2, 3), True, {}),
    (1, 'stride2_pad1_n1', (1, 3, 9), (2, 3, 3), False, {'stride': 2, 'padding': 1}),
    (1, 'dilation2_pad2', (1, 2, 8), (3, 2, 3), True, {'dilation': 2, 'padding': 2}),
    (1, 'same_even_k4', (2, 2, 7), (3, 2, 4), True, {'padding': 'same'}),
    (1, 'valid_k5', (1, 2, 9), (2, 2, 5), False, {'padding': 'valid'}),
    (1, 'groups2', (1, 4, 6), (4, 2, 3), True, {'groups': 2, 'padding': 1}),
    (1, 'depthwise_c4', (1, 4, 6), (4, 1, 3), False, {'groups': 4}),
    (1, 'k1_stride2', (2, 3, 7), (2, 3, 1), True, {'stride': 2}),
    (2, 'basic_bias_n3', (3, 2, 3, 3), (2, 2, 2, 2), True, {}),
    (2, 'stride2_pad1_n1', (1, 2, 5, 5), (2, 2, 3, 3), False, {'stride': 2, 'padding': 1}),
    (2, 'stride3_k2_gaps', (1, 1, 7, 7), (2, 1, 2, 2), True, {'stride': 3}),
    (2, 'dilation2_pad2', (1, 1, 5, 5), (2, 1, 3, 3), True, {'dilation': 2, 'padding': 2}),
    (2, 'per_axis', (1, 2, 6, 5), (2, 2, 3, 2), True, {'stride': [2, 1], 'padding': [1, 0], 'dilation': [1, 2]}),
    (2, 'same_even_k4x2', (1, 1, 5, 4), (2, 1, 4, 2), True, {'padding': 'same'}),
    (2, 'same_dilation2_k3', (1, 1, 5, 5), (2, 1, 3, 3), False, {'padding': 'same', 'dilation': 2}),
    (2, 'same_dilation3_k2', (2, 1, 4, 4), (2, 1, 2, 2), True, {'padding': 'same', 'dilation': 3}),
    (2, 'valid_k3', (2, 1, 5, 4), (2, 1, 3, 3), False, {'padding': 'valid'}),
    (2, 'groups2', (1, 4, 4, 4), (2, 2, 3, 3), True, {'groups': 2, 'padding': 1}),
    (2, 'groups2_mult2', (1, 4, 3, 3), (8, 2, 2, 2), False, {'groups': 2}),
    (2, 'depthwise_c3', (1, 3, 4, 4), (3, 1, 3, 3), True, {'groups': 3, 'padding': 1}),
    (2, 'depthwise_mult2_c2', (1, 2, 5, 5), (4, 1, 3, 3), True, {'groups': 2, 'stride': 2, 'padding': 1}),
    (2, 'groups2_stride2_dilation2', (1, 4, 5, 5), (2, 2, 3, 3), False, {'groups': 2, 'stride': 2, 'dilation': 2, 'padding': 2}),
    (2, 'k1_stride1_n3', (3, 3, 2, 2), (2, 3, 1, 1), True, {}),
    (2, 'k1_stride2', (1, 3, 5, 5), (2, 3, 1, 1), False, {'stride': 2}),
    (2, 'unbatched', (2, 4, 4), (2, 2, 3, 3), True, {'padding': 1}),
    (3, 'basic_bias', (1, 1, 3, 3, 3), (2, 1, 3, 3, 3), True, {'padding': 1}),
    (3, 'stride2_pad1_n3', (3, 1, 3, 3, 3), (1, 1, 2, 2, 2), False, {'stride': 2, 'padding': 1}),
    (3, 'same_even_k2x3x2', (1, 1, 4, 4, 3), (1, 1, 2, 3, 2), True, {'padding': 'same'}),
    (3, 'depthwise_c2', (1, 2, 3, 4, 4), (2, 1, 2, 2, 2), False, {'groups': 2, 'stride': [1, 2, 2]}),
    (3, 'dilation2', (1, 1, 5, 4, 5), (2, 1, 2, 2, 2), True, {'dilation': 2, 'stride': [2, 1, 2]}),
]
for dims, what, xs, ws, has_bias, opts in CONV:
    ins = [uniform(xs), uniform(ws)]
    if has_bias:
        ins.append(uniform((ws[0],)))
    kw = conv_kwargs(opts)
    fconv = CONV_F[dims]
    case(f'conv{dims}d/{what}', f'conv{dims}d', lambda x, w, b=None, f=fconv, kw=kw: f(x, w, b, **kw), ins, opts)

# transposed convolution: weight [Cin, Cout / groups, ...kernel]
CONVT_F = {1: F.conv_transpose1d, 2: F.conv_transpose2d}
CONVT = [
    (1, 'stride2_pad1_outpad1', (2, 3, 4), (3, 2, 4), True, {'stride': 2, 'padding': 1, 'outputPadding': 1}),
    (2, 'basic_n1', (1, 2, 3, 3), (2, 3, 2, 2), False, {}),
    (2, 'stride2_pad1_outpad1', (1, 2, 3, 3), (2, 2, 3, 3), True, {'stride': 2, 'padding': 1, 'outputPadding': 1}),
    (2, 'groups2', (1, 4, 2, 2), (4, 1, 3, 3), True, {'groups': 2, 'stride': 2}),
    (2, 'dilation2_pad1', (1, 2, 3, 3), (2, 2, 3, 3), False, {'dilation': 2, 'padding': 1}),
    (2, 'stride2_dilation2_outpad1', (1, 2, 3, 3), (2, 1, 2, 2), True, {'stride': 2, 'dilation': 2, 'outputPadding': 1}),
    (2, 'per_axis', (1, 2, 3, 4), (2, 2, 3, 2), True, {'stride': [2, 1], 'padding': [1, 0], 'outputPadding': [1, 0]}),
]
for dims, what, xs, ws, has_bias, opts in CONVT:
    ins = [uniform(xs), uniform(ws)]
    if has_bias:
        ins.append(uniform((ws[1] * opts.get('groups', 1),)))
    kw = {{'outputPadding': 'output_padding'}.get(k, k): (tuple(v) if isinstance(v, list) else v) for k, v in opts.items()}
    fct = CONVT_F[dims]
    case(f'convTranspose/{dims}d_{what}', 'convTranspose', lambda x, w, b=None, f=fct, kw=kw: f(x, w, b, **kw), ins, opts)

# ---- pooling -----------------------------------------------------------------------------------
# Max-pool inputs are tie-free (distinct) so every window has one argmax and the gradient is defined.

def tup(v):
    return tuple(v) if isinstance(v, list) else v


MAXPOOL_F = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
MAXPOOL = [
    (1, 'k3_s2', (2, 2, 9), {'kernelSize': 3, 'stride': 2}),
    (1, 'k3_s1_p1_dilation2', (1, 2, 10), {'kernelSize': 3, 'stride': 1, 'padding': 1, 'dilation': 2}),
    (1, 'k2_ceil_odd', (2, 2, 9), {'kernelSize': 2, 'ceilMode': True}),
    (2, 'k2_default_stride', (2, 2, 4, 4), {'kernelSize': 2}),
    (2, 'k3_s2_p1', (1, 1, 7, 7), {'kernelSize': 3, 'stride': 2, 'padding': 1}),
    (2, 'k3_s2_ceil', (1, 1, 8, 8), {'kernelSize': 3, 'stride': 2, 'ceilMode': True}),
    (2, 'k2_s2_p1_ceil_drops_last', (1, 2, 5, 5), {'kernelSize': 2, 'stride': 2, 'padding': 1, 'ceilMode': True}),
    (2, 'per_axis_dilation', (1, 2, 6, 6), {'kernelSize': [2, 3], 'stride': [1, 2], 'padding': [1, 1], 'dilation': [2, 1]}),
    (2, 'unbatched_k2_s1', (2, 4, 4), {'kernelSize': 2, 'stride': 1}),
    (3, 'k2', (1, 1, 4, 4, 4), {'kernelSize': 2}),
    (3, 'k3_s2_p1', (1, 1, 5, 4, 4), {'kernelSize': 3, 'stride': 2, 'padding': 1}),
    (3, 'k2_ceil', (1, 1, 5, 5, 3), {'kernelSize': 2, 'stride': 2, 'ceilMode': True}),
]
for dims, what, xs, opts in MAXPOOL:
    f = MAXPOOL_F[dims]
    kw = dict(kernel_size=tup(opts['kernelSize']), stride=tup(opts.get('stride')), padding=tup(opts.get('padding', 0)),
              dilation=tup(opts.get('dilation', 1)), ceil_mode=opts.get('ceilMode', False))
    case(f'maxPool{dims}d/{what}', f'maxPool{dims}d', lambda x, f=f, kw=kw: f(x, **kw), [distinct(xs)], opts)

AVGPOOL = [
    ('k2_default_stride', (2, 2, 4, 4), {'kernelSize': 2}),
    ('k3_s2_p1_include_pad', (1, 1, 7, 7), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': True}),
    ('k3_s2_p1_exclude_pad', (1, 1, 7, 7), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': False}),
    ('k3_s2_ceil', (1, 1, 8, 8), {'kernelSize': 3, 'stride': 2, 'ceilMode': True}),
    ('k3_s2_p1_ceil_include_pad', (1, 1, 6, 6), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': True}),
    ('k3_s2_p1_ceil_exclude_pad', (1, 1, 6, 6), {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False}),
    ('per_axis_p1_include_pad', (2, 1, 5, 6), {'kernelSize': [3, 2], 'stride': [2, 1], 'padding': [1, 0], 'countIncludePad': True}),
    ('per_axis_p1_exclude_pad', (2, 1, 5, 6), {'kernelSize': [2, 3], 'stride': [1, 2], 'padding': [1, 1], 'countIncludePad': False}),
]
for what, xs, opts in AVGPOOL:
    kw = dict(kernel_size=tup(opts['kernelSize']), stride=tup(opts.get('stride')), padding=tup(opts.get('padding', 0)),
              ceil_mode=opts.get('ceilMode', False), count_include_pad=opts.get('countIncludePad', True))
    case(f'avgPool2d/{what}', 'avgPool2d', lambda x, kw=kw: F.avg_pool2d(x, **kw), [uniform(xs)], opts)

ADAPTIVE = [
    ('7_to_3', (1, 1, 7, 7), 3),
    ('5_to_4', (2, 1, 5, 5), 4),
    ('7x5_to_3x4', (1, 1, 7, 5), [3, 4]),
    ('global', (2, 2, 3, 4), 1),
    ('identity_4', (1, 1, 4, 4), 4),
    ('3_to_5_upsample', (1, 1, 3, 3), 5),
]
for what, xs, size in ADAPTIVE:
    case(f'adaptiveAvgPool2d/{what}', 'adaptiveAvgPool2d', lambda x, s=tup(size): F.adaptive_avg_pool2d(x, s),
         [uniform(xs)], {'outputSize': size})
    case(f'adaptiveMaxPool2d/{what}', 'adaptiveMaxPool2d', lambda x, s=tup(size): F.adaptive_max_pool2d(x, s),
         [distinct(xs)], {'outputSize': size})


def main():
    # int64 indices are written as int32 (tsvision's index dtype)
    doc = {
        'generator': 'tools/make_fixtures.py',
        'torch': torch.__version__.split('+')[0],
        'cases': CASES,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(doc, separators=(',', ':'))
    # one case per line keeps diffs readable
    text = text.replace(',{"name"', ',\n{"name"').replace('"cases":[{', '"cases":[\n{')
    with open(OUT, 'w') as fh:
        fh.write(text + '\n')
    print(f'wrote {len(CASES)} cases, {len(text) + 1} bytes to {os.path.relpath(OUT)}', file=sys.stderr)


if __name__ == '__main__':
    main()
