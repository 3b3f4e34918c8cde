// Plain description of one bit-packing call, shared by the CPU and CUDA backends.
//
// Bit convention (specs/binarize-mst.md §0, specs/bnn-kernels.md §0): bit 1 <=> +1,
// set when x >= 0 compared by value (so -0 packs to 1, +Inf to 1, -Inf to 0); NaN is
// an error. Bits are packed LSB first: channel c of a row is bit (c % 64) of word
// (c / 64). Padding bits past k in a row's last word are always written as 0.
//
// The input is addressed through strides so one entry serves NHWC (channels
// contiguous), NCHW (channel planes, transposed to NHWC in the same pass) and plain
// row-major matrices: output row r = o * inner + i (o < outer, i < inner) packs the
// k floats at  x + o * outer_stride + i * inner_stride + c * k_stride  (c < k).
//   NHWC [N,H,W,C]: outer = N, inner = H*W, k = C, strides (H*W*C, C, 1)
//   NCHW [N,C,H,W]: outer = N, inner = H*W, k = C, strides (C*H*W, 1, H*W)
//   rows [M,K]:     outer = 1, inner = M,   k = K, strides (M*K, K, 1)
//
// Fused binarize + pack (an estimator's forward whose sign is taken after a shift, e.g.
// ReActNet RSign's per-channel threshold): when `thresh` is set, channel c's bit is
// (x - thresh[c * thresh_stride]) >= 0 computed in float32 (bit-identical to packing the
// estimator's forward sign(x - t)), and a NaN difference (NaN x, NaN t, inf - inf) is
// the error. thresh_stride is 1 (one value per channel, k values) or 0 (one value).
#pragma once
#include <cstddef>
#include <cstdint>

namespace bg {

struct PackArgs {
  const float* x = nullptr;
  uint64_t* out = nullptr;    // outer * inner rows of `words` words
  int64_t outer = 0;
  int64_t inner = 0;
  int64_t k = 0;              // logical bits per row
  int64_t words = 0;          // words per row, >= ceil(k / 64); words past ceil(k/64) are zeroed
  int64_t outer_stride = 0;   // in floats
  int64_t inner_stride = 0;
  int64_t k_stride = 1;
  const float* thresh = nullptr;  // optional per-channel threshold (same device as x)
  int64_t thresh_stride = 0;      // 1: thresh[c]; 0: thresh[0] for every channel
};

// Unpacks `rows` rows of `words` words into rows * k floats (+1 / -1), row-major.
struct UnpackArgs {
  const uint64_t* bits = nullptr;
  float* out = nullptr;
  int64_t rows = 0;
  int64_t k = 0;
  int64_t words = 0;
};

}  // namespace bg
