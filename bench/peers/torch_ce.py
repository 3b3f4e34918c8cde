#!/usr/bin/env python3
"""Peer timing for bench/benchmark.js (Debian's python3-torch on the CPU machines:
/usr/bin/python3 bench/peers/torch_ce.py 4096 32000 --cpu --threads 2): PyTorch
cross_entropy forward plus backward (mean, int64 class indices) on fp32 logits
[N, V], on the GPU when one is there (else the CPU). Prints one JSON line (median
time and, on the GPU, peak memory). Not a test."""
import json
import sys
import time

import torch
import torch.nn.functional as F

n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 4096
v = int(float(sys.argv[2])) if len(sys.argv) > 2 else 32000
dev = "cuda" if torch.cuda.is_available() and "--cpu" not in sys.argv else "cpu"
if "--threads" in sys.argv:
    torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
g = torch.Generator().manual_seed(0)
x = (torch.rand(n, v, generator=g) * 16 - 8).to(dev).requires_grad_(True)
y = torch.randint(0, v, (n,), generator=g).to(dev)


def step():
    x.grad = None
    loss = F.cross_entropy(x, y)
    loss.backward()
    return loss


for _ in range(2):
    step()
if dev == "cuda":
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
times = []
for _ in range(10 if dev == "cuda" else 5):
    if dev == "cuda":
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        step()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e))
    else:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
times.sort()
out = {"peer": f"torch {torch.__version__} {dev}", "n": n, "v": v, "medianMs": times[len(times) // 2],
       "threads": torch.get_num_threads()}
if dev == "cuda":
    out["peakBytes"] = torch.cuda.max_memory_allocated()
print(json.dumps(out))
