#!/usr/bin/env python3
"""Writes test/fixtures/pth/: small PyTorch files for test/io-pth.test.ts, and
expected.json with the values tsvision must read from them.

Regenerate (from the repository root) with

    /usr/bin/python3 tools/make_pth_fixtures.py

(any python3 that can import torch; the fixtures were made with torch 1.13). Every
file comes out the same on each run except legacy.pth, whose storage keys are
memory addresses, as torch writes them in that format.

Check mode: read a file written by tsvision's savePth the way a PyTorch user would,

    node tools/write_pth_check.mjs /tmp/check.pth
    /usr/bin/python3 tools/make_pth_fixtures.py --check /tmp/check.pth

loads it with torch.load(weights_only=True), loads it into the Conv2d+BatchNorm2d
model of conv_bn.pth with load_state_dict(strict=True), and compares every tensor
with conv_bn.pth as torch reads it.

Files (readable ones have an entry in expected.json: tensors [[key, {dtype, shape,
data}]] as tsvision holds them, dtypes after conversion, non-finite values as the
strings "Infinity", "-Infinity", "NaN"):
  state_dict.pth      zip format: float32, float16, bfloat16, float64, int64, int32,
                      uint8, bool, a 0-d and an empty tensor; a transposed view and a
                      sliced view of "base" (one storage), an offset view sharing a
                      storage with "shared_a", an expanded (stride 0) view
  legacy.pth          the same kinds in the pre-1.6 format (_use_new_zipfile_serialization=False)
  checkpoint.pth      {'epoch': 3, 'state_dict': <DataParallel state dict, "module." keys>,
                      'optimizer': SGD state (tensors too), 'best_acc1': 0.75, 'arch': ...}
  conv_bn.pth         nn.Sequential(Conv2d(2, 3, 3), BatchNorm2d(3)) after two training
                      steps of batch norm (num_batches_tracked is int64)
  protocol5.pth       {'meta': <str, long str, big and negative ints, float, bools, None, tuple,
                      set, frozenset, bytes, bytearray, nested dict>, 'model': <state dict>}
                      pickled with protocol 5 (frames, STACK_GLOBAL, MEMOIZE, sets, BYTEARRAY8)
  plain.pth           only tsvision dtypes: the file encodePth must reproduce byte for byte
  deflated.pth        plain.pth re-zipped with deflate (as a zip tool would)
  int64_overflow.pth  an int64 beyond int32: refused, naming the tensor
Refused files (no expected values):
  malicious_zip.pth     data.pkl calls os.system (pickled as posix.system), zip laid out by torch's writer
  malicious_legacy.pth  the legacy layout whose main pickle (protocol 4) calls os.system
  terabyte_zip.pth      a storage claiming 2**40 float32 elements, its record 16 bytes
  terabyte_legacy.pth   the same in the legacy layout: the element count before the data says 2**40
The malicious payload would create /tmp/tsvision-pth-pwned; the test checks it does not exist.
"""
import io
import json
import math
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'pth')
PWNED = '/tmp/tsvision-pth-pwned'
TS_DTYPE = {
    torch.float32: 'float32', torch.float16: 'float32', torch.bfloat16: 'float32', torch.float64: 'float32',
    torch.int64: 'int32', torch.int32: 'int32', torch.uint8: 'uint8', torch.bool: 'uint8',
}


def expected(state_dict):
    """[[key, {dtype, shape, data}]] as tsvision reads them (converted to its dtypes)."""
    out = []
    for k, t in state_dict.items():
        if not isinstance(t, torch.Tensor):
            continue
        ts = TS_DTYPE[t.dtype]
        v = t.float() if ts == 'float32' else t.to(torch.int32) if ts == 'int32' else t.to(torch.uint8)
        out.append([k, {'dtype': ts, 'shape': list(t.shape), 'data': [number(x) for x in v.reshape(-1).tolist()]}])
    return out


def number(x):
    """JSON has no infinities or NaN: they are written as the strings "Infinity", "-Infinity", "NaN"."""
    return x if math.isfinite(x) else 'NaN' if math.isnan(x) else 'Infinity' if x > 0 else '-Infinity'


def save(name, obj, **kwargs):
    with open(os.path.join(OUT, name), 'wb') as f:  # a file object: the archive folder is "archive"
        torch.save(obj, f, **kwargs)


def dtype_state_dict():
    g = torch.Generator().manual_seed(0)
    sd = OrderedDict()
    sd['f32'] = torch.randn(2, 3, generator=g)
    sd['f16'] = torch.tensor([0.5, -1.25, 65504.0, 2.0 ** -24, float('inf')], dtype=torch.float16)
    sd['bf16'] = torch.tensor([1.0, -3.140625, 1e30, -2.0 ** -130], dtype=torch.bfloat16)
    sd['f64'] = torch.tensor([[0.1, -2.5], [1e-3, 3.0]], dtype=torch.float64)
    sd['i64'] = torch.tensor([0, -5, 2 ** 31 - 1, -2 ** 31], dtype=torch.int64)
    sd['i32'] = torch.tensor([7, -8], dtype=torch.int32)
    sd['u8'] = torch.tensor([0, 255, 3], dtype=torch.uint8)
    sd['bool'] = torch.tensor([True, False, True])
    sd['scalar'] = torch.tensor(2.5)
    sd['empty'] = torch.zeros(0, 4)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd['base'] = base
    sd['transposed'] = base.t()
    sd['slice'] = base[1:3, 2:5]
    shared = torch.arange(10, dtype=torch.float32) * -1
    sd['shared_a'] = shared
    sd['shared_b'] = shared[4:].view(2, 3)
    sd['expanded'] = torch.tensor([7.0]).expand(2, 3)
    return sd


def legacy_state_dict():
    sd = OrderedDict()
    sd['weight'] = torch.tensor([[1.5, -2.0, 0.25], [3.0, 4.0, -5.0]])
    sd['weight_t'] = sd['weight'].t()
    sd['half'] = torch.tensor([0.5, -0.125], dtype=torch.float16)
    sd['count'] = torch.tensor(11, dtype=torch.int64)
    flat = torch.arange(6, dtype=torch.int32)
    sd['flat'] = flat
    sd['tail'] = flat[3:]
    return sd


def conv_bn_model():
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))


def make():
    os.makedirs(OUT, exist_ok=True)
    exp = {}

    sd = dtype_state_dict()
    save('state_dict.pth', sd)
    exp['state_dict.pth'] = {'tensors': expected(sd)}

    sd = legacy_state_dict()
    save('legacy.pth', sd, _use_new_zipfile_serialization=False)
    exp['legacy.pth'] = {'tensors': expected(sd)}

    torch.manual_seed(2)
    net = nn.DataParallel(nn.Linear(3, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    sd = net.state_dict()
    save('checkpoint.pth', {'epoch': 3, 'state_dict': sd, 'optimizer': opt.state_dict(), 'best_acc1': 0.75, 'arch': 'linear'})
    exp['checkpoint.pth'] = {'tensors': [[k[len('module.'):], v] for k, v in expected(sd)], 'epoch': 3}

    model = conv_bn_model()
    model.train()
    for _ in range(2):
        model(torch.randn(4, 2, 5, 5))
    sd = model.state_dict()
    save('conv_bn.pth', sd)
    exp['conv_bn.pth'] = {'tensors': expected(sd)}

    w = torch.tensor([[1.0, -2.0, 3.5], [0.0, -0.0, 1e-8]])
    sd = OrderedDict([('w', w), ('w_flat', w.view(6)), ('tied', w), ('count', torch.tensor(7, dtype=torch.int32)),
                      ('mask', torch.tensor([0, 1, 255], dtype=torch.uint8)), ('empty', torch.zeros(0, 4))])
    save('plain.pth', sd)
    exp['plain.pth'] = {'tensors': expected(sd)}
    with zipfile.ZipFile(os.path.join(OUT, 'plain.pth')) as src, zipfile.ZipFile(os.path.join(OUT, 'deflated.pth'), 'w', zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():  # fixed times, so the file is the same on every run
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0)), src.read(info.filename), zipfile.ZIP_DEFLATED)
    exp['deflated.pth'] = exp['plain.pth']

    meta = {'name': 'h\u00e9llo', 'long_text': 'x' * 300, 'big': 2 ** 70, 'neg': -3, 'large': -2 ** 40, 'pi': 3.5,
            'flags': [True, False, None], 'pair': (1, 'a'), 'tags': {'x'}, 'frozen': frozenset([2]), 'raw': b'\x00\x01',
            'buf': bytearray(b'ab'), 'nested': {'k': [1, [2, [3]]], 7: 'int key'}}
    sd = OrderedDict([('w', torch.tensor([[1.0, 2.0], [3.0, 4.0]]).t()), ('n', torch.tensor(5))])
    save('protocol5.pth', {'meta': meta, 'model': sd}, pickle_protocol=5)
    exp['protocol5.pth'] = {'tensors': expected(sd)}

    save('int64_overflow.pth', OrderedDict([('ok', torch.tensor([1])), ('big', torch.tensor([5, 2 ** 40], dtype=torch.int64))]))
    make_refused()

    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        lines = [f'{json.dumps(k)}: {json.dumps(v, separators=(",", ":"), allow_nan=False)}' for k, v in exp.items()]
        f.write('{\n' + ',\n'.join(lines) + '\n}\n')
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f'wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.relpath(OUT)}')


class Payload:
    def __reduce__(self):
        return (os.system, (f'touch {PWNED}',))


def torch_zip(path, records):
    """A zip written by torch's own writer (the layout torch.save uses), records in order."""
    writer = torch._C.PyTorchFileWriter(path)
    for name, data in records:
        writer.write_record(name, data, len(data))
    writer.write_end_of_file()


def legacy_header():
    """The first three pickles of the legacy format: magic number, protocol version, system info."""
    f = io.BytesIO()
    pickle.dump(0x1950a86a20f9469cfc6c, f, protocol=2)
    pickle.dump(1001, f, protocol=2)
    pickle.dump({'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}, f, protocol=2)
    return f.getvalue()


def pickle_with_storages(obj, protocol=2):
    """Pickles obj, writing each ('storage', ...) tuple wrapped in StorageId as a persistent id."""
    f = io.BytesIO()
    p = pickle.Pickler(f, protocol=protocol)
    p.persistent_id = lambda o: o.pid if isinstance(o, StorageId) else None
    p.dump(obj)
    return f.getvalue()


class StorageId:
    def __init__(self, pid):
        self.pid = pid


class HugeTensor:
    """Pickles as torch does a float32 tensor of 2**40 elements in storage "0"."""
    def __init__(self, pid):
        self.pid = pid

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (StorageId(self.pid), 0, (2 ** 40,), (1,), False, OrderedDict()))


def make_refused():
    evil = OrderedDict([('weight', Payload())])
    torch_zip(os.path.join(OUT, 'malicious_zip.pth'), [('data.pkl', pickle.dumps(evil, protocol=2))])
    with open(os.path.join(OUT, 'malicious_legacy.pth'), 'wb') as f:
        f.write(legacy_header() + pickle.dumps(evil, protocol=4) + pickle.dumps([], protocol=2))

    pid = ('storage', torch.FloatStorage, '0', 'cpu', 2 ** 40)
    data = pickle_with_storages(OrderedDict([('huge', HugeTensor(pid))]))
    torch_zip(os.path.join(OUT, 'terabyte_zip.pth'), [('data.pkl', data), ('data/0', b'\0' * 16)])
    with open(os.path.join(OUT, 'terabyte_legacy.pth'), 'wb') as f:
        data = pickle_with_storages(OrderedDict([('huge', HugeTensor(pid + (None,)))]))
        f.write(legacy_header() + data + pickle.dumps(['0'], protocol=2) + struct.pack('<q', 2 ** 40) + b'\0' * 16)


def check(path):
    sd = torch.load(path, weights_only=True)
    print(f'torch.load({path!r}, weights_only=True): {type(sd).__name__} of {len(sd)} tensors')
    for k, v in sd.items():
        print(f'  {k}: {v.dtype} {list(v.shape)} stride {v.stride()}')
    model = conv_bn_model()
    result = model.load_state_dict(sd, strict=True)
    print(f'load_state_dict(strict=True): {result}')
    reference = torch.load(os.path.join(OUT, 'conv_bn.pth'), weights_only=True)
    for k, v in model.state_dict().items():
        if not torch.equal(v, reference[k].to(v.dtype)):
            sys.exit(f'{k} differs from conv_bn.pth')
    print('every tensor equals conv_bn.pth as torch reads it')


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--check':
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        make()
    else:
        sys.exit(__doc__)
