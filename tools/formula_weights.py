"""Weights from a formula, for the model parity fixtures; test/formula-weights.ts computes
the same float32 values bit for bit (the two files change together).

Element i of the tensor named `name` (flat row-major index):
    h = FNV-1a 32-bit hash of name's UTF-8 bytes
    x = h ^ (i * 0x9E3779B1 mod 2**32), then murmur3's fmix32
    v = (x >> 8) / 2**24 * 2 - 1                  in [-1, 1), 24 bits, exact in float32
and the value, computed in float64 and rounded once to float32:
    running_var                    0.75 + 0.25 v   (eval-mode batch norm is exercised)
    running_mean                   0.1 v
    num_batches_tracked            0
    other 1-d "weight" (norm)      1 + 0.25 v
    other 1-d (biases)             0.1 v
    >= 2-d (conv, linear weights)  v * sqrt(6 / fan_in), fan_in = numel / shape[0]
"""
import math

import numpy as np


def fnv1a(s):
    h = 0x811C9DC5
    for b in s.encode('utf8'):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def formula_uniform(name, n):
    h = np.uint64(fnv1a(name))
    m = np.uint64(0xFFFFFFFF)
    i = np.arange(n, dtype=np.uint64)
    x = (h ^ ((i * np.uint64(0x9E3779B1)) & m)) & m
    x = ((x ^ (x >> np.uint64(16))) * np.uint64(0x85EBCA6B)) & m
    x = ((x ^ (x >> np.uint64(13))) * np.uint64(0xC2B2AE35)) & m
    x = x ^ (x >> np.uint64(16))
    return (x >> np.uint64(8)).astype(np.float64) / 16777216.0 * 2.0 - 1.0


def formula_array(name, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    last = name.rsplit('.', 1)[-1]
    if last == 'num_batches_tracked':
        return np.zeros(shape, dtype=np.int64)
    v = formula_uniform(name, n)
    if last == 'running_var':
        out = 0.75 + 0.25 * v
    elif last == 'running_mean':
        out = 0.1 * v
    elif len(shape) == 1 and last == 'weight':
        out = 1.0 + 0.25 * v
    elif len(shape) == 1:
        out = 0.1 * v
    else:
        out = v * math.sqrt(6.0 / (n / shape[0]))
    return out.astype(np.float32).reshape(shape)


def load_formula_weights(model):
    import torch
    sd = model.state_dict()
    model.load_state_dict({k: torch.from_numpy(formula_array(k, list(t.shape))) for k, t in sd.items()})


def formula_input(name, shape):
    n = int(np.prod(shape))
    return formula_uniform(name, n).astype(np.float32).reshape(shape)
