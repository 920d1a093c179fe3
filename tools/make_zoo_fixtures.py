#!/usr/bin/env python3
"""Writes test/fixtures/zoo/<model>.json: torchvision's output for each registered
architecture with weights from a formula (tools/formula_weights.py), which the TS test
(test/models-parity.test.ts) rebuilds bit for bit, so no weights are committed.

    /usr/bin/python3 tools/make_zoo_fixtures.py              # every model
    /usr/bin/python3 tools/make_zoo_fixtures.py resnet18 vgg11

(made with torch 1.13 / torchvision 0.14 from Debian's python3-torch, python3-torchvision.)

A fixture holds
  model, config       the registered name and the TS config (getModel(model, config))
  paramCount, keys    the parameter count and the ordered state-dict keys with shapes ("conv1.weight:64x3x7x7")
  eval                {inputShape, logits}: eval-mode logits for formula_input('input', inputShape)
  train (some)        {config, inputShape, logits, inputGrad}: train mode (dropouts 0), logits and
                      d(sum(logits * formula_input('grad_output', logits.shape)))/d(input)
Values are float32 written with 9 significant digits.
"""
import json
import os
import sys

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import formula_input, load_formula_weights  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'zoo')

# name -> dict(
#   build=lambda **kw: torchvision model (kw: the train-mode overrides),
#   config={...} TS config, input=[N, C, H, W] for eval,
#   train=dict(kwargs={...} torch overrides, config={...} TS config, input=[N, C, H, W]) or absent)
SPECS = {}

# ---- resnet.ts, vgg.ts, alexnet.ts ----------------------------------------------
for _n in ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d', 'resnext101_64x4d',
           'wide_resnet50_2', 'wide_resnet101_2']:
    SPECS[_n] = dict(build=(lambda n: lambda **kw: getattr(tvm, n)(num_classes=10, **kw))(_n), config={'numClasses': 10}, input=[1, 3, 64, 64])
SPECS['resnet18']['train'] = dict(config={'numClasses': 10}, input=[2, 3, 64, 64])

def _tv(name, **fixed):
    """torchvision.models.<name>(num_classes=10, ...) with the train-mode overrides."""
    return lambda **kw: getattr(tvm, name)(num_classes=10, **fixed, **kw)


for _n in ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'resnext50_32x4d', 'resnext101_32x8d',
           'resnext101_64x4d', 'wide_resnet50_2', 'wide_resnet101_2']:
    SPECS[_n] = dict(build=_tv(_n), config={'numClasses': 10}, input=[1, 3, 64, 64])
SPECS['resnet18']['train'] = dict(config={'numClasses': 10}, input=[2, 3, 64, 64])
# No train case for ResNeXt: with formula weights its train-mode gradient is ill-conditioned (torch's own float32
# and float64 differ by 1e-2 at 48-64 px), so it could not be checked to 1e-4.
# initWeights False as torchvision's own weight loading: the formula weights replace them anyway.
for _n in ['vgg11', 'vgg11_bn', 'vgg13', 'vgg13_bn', 'vgg16', 'vgg16_bn', 'vgg19', 'vgg19_bn']:
    SPECS[_n] = dict(build=_tv(_n, init_weights=False), config={'numClasses': 10, 'initWeights': False}, input=[1, 3, 64, 64])
# 64 px, not 32: at 32 the last batch norm sees 2 values per channel (1x1 maps), and torch's float32 and float64 differ by 100%.
SPECS['vgg11_bn']['train'] = dict(kwargs={'dropout': 0.0}, config={'numClasses': 10, 'initWeights': False, 'dropout': 0}, input=[2, 3, 64, 64])
SPECS['alexnet'] = dict(build=_tv('alexnet'), config={'numClasses': 10}, input=[1, 3, 64, 64])
SPECS['alexnet']['train'] = dict(kwargs={'dropout': 0.0}, config={'numClasses': 10, 'dropout': 0}, input=[2, 3, 64, 64])

# ---- mobilenet.ts, efficientnet.ts -----------------------------------------------
for _n in ['mobilenet_v2', 'mobilenet_v3_small', 'mobilenet_v3_large'] + ['efficientnet_b%d' % _i for _i in range(8)] + \
        ['efficientnet_v2_s', 'efficientnet_v2_m', 'efficientnet_v2_l']:
    SPECS[_n] = dict(build=(lambda n: lambda **kw: getattr(tvm, n)(num_classes=10, **kw))(_n), config={'numClasses': 10}, input=[1, 3, 64, 64])
# Under formula weights the eval logits of the deeper EfficientNets are chaotic at 64 px (torchvision's own float32 and
# float64 disagree by 5-100%: see tools/zoo_conditioning.py); these use the largest side of 64, 56, ..., 8 where they agree within 1e-5.
for _n, _side in [('efficientnet_b1', 32), ('efficientnet_b2', 32), ('efficientnet_b3', 16), ('efficientnet_b4', 16), ('efficientnet_b5', 8),
                  ('efficientnet_b6', 8), ('efficientnet_b7', 8), ('efficientnet_v2_s', 56)]:
    SPECS[_n]['input'] = [1, 3, _side, _side]
SPECS['mobilenet_v3_small']['train'] = dict(kwargs={'dropout': 0.0}, config={'numClasses': 10, 'dropout': 0}, input=[2, 3, 64, 64])


def _efficientnet_b0(dropout=0.2, **kw):  # torchvision's efficientnet_b0 fixes the dropout: build the class itself
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last_channel = _efficientnet_conf('efficientnet_b0', width_mult=1.0, depth_mult=1.0)
    return EfficientNet(setting, dropout, last_channel=last_channel, num_classes=10, **kw)


SPECS['efficientnet_b0']['build'] = _efficientnet_b0
SPECS['efficientnet_b0']['train'] = dict(kwargs={'dropout': 0.0, 'stochastic_depth_prob': 0.0},
                                         config={'numClasses': 10, 'dropout': 0, 'stochasticDepthProb': 0}, input=[2, 3, 64, 64])

# ---- googlenet.ts, inception.ts, shufflenet.ts -----------------------------------

# Training mode (auxiliary heads included) of googlenet and inception_v3: tools/make_inception_fixtures.py, whose
# float64 references suit their ill-conditioned gradients (see there). initWeights false: the formula replaces them.
SPECS['googlenet'] = dict(
    build=lambda **kw: tvm.googlenet(num_classes=10, init_weights=False, **kw),
    config={'numClasses': 10, 'initWeights': False}, input=[1, 3, 64, 64])
SPECS['inception_v3'] = dict(  # at least 75x75
    build=lambda **kw: tvm.inception_v3(num_classes=10, init_weights=False, **kw),
    config={'numClasses': 10, 'initWeights': False}, input=[1, 3, 80, 80])
for _width in ['0_5', '1_0', '1_5', '2_0']:
    SPECS['shufflenet_v2_x' + _width] = dict(
        build=lambda _w=_width, **kw: getattr(tvm, 'shufflenet_v2_x' + _w)(num_classes=10, **kw),
        config={'numClasses': 10}, input=[1, 3, 64, 64])
# 72x72, not 64x64: at 64 stage4's batch norms see 8 values each, and torch's own float32 input
# gradient is 1.6e-4 off its float64 one; at 72 (18 values) 3.3e-5
SPECS['shufflenet_v2_x1_0']['train'] = dict(config={'numClasses': 10}, input=[2, 3, 72, 72])


def floats(t):
    return [float('%.9g' % v) for v in t.detach().double().flatten().tolist()]


def make(name):
    spec = SPECS[name]
    torch.manual_seed(0)
    net = spec['build']()
    load_formula_weights(net)
    net.eval()
    sd = net.state_dict()
    out = {
        'model': name,
        'config': spec['config'],
        'paramCount': sum(p.numel() for p in net.parameters()),
        'keys': ['%s:%s' % (k, 'x'.join(str(d) for d in v.shape)) for k, v in sd.items()],
    }
    x = torch.from_numpy(formula_input('input', spec['input']))
    with torch.no_grad():
        y = net(x)
    out['eval'] = {'inputShape': spec['input'], 'logits': floats(y)}
    tr = spec.get('train')
    if tr:
        net = spec['build'](**tr.get('kwargs', {}))
        load_formula_weights(net)
        net.train()
        x = torch.from_numpy(formula_input('input', tr['input'])).requires_grad_()
        y = net(x)
        if isinstance(y, tuple):  # GoogLeNet / Inception return (logits, aux...) in training
            y = y[0]
        g = torch.from_numpy(formula_input('grad_output', list(y.shape)))
        (y * g).sum().backward()
        out['train'] = {'config': tr['config'], 'inputShape': tr['input'], 'logits': floats(y), 'inputGrad': floats(x.grad)}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(name, out['paramCount'], 'params, max |logit| %.4g' % y.abs().max().item())


if __name__ == '__main__':
    torch.set_num_threads(1)
    for n in sys.argv[1:] or sorted(SPECS):
        make(n)
