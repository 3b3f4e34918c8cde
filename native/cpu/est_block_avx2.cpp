// AVX2 + FMA estimator loops (8 floats per step). Compiled with -mavx2 -mfma, and only
// this file is. ODR safety as in bce_block_avx512.cpp: everything but est_table_avx2 is
// in an anonymous namespace (vec_avx2.h, ew_engine.h), estimators are instantiated only
// with F8 (tails are masked, no float instantiation here), no inline std:: calls.
#include "est_kernels.h"

#if defined(__x86_64__)

#include "vec_avx2.h"
// clang-format off
#include "ew_engine.h"
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
  // Out lane L of the two 8-lane halves takes step element p = (L - h) mod 16: lane p % 8
  // of vector p / 8 (one permute of each vector, then a blend).
  struct Rot16 {
    __m256i idx[2];
    __m256 hi[2];  // all ones where p >= 8
  };
  static BG_INLINE Rot16 rot16(size_t h) {
    Rot16 r;
    for (int half = 0; half < 2; ++half) {
      const __m256i p = _mm256_and_si256(
          _mm256_sub_epi32(_mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(8 * half)),
                           _mm256_set1_epi32(static_cast<int>(h))),
          _mm256_set1_epi32(15));
      r.idx[half] = _mm256_and_si256(p, _mm256_set1_epi32(7));
      r.hi[half] = _mm256_castsi256_ps(_mm256_cmpgt_epi32(p, _mm256_set1_epi32(7)));
    }
    return r;
  }
  static BG_INLINE void rotate16(const F8 (&v)[2], const Rot16& r, F8 (&out)[2]) {
    for (int half = 0; half < 2; ++half)
      out[half] = _mm256_blendv_ps(_mm256_permutevar8x32_ps(v[0].v, r.idx[half]),
                                   _mm256_permutevar8x32_ps(v[1].v, r.idx[half]), r.hi[half]);
  }
  // Block-sum lanes (ew_engine.h ew_sum_block): vector k of a 16-element step into
  // lanes 8k .. 8k + 7, i.e. v[2k] (its low half) and v[2k + 1].
  struct DAcc {
    __m256d v[4];
  };
  static BG_INLINE void dzero(DAcc& a) {
    for (__m256d& d : a.v) d = _mm256_setzero_pd();
  }
  static BG_INLINE void dadd(DAcc& acc, size_t k, F8 a) {
    acc.v[2 * k] = _mm256_add_pd(acc.v[2 * k], _mm256_cvtps_pd(_mm256_castps256_ps128(a.v)));
    acc.v[2 * k + 1] = _mm256_add_pd(acc.v[2 * k + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(a.v, 1)));
  }
  static BG_INLINE void dstore(const DAcc& a, double* l) {
    for (int i = 0; i < 4; ++i) _mm256_storeu_pd(l + 4 * i, a.v[i]);
  }
};

}  // namespace

const EstTable est_table_avx2 = make_est_table<PAvx2>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
