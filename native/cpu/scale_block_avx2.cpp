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
  static BG_INLINE __m256i tail(size_t k) { return first_lanes8(k); }
};

}  // namespace

const ScaleTable scale_table_avx2 = make_scale_table<PAvx2>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
