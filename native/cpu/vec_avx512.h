// 16 x float AVX-512 vector type with the primitive names of math/scalar.h, so the
// per-element templates (math/*.h) and vmath.h instantiate for it.
//
// Include ONLY from bce_block_avx512.cpp (compiled with -mavx512f -mavx512dq -mavx512bw
// -mavx512vl -mfma). Everything here is in an anonymous namespace: no AVX-512-compiled
// copy of a shared inline function can be picked by the linker for baseline code.
// No std:: library calls on purpose.
#pragma once
#if !defined(__AVX512F__) || !defined(__AVX512DQ__)
#error "vec_avx512.h needs -mavx512f -mavx512dq"
#endif
// GCC 12.2 reports a false -Wmaybe-uninitialized inside many AVX-512 intrinsics (the
// _mm512_undefined_* self-initialisation) once they are inlined; the
// diagnostic state is taken at the header's lines, so silencing it around the include
// covers exactly those and nothing of ours.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstddef>
#include <cstdint>

#include "../common/hd.h"

namespace bg {
namespace cpu {
namespace {

struct M16 {
  __mmask16 k;
};
BG_INLINE M16 operator|(M16 a, M16 b) { return {static_cast<__mmask16>(a.k | b.k)}; }
BG_INLINE M16 operator&(M16 a, M16 b) { return {static_cast<__mmask16>(a.k & b.k)}; }

struct I16 {
  __m512i v;
  I16() = default;
  BG_INLINE I16(__m512i x) : v(x) {}
  BG_INLINE explicit I16(int32_t s) : v(_mm512_set1_epi32(s)) {}
};
BG_INLINE I16 operator+(I16 a, I16 b) { return _mm512_add_epi32(a.v, b.v); }
BG_INLINE I16 operator-(I16 a, I16 b) { return _mm512_sub_epi32(a.v, b.v); }
BG_INLINE I16 operator&(I16 a, I16 b) { return _mm512_and_si512(a.v, b.v); }
BG_INLINE I16 operator|(I16 a, I16 b) { return _mm512_or_si512(a.v, b.v); }
BG_INLINE I16 operator<<(I16 a, int s) { return _mm512_slli_epi32(a.v, static_cast<unsigned>(s)); }
BG_INLINE I16 operator>>(I16 a, int s) { return _mm512_srai_epi32(a.v, static_cast<unsigned>(s)); }

struct F16 {
  using Int = I16;
  using Mask = M16;
  static constexpr int kLanes = 16;
  __m512 v;
  F16() = default;
  BG_INLINE F16(__m512 x) : v(x) {}
  BG_INLINE explicit F16(float s) : v(_mm512_set1_ps(s)) {}

  static BG_INLINE F16 loadu(const float* p) { return _mm512_loadu_ps(p); }
  BG_INLINE void storeu(float* p) const { _mm512_storeu_ps(p, v); }
  // Masked-off lanes read as 0 and are not touched in memory (fault suppression).
  static BG_INLINE F16 load_masked(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
  BG_INLINE void store_masked(float* p, __mmask16 m) const { _mm512_mask_storeu_ps(p, m, v); }
};

// Mask with the first k (0..16) lanes set.
BG_INLINE __mmask16 first_lanes16(size_t k) {
  return static_cast<__mmask16>((1u << k) - 1u);
}

BG_INLINE F16 operator+(F16 a, F16 b) { return _mm512_add_ps(a.v, b.v); }
BG_INLINE F16 operator-(F16 a, F16 b) { return _mm512_sub_ps(a.v, b.v); }
BG_INLINE F16 operator*(F16 a, F16 b) { return _mm512_mul_ps(a.v, b.v); }
BG_INLINE F16 operator/(F16 a, F16 b) { return _mm512_div_ps(a.v, b.v); }

BG_INLINE F16 vfma(F16 a, F16 b, F16 c) { return _mm512_fmadd_ps(a.v, b.v, c.v); }
BG_INLINE F16 vround(F16 a) {
  return _mm512_mask_roundscale_ps(a.v, static_cast<__mmask16>(0xffff), a.v,
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
BG_INLINE I16 vtrunc_int(F16 a) { return _mm512_cvttps_epi32(a.v); }
BG_INLINE F16 vint_to_float(I16 a) { return _mm512_cvtepi32_ps(a.v); }
BG_INLINE I16 vbits(F16 a) { return _mm512_castps_si512(a.v); }
BG_INLINE F16 vfrom_bits(I16 a) { return _mm512_castsi512_ps(a.v); }

BG_INLINE M16 vlt(F16 a, F16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ)}; }
BG_INLINE M16 veq(F16 a, F16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ)}; }
BG_INLINE M16 vge(F16 a, F16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_GE_OQ)}; }
BG_INLINE M16 vle(F16 a, F16 b) { return {_mm512_cmp_ps_mask(a.v, b.v, _CMP_LE_OQ)}; }
BG_INLINE M16 visnan(F16 a) { return {_mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q)}; }
BG_INLINE F16 vselect(M16 c, F16 a, F16 b) { return _mm512_mask_blend_ps(c.k, b.v, a.v); }

// Same semantics as math/scalar.h: a > b ? a : (a is NaN ? a : b). max_ps yields b when
// either is NaN; lanes where a is NaN keep a.
BG_INLINE F16 vmax(F16 a, F16 b) {
  const __mmask16 a_num = _mm512_cmp_ps_mask(a.v, a.v, _CMP_ORD_Q);
  return _mm512_mask_max_ps(a.v, a_num, a.v, b.v);
}
BG_INLINE F16 vmin(F16 a, F16 b) {
  const __mmask16 a_num = _mm512_cmp_ps_mask(a.v, a.v, _CMP_ORD_Q);
  return _mm512_mask_min_ps(a.v, a_num, a.v, b.v);
}
BG_INLINE F16 vabs(F16 a) {
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a.v), _mm512_set1_epi32(0x7fffffff)));
}
// Exact IEEE 1/x (a division, not rcp14).
BG_INLINE F16 vrecip(F16 a) { return _mm512_div_ps(_mm512_set1_ps(1.0f), a.v); }
// x = m 2^e, m in [1, 2), for finite x > 0 (as math/scalar.h): getexp / getmant
// handle subnormals themselves.
BG_INLINE F16 vmant_exp(F16 x, F16& e) {
  e = _mm512_getexp_ps(x.v);
  return _mm512_getmant_ps(x.v, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
}
// a 2^n for integral n (scalef rounds once, whatever the range).
BG_INLINE F16 vldexp(F16 a, F16 n) { return _mm512_scalef_ps(a.v, n.v); }

}  // namespace
}  // namespace cpu
}  // namespace bg

#include "vmath.h"

namespace bg {
namespace cpu {
namespace {

BG_INLINE F16 vexp(F16 x) { return vmath::expf_v(x); }
BG_INLINE F16 vlog1p(F16 x) { return vmath::log1pf_v(x); }
BG_INLINE F16 vlog1p_unit(F16 x) { return vmath::log1pf_unit_v(x); }
BG_INLINE F16 vlog(F16 x) { return vmath::logf_v(x); }
BG_INLINE F16 vsin(F16 x) { return vmath::sincosf_v<F16, false>(x); }
BG_INLINE F16 vcos(F16 x) { return vmath::sincosf_v<F16, true>(x); }

}  // namespace
}  // namespace cpu
}  // namespace bg
