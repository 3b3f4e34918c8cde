// AVX2 + FMA row-binarizer loops (8 floats per step). Compiled with -mavx2 -mfma, and only
// this file is. ODR safety as in bce_block_avx512.cpp: everything but scale_table_avx2 is
// in an anonymous namespace (vec_avx2.h, scale_engine.h), estimators are instantiated only
// with F8 (tails are masked, no float instantiation here), no inline std:: calls.
#include "scale_kernels.h"

#if defined(__x86_64__)

#include "vec_avx2.h"
// clang-format off
#include "scale_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PAvx2 {
  using V = F8;
  using Mask = __m256i;
  static constexpr size_t kLanes = 8;
  static BG_INLINE F8 ld(const float* p) { return F8::loadu(p); }
  static BG_INLINE void st(float* p, F8 v) { v.storeu(p); }
  static BG_INLINE F8 ldm(const float* p, __m256i m) { return F8::load_masked(p, m); }
  static BG_INLINE void stm(float* p, F8 v, __m256i m) { v.store_masked(p, m); }
  static BG_INLINE void stream(float* p, F8 v) { _mm256_stream_ps(p, v.v); }
  static BG_INLINE void fence() { _mm_sfence(); }
  static BG_INLINE __m256i tail(size_t k) { return first_lanes8(k); }
  static BG_INLINE F8 zero_off(F8 v, __m256i m) { return _mm256_and_ps(v.v, _mm256_castsi256_ps(m)); }
  // Row-sum lanes (scale_engine.h sc_reduce): vector k of a 16-element step into lanes
  // 8k .. 8k + 7, i.e. v[2k] (its low half) and v[2k + 1]. The products are exact, so
  // the FMA rounds only the addition, as the scalar path's separate add does.
  struct DAcc {
    __m256d v[4];
  };
  static BG_INLINE void dzero(DAcc& a) {
    for (__m256d& d : a.v) d = _mm256_setzero_pd();
  }
  static BG_INLINE void dadd(DAcc& acc, size_t k, F8 a, F8 b) {
    const __m256d alo = _mm256_cvtps_pd(_mm256_castps256_ps128(a.v)), ahi = _mm256_cvtps_pd(_mm256_extractf128_ps(a.v, 1));
    const __m256d blo = _mm256_cvtps_pd(_mm256_castps256_ps128(b.v)), bhi = _mm256_cvtps_pd(_mm256_extractf128_ps(b.v, 1));
    acc.v[2 * k] = _mm256_fmadd_pd(alo, blo, acc.v[2 * k]);
    acc.v[2 * k + 1] = _mm256_fmadd_pd(ahi, bhi, acc.v[2 * k + 1]);
  }
  static BG_INLINE void dstore(const DAcc& a, double* l) {
    for (int i = 0; i < 4; ++i) _mm256_storeu_pd(l + 4 * i, a.v[i]);
  }
};

}  // namespace

const ScaleTable scale_table_avx2 = make_scale_table<PAvx2>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
