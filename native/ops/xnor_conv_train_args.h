// Plain description of the binary convolution's backward products (float x ±1
// implicit GEMMs that read bits), shared by the CPU and CUDA backends. See
// lib/xnor/conv-train.ts for the facade; geometry as native/ops/xnor_args.h.
//
// g = gradOut, NHWC [n][ho][wo][cout] float. X_b / W_b: the ±1 values of the input
// bits x (words [n][h][w][xwords]) and the weight bits w (words [cout][kh][kw][gwords]),
// bit 1 <=> +1. Tap t = ky * kw + kx; output pixel p = (ni * ho + oy) * wo + ox reads
// iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw.
//
// gx [n][h][w][c] (gradient w.r.t. the binarized input, the transposed conv): for input
// pixel (ni, iy, ix) and channel g * cg + ci, the sum over j = t * coutg + co (co in group
// g, increasing j: tap-major) of c_j * W_b[g * coutg + co][t][ci], where c_j = g[p][co'] * alpha[co']
// (float32 product; g[p][co'] alone when alpha is null) if tap t of some output pixel p
// lands on (iy, ix), else c_j = 0. Out-of-image taps never reach an input pixel, so
// pad_mode does not matter here.
// gw [cout][kh][kw][cg] (correlation): for co in group g, tap t and ci, the sum over
// output pixels p in increasing order of g[p][co] * X(p, t, ci), where X is X_b at
// (ni, iy, ix, g * cg + ci) inside the image, and outside it +1 (pad_mode 1) or 0 (pad
// mode 0: such p are left out of both sums below).
// Both are evaluated as the sum, in float32 in increasing j order, of each coefficient
// with the sign of its bit (+c where the bit is 1, -c where it is 0), one rounding per step,
// so every CPU path, any thread count and CUDA give the same bits.
#pragma once
#include <cstdint>

#include "xnor_args.h"

namespace bg {

struct XnorConvBwdArgs : ConvGeometry {
  const float* g = nullptr;      // [n][ho][wo][cout]
  const float* alpha = nullptr;  // [cout] or null (1); gx only
  const uint64_t* x = nullptr;   // needed for gw
  const uint64_t* w = nullptr;   // needed for gx
  float* gx = nullptr;           // [n][h][w][c] or null (not computed)
  float* gw = nullptr;           // [cout][kh][kw][cg] or null (not computed)
  XnorConvBwdArgs() { pad_mode = 0; }
};

}  // namespace bg
