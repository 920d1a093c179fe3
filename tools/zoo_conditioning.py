#!/usr/bin/env python3
"""How well-conditioned a zoo fixture's eval logits are under formula weights: the gap
between torchvision's float32 logits (1 and 2 threads) and its float64 logits, relative
to the largest logit, for each input side given.

    /usr/bin/python3 tools/zoo_conditioning.py efficientnet_b3 64 32 16

Under formula weights, eval-mode batch norm does not renormalise, so in deep networks the
activations grow to 1e3-1e18; a squeeze-excitation's sigmoid then turns a rounding error
of its (huge) input into an O(1) change of the gate, and the logits become chaotic:
float32 and float64, or 1 and 2 threads, disagree by up to 100%. A parity check at 1e-4
is only meaningful where this gap is far below 1e-4; make_zoo_fixtures.py's EfficientNet
rows use an input side where it is below 1e-5.
"""
import copy
import os
import sys

import torch
import torchvision.models as tvm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import formula_input, load_formula_weights  # noqa: E402


def gap(net32, net64, side):
    x = torch.from_numpy(formula_input('input', [1, 3, side, side]))
    worst = 0.0
    with torch.no_grad():
        y64 = net64(x.double())
        for threads in (1, 2):
            torch.set_num_threads(threads)
            y32 = net32(x).double()
            worst = max(worst, ((y32 - y64).abs().max() / y64.abs().max()).item())
    return worst


if __name__ == '__main__':
    name, sides = sys.argv[1], [int(s) for s in sys.argv[2:]]
    net = getattr(tvm, name)(num_classes=10)
    load_formula_weights(net)
    net.eval()
    net64 = copy.deepcopy(net).double()
    for side in sides:
        print('%s %3d px: float32 vs float64 %.2e' % (name, side, gap(net, net64, side)), flush=True)
