"""The PyTorch side of tsvision's benchmarks: runs one named workload with a
given number of threads and prints one JSON line. Called by bench/run.ts, which
interleaves it with the tsvision side and computes the ratios."""
import json
import sys
import time

import torch


def gemm(size, seconds):
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    for _ in range(2):
        torch.mm(a, b)
    iters = 0
    start = time.perf_counter()
    while True:
        torch.mm(a, b)
        iters += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and iters >= 3:
            break
    return {"gflops": 2.0 * size ** 3 * iters / elapsed / 1e9}


def timed(step, seconds, min_iters=3, warmup=2):
    """Runs step() until `seconds` have passed (and at least min_iters times); returns seconds per call."""
    for _ in range(warmup):
        step()
    iters = 0
    start = time.perf_counter()
    while True:
        step()
        iters += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and iters >= min_iters:
            return elapsed / iters


def cifar_cnn():
    """The CIFAR-10 CNN (tsvision's cifar_cnn)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 128, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(4608, 2048), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(2048, 1024), nn.ReLU(), nn.Dropout(0.5), nn.Linear(1024, 10))


def small_net():
    """A small two-class tanh CNN (tsvision's small_net)."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
        nn.Conv2d(16, 8, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 32), nn.Tanh(), nn.Linear(32, 2))


def mlp():
    nn = torch.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10))


def convnet():
    """tsvision's ConvNet (the command line's default): VGG-style stages with batch norm, global pooling."""
    nn = torch.nn
    layers, c = [], 3
    for w in (32, 64, 128):
        layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
                   nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
        c = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(c, 10))


NETS = {"cifar-cnn-train": (cifar_cnn, (3, 32, 32), 10), "small-net-train": (small_net, (3, 32, 32), 2),
        "mlp-train": (mlp, (1, 28, 28), 10), "convnet-train": (convnet, (3, 64, 64), 10)}


def train(net, batch, seconds):
    """One whole training step (forward, cross-entropy, backward, Adam) per call; images per second."""
    make, shape, classes = NETS[net]
    torch.manual_seed(0)
    model = make()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, *shape)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return {"images_per_s": batch / timed(step, seconds)}


def conv_layer(kind, seconds):
    """Forward and backward (input and weight gradients) of one convolution; calls per second."""
    nn = torch.nn
    if kind == "3x3":
        layer, shape = nn.Conv2d(64, 64, 3, padding=1, bias=False), (16, 64, 56, 56)
    elif kind == "depthwise":
        layer, shape = nn.Conv2d(144, 144, 3, padding=1, groups=144, bias=False), (16, 144, 56, 56)
    else:
        layer, shape = nn.Conv2d(96, 576, 1, bias=False), (16, 96, 28, 28)
    x = torch.randn(*shape, requires_grad=True)
    gy = None

    def step():
        nonlocal gy
        y = layer(x)
        if gy is None:
            gy = torch.randn_like(y)
        y.backward(gy)
        x.grad = None
        layer.weight.grad = None

    return {"calls_per_s": 1.0 / timed(step, seconds)}


def peak_mb():
    """Peak resident memory of this process so far, in MB (ru_maxrss is in KiB on Linux)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def torchvision_model(model):
    import torchvision
    torch.manual_seed(0)
    return getattr(torchvision.models, model)()


def model_infer(model, batch, seconds, size=224):
    """Inference of a torchvision model (eval, no_grad): ms per call and images per second."""
    net = torchvision_model(model).eval()
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        t = timed(lambda: net(x), seconds)
    return {"ms": t * 1000, "images_per_s": batch / t, "peak_mb": peak_mb()}


def model_train(model, batch, seconds, size=224):
    """One whole training step of a torchvision model (forward, cross-entropy, backward, SGD with momentum)."""
    net = torchvision_model(model).train()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 1000, (batch,))

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    t = timed(step, seconds, min_iters=2, warmup=1)
    return {"images_per_s": batch / t, "peak_mb": peak_mb()}


def read_idx(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist_epoch(dir):
    """One training epoch of the classic MNIST CNN, then test accuracy (see bench/mnist.ts)."""
    import os
    nn = torch.nn

    def load(split):
        x = torch.from_numpy(read_idx(os.path.join(dir, split + "-images-idx3-ubyte")).copy()).float()
        y = torch.from_numpy(read_idx(os.path.join(dir, split + "-labels-idx1-ubyte")).copy()).long()
        return ((x / 255 - 0.1307) / 0.3081).unsqueeze(1), y

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(ytr))
    start = time.perf_counter()
    model.train()
    for b in range(0, len(ytr), 64):
        idx = order[b:b + 64]
        opt.zero_grad()
        loss = loss_fn(model(xtr[idx]), ytr[idx])
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(xte[b:b + 1000]).argmax(1) == yte[b:b + 1000]).sum()) for b in range(0, len(yte), 1000))
    return {"seconds": seconds, "accuracy": correct / len(yte)}


WORKLOADS = {"gemm": gemm, "train": train, "conv_layer": conv_layer, "mnist_epoch": mnist_epoch, "model_infer": model_infer, "model_train": model_train}


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    result = WORKLOADS[spec["workload"]](**spec["args"])
    result["threads"] = spec["threads"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
