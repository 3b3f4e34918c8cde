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
  static BG_INLINE __mmask16 tail(size_t k) { return first_lanes16(k); }
};

}  // namespace

const EstTable est_table_avx512 = make_est_table<PAvx512>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
