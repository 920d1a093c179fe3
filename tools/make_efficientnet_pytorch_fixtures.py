#!/usr/bin/env python3
"""Writes test/fixtures/zoo/efficientnet-b*.json for src/models/efficientnet_pytorch.ts: the
network of the efficientnet_pytorch package (EfficientNet.from_name / from_pretrained), defined
here in PyTorch with the package's module names, block table, scaling rules and TensorFlow-style
"same" padding, filled with the formula weights of tools/formula_weights.py. The fixtures have
exactly the format of tools/make_zoo_fixtures.py, so test/models-parity.test.ts checks them.

    /usr/bin/python3 tools/make_efficientnet_pytorch_fixtures.py             # every fixture
    /usr/bin/python3 tools/make_efficientnet_pytorch_fixtures.py efficientnet-b0

(made with torch 1.13 from Debian's python3-torch.)

The package's padding: with an image size (its default, the variant's resolution) each
convolution's padding is fixed when the network is built, from the size its input has when the
network reads pictures of that size; with image_size=None it is computed from each input. The
two differ only where an input's parity differs from the designed one, e.g. b0 on 57x57 or b3
on 64x64. A fixture whose name ends in '-dynamic' is built with image_size=None ({imageSize: null}).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import formula_input, load_formula_weights  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'zoo')

# name -> (width coefficient, depth coefficient, resolution, dropout)
VARIANTS = {
    'efficientnet-b0': (1.0, 1.0, 224, 0.2),
    'efficientnet-b1': (1.0, 1.1, 240, 0.2),
    'efficientnet-b2': (1.1, 1.2, 260, 0.3),
    'efficientnet-b3': (1.2, 1.4, 300, 0.3),
    'efficientnet-b4': (1.4, 1.8, 380, 0.4),
    'efficientnet-b5': (1.6, 2.2, 456, 0.4),
    'efficientnet-b6': (1.8, 2.6, 528, 0.5),
    'efficientnet-b7': (2.0, 3.1, 600, 0.5),
    'efficientnet-b8': (2.2, 3.6, 672, 0.5),
}

# B0's stages before scaling: repeats, kernel, stride, expansion, input and output filters
# (squeeze-and-excitation ratio 0.25 and the identity skip on every stage)
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
SE_RATIO = 0.25
BN_MOMENTUM = 1 - 0.99  # TensorFlow's decay 0.99 in PyTorch's convention
BN_EPS = 1e-3

# Published parameter counts with 1000 classes (the same networks as torchvision's efficientnet_b0..b7)
PUBLISHED_PARAMS = {
    'efficientnet-b0': 5288548, 'efficientnet-b1': 7794184, 'efficientnet-b2': 9109994, 'efficientnet-b3': 12233232,
    'efficientnet-b4': 19341616, 'efficientnet-b5': 30389784, 'efficientnet-b6': 43040704, 'efficientnet-b7': 66347960,
}


def scale_filters(filters, width):
    """Channels times the width coefficient, to a multiple of 8 (never more than 10% below)."""
    f = filters * width
    out = max(8, int(f + 4) // 8 * 8)
    if out < 0.9 * f:
        out += 8
    return int(out)


def scale_repeats(repeats, depth):
    return int(math.ceil(depth * repeats))


def same_pads(size, k, s):
    """(before, after) zeros so that the output has ceil(size / s) positions."""
    p = max((math.ceil(size / s) - 1) * s + k - size, 0)
    return p // 2, p - p // 2


def shrink(size, s):
    return None if size is None else math.ceil(size / s)


class SameConv2d(nn.Conv2d):
    """Conv2d with "same" padding, fixed from `image_size` or computed from each input when it is None."""

    def __init__(self, cin, cout, k, stride=1, groups=1, bias=True, image_size=None):
        super().__init__(cin, cout, k, stride=stride, padding=0, groups=groups, bias=bias)
        self.image_size = image_size

    def forward(self, x):
        h, w = (self.image_size, self.image_size) if self.image_size is not None else x.shape[-2:]
        k, s = self.kernel_size[0], self.stride[0]
        top, bottom = same_pads(h, k, s)
        left, right = same_pads(w, k, s)
        return F.conv2d(F.pad(x, [left, right, top, bottom]), self.weight, self.bias, self.stride, 0, 1, self.groups)


class MBConvBlock(nn.Module):
    def __init__(self, cin, cout, k, stride, expand, image_size, drop_connect):
        super().__init__()
        mid = cin * expand
        self.expand, self.stride, self.drop_connect = expand, stride, drop_connect
        self.skip = stride == 1 and cin == cout
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False, image_size=image_size)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._depthwise_conv = SameConv2d(mid, mid, k, stride=stride, groups=mid, bias=False, image_size=image_size)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS, momentum=BN_MOMENTUM)
        squeezed = max(1, int(cin * SE_RATIO))
        self._se_reduce = SameConv2d(mid, squeezed, 1, image_size=1)
        self._se_expand = SameConv2d(squeezed, mid, 1, image_size=1)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False, image_size=shrink(image_size, stride))
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._swish = nn.SiLU()

    def forward(self, inputs):
        x = inputs
        if self.expand != 1:
            x = self._swish(self._bn0(self._expand_conv(x)))
        x = self._swish(self._bn1(self._depthwise_conv(x)))
        s = self._se_expand(self._swish(self._se_reduce(F.adaptive_avg_pool2d(x, 1))))
        x = self._bn2(self._project_conv(torch.sigmoid(s) * x))
        if not self.skip:
            return x
        if self.drop_connect and self.training:
            keep = 1 - self.drop_connect
            x = x / keep * torch.floor(keep + torch.rand([x.shape[0], 1, 1, 1], dtype=x.dtype))
        return x + inputs


class EfficientNet(nn.Module):
    def __init__(self, name, num_classes=1000, in_channels=3, dropout=None, drop_connect_rate=0.2, image_size='default'):
        super().__init__()
        width, depth, res, default_dropout = VARIANTS[name]
        size = res if image_size == 'default' else image_size
        stem = scale_filters(32, width)
        self._conv_stem = SameConv2d(in_channels, stem, 3, stride=2, bias=False, image_size=size)
        self._bn0 = nn.BatchNorm2d(stem, eps=BN_EPS, momentum=BN_MOMENTUM)
        size = shrink(size, 2)
        rows = []  # (cin, cout, k, stride, expand, image size)
        for repeats, k, stride, expand, cin, cout in STAGES:
            cin, cout = scale_filters(cin, width), scale_filters(cout, width)
            for i in range(scale_repeats(repeats, depth)):
                rows.append((cin if i == 0 else cout, cout, k, stride if i == 0 else 1, expand, size))
                if i == 0:
                    size = shrink(size, stride)
        self._blocks = nn.ModuleList(
            MBConvBlock(*row, drop_connect=drop_connect_rate * i / len(rows)) for i, row in enumerate(rows))
        head = scale_filters(1280, width)
        self._conv_head = SameConv2d(rows[-1][1], head, 1, bias=False, image_size=size)
        self._bn1 = nn.BatchNorm2d(head, eps=BN_EPS, momentum=BN_MOMENTUM)
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(default_dropout if dropout is None else dropout)
        self._fc = nn.Linear(head, num_classes)
        self._swish = nn.SiLU()

    def forward(self, x):
        x = self._swish(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self._swish(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(self._avg_pooling(x).flatten(1)))


def build(name, config):
    """The reference network for a TS config (numClasses, inChannels, dropout, dropConnectRate, imageSize)."""
    return EfficientNet(name, num_classes=config.get('numClasses', 1000), in_channels=config.get('inChannels', 3),
                        dropout=config.get('dropout'), drop_connect_rate=config.get('dropConnectRate', 0.2),
                        image_size=config.get('imageSize', 'default'))


DYNAMIC = {'imageSize': None}
# fixture file name -> registered model, TS config, eval input, train-mode spec or None.
# With formula weights, eval-mode logits of the deeper variants grow with the input's size until
# float32 rounding alone changes them by more than the test's 1e-4 (make() checks against float64):
# those run at 16x16 or 8x8 (static padding for the design size cannot read some small inputs:
# a kernel larger than the padded map, an error in the package too, so those use imageSize null).
FIXTURES = {
    'efficientnet-b0': ('efficientnet-b0', {}, [1, 3, 64, 64],
                        dict(config={'numClasses': 10, 'dropout': 0, 'dropConnectRate': 0}, input=[4, 3, 64, 64])),
    'efficientnet-b0@57': ('efficientnet-b0', {'numClasses': 10}, [1, 3, 57, 57], None),
    'efficientnet-b0@57-dynamic': ('efficientnet-b0', {'numClasses': 10, **DYNAMIC}, [1, 3, 57, 57], None),
    'efficientnet-b1': ('efficientnet-b1', {}, [1, 3, 16, 16], None),
    'efficientnet-b2': ('efficientnet-b2', {}, [1, 3, 16, 16], None),
    'efficientnet-b3': ('efficientnet-b3', {}, [1, 3, 16, 16], None),
    'efficientnet-b3@16-dynamic': ('efficientnet-b3', {'numClasses': 10, **DYNAMIC}, [1, 3, 16, 16], None),
    'efficientnet-b4': ('efficientnet-b4', DYNAMIC, [1, 3, 16, 16], None),
    'efficientnet-b5': ('efficientnet-b5', {}, [1, 3, 16, 16], None),
    'efficientnet-b6': ('efficientnet-b6', DYNAMIC, [1, 3, 8, 8], None),
    'efficientnet-b7': ('efficientnet-b7', DYNAMIC, [1, 3, 8, 8], None),
    'efficientnet-b8': ('efficientnet-b8', DYNAMIC, [1, 3, 8, 8], None),
}
MAX_ROUNDING = 2e-5  # float32 against float64, relative to the largest value: 5x below the test's tolerance


def floats(t):
    return [float('%.9g' % v) for v in t.detach().double().flatten().tolist()]


def check_rounding(label, model, config, x, y32, train=None):
    """Refuses a fixture whose float32 values differ from float64 ones by more than MAX_ROUNDING."""
    net = build(model, config).double()
    load_formula_weights(net)
    net.double()
    net.train(train is not None)
    x64 = x.detach().double().requires_grad_(train is not None)
    y = net(x64)
    vals = [(y32, y)]
    if train is not None:
        (y * torch.from_numpy(formula_input('grad_output', list(y.shape))).double()).sum().backward()
        vals.append((train, x64.grad))
    errs = [((a.detach().double() - b.detach()).abs().max() / b.detach().abs().max()).item() for a, b in vals]
    assert max(errs) <= MAX_ROUNDING, '%s: float32 rounding changes the values by %.1e of the largest' % (label, max(errs))
    return max(errs)


def make(fixture):
    model, config, shape, train = FIXTURES[fixture]
    torch.manual_seed(0)
    net = build(model, config)
    load_formula_weights(net)
    net.eval()
    count = sum(p.numel() for p in net.parameters())
    if config.get('numClasses', 1000) == 1000 and model in PUBLISHED_PARAMS:
        assert count == PUBLISHED_PARAMS[model], (model, count, PUBLISHED_PARAMS[model])
    out = {
        'model': model,
        'config': config,
        'paramCount': count,
        'keys': ['%s:%s' % (k, 'x'.join(str(d) for d in v.shape)) for k, v in net.state_dict().items()],
    }
    x = torch.from_numpy(formula_input('input', shape))
    with torch.no_grad():
        y = net(x)
        rounding = check_rounding(fixture, model, config, x, y)
    out['eval'] = {'inputShape': shape, 'logits': floats(y)}
    if train:
        net = build(model, train['config'])
        load_formula_weights(net)
        net.train()
        x = torch.from_numpy(formula_input('input', train['input'])).requires_grad_()
        y = net(x)
        (y * torch.from_numpy(formula_input('grad_output', list(y.shape)))).sum().backward()
        rounding = max(rounding, check_rounding(fixture + ' (train)', model, train['config'], x, y, train=x.grad))
        out['train'] = {'config': train['config'], 'inputShape': train['input'], 'logits': floats(y), 'inputGrad': floats(x.grad)}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, fixture + '.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(fixture, count, 'params, max |logit| %.4g, float32 rounding %.1e' % (y.abs().max().item(), rounding))


if __name__ == '__main__':
    torch.set_num_threads(1)
    for n in sys.argv[1:] or list(FIXTURES):
        make(n)
