"""Writes the ONNX files the benchmarks run in onnxruntime-node: each torchvision model
(random weights from seed 0; speed does not depend on the values) exported by PyTorch,
opset 17, dynamic batch, into $TSVISION_HOME/bench-onnx (default ~/.cache/tsvision).
Not committed; `npm run bench` says so when they are missing.

    /usr/bin/python3 tools/export_bench_onnx.py [model ...]
"""
import os
import sys

import torch
import torchvision

MODELS = ["resnet18", "resnet50", "efficientnet_b0", "mobilenet_v2", "mobilenet_v3_large"]


def cache_dir():
    home = os.environ.get("TSVISION_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "tsvision")
    return os.path.join(home, "bench-onnx")


def main():
    out = cache_dir()
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[1:] or MODELS:
        torch.manual_seed(0)
        net = getattr(torchvision.models, name)().eval()
        path = os.path.join(out, f"{name}.onnx")
        tmp = path + ".tmp"
        torch.onnx.export(net, torch.randn(1, 3, 224, 224), tmp, opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
        os.replace(tmp, path)
        print(path)


if __name__ == "__main__":
    main()
