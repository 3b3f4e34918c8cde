// AVX-512 elementwise-loss loops (16 floats per step). Compiled with -mavx512f
// -mavx512dq -mavx512bw -mavx512vl -mfma, and only this file is. ODR safety as in
// bce_block_avx512.cpp: everything but loss_table_avx512 is in an anonymous namespace
// (vec_avx512.h, loss_ew_engine.h), losses are instantiated only with F16 (tails are
// masked, no float instantiation here), no inline std:: calls.
#include "loss_kernels.h"

#if defined(__x86_64__)

#include "vec_avx512.h"
// clang-format off
#include "loss_ew_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct Acc16 {
  __m512d lo;  // lanes 0..7, in double
  __m512d hi;  // lanes 8..15
};

struct PAvx512 {
  using V = F16;
  using Mask = __mmask16;
  using Ok = M16;
  using Acc = Acc16;
  static constexpr size_t kLanes = 16;
  static BG_INLINE F16 ld(const float* p) { return F16::loadu(p); }
  static BG_INLINE void st(float* p, F16 v) { v.storeu(p); }
  static BG_INLINE F16 ldm(const float* p, __mmask16 m) { return F16::load_masked(p, m); }
  static BG_INLINE void stm(float* p, F16 v, __mmask16 m) { v.store_masked(p, m); }
  static BG_INLINE __mmask16 tail(size_t k) { return first_lanes16(k); }
  static BG_INLINE bool all(M16 ok) { return ok.k == static_cast<__mmask16>(0xffff); }
  static BG_INLINE Acc16 acc_zero() { return Acc16{_mm512_setzero_pd(), _mm512_setzero_pd()}; }
  static BG_INLINE void acc_add(Acc16& acc, F16 v, __mmask16 m, bool tail) {
    __m512 l = v.v;
    if (tail) l = _mm512_maskz_mov_ps(m, l);
    acc.lo = _mm512_add_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(l)));
    acc.hi = _mm512_add_pd(acc.hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(l, 1)));
  }
  static BG_INLINE double acc_sum(const Acc16& acc) {
    alignas(64) double lanes[16];
    _mm512_store_pd(lanes, acc.lo);
    _mm512_store_pd(lanes + 8, acc.hi);
    double s = 0.0;
    for (int k = 0; k < 16; ++k) s += lanes[k];
    return s;
  }
};

}  // namespace

const LossTable loss_table_avx512 = make_loss_table<PAvx512>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
