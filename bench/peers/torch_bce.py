#!/usr/bin/env python3
"""Peer timing for bench/benchmark.js (Debian's python3-torch on the CPU machines:
/usr/bin/python3 bench/peers/torch_bce.py 1e7 --cpu --threads 2): PyTorch binary_cross_entropy_with_logits forward
plus backward (mean) on the same n, on the GPU when one is there (else the CPU).
Prints one JSON line. Not a test."""
import json
import sys
import time

import torch
import torch.nn.functional as F

n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000
dev = "cuda" if torch.cuda.is_available() and "--cpu" not in sys.argv else "cpu"
if "--threads" in sys.argv:
    torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
g = torch.Generator().manual_seed(0)
x = (torch.rand(n, generator=g) * 16 - 8).to(dev).requires_grad_(True)
y = (torch.arange(n) % 8).float().div(7).to(dev)


def step():
    x.grad = None
    loss = F.binary_cross_entropy_with_logits(x, y)
    loss.backward()
    return loss


for _ in range(3):
    step()
times = []
for _ in range(20 if dev == "cuda" else 5):
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
print(json.dumps({"peer": f"torch {torch.__version__} {dev}", "n": n, "medianMs": times[len(times) // 2],
                  "threads": torch.get_num_threads()}))
