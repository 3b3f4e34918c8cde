#!/usr/bin/env python3
"""Peer timing for bench/xnor.js: fp32 GEMM (torch.mm) and fp32 conv2d (NCHW and
channels_last) of the same logical shapes as the binary kernels, on the CPU.
Usage: /usr/bin/python3 bench/peers/torch_xnor.py --threads 1
Prints one JSON line: per shape the best time in seconds. Not a test."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
torch.set_num_threads(threads)
torch.manual_seed(0)


def best(fn, reps):
    for _ in range(2):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


if "--cuda" in sys.argv:
    # bench/xnor.js --gpu: cuBLAS SGEMM (fp32, TF32 off) of size^3 on cuda:0, CUDA-event timed.
    n = int(sys.argv[sys.argv.index("--size") + 1]) if "--size" in sys.argv else 8192
    torch.backends.cuda.matmul.allow_tf32 = False
    ga = torch.randn(n, n, device="cuda")
    gb = torch.randn(n, n, device="cuda")
    for _ in range(3):
        torch.mm(ga, gb)
    torch.cuda.synchronize()
    ts = []
    for _ in range(10):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        torch.mm(ga, gb)
        e.record()
        e.synchronize()
        ts.append(s.elapsed_time(e) / 1e3)
    print(json.dumps({"torch": torch.__version__, "device": torch.cuda.get_device_name(0), "tf32": False,
                      "sgemm": {f"{n}x{n}x{n}": min(ts)}}))
    sys.exit(0)
out = {"torch": torch.__version__, "threads": torch.get_num_threads(),
       # OpenBLAS sizes its own pool; bench/common.js runPeer sets it to --threads.
       "blasThreads": os.environ.get("OPENBLAS_NUM_THREADS", "unset (all cores)"),
       "blas": "see torch.__config__.show()", "gemm": {}, "conv": {}, "conv_cl": {}}
a = torch.randn(1024, 4096)
b = torch.randn(4096, 1024)
out["gemm"]["1024x1024x4096"] = best(lambda: torch.mm(a, b), 5)
# Dense layer backward of the same shape: grad_input = g W, grad_weight = g^T X.
g = torch.randn(1024, 1024)
wl = torch.randn(1024, 4096)
out["linear_bwd"] = {"1024x4096->1024": best(lambda: (torch.mm(g, wl), torch.mm(g.t(), a)), 5)}
for (hw, c) in [(56, 64), (28, 128), (14, 256), (7, 512)]:
    m, k = hw * hw, 9 * c
    x = torch.randn(m, k)
    w = torch.randn(k, c)
    out["gemm"][f"{hw}x{hw}x{c}"] = best(lambda: torch.mm(x, w), 10)
    xi = torch.randn(1, c, hw, hw)
    wi = torch.randn(c, c, 3, 3)
    with torch.no_grad():
        out["conv"][f"{hw}x{hw}x{c}"] = best(lambda: F.conv2d(xi, wi, padding=1), 10)
        xc = xi.contiguous(memory_format=torch.channels_last)
        wc = wi.contiguous(memory_format=torch.channels_last)
        out["conv_cl"][f"{hw}x{hw}x{c}"] = best(lambda: F.conv2d(xc, wc, padding=1), 10)
# Conv backward (grad_input + grad_weight, no bias) of the same layers, the faster of
# NCHW and channels_last.
out["conv_bwd"] = {}
for (hw, c) in [(56, 64), (28, 128), (14, 256), (7, 512)]:
    ts = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        xi = torch.randn(1, c, hw, hw).contiguous(memory_format=fmt)
        wi = torch.randn(c, c, 3, 3).contiguous(memory_format=fmt)
        gi = torch.randn(1, c, hw, hw).contiguous(memory_format=fmt)
        ts.append(best(lambda: torch.ops.aten.convolution_backward(
            gi, xi, wi, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, True, False]), 10))
    out["conv_bwd"][f"{hw}x{hw}x{c}"] = min(ts)
print(json.dumps(out))
