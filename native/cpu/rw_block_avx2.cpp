// AVX2 (8 floats per step). Compiled with -mavx2 -mfma, and only this file is: the row-wise loss row kernels of rw_engine.h. ODR safety as in
// ce_block_avx2.cpp: everything but rw_table_avx2 is in an anonymous namespace
// (vec_avx2.h, rw_engine.h), the engine is instantiated only with F8 (tails use padded
// stack buffers, no float instantiation here), no inline std:: calls.
#include "rw_kernels.h"

#if defined(__x86_64__)

#include "vec_avx2.h"
// clang-format off
#include "rw_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PRwAvx2 {
  using V = F8;
  static constexpr size_t kLanes = 8;
  static BG_INLINE F8 ld(const float* p) { return F8::loadu(p); }
  static BG_INLINE void st(float* p, F8 v) { v.storeu(p); }
};

}  // namespace

const RwTable rw_table_avx2 = make_rw_table<PRwAvx2>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
