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


WORKLOADS = {"gemm": gemm}


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    result = WORKLOADS[spec["workload"]](**spec["args"])
    result["threads"] = spec["threads"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
