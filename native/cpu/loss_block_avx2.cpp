// AVX2 + FMA elementwise-loss loops (8 floats per step). Compiled with -mavx2 -mfma, and
// only this file is. ODR safety as in bce_block_avx2.cpp: everything but
// loss_table_avx2 is in an anonymous namespace (vec_avx2.h, loss_ew_engine.h), losses
// are instantiated only with F8 (tails are masked, no float instantiation here), no
// inline std:: calls.
#include "loss_kernels.h"

#if defined(__x86_64__)

#include "vec_avx2.h"
// clang-format off
#include "loss_ew_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct Acc8 {
  __m256d lo;  // lanes 0..3, in double
  __m256d hi;  // lanes 4..7
};

struct PAvx2 {
  using V = F8;
  using Mask = __m256i;
  using Ok = M8;
  using Acc = Acc8;
  static constexpr size_t kLanes = 8;
  static BG_INLINE F8 ld(const float* p) { return F8::loadu(p); }
  static BG_INLINE void st(float* p, F8 v) { v.storeu(p); }
  static BG_INLINE F8 ldm(const float* p, __m256i m) { return F8::load_masked(p, m); }
  static BG_INLINE void stm(float* p, F8 v, __m256i m) { v.store_masked(p, m); }
  static BG_INLINE __m256i tail(size_t k) { return first_lanes8(k); }
  static BG_INLINE bool all(M8 ok) { return _mm256_movemask_ps(ok.v) == 0xff; }
  static BG_INLINE Acc8 acc_zero() { return Acc8{_mm256_setzero_pd(), _mm256_setzero_pd()}; }
  static BG_INLINE void acc_add(Acc8& acc, F8 v, __m256i m, bool tail) {
    __m256 l = v.v;
    if (tail) l = _mm256_and_ps(l, _mm256_castsi256_ps(m));
    acc.lo = _mm256_add_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(l)));
    acc.hi = _mm256_add_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)));
  }
  static BG_INLINE double acc_sum(const Acc8& acc) {
    alignas(32) double lanes[8];
    _mm256_store_pd(lanes, acc.lo);
    _mm256_store_pd(lanes + 4, acc.hi);
    double s = 0.0;
    for (int k = 0; k < 8; ++k) s += lanes[k];
    return s;
  }
};

}  // namespace

const LossTable loss_table_avx2 = make_loss_table<PAvx2>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
