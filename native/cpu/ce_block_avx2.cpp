// AVX2 crossEntropy row kernels (8 floats per step). Compiled with -mavx2 -mfma, and
// only this file is. ODR safety as in bce_block_avx2.cpp: everything but
// ce_table_avx2 is in an anonymous namespace (vec_avx2.h, ce_engine.h), the engine is
// instantiated only with F8 (tails use padded stack buffers, no float instantiation
// here), no inline std:: calls.
#include "ce_kernels.h"

#if defined(__x86_64__)

#include "vec_avx2.h"
// clang-format off
#include "ce_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PCeAvx2 {
  using V = F8;
  static constexpr size_t kLanes = 8;
  static BG_INLINE F8 ld(const float* p) { return F8::loadu(p); }
  static BG_INLINE void st(float* p, F8 v) { v.storeu(p); }
};

}  // namespace

const CeTable ce_table_avx2 = make_ce_table<PCeAvx2>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
