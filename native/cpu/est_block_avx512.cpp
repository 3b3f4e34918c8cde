// AVX-512 estimator loops (16 floats per step). Compiled with -mavx512f -mavx512dq
// -mavx512bw -mavx512vl -mfma, and only this file is. ODR safety as in
// bce_block_avx512.cpp: everything but est_table_avx512 is in an anonymous namespace
// (vec_avx512.h, ew_engine.h), estimators are instantiated only with F16 (tails are
// masked, no float instantiation here), no inline std:: calls.
#include "est_kernels.h"

#if defined(__x86_64__)

#include "vec_avx512.h"
// clang-format off
#include "ew_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PAvx512 {
  using V = F16;
  using Mask = __mmask16;
  static constexpr size_t kLanes = 16;
  static BG_INLINE F16 ld(const float* p) { return F16::loadu(p); }
  static BG_INLINE void st(float* p, F16 v) { v.storeu(p); }
  static BG_INLINE F16 ldm(const float* p, __mmask16 m) { return F16::load_masked(p, m); }
  static BG_INLINE void stm(float* p, F16 v, __mmask16 m) { v.store_masked(p, m); }
  static BG_INLINE void stream(float* p, F16 v) { _mm512_stream_ps(p, v.v); }
  static BG_INLINE void fence() { _mm_sfence(); }
  static BG_INLINE __mmask16 tail(size_t k) { return first_lanes16(k); }
  static BG_INLINE F16 zero_off(F16 v, __mmask16 m) { return _mm512_maskz_mov_ps(m, v.v); }
  using Rot16 = __m512i;
  static BG_INLINE __m512i rot16(size_t h) {
    return _mm512_and_si512(_mm512_sub_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(static_cast<int>(h))),
                            _mm512_set1_epi32(15));
  }
  static BG_INLINE void rotate16(const F16 (&v)[1], __m512i r, F16 (&out)[1]) { out[0] = _mm512_permutexvar_ps(r, v[0].v); }
  // Block-sum lanes (ew_engine.h ew_sum_block): one vector per 16-element step, lanes
  // 0 .. 7 in v[0], 8 .. 15 in v[1].
  struct DAcc {
    __m512d v[2];
  };
  static BG_INLINE void dzero(DAcc& a) { a.v[0] = a.v[1] = _mm512_setzero_pd(); }
  static BG_INLINE void dadd(DAcc& acc, size_t, F16 a) {
    acc.v[0] = _mm512_add_pd(acc.v[0], _mm512_cvtps_pd(_mm512_castps512_ps256(a.v)));
    acc.v[1] = _mm512_add_pd(acc.v[1], _mm512_cvtps_pd(_mm512_extractf32x8_ps(a.v, 1)));
  }
  static BG_INLINE void dstore(const DAcc& a, double* l) {
    _mm512_storeu_pd(l, a.v[0]);
    _mm512_storeu_pd(l + 8, a.v[1]);
  }
};

}  // namespace

const EstTable est_table_avx512 = make_est_table<PAvx512>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
