// Float overloads of the primitives the per-element math templates use.
// Vector types (native/cpu/vec_*.h) provide the same names, so a loss written once
// against these names compiles for scalar CPU, AVX2, AVX-512 and CUDA.
#pragma once
#include <cmath>
#include "../common/hd.h"

namespace bg {

BG_HD BG_INLINE float vexp(float x) { return expf(x); }
BG_HD BG_INLINE float vlog1p(float x) { return log1pf(x); }
// log1p for u in [0, 1] or NaN only (the SIMD versions skip the other cases' selects).
BG_HD BG_INLINE float vlog1p_unit(float x) { return log1pf(x); }
BG_HD BG_INLINE float vabs(float x) { return fabsf(x); }
BG_HD BG_INLINE float vmax(float a, float b) { return a > b ? a : (a != a ? a : b); }
// select(c, a, b) = c ? a : b, where c comes from a comparison below.
BG_HD BG_INLINE float vselect(bool c, float a, float b) { return c ? a : b; }
BG_HD BG_INLINE bool vge(float a, float b) { return a >= b; }
BG_HD BG_INLINE float vrecip(float x) { return 1.0f / x; }
// Estimator primitives (math/estimators.h); the vector types provide the same names.
BG_HD BG_INLINE float vmin(float a, float b) { return a < b ? a : (a != a ? a : b); }
BG_HD BG_INLINE bool vlt(float a, float b) { return a < b; }
BG_HD BG_INLINE bool vle(float a, float b) { return a <= b; }
BG_HD BG_INLINE bool veq(float a, float b) { return a == b; }
BG_HD BG_INLINE bool visnan(float a) { return a != a; }
BG_HD BG_INLINE float vfma(float a, float b, float c) { return fmaf(a, b, c); }
BG_HD BG_INLINE float vlog(float x) { return logf(x); }
BG_HD BG_INLINE float vsin(float x) { return sinf(x); }
BG_HD BG_INLINE float vcos(float x) { return cosf(x); }
// Round to nearest, ties to even (the default rounding mode; torch.round).
BG_HD BG_INLINE float vround(float x) { return rintf(x); }
// x = m 2^e with m in [1, 2), for finite x > 0 (subnormals included): returns m, sets e.
// With vldexp, the pieces of the polynomial log2 / exp2 of math/estimators.h.
BG_HD BG_INLINE float vmant_exp(float x, float& e) {
  int k = 0;
  const float m = frexpf(x, &k);
  e = static_cast<float>(k - 1);
  return m + m;
}
// a 2^n for an integral n with |n| < 2^30 (one rounding).
BG_HD BG_INLINE float vldexp(float a, float n) { return ldexpf(a, static_cast<int>(n)); }

}  // namespace bg
