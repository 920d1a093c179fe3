#!/usr/bin/env python3
"""Writes test/fixtures/mobile-module-trees.json: torchvision 0.14's module tree (every
named module, pre-order, with its class name) of a few MobileNets and EfficientNets, and
the values of _make_divisible, for test/models-mobile.test.ts. The state-dict keys are in
the zoo fixtures; this adds the modules without parameters (activations, pooling, dropout,
stochastic depth).

    /usr/bin/python3 tools/make_mobile_module_trees.py
"""
import json
import os

import torchvision.models as tvm
from torchvision.models._utils import _make_divisible

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'mobile-module-trees.json')
MODELS = ['mobilenet_v2', 'mobilenet_v3_small', 'mobilenet_v3_large', 'efficientnet_b0', 'efficientnet_v2_s']
DIVISIBLE = [(16, 8), (11.2, 8), (36, 8), (20, 8), (1280 * 1.4, 8), (32 * 0.35, 8), (24 * 1.1, 8), (320 * 1.8, 8), (17, 1), (3, 4)]

if __name__ == '__main__':
    trees = {n: [[k, type(m).__name__] for k, m in getattr(tvm, n)(num_classes=10).named_modules()] for n in MODELS}
    divisible = [[v, d, _make_divisible(v, d)] for v, d in DIVISIBLE]
    with open(OUT, 'w') as f:
        json.dump({'trees': trees, 'makeDivisible': divisible}, f, separators=(',', ':'))
        f.write('\n')
    print(OUT, sum(len(t) for t in trees.values()), 'modules')
