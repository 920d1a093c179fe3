#!/usr/bin/env python3
"""Writes test/fixtures/nn_conv.json: PyTorch reference values for the convolution,
pooling, normalisation and shuffling layers (test/nn-conv-parity.test.ts) and for
summary (test/nn-summary.test.ts).

Regenerate (from the repository root) with

    /usr/bin/python3 tools/make_nn_conv_fixtures.py

(any python3 that can import torch; made with torch 1.13). The output is
deterministic: the same torch version writes the same bytes.

Tensors: {dtype, shape, data} with, for exact values, "scale": the float32 value
is data[i] / scale (small integers over a power of two, so inputs, parameters and
the loss weights w are exact and short). Computed values (outputs, gradients,
running statistics) have no scale and 7 significant digits: the tests compare to
a relative error of 1e-4.

"cases": one layer each, as in tools/make_nn_fixtures.py:
  name, module (the tsvision class), args (its constructor arguments in tsvision's
  names), training, stateDict ([[key, tensor]] in PyTorch's order: loaded with
  loadStateDict; the keys must equal the TS module's stateDict() keys), inputs,
  outputSize (ConvTranspose only: the forward's output_size, or null),
  output {.., w} (w: the fixed weight of the scalar sum(output * w) that is
  backpropagated), grads (per input), paramGrads ([[name, data]] in
  named_parameters() order). The reference is computed in float64 from the
  float32 values.

"sequences": a BatchNorm run through several forward calls, each step
  {training, input, output, state} with the state dict after the step (running
  statistics and num_batches_tracked).

"structures": state-dict keys, shapes and dtypes, names of parameters, buffers and
  modules, and parameter counts of a few CNNs; with "inputShape", the output shape,
  parameter count and type of every leaf module called, in call order.
"""
import json
import math
import os
import sys
import warnings
from collections import OrderedDict

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'nn_conv.json')

warnings.filterwarnings('ignore', message="Using padding='same'")
torch.manual_seed(20240612)
GEN = torch.Generator().manual_seed(20240612)
SCALE = 64


# ---- exact float32 values ------------------------------------------------------------------

def q(shape, lo=-1.0, hi=1.0, scale=SCALE):
    """Uniform multiples of 1/scale in [lo, hi): exact in float32 and short in JSON."""
    k = torch.randint(int(lo * scale), int(hi * scale), shape, generator=GEN)
    return (k.to(torch.float64) / scale).to(torch.float32)


def distinct(shape, scale=128):
    """Distinct multiples of 1/scale around 0 (no ties for max pooling)."""
    n = math.prod(shape)
    k = torch.randperm(n, generator=GEN) - n // 2
    return (k.to(torch.float64) / scale).to(torch.float32).reshape(shape)


def randomize(module, lo=-0.8, hi=0.8):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(q(tuple(p.shape), lo, hi, 128))
    return module


def random_stats(bn):
    with torch.no_grad():
        bn.running_mean.copy_(q(tuple(bn.running_mean.shape), -0.5, 0.5, 128))
        bn.running_var.copy_(q(tuple(bn.running_var.shape), 0.5, 2.0, 128))
    return bn


# ---- serialisation ---------------------------------------------------------------------

def num(v):
    r = float('%.7g' % v)
    return 0.0 if r == 0 else r


def exact(t):
    """{dtype, shape, scale, data}: float32 values that are integers over a power of two, or int tensors."""
    if not t.dtype.is_floating_point:
        return {'dtype': 'int32', 'shape': list(t.shape), 'data': [int(v) for v in t.reshape(-1).tolist()]}
    v = t.detach().to(torch.float64).reshape(-1)
    for scale in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        k = v * scale
        if torch.equal(k, k.round()):
            return {'dtype': 'float32', 'shape': list(t.shape), 'scale': scale, 'data': [int(x) for x in k.tolist()]}
    raise ValueError('not an exact small-denominator tensor')


def computed(t):
    if not t.dtype.is_floating_point:
        return exact(t)
    return {'dtype': 'float32', 'shape': list(t.shape), 'data': [num(v) for v in t.detach().to(torch.float32).reshape(-1).tolist()]}


def data(t):
    return computed(t)['data']


CASES = []
SEQUENCES = []
NAMES = set()


def unique(name):
    if name in NAMES:
        raise ValueError('duplicate name ' + name)
    NAMES.add(name)


def case(name, module_name, args, module, inputs, training=False, output_size=None):
    """Runs the float64 copy of module on float64 copies of the float32 inputs; every input gets a gradient."""
    unique(name)
    state = [[k, exact(v)] for k, v in module.state_dict().items()]
    m = module.double()
    m.train(training)
    leaves = [t.to(torch.float64).requires_grad_(True) for t in inputs]
    out = m(*leaves, output_size=output_size) if output_size is not None else m(*leaves)
    w = q(tuple(out.shape), 0.5, 1.5)
    (out * w.to(torch.float64)).sum().backward()
    c = {
        'name': name,
        'module': module_name,
        'args': args,
        'training': training,
        'stateDict': state,
        'inputs': [exact(t) for t in inputs],
        'output': dict(computed(out), w=exact(w)),
        'grads': [data(x.grad) for x in leaves],
        'paramGrads': [[k, data(p.grad)] for k, p in m.named_parameters()],
    }
    if output_size is not None:
        c['outputSize'] = list(output_size)
    CASES.append(c)


# ---- convolutions ------------------------------------------------------------------------

def conv_case(name, cls, dims, cin, cout, k, shape, **kw):
    torch_kw = {'stride': 1, 'padding': 0, 'dilation': 1, 'groups': 1, 'bias': True}
    torch_kw.update({key: val for key, val in kw.items() if key != 'output_size'})
    args = {'inChannels': cin, 'outChannels': cout, 'kernelSize': k}
    names = {'output_padding': 'outputPadding'}
    for key, val in torch_kw.items():
        args[names.get(key, key)] = list(val) if isinstance(val, tuple) else val
    module = randomize(cls(cin, cout, tuple(k) if isinstance(k, list) else k, **torch_kw))
    case(name, cls.__name__, args, module, [q(shape)], output_size=kw.get('output_size'))


conv_case('Conv1d/default', nn.Conv1d, 1, 3, 4, 3, (2, 3, 9))
conv_case('Conv1d/stride2_pad1_dil2_groups2', nn.Conv1d, 1, 4, 6, 3, (1, 4, 11), stride=2, padding=1, dilation=2, groups=2)
conv_case('Conv1d/same_even_kernel_no_bias', nn.Conv1d, 1, 3, 4, 4, (1, 3, 8), padding='same', bias=False)
conv_case('Conv2d/default', nn.Conv2d, 2, 3, 4, 3, (2, 3, 5, 5))
conv_case('Conv2d/stride2_pad1', nn.Conv2d, 2, 3, 4, 3, (1, 3, 6, 6), stride=2, padding=1)
conv_case('Conv2d/per_axis', nn.Conv2d, 2, 2, 4, [3, 2], (1, 2, 7, 6), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
conv_case('Conv2d/groups2', nn.Conv2d, 2, 4, 6, 3, (1, 4, 5, 5), padding=1, groups=2)
conv_case('Conv2d/depthwise', nn.Conv2d, 2, 4, 4, 3, (2, 4, 5, 5), padding=1, groups=4)
conv_case('Conv2d/depthwise_x2_same_dil2', nn.Conv2d, 2, 4, 8, 3, (1, 4, 6, 6), padding='same', dilation=2, groups=4)
conv_case('Conv2d/1x1', nn.Conv2d, 2, 3, 5, 1, (2, 3, 4, 4))
conv_case('Conv2d/1x1_stride2_no_bias', nn.Conv2d, 2, 4, 3, 1, (1, 4, 5, 5), stride=2, bias=False)
conv_case('Conv2d/same_even_kernel', nn.Conv2d, 2, 3, 4, 4, (1, 3, 5, 5), padding='same')
conv_case('Conv2d/valid_stride3', nn.Conv2d, 2, 3, 4, 3, (1, 3, 8, 8), padding='valid', stride=3)
conv_case('Conv2d/dilated', nn.Conv2d, 2, 2, 3, 3, (1, 2, 7, 7), padding=2, dilation=2)
conv_case('Conv2d/spatial_kx1', nn.Conv2d, 2, 3, 3, [3, 1], (1, 3, 5, 5), padding=(1, 0))
conv_case('Conv2d/unbatched', nn.Conv2d, 2, 3, 4, 3, (3, 5, 5), padding=1)
conv_case('Conv3d/default', nn.Conv3d, 3, 2, 3, 2, (1, 2, 3, 4, 4))
conv_case('Conv3d/per_axis_groups2', nn.Conv3d, 3, 2, 4, [3, 1, 3], (1, 2, 3, 4, 4), stride=(1, 2, 1), padding=(1, 0, 1), groups=2)
conv_case('ConvTranspose1d/stride2_outpad1', nn.ConvTranspose1d, 1, 3, 2, 3, (1, 3, 5), stride=2, padding=1, output_padding=1)
conv_case('ConvTranspose2d/default', nn.ConvTranspose2d, 2, 3, 2, 3, (1, 3, 4, 4))
conv_case('ConvTranspose2d/stride2_pad1_outpad1_groups2', nn.ConvTranspose2d, 2, 4, 6, 3, (1, 4, 3, 3), stride=2, padding=1, output_padding=1, groups=2)
conv_case('ConvTranspose2d/per_axis_dilated_no_bias', nn.ConvTranspose2d, 2, 2, 3, [2, 3], (2, 2, 3, 3), stride=(2, 1), dilation=(1, 2), bias=False)
conv_case('ConvTranspose2d/output_size', nn.ConvTranspose2d, 2, 2, 2, 3, (1, 2, 3, 3), stride=2, padding=1, output_size=[6, 5])
conv_case('ConvTranspose3d/stride2', nn.ConvTranspose3d, 3, 2, 2, 2, (1, 2, 2, 2, 2), stride=2)


# ---- pooling ----------------------------------------------------------------------------

def pool_case(name, cls, args, shape):
    torch_names = {'kernelSize': 'kernel_size', 'ceilMode': 'ceil_mode', 'countIncludePad': 'count_include_pad'}
    kw = {torch_names.get(k, k): (tuple(v) if isinstance(v, list) else v) for k, v in args.items()}
    case(name, cls.__name__, args, cls(**kw), [distinct(shape)])


pool_case('MaxPool1d/k3_s2_p1', nn.MaxPool1d, {'kernelSize': 3, 'stride': 2, 'padding': 1}, (2, 3, 9))
pool_case('MaxPool2d/k2', nn.MaxPool2d, {'kernelSize': 2}, (1, 3, 6, 6))
pool_case('MaxPool2d/k3_s2_p1_ceil', nn.MaxPool2d, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True}, (1, 2, 8, 8))
pool_case('MaxPool2d/k3_s1_dil2', nn.MaxPool2d, {'kernelSize': 3, 'stride': 1, 'dilation': 2}, (1, 2, 7, 7))
pool_case('MaxPool2d/per_axis', nn.MaxPool2d, {'kernelSize': [2, 3], 'stride': [2, 1], 'padding': [1, 1]}, (1, 2, 5, 6))
pool_case('MaxPool3d/k2', nn.MaxPool3d, {'kernelSize': 2}, (1, 2, 4, 4, 4))
pool_case('AvgPool1d/k3_s2_p1_exclude_pad', nn.AvgPool1d, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'countIncludePad': False}, (2, 3, 9))
pool_case('AvgPool2d/k2', nn.AvgPool2d, {'kernelSize': 2}, (1, 3, 6, 6))
pool_case('AvgPool2d/k3_s2_p1_ceil_exclude_pad', nn.AvgPool2d, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False}, (1, 2, 8, 8))
pool_case('AvgPool2d/k3_s2_p1_ceil_include_pad', nn.AvgPool2d, {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': True}, (1, 2, 8, 8))
pool_case('AvgPool3d/k2_s1', nn.AvgPool3d, {'kernelSize': 2, 'stride': 1}, (1, 2, 3, 3, 3))


def adaptive_case(name, cls, size, shape):
    torch_size = tuple(size) if isinstance(size, list) else size
    case(name, cls.__name__, {'outputSize': size}, cls(torch_size), [distinct(shape)])


adaptive_case('AdaptiveAvgPool2d/global', nn.AdaptiveAvgPool2d, 1, (2, 3, 5, 5))
adaptive_case('AdaptiveAvgPool2d/3x2_from_7x5', nn.AdaptiveAvgPool2d, [3, 2], (1, 2, 7, 5))
adaptive_case('AdaptiveAvgPool2d/null_2', nn.AdaptiveAvgPool2d, [None, 2], (1, 2, 3, 5))
adaptive_case('AdaptiveMaxPool2d/2', nn.AdaptiveMaxPool2d, 2, (1, 2, 5, 5))
adaptive_case('AdaptiveMaxPool2d/3_null', nn.AdaptiveMaxPool2d, [3, None], (1, 2, 7, 4))
adaptive_case('AdaptiveAvgPool1d/3', nn.AdaptiveAvgPool1d, 3, (1, 2, 7))
adaptive_case('AdaptiveMaxPool1d/4', nn.AdaptiveMaxPool1d, 4, (1, 2, 9))
adaptive_case('AdaptiveAvgPool3d/2', nn.AdaptiveAvgPool3d, 2, (1, 2, 3, 4, 5))
adaptive_case('AdaptiveMaxPool3d/2_null_1', nn.AdaptiveMaxPool3d, [2, None, 1], (1, 2, 4, 3, 3))


# ---- normalisation, shuffling, dropout in eval ---------------------------------------------------

def bn_args(n, eps=1e-5, momentum=0.1, affine=True, track=True):
    return {'numFeatures': n, 'eps': eps, 'momentum': momentum, 'affine': affine, 'trackRunningStats': track}


def bn(cls, n, eps=1e-5, momentum=0.1, affine=True, track=True):
    m = cls(n, eps=eps, momentum=momentum, affine=affine, track_running_stats=track)
    if affine:
        randomize(m)
    if track:
        random_stats(m)
    return m


case('BatchNorm1d/train_2d', 'BatchNorm1d', bn_args(3), bn(nn.BatchNorm1d, 3), [q((4, 3), -2, 2)], training=True)
case('BatchNorm1d/train_3d', 'BatchNorm1d', bn_args(3), bn(nn.BatchNorm1d, 3), [q((2, 3, 4), -2, 2)], training=True)
case('BatchNorm1d/eval_3d', 'BatchNorm1d', bn_args(3), bn(nn.BatchNorm1d, 3), [q((2, 3, 4), -2, 2)])
case('BatchNorm2d/train', 'BatchNorm2d', bn_args(3), bn(nn.BatchNorm2d, 3), [q((2, 3, 3, 3), -2, 2)], training=True)
case('BatchNorm2d/eval', 'BatchNorm2d', bn_args(3), bn(nn.BatchNorm2d, 3), [q((2, 3, 3, 3), -2, 2)])
case('BatchNorm2d/train_no_affine_eps1e-3', 'BatchNorm2d', bn_args(3, eps=1e-3, affine=False), bn(nn.BatchNorm2d, 3, eps=1e-3, affine=False),
     [q((2, 3, 2, 3), -2, 2)], training=True)
case('BatchNorm2d/eval_untracked_uses_batch_stats', 'BatchNorm2d', bn_args(3, track=False), bn(nn.BatchNorm2d, 3, track=False), [q((2, 3, 2, 2), -2, 2)])
case('BatchNorm3d/train', 'BatchNorm3d', bn_args(2), bn(nn.BatchNorm3d, 2), [q((2, 2, 2, 2, 2), -2, 2)], training=True)

case('GroupNorm/2_groups_of_2', 'GroupNorm', {'numGroups': 2, 'numChannels': 4, 'eps': 1e-5, 'affine': True},
     randomize(nn.GroupNorm(2, 4)), [q((2, 4, 3, 3), -2, 2)])
case('GroupNorm/1_group_3d', 'GroupNorm', {'numGroups': 1, 'numChannels': 3, 'eps': 1e-5, 'affine': True},
     randomize(nn.GroupNorm(1, 3)), [q((2, 3, 4), -2, 2)])
case('GroupNorm/instance_no_affine_eps1e-3', 'GroupNorm', {'numGroups': 3, 'numChannels': 3, 'eps': 1e-3, 'affine': False},
     nn.GroupNorm(3, 3, eps=1e-3, affine=False), [q((2, 3, 2, 2), -2, 2)])
case('GroupNorm/offset_input', 'GroupNorm', {'numGroups': 2, 'numChannels': 6, 'eps': 1e-5, 'affine': True},
     randomize(nn.GroupNorm(2, 6)), [q((1, 6, 2, 2), 9, 11)])



class ChannelShuffleRef(nn.Module):
    """nn.ChannelShuffle's forward (checked equal to it below) written with reshape and transpose: torch 1.13's has no backward."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c = x.shape[:2]
        y = x.reshape(n, self.groups, c // self.groups, *x.shape[2:]).transpose(1, 2).reshape(x.shape)
        assert torch.equal(y, nn.ChannelShuffle(self.groups)(x.detach()))
        return y


case('ChannelShuffle/2', 'ChannelShuffle', {'groups': 2}, ChannelShuffleRef(2), [q((1, 6, 2, 2))])
case('ChannelShuffle/3_1d', 'ChannelShuffle', {'groups': 3}, ChannelShuffleRef(3), [q((2, 6, 3))])
case('ReLU6/conv_range', 'ReLU6', {}, nn.ReLU6(), [q((2, 3, 2, 2), -8, 8) + 1 / 128])
case('Dropout2d/eval', 'Dropout2d', {'p': 0.3}, nn.Dropout2d(0.3), [q((2, 3, 2, 2))])


# ---- BatchNorm over several steps -------------------------------------------------------------

def sequence(name, module_name, args, module, steps):
    """steps: [(training, input)]; records the output and the state dict after each."""
    unique(name)
    state = [[k, exact(v)] for k, v in module.state_dict().items()]
    m = module.double()
    out_steps = []
    for training, x in steps:
        m.train(training)
        with torch.no_grad():
            y = m(x.to(torch.float64))
        out_steps.append({
            'training': training,
            'input': exact(x),
            'output': computed(y),
            'state': [[k, computed(v)] for k, v in m.state_dict().items()],
        })
    SEQUENCES.append({'name': name, 'module': module_name, 'args': args, 'stateDict': state, 'steps': out_steps})


for momentum in (0.1, None):
    tag = 'momentum0.1' if momentum is not None else 'momentum_null'
    sequence(f'BatchNorm1d/{tag}', 'BatchNorm1d', bn_args(3, momentum=momentum), bn(nn.BatchNorm1d, 3, momentum=momentum),
             [(True, q((4, 3), -2, 2)), (True, q((2, 3, 3), -1, 3)), (False, q((2, 3), -2, 2))])
    sequence(f'BatchNorm2d/{tag}', 'BatchNorm2d', bn_args(2, momentum=momentum), bn(nn.BatchNorm2d, 2, momentum=momentum),
             [(True, q((2, 2, 2, 3), -2, 2)), (True, q((3, 2, 2, 2), 0, 4)), (False, q((1, 2, 2, 2), -2, 2))])
sequence('BatchNorm2d/momentum0.5_no_affine', 'BatchNorm2d', bn_args(2, momentum=0.5, affine=False), bn(nn.BatchNorm2d, 2, momentum=0.5, affine=False),
         [(True, q((2, 2, 2, 2), -2, 2)), (False, q((1, 2, 2, 2), -2, 2))])
sequence('BatchNorm2d/untracked', 'BatchNorm2d', bn_args(2, track=False), bn(nn.BatchNorm2d, 2, track=False),
         [(True, q((2, 2, 2, 2), -2, 2)), (False, q((2, 2, 2, 2), -2, 2))])


# ---- structures -------------------------------------------------------------------------------

def small_cnn():
    """The model of the hand-checked summary table in test/nn-summary.test.ts."""
    return nn.Sequential(OrderedDict([
        ('conv1', nn.Conv2d(3, 8, 3, padding=1)),
        ('bn1', nn.BatchNorm2d(8)),
        ('relu1', nn.ReLU()),
        ('conv2', nn.Conv2d(8, 8, 3, padding=1, bias=False)),
        ('conv3', nn.Conv2d(8, 16, 3, padding=1, groups=2)),
        ('relu2', nn.ReLU6()),
        ('pool', nn.MaxPool2d(2)),
        ('conv4', nn.Conv2d(16, 32, 3, stride=2, padding=1)),
        ('bn2', nn.BatchNorm2d(32)),
        ('gap', nn.AdaptiveAvgPool2d(1)),
        ('flatten', nn.Flatten()),
        ('drop', nn.Dropout(0.2)),
        ('fc', nn.Linear(32, 10)),
    ]))


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(8, 8, 1), BasicBlock(8, 8, 1))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def mixed():
    """Every new layer kind once (state-dict keys of the untracked BatchNorm, GroupNorm, transposed conv)."""
    return nn.Sequential(OrderedDict([
        ('conv', nn.Conv1d(2, 4, 3, padding=1)),
        ('bn', nn.BatchNorm1d(4, track_running_stats=False)),
        ('up', nn.ConvTranspose1d(4, 4, 2, stride=2, groups=2, bias=False)),
        ('gn', nn.GroupNorm(2, 4)),
        ('bn_plain', nn.BatchNorm1d(4, affine=False)),
        ('pool', nn.MaxPool1d(2)),
        ('shuffle', nn.ChannelShuffle(2)),
        ('drop', nn.Dropout1d(0.1)),
        ('head', nn.Conv1d(4, 2, 1)),
        ('avg', nn.AdaptiveAvgPool1d(1)),
    ]))


def leaf_calls(model, input_shape):
    rows = []
    hooks = []
    names = {m: n for n, m in model.named_modules()}
    for m in model.modules():
        if len(list(m.children())) == 0:
            hooks.append(m.register_forward_hook(
                lambda mod, inp, out: rows.append([names[mod], type(mod).__name__, list(out.shape), sum(p.numel() for p in mod.parameters())])))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(input_shape))
    for h in hooks:
        h.remove()
    return rows


def structure(name, model, input_shape=None):
    s = {
        'name': name,
        'stateDict': [[k, list(v.shape), 'int32' if not v.dtype.is_floating_point else 'float32'] for k, v in model.state_dict().items()],
        'namedParameters': [k for k, _ in model.named_parameters()],
        'namedBuffers': [k for k, _ in model.named_buffers()],
        'namedModules': [k for k, _ in model.named_modules()],
        'parameterCount': sum(p.numel() for p in model.parameters()),
    }
    if input_shape is not None:
        s['inputShape'] = list(input_shape)
        s['layers'] = leaf_calls(model, input_shape)
    return s


STRUCTURES = [
    structure('SmallCNN', small_cnn(), (1, 3, 32, 32)),
    structure('TinyResNet', TinyResNet(), (1, 3, 32, 32)),
    structure('Mixed', mixed(), (2, 2, 8)),
]


def main():
    doc = {
        'generator': 'tools/make_nn_conv_fixtures.py',
        'torch': torch.__version__.split('+')[0],
        'cases': CASES,
        'sequences': SEQUENCES,
        'structures': STRUCTURES,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(doc, separators=(',', ':'), allow_nan=False)
    # one case per line keeps diffs readable
    for key in ('cases', 'sequences', 'structures'):
        text = text.replace(f'"{key}":[{{', f'"{key}":[\n{{')
    text = text.replace(',{"name"', ',\n{"name"')
    with open(OUT, 'w') as fh:
        fh.write(text + '\n')
    print(f'wrote {len(CASES)} cases, {len(SEQUENCES)} sequences, {len(STRUCTURES)} structures, {len(text) + 1} bytes to {os.path.relpath(OUT)}',
          file=sys.stderr)


if __name__ == '__main__':
    main()
