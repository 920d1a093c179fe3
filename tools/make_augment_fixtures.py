#!/usr/bin/env python3
"""Writes test/fixtures/transforms/augment/: torchvision 0.14's outputs for
test/transforms-augment.test.ts (the augmentation functions, the policies' ops and
magnitude tables, and whole policies under forced random draws).

Regenerate (from the repository root, after tools/make_transform_fixtures.py, whose
input PNGs it reads) with

    /usr/bin/python3 tools/make_augment_fixtures.py

(torch 1.13, torchvision 0.14, Pillow 9.4). The output is deterministic.

cases.json:
  cases        byte images through torchvision.transforms.functional on PIL images:
               {name, input ("rgb", "gray" or "low"), op, args (tsvision's spelling), output (PNG)}
  floatCases   float images: PIL mode "F" for affine and perspective (as the existing rotate
               case), float tensors [C, H, W] for the tensor-only paths; {name, op, args, input, expected}
  coeffs       torchvision's perspective coefficients for some corner sets (float32)
  spaces       the policies' op lists and magnitude tables for some (bins, image size)
  policies     whole policies with forced draws: {name, policy, args, input, draws, output}; draws is
               the sequence of torch.randint / torch.rand / Dirichlet results the policy consumed,
               as [kind, n, value]: ["int", n, k] for a draw in [0, n), ["uniform", 0, u], ["dirichlet", alpha, [..]]
  augmixOps    for AugMix, which runs its ops on tensors even for PIL images: per op, the largest
               difference between torchvision's tensor op and its PIL op on the rgb input
  ("applyOpTensor" cases are _apply_op on uint8 tensors, the kernels AugMix uses)
"""
import json
import math
import os

import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode as IM
from torchvision.transforms import autoaugment as AA

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
INPUTS = os.path.join(ROOT, 'test', 'fixtures', 'transforms')
OUT = os.path.join(INPUTS, 'augment')
MODES = {'nearest': IM.NEAREST, 'bilinear': IM.BILINEAR, 'bicubic': IM.BICUBIC}


def f32(v):
    return float(repr(np.float32(v)))


def flat(t):
    return [f32(v) for v in np.asarray(t, dtype=np.float32).ravel()]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    rgb = Image.open(os.path.join(INPUTS, 'input_rgb.png')).convert('RGB')
    gray = Image.open(os.path.join(INPUTS, 'input_gray.png')).convert('L')
    # low contrast, uneven per channel: what autocontrast and equalize change most
    a = np.asarray(rgb).astype(np.float64)
    low = Image.fromarray(np.round(a * np.array([0.4, 0.6, 0.25]) + np.array([70, 20, 120])).astype(np.uint8), 'RGB')
    low.save(os.path.join(OUT, 'input_low.png'), optimize=True)
    inputs = {'rgb': rgb, 'gray': gray, 'low': low}
    cases = []

    def case(name, inp, op, args, fn):
        out = fn(inputs[inp])
        assert isinstance(out, Image.Image), name
        out.save(os.path.join(OUT, f'{name}.png'), optimize=True)
        cases.append({'name': name, 'input': inp, 'op': op, 'args': args, 'output': f'{name}.png'})

    # affine: (name, input, angle, translate, scale, shear, interpolation, fill, center)
    for name, inp, ang, tr, sc, sh, mode, fill, center in [
        ('affine_rot_nearest', 'rgb', 23.0, [0, 0], 1.0, [0.0, 0.0], 'nearest', 0, None),
        ('affine_all_nearest', 'rgb', -31.5, [4, -3], 1.2, [12.0, -7.0], 'nearest', 0, None),
        ('affine_all_bilinear_fill', 'rgb', 17.0, [-5, 2], 0.8, [-20.0, 5.0], 'bilinear', [255, 0, 128], None),
        ('affine_shear_center', 'rgb', 0.0, [0, 0], 1.0, [16.7, 0.0], 'nearest', 0, [0, 0]),
        ('affine_scale_only', 'rgb', 0.0, [3, 1], 1.37, [0.0, 0.0], 'nearest', 9, None),
        ('affine_bicubic', 'rgb', 40.0, [1, 1], 0.9, [3.0, 3.0], 'bicubic', 0, [10, 20]),
        ('affine_gray_bilinear', 'gray', 12.0, [1, -1], 1.1, [8.0, 0.0], 'bilinear', 200, None),
    ]:
        args = {'angle': ang, 'translate': tr, 'scale': sc, 'shear': sh, 'interpolation': mode, 'fill': fill}
        if center is not None:
            args['center'] = center
        case(name, inp, 'affine', args,
             lambda im, a=ang, t=tr, s=sc, h=sh, m=mode, f=fill, c=center: F.affine(im, a, t, s, h, MODES[m], f, c))

    # perspective
    coeffs = []
    for name, inp, start, end, mode, fill in [
        ('perspective_bilinear', 'rgb', [[0, 0], [47, 0], [47, 35], [0, 35]], [[5, 3], [44, 1], [40, 33], [2, 30]], 'bilinear', 0),
        ('perspective_nearest_fill', 'rgb', [[0, 0], [47, 0], [47, 35], [0, 35]], [[9, 0], [47, 7], [38, 35], [0, 28]], 'nearest', [10, 200, 30]),
        ('perspective_bicubic', 'rgb', [[2, 1], [45, 3], [44, 33], [1, 34]], [[0, 0], [47, 0], [47, 35], [0, 35]], 'bicubic', 0),
        ('perspective_gray', 'gray', [[0, 0], [12, 0], [12, 8], [0, 8]], [[2, 1], [11, 0], [12, 8], [1, 7]], 'bilinear', 50),
    ]:
        c = AA.F._get_perspective_coeffs(start, end)
        coeffs.append({'startpoints': start, 'endpoints': end, 'coeffs': [f32(x) for x in c]})
        case(name, inp, 'perspective', {'startpoints': start, 'endpoints': end, 'interpolation': mode, 'fill': fill, 'coeffs': [f32(x) for x in c]},
             lambda im, s=start, e=end, m=mode, f=fill: F.perspective(im, s, e, MODES[m], f))

    # Gaussian blur (torchvision blurs PIL images as tensors and converts back)
    for name, inp, k, s in [('blur_3', 'rgb', [3, 3], [0.8, 0.8]), ('blur_5x3', 'rgb', [5, 3], [1.5, 0.7]),
                            ('blur_7_default', 'rgb', [7, 7], None), ('blur_gray_9', 'gray', [9, 9], [2.0, 2.0])]:
        case(name, inp, 'gaussianBlur', {'kernelSize': k, 'sigma': s}, lambda im, k=k, s=s: F.gaussian_blur(im, k, s))

    for f in [0.3, 2.5]:
        case(f'sharpness_{f}', 'rgb', 'adjustSharpness', {'factor': f}, lambda im, f=f: F.adjust_sharpness(im, f))
    case('sharpness_gray_1.8', 'gray', 'adjustSharpness', {'factor': 1.8}, lambda im: F.adjust_sharpness(im, 1.8))
    case('sharpness_low_0', 'low', 'adjustSharpness', {'factor': 0.0}, lambda im: F.adjust_sharpness(im, 0.0))
    for inp in ['rgb', 'low', 'gray']:
        case(f'autocontrast_{inp}', inp, 'autocontrast', {}, F.autocontrast)
        case(f'equalize_{inp}', inp, 'equalize', {}, F.equalize)
        case(f'invert_{inp}', inp, 'invert', {}, F.invert)
    for b in [0, 1, 3, 6, 8]:
        case(f'posterize_{b}', 'rgb', 'posterize', {'bits': b}, lambda im, b=b: F.posterize(im, b))
    for t in [128, 200.5, 0]:
        case(f'solarize_{t}', 'rgb', 'solarize', {'threshold': t}, lambda im, t=t: F.solarize(im, t))
    case('solarize_gray_64', 'gray', 'solarize', {'threshold': 64}, lambda im: F.solarize(im, 64))

    def erase_pil(im, i, j, h, w, v):
        t = F.pil_to_tensor(im)
        return F.to_pil_image(F.erase(t, i, j, h, w, torch.tensor(v, dtype=torch.uint8)[:, None, None]))
    case('erase_rgb', 'rgb', 'erase', {'i': 5, 'j': 7, 'h': 10, 'w': 20, 'value': [255, 0, 60]},
         lambda im: erase_pil(im, 5, 7, 10, 20, [255, 0, 60]))

    # The policies' ops: torchvision's _apply_op on PIL images.
    for op, mag, mode, fill in [('ShearX', 0.3, 'nearest', None), ('ShearX', -0.21, 'bilinear', [1, 2, 3]), ('ShearY', 0.17, 'nearest', 40),
                                ('ShearY', -0.3, 'bilinear', None), ('TranslateX', 7.9, 'nearest', None), ('TranslateX', -12.6, 'nearest', 255),
                                ('TranslateY', -5.2, 'bilinear', None), ('TranslateY', 9.0, 'nearest', None), ('Rotate', 25.5, 'nearest', None),
                                ('Rotate', -13.0, 'bilinear', 99), ('Brightness', -0.4, 'nearest', None), ('Brightness', 0.7, 'nearest', None),
                                ('Color', 0.6, 'nearest', None), ('Color', -0.9, 'nearest', None), ('Contrast', -0.5, 'nearest', None),
                                ('Contrast', 0.3, 'nearest', None), ('Sharpness', 0.9, 'nearest', None), ('Sharpness', -0.6, 'nearest', None),
                                ('Posterize', 4.0, 'nearest', None), ('Posterize', 7.0, 'nearest', None), ('Solarize', 200.0, 'nearest', None),
                                ('Solarize', 93.5, 'nearest', None), ('AutoContrast', 0.0, 'nearest', None), ('Equalize', 0.0, 'nearest', None),
                                ('Invert', 0.0, 'nearest', None), ('Identity', 0.0, 'nearest', None)]:
        name = f'op_{op}_{mag}_{mode}'
        for inp in ['rgb', 'low'] if op in ('AutoContrast', 'Equalize') else ['rgb']:
            case(f'{name}_{inp}', inp, 'applyOp', {'op': op, 'magnitude': mag, 'interpolation': mode, 'fill': fill},
                 lambda im, o=op, m=mag, i=mode, f=fill: AA._apply_op(im, o, m, MODES[i], f))

    # The same ops on uint8 tensors, as torchvision's AugMix runs them (grid_sample warps, float32 blends).
    for op, mag, mode, fill in [('ShearX', 0.3, 'bilinear', None), ('ShearX', -0.17, 'nearest', None), ('ShearY', 0.23, 'bilinear', None),
                                ('ShearY', -0.3, 'bilinear', [10, 200, 30]), ('TranslateX', -9.7, 'bilinear', None), ('TranslateY', 6.2, 'nearest', 90),
                                ('Rotate', 17.0, 'bilinear', None), ('Rotate', -29.5, 'nearest', None), ('Rotate', 8.0, 'bilinear', [255, 255, 255]),
                                ('Color', 0.6, 'bilinear', None), ('Color', -0.8, 'bilinear', None), ('Contrast', 0.45, 'bilinear', None),
                                ('Contrast', -0.7, 'bilinear', None), ('Sharpness', 0.9, 'bilinear', None), ('Sharpness', -0.5, 'bilinear', None)]:
        name = f'top_{op}_{mag}_{mode}' + ('_fill' if fill is not None else '')
        case(name, 'rgb', 'applyOpTensor', {'op': op, 'magnitude': mag, 'interpolation': mode, 'fill': fill},
             lambda im, o=op, m=mag, i=mode, f=fill: F.to_pil_image(AA._apply_op(F.pil_to_tensor(im), o, m, MODES[i], f)))
    case('top_Contrast_gray', 'gray', 'applyOpTensor', {'op': 'Contrast', 'magnitude': 0.5, 'interpolation': 'bilinear', 'fill': None},
         lambda im: F.to_pil_image(AA._apply_op(F.pil_to_tensor(im), 'Contrast', 0.5, IM.BILINEAR, None)))

    float_cases = float_fixtures(rgb)
    spaces = magnitude_spaces()
    policies = policy_fixtures(inputs)
    fixture = {
        'versions': {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'PIL': PIL.__version__},
        'inputs': {'rgb': '../input_rgb.png', 'gray': '../input_gray.png', 'low': 'input_low.png'},
        'cases': cases,
        'floatCases': float_cases,
        'coeffs': coeffs,
        'spaces': spaces,
        'policies': policies['cases'],
        'augmixOps': policies['augmixOps'],
    }
    with open(os.path.join(OUT, 'cases.json'), 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print(f'{len(cases)} cases, {len(float_cases)} float cases, {len(policies["cases"])} policies, {total} bytes')


def float_fixtures(rgb):
    out = []
    t = F.to_tensor(rgb.crop((4, 6, 20, 18)))  # [3, 12, 16]
    fimg = np.asarray(t[0]) * 3.0 - 1.0  # a mode "F" image with values outside [0, 1]
    fpil = Image.fromarray(fimg.astype(np.float32), 'F')

    def fcase(name, op, args, inp, res):
        inp = np.asarray(inp, dtype=np.float32)
        res = np.asarray(res, dtype=np.float32)
        if inp.ndim == 2:
            inp, res = inp[None], res[None]
        out.append({'name': name, 'op': op, 'args': args, 'input': {'shape': list(inp.shape), 'data': flat(inp)},
                    'expected': {'shape': list(res.shape), 'data': flat(res)}})

    fcase('float_affine_bilinear', 'affine', {'angle': 21.0, 'translate': [1, -2], 'scale': 1.1, 'shear': [6.0, -4.0], 'interpolation': 'bilinear', 'fill': 0.5},
          fimg, F.affine(fpil, 21.0, [1, -2], 1.1, [6.0, -4.0], IM.BILINEAR, 0.5))
    fcase('float_affine_nearest', 'affine', {'angle': -15.0, 'translate': [2, 0], 'scale': 0.9, 'shear': [0.0, 10.0], 'interpolation': 'nearest', 'fill': 0},
          fimg, F.affine(fpil, -15.0, [2, 0], 0.9, [0.0, 10.0], IM.NEAREST, 0))
    s, e = [[0, 0], [15, 0], [15, 11], [0, 11]], [[2, 1], [14, 0], [13, 11], [1, 9]]
    fcase('float_perspective_bilinear', 'perspective', {'startpoints': s, 'endpoints': e, 'interpolation': 'bilinear', 'fill': -1.0,
                                                        'coeffs': [f32(x) for x in F._get_perspective_coeffs(s, e)]},
          fimg, F.perspective(fpil, s, e, IM.BILINEAR, -1.0))
    fcase('float_blur', 'gaussianBlur', {'kernelSize': [5, 3], 'sigma': [1.1, 0.6]}, t, F.gaussian_blur(t, [5, 3], [1.1, 0.6]))
    fcase('float_sharpness', 'adjustSharpness', {'factor': 1.7}, t, F.adjust_sharpness(t, 1.7))
    fcase('float_autocontrast', 'autocontrast', {}, t * 0.5 + 0.2, F.autocontrast(t * 0.5 + 0.2))
    fcase('float_solarize', 'solarize', {'threshold': 0.4}, t, F.solarize(t, 0.4))
    fcase('float_invert', 'invert', {}, t, F.invert(t))
    patch = torch.linspace(-2, 2, 3 * 4 * 5).view(3, 4, 5)
    fcase('float_erase_tensor', 'erase', {'i': 2, 'j': 3, 'h': 4, 'w': 5, 'value': {'shape': [3, 4, 5], 'data': flat(patch)}},
          t, F.erase(t, 2, 3, 4, 5, patch))
    fcase('float_erase_value', 'erase', {'i': 0, 'j': 10, 'h': 12, 'w': 6, 'value': [0.25]}, t, F.erase(t, 0, 10, 12, 6, torch.tensor([0.25])[:, None, None]))
    return out


def magnitude_spaces():
    rows = []

    def table(space):
        return {name: {'magnitudes': [f32(x) for x in (m.reshape(-1) if m.ndim > 0 else [])], 'signed': bool(signed), 'scalar': m.ndim == 0}
                for name, (m, signed) in space.items()}

    for bins, size in [(10, (36, 48)), (10, (224, 224)), (31, (32, 32))]:
        rows.append({'policy': 'auto', 'bins': bins, 'size': list(size), 'ops': table(AA.AutoAugment()._augmentation_space(bins, size))})
    for bins, size in [(31, (36, 48)), (17, (224, 160)), (5, (28, 28))]:
        rows.append({'policy': 'rand', 'bins': bins, 'size': list(size), 'ops': table(AA.RandAugment(num_magnitude_bins=bins)._augmentation_space(bins, size))})
    for bins in [31, 9]:
        rows.append({'policy': 'trivial', 'bins': bins, 'size': None, 'ops': table(AA.TrivialAugmentWide(num_magnitude_bins=bins)._augmentation_space(bins))})
    for all_ops, size in [(True, (36, 48)), (False, (64, 80))]:
        rows.append({'policy': 'augmix', 'bins': 10, 'size': list(size), 'allOps': all_ops,
                     'ops': table(AA.AugMix(all_ops=all_ops)._augmentation_space(10, size))})
    return rows


class Draws:
    """Stands in for torch.randint, torch.rand and AugMix's Dirichlet: draws from a seeded numpy
    generator and records each result, so a test can replay the same sequence."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.log = []

    def randint(self, *args, size=None, dtype=None, low=None, high=None, **kw):
        if high is None:
            if len(args) >= 2 and not isinstance(args[1], (tuple, list)):
                low, high = args[0], args[1]
                size = args[2] if len(args) > 2 else size
            else:
                low, high = 0, args[0]
                size = args[1] if len(args) > 1 else size
        if low is None:
            low = 0
        n = int(np.prod(size))
        vals = []
        for _ in range(n):
            v = int(self.rng.integers(0, high - low))
            self.log.append(['int', int(high - low), v])
            vals.append(v + low)
        return torch.tensor(vals, dtype=torch.long)

    def rand(self, *size, **kw):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = size[0]
        n = int(np.prod(size))
        vals = np.float32(self.rng.random(n))
        for v in vals:
            self.log.append(['uniform', 0, f32(v)])
        return torch.tensor(vals, dtype=torch.float32).view(*size)

    def dirichlet(self, params):
        alpha = params.reshape(-1).tolist()
        v = np.float32(self.rng.dirichlet(alpha))
        self.log.append(['dirichlet', f32(alpha[0]), [f32(x) for x in v]])
        return torch.tensor(v, dtype=torch.float32).view(params.shape)


def run_forced(policy, img, draws):
    saved = torch.randint, torch.rand
    torch.randint, torch.rand = draws.randint, draws.rand
    if isinstance(policy, AA.AugMix):
        policy._sample_dirichlet = draws.dirichlet
    try:
        return policy(img)
    finally:
        torch.randint, torch.rand = saved


def policy_fixtures(inputs):
    cases = []

    def pcase(name, kind, args, policy, inp, seed, repeats):
        for r in range(repeats):
            draws = Draws(seed * 100 + r)
            out = run_forced(policy, inputs[inp], draws)
            fname = f'{name}_{r}.png'
            out.save(os.path.join(OUT, fname), optimize=True)
            cases.append({'name': f'{name}_{r}', 'policy': kind, 'args': args, 'input': inp, 'draws': draws.log, 'output': fname})

    for pol in ['imagenet', 'cifar10', 'svhn']:
        pcase(f'auto_{pol}', 'AutoAugment', {'policy': pol}, AA.AutoAugment(AA.AutoAugmentPolicy(pol)), 'rgb', 1, 6)
    pcase('auto_imagenet_bilinear_fill', 'AutoAugment', {'policy': 'imagenet', 'interpolation': 'bilinear', 'fill': [0, 128, 255]},
          AA.AutoAugment(AA.AutoAugmentPolicy.IMAGENET, IM.BILINEAR, [0, 128, 255]), 'rgb', 2, 4)
    pcase('rand_2_9', 'RandAugment', {'numOps': 2, 'magnitude': 9}, AA.RandAugment(2, 9), 'rgb', 3, 8)
    pcase('rand_3_20_bins31_bilinear', 'RandAugment', {'numOps': 3, 'magnitude': 20, 'interpolation': 'bilinear'},
          AA.RandAugment(3, 20, 31, IM.BILINEAR), 'low', 4, 4)
    pcase('rand_gray', 'RandAugment', {'numOps': 2, 'magnitude': 5, 'numMagnitudeBins': 11}, AA.RandAugment(2, 5, 11), 'gray', 5, 3)
    pcase('trivial', 'TrivialAugmentWide', {}, AA.TrivialAugmentWide(), 'rgb', 6, 10)
    pcase('trivial_bins9_fill', 'TrivialAugmentWide', {'numMagnitudeBins': 9, 'fill': 77}, AA.TrivialAugmentWide(9, IM.NEAREST, 77), 'low', 7, 4)

    # AugMix runs its ops on uint8 tensors even for a PIL image (so does tsvision's AugMix): how far
    # those are from the PIL ops the other policies use, per op at AugMix's magnitudes, for the docs.
    img = inputs['rgb']
    t = F.pil_to_tensor(img)[None]
    space = AA.AugMix()._augmentation_space(10, (img.size[1], img.size[0]))
    diffs = {}
    for name, (mags, signed) in space.items():
        worst = 0
        for k in range(10):
            m = float(mags[k].item()) if mags.ndim > 0 else 0.0
            for s in ([1, -1] if signed else [1]):
                a = np.asarray(AA._apply_op(img, name, m * s, IM.BILINEAR, None)).astype(int)
                b = AA._apply_op(t, name, m * s, IM.BILINEAR, None)[0].permute(1, 2, 0).numpy().astype(int)
                worst = max(worst, int(np.abs(a - b).max()))
        diffs[name] = worst
    pcase('augmix', 'AugMix', {}, AA.AugMix(), 'rgb', 10, 6)
    pcase('augmix_nearest_gray', 'AugMix', {'interpolation': 'nearest', 'severity': 6}, AA.AugMix(severity=6, interpolation=IM.NEAREST), 'gray', 11, 3)
    pcase('augmix_width2_depth2_alpha0.5_fill', 'AugMix', {'mixtureWidth': 2, 'chainDepth': 2, 'alpha': 0.5, 'severity': 5, 'fill': [0, 255, 0]},
          AA.AugMix(severity=5, mixture_width=2, chain_depth=2, alpha=0.5, fill=[0, 255, 0]), 'low', 9, 3)
    return {'cases': cases, 'augmixOps': diffs}


if __name__ == '__main__':
    main()
