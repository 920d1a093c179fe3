#!/usr/bin/env python3
"""Writes test/fixtures/zoo-train/<model>.json: torchvision's training-mode outputs of the
networks with auxiliary classifiers (googlenet, inception_v3), with the formula weights of
tools/formula_weights.py, for test/models-inception.test.ts.

    /usr/bin/python3 tools/make_inception_fixtures.py

A fixture holds
  model, config     the registered name and the TS config
  inputShape        formula_input('input', inputShape) is the input
  outputs           train-mode outputs by the TS names of forwardWithAux: logits, aux1, aux2 / aux (dropouts 0)
  grads             gradients of sum over outputs k of sum(out_k * formula_input('grad_' + k, out_k.shape)):
                    'input' (when small) and some parameters, by state-dict name
  float32Error      {outputs, grads}: per value above, torch's own float32 error, {l2: relative L2,
                    max: max |diff| / max |value|}
Outputs and gradients are computed in float64, the exact values float32 computations are measured
against. Training-mode batch norm over the few values of the last blocks (and max pools whose
float32 rounding flips a choice) make these gradients ill-conditioned with formula weights: torch's
own float32 gradients are off by up to ~1e-2, so the test allows a float32 error of the same order.
Inception v3's auxiliary head needs Mixed_6e's 17x17 map, hence the 299x299 input (no input gradient stored).
"""
import json
import os
import sys

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import formula_input, load_formula_weights  # noqa: E402
from make_zoo_fixtures import floats  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'zoo-train')

SPECS = {
    'googlenet': dict(
        build=lambda: tvm.googlenet(num_classes=10, init_weights=False, dropout=0.0, dropout_aux=0.0),
        config={'numClasses': 10, 'dropout': 0, 'dropoutAux': 0, 'initWeights': False},
        input=[2, 3, 64, 64], input_grad=True,
        # torchvision's tuple is labelled (logits, aux_logits2, aux_logits1) but holds aux1's output
        # second and aux2's third (its forward swaps the two names twice over; checked with hooks)
        outputs={'logits': 0, 'aux1': 1, 'aux2': 2},
        params=['conv1.conv.weight', 'inception4a.branch1.bn.weight', 'inception4d.branch2.1.bn.weight', 'aux1.conv.bn.weight',
                'aux1.fc1.bias', 'aux2.fc1.bias', 'aux1.fc2.weight', 'aux2.fc2.weight', 'fc.weight']),
    'inception_v3': dict(
        build=lambda: tvm.inception_v3(num_classes=10, init_weights=False, dropout=0.0),
        config={'numClasses': 10, 'dropout': 0, 'initWeights': False},
        input=[2, 3, 299, 299], input_grad=False,
        outputs={'logits': 0, 'aux': 1},  # (logits, aux_logits)
        params=['Conv2d_1a_3x3.conv.weight', 'Mixed_6e.branch_pool.bn.weight', 'AuxLogits.conv0.bn.weight', 'AuxLogits.conv1.bn.weight',
                'AuxLogits.fc.weight', 'Mixed_7c.branch_pool.bn.bias', 'fc.weight']),
}


def run(spec, dtype):
    """Train-mode outputs and gradients of the formula loss, in dtype."""
    net = spec['build']()
    load_formula_weights(net)
    net = net.to(dtype).train()
    x = torch.from_numpy(formula_input('input', spec['input'])).to(dtype).requires_grad_()
    y = net(x)
    outputs = {k: y[i] for k, i in spec['outputs'].items()}
    loss = sum((v * torch.from_numpy(formula_input('grad_' + k, list(v.shape))).to(dtype)).sum() for k, v in outputs.items())
    loss.backward()
    named = dict(net.named_parameters())
    grads = {'input': x.grad} if spec['input_grad'] else {}
    grads.update({p: named[p].grad for p in spec['params']})
    return {k: v.detach().double() for k, v in outputs.items()}, {k: v.double() for k, v in grads.items()}


def relative_errors(values, exact):
    return {k: {'l2': float('%.3g' % ((v - exact[k]).norm() / exact[k].norm())),
                'max': float('%.3g' % ((v - exact[k]).abs().max() / exact[k].abs().max()))} for k, v in values.items()}


def make(name):
    spec = SPECS[name]
    outputs32, grads32 = run(spec, torch.float32)
    outputs, grads = run(spec, torch.float64)
    out = {
        'model': name, 'config': spec['config'], 'inputShape': spec['input'],
        'outputs': {k: floats(v) for k, v in outputs.items()},
        'grads': {k: floats(v) for k, v in grads.items()},
        'float32Error': {'outputs': relative_errors(outputs32, outputs), 'grads': relative_errors(grads32, grads)},
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(name, 'max |logit| %.4g' % outputs['logits'].abs().max().item(), 'torch float32 error:', out['float32Error'])


if __name__ == '__main__':
    torch.set_num_threads(1)
    for n in sys.argv[1:] or sorted(SPECS):
        make(n)
