// The per-element epilogue math of the XNOR ops (xnor.gemm, xnor.conv2d, xnor.linear),
// shared by the CPU loops and the CUDA kernels; the SIMD paths compute the same values
// (a float FMA, and the same sign).
#pragma once
#include <cstdint>

#include "../common/hd.h"

namespace bg {

// 'float' output before the residual: fmaf(float(dot), alpha, beta), one rounding. For
// |dot| <= 2^24 (every K up to 16 M bits) float(dot) is exact, so this is dot * alpha +
// beta correctly rounded to float. (Rounding dot * alpha + beta to double first and then
// to float would round twice and differ in rare ties.)
BG_HD BG_INLINE float xnor_affine(int64_t dot, float alpha, float beta) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(__ll2float_rn(static_cast<long long>(dot)), alpha, beta);
#else
  return __builtin_fmaf(static_cast<float>(dot), alpha, beta);
#endif
}

// 'bits' output: whether dot * alpha + beta >= 0, exactly. The product is exact in double
// for |dot| < 2^29 and the value is a multiple of 2^-149, so rounding the sum to double
// cannot change its sign or make it zero.
BG_HD BG_INLINE bool xnor_affine_ge0(int64_t dot, float alpha, float beta) {
  return static_cast<double>(dot) * static_cast<double>(alpha) + static_cast<double>(beta) >= 0.0;
}

}  // namespace bg
