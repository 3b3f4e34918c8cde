// 8 x float AVX2 + FMA vector type with the primitive names of math/scalar.h, so the
// per-element templates (math/*.h) and vmath.h instantiate for it.
//
// Include ONLY from bce_block_avx2.cpp (compiled with -mavx2 -mfma). Everything here is
// in an anonymous namespace: no AVX2-compiled copy of a shared inline function can be
// picked by the linker for baseline code. No std:: library calls on purpose.
#pragma once
#if !defined(__AVX2__) || !defined(__FMA__)
#error "vec_avx2.h needs -mavx2 -mfma"
#endif
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "../common/hd.h"

namespace bg {
namespace cpu {
namespace {

struct M8 {
  __m256 v;  // all-ones / all-zeros lanes
};
BG_INLINE M8 operator|(M8 a, M8 b) { return {_mm256_or_ps(a.v, b.v)}; }
BG_INLINE M8 operator&(M8 a, M8 b) { return {_mm256_and_ps(a.v, b.v)}; }

struct I8 {
  __m256i v;
  I8() = default;
  BG_INLINE I8(__m256i x) : v(x) {}
  BG_INLINE explicit I8(int32_t s) : v(_mm256_set1_epi32(s)) {}
};
BG_INLINE I8 operator+(I8 a, I8 b) { return _mm256_add_epi32(a.v, b.v); }
BG_INLINE I8 operator-(I8 a, I8 b) { return _mm256_sub_epi32(a.v, b.v); }
BG_INLINE I8 operator&(I8 a, I8 b) { return _mm256_and_si256(a.v, b.v); }
BG_INLINE I8 operator|(I8 a, I8 b) { return _mm256_or_si256(a.v, b.v); }
BG_INLINE I8 operator<<(I8 a, int s) { return _mm256_slli_epi32(a.v, s); }
BG_INLINE I8 operator>>(I8 a, int s) { return _mm256_srai_epi32(a.v, s); }

struct F8 {
  using Int = I8;
  using Mask = M8;
  static constexpr int kLanes = 8;
  __m256 v;
  F8() = default;
  BG_INLINE F8(__m256 x) : v(x) {}
  BG_INLINE explicit F8(float s) : v(_mm256_set1_ps(s)) {}

  static BG_INLINE F8 loadu(const float* p) { return _mm256_loadu_ps(p); }
  BG_INLINE void storeu(float* p) const { _mm256_storeu_ps(p, v); }
  // Lanes whose bit is set in the mask are read / written; the others read as 0 and
  // are not touched in memory (no fault past the end of the array).
  static BG_INLINE F8 load_masked(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
  BG_INLINE void store_masked(float* p, __m256i m) const { _mm256_maskstore_ps(p, m, v); }
};

// Integer lane mask with the first k (0..8) lanes set.
BG_INLINE __m256i first_lanes8(size_t k) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(k)), iota);
}

BG_INLINE F8 operator+(F8 a, F8 b) { return _mm256_add_ps(a.v, b.v); }
BG_INLINE F8 operator-(F8 a, F8 b) { return _mm256_sub_ps(a.v, b.v); }
BG_INLINE F8 operator*(F8 a, F8 b) { return _mm256_mul_ps(a.v, b.v); }
BG_INLINE F8 operator/(F8 a, F8 b) { return _mm256_div_ps(a.v, b.v); }

BG_INLINE F8 vfma(F8 a, F8 b, F8 c) { return _mm256_fmadd_ps(a.v, b.v, c.v); }
BG_INLINE F8 vround(F8 a) { return _mm256_round_ps(a.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
BG_INLINE I8 vtrunc_int(F8 a) { return _mm256_cvttps_epi32(a.v); }
BG_INLINE F8 vint_to_float(I8 a) { return _mm256_cvtepi32_ps(a.v); }
BG_INLINE I8 vbits(F8 a) { return _mm256_castps_si256(a.v); }
BG_INLINE F8 vfrom_bits(I8 a) { return _mm256_castsi256_ps(a.v); }

BG_INLINE M8 vlt(F8 a, F8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)}; }
BG_INLINE M8 veq(F8 a, F8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)}; }
BG_INLINE M8 vge(F8 a, F8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_GE_OQ)}; }
BG_INLINE M8 vle(F8 a, F8 b) { return {_mm256_cmp_ps(a.v, b.v, _CMP_LE_OQ)}; }
BG_INLINE M8 visnan(F8 a) { return {_mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q)}; }
BG_INLINE F8 vselect(M8 c, F8 a, F8 b) { return _mm256_blendv_ps(b.v, a.v, c.v); }

// Same semantics as math/scalar.h: a > b ? a : (a is NaN ? a : b).
BG_INLINE F8 vmax(F8 a, F8 b) { return vselect(visnan(a), a, F8(_mm256_max_ps(a.v, b.v))); }
BG_INLINE F8 vmin(F8 a, F8 b) { return vselect(visnan(a), a, F8(_mm256_min_ps(a.v, b.v))); }
BG_INLINE F8 vabs(F8 a) { return _mm256_and_ps(a.v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
// Exact IEEE 1/x (a division, not the approximate rcp instruction).
BG_INLINE F8 vrecip(F8 a) { return _mm256_div_ps(_mm256_set1_ps(1.0f), a.v); }
// x = m 2^e, m in [1, 2), for finite x > 0 (as math/scalar.h). Subnormals are scaled
// by 2^23 first so their exponent field is meaningful.
BG_INLINE F8 vmant_exp(F8 x, F8& e) {
  const M8 sub = vlt(x, F8(0x1p-126f));
  const I8 b = vbits(vselect(sub, x * F8(0x1p23f), x));
  e = vint_to_float(((b >> 23) & I8(0xff)) - I8(127)) - vselect(sub, F8(23.0f), F8(0.0f));
  return vfrom_bits((b & I8(0x007fffff)) | I8(0x3f800000));
}
// a 2^n for integral n, |n| <= 252: two exact power-of-two factors of about n/2 each,
// so neither leaves the normal exponent range.
BG_INLINE F8 vldexp(F8 a, F8 n) {
  const I8 k = vtrunc_int(n);
  const I8 k1 = k >> 1;
  const I8 k2 = k - k1;
  return (a * vfrom_bits((k1 + I8(127)) << 23)) * vfrom_bits((k2 + I8(127)) << 23);
}

}  // namespace
}  // namespace cpu
}  // namespace bg

#include "vmath.h"

namespace bg {
namespace cpu {
namespace {

BG_INLINE F8 vexp(F8 x) { return vmath::expf_v(x); }
BG_INLINE F8 vlog1p(F8 x) { return vmath::log1pf_v(x); }
BG_INLINE F8 vlog1p_unit(F8 x) { return vmath::log1pf_unit_v(x); }
BG_INLINE F8 vlog(F8 x) { return vmath::logf_v(x); }
BG_INLINE F8 vsin(F8 x) { return vmath::sincosf_v<F8, false>(x); }
BG_INLINE F8 vcos(F8 x) { return vmath::sincosf_v<F8, true>(x); }

}  // namespace
}  // namespace cpu
}  // namespace bg
