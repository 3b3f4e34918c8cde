// Plain description of the binary dense layer's backward products (float x ±1 GEMMs
// that read bits), shared by the CPU and CUDA backends. See lib/xnor/index.ts
// (linearBackward) for the facade.
//
// With g = gradOut [m][n] (float), X_b the ±1 rows of x (bits, [m][words]), W_b the ±1
// rows of w (bits, [n][words]), k bits per row (bit 1 <=> +1, padding bits ignored):
//   gx[i][q] = sum_j c[i][j] * W_b[j][q],  c[i][j] = float(g[i][j] * alpha[j])   (gradInput)
//   gw[j][q] = sum_i g[i][j] * X_b[i][q]                                        (gradWeight)
// Both are evaluated as the sum, in float32 in increasing index order, of each
// coefficient with the sign of its bit (+c where the bit is 1, -c where it is 0), one
// rounding per step, so the CPU paths, any thread count and CUDA give the same bits.
#pragma once
#include <cstdint>

namespace bg {

struct XnorLinearBwdArgs {
  const float* g = nullptr;      // [m][n]
  const float* alpha = nullptr;  // [n] or null (1)
  const uint64_t* x = nullptr;   // [m][words]; needed for gw
  const uint64_t* w = nullptr;   // [n][words]; needed for gx
  float* gx = nullptr;           // [m][k] or null (not computed)
  float* gw = nullptr;           // [n][k] or null (not computed)
  int64_t m = 0, n = 0, k = 0, words = 0;
};

}  // namespace bg
