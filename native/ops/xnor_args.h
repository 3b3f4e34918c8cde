// Plain description of one XNOR-popcount convolution (GEMM is the 1x1 case), shared by
// the CPU and CUDA backends. See lib/xnor/index.ts for the facade.
//
// Arithmetic (specs/bnn-kernels.md §0): bit 1 <=> +1, padding bits past a row's true
// bit count are 0 in both operands, and a ±1 dot product over K valid bits is
// K - 2 * popc(a XOR w).
//
// x: activations, words [n][h][w][xwords] holding c channels per pixel.
// w: weights, words [cout][kh][kw][gwords] holding cg = c / groups channels per tap.
// Output pixel p = (ni * ho + oy) * wo + ox, channel co in group g = co / (cout / groups)
// reads input channels [g * cg, (g + 1) * cg) at iy = oy * sh - ph + ky * dh,
// ix = ox * sw - pw + kx * dw.
// Padding: pad_mode 1 ('one'): out-of-image taps are +1 in every channel, K is
// kh * kw * cg for every pixel. pad_mode 0 ('zero'): out-of-image taps contribute 0 and
// are left out of K, i.e. dot = valid_bits - 2 * popc over the valid taps only.
// Outputs (NHWC, [n * ho * wo][cout]):
//   out_type 0: int32 dot products into out_i32.
//   out_type 1: float dot * alpha[co] + beta[co] (+ residual[p * cout + co]) into out_f32,
//               computed in float32 as fmaf(float(dot), alpha, beta) then + residual.
//   out_type 2: bits, 1 where double(dot) * alpha[co] + beta[co] >= 0, packed per pixel
//               into ceil(cout / 64) words of out_bits (padding bits 0).
#pragma once
#include <cstdint>

#include "derived_cache.h"

namespace bg {

// The geometry of a binary convolution (forward and backward share it).
struct ConvGeometry {
  int64_t n = 0, h = 0, wd = 0, c = 0, xwords = 0;
  int64_t cout = 0, kh = 1, kw = 1, cg = 0, gwords = 0, groups = 1;
  int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t ho = 0, wo = 0;
  int pad_mode = 1;  // 0 zero, 1 one
};

struct XnorConvArgs : ConvGeometry {
  const uint64_t* x = nullptr;
  const uint64_t* w = nullptr;
  int out_type = 0;  // 0 int32, 1 float, 2 bits
  int32_t* out_i32 = nullptr;
  float* out_f32 = nullptr;
  uint64_t* out_bits = nullptr;
  const float* alpha = nullptr;     // [cout], required for out_type 1 and 2
  const float* beta = nullptr;      // [cout] or null (0)
  const float* residual = nullptr;  // [pixels * cout] or null; out_type 1 only
  // The weight buffer's cache slot (CPU: repacked weights and zero-padding tables) and
  // the version of its bits; null: build them for this call only.
  DerivedCache* wcache = nullptr;
  uint64_t wversion = 0;
};

}  // namespace bg
