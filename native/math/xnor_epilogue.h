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
  // The host loop of the forced scalar path is built for baseline x86-64, where fmaf is a
  // libm call per element. The same single rounding inline: the product of two 24-bit
  // significands is exact in double, and the double sum s rounds once more to float. Those
  // two roundings differ from one only when s lands exactly on a float midpoint (x and s
  // cannot straddle one: it is a double); then the sum is made round-to-odd from its exact
  // error (TwoSum), which rounding to float then undoes correctly (double has more than
  // 24 + 2 bits). Below 2^-126 nothing rounds: x is a multiple of 2^-149 (an integer times
  // a float, plus a float), which float's subnormals hold exactly.
  const double p = static_cast<double>(static_cast<float>(dot)) * static_cast<double>(alpha);
  const double b = static_cast<double>(beta);
  double s = p + b;
  uint64_t u;
  __builtin_memcpy(&u, &s, sizeof u);
  // The 29 bits below float's last significand bit are 100...0.
  if ((u & 0x1fffffffu) == 0x10000000u) {
    const double t = s - p;
    const double err = (p - (s - t)) + (b - t);
    if (err != 0.0 && (u & 1) == 0) {
      u += (err > 0.0) == (s > 0.0) ? 1 : static_cast<uint64_t>(-1);
      __builtin_memcpy(&s, &u, sizeof u);
    }
  }
  return static_cast<float>(s);
#endif
}

// 'bits' output: whether dot * alpha + beta >= 0, exactly. The product is exact in double
// for |dot| < 2^29 and the value is a multiple of 2^-149, so rounding the sum to double
// cannot change its sign or make it zero.
BG_HD BG_INLINE bool xnor_affine_ge0(int64_t dot, float alpha, float beta) {
  return static_cast<double>(dot) * static_cast<double>(alpha) + static_cast<double>(beta) >= 0.0;
}

}  // namespace bg
