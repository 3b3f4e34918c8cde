// AVX-512 (16 floats per step). Compiled with -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma, and only this file is: the row-wise loss row kernels of rw_engine.h. ODR safety as in
// ce_block_avx512.cpp: everything but rw_table_avx512 is in an anonymous namespace
// (vec_avx512.h, rw_engine.h), the engine is instantiated only with F16 (tails use padded
// stack buffers, no float instantiation here), no inline std:: calls.
#include "rw_kernels.h"

#if defined(__x86_64__)

#include "vec_avx512.h"
// clang-format off
#include "rw_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PRwAvx512 {
  using V = F16;
  static constexpr size_t kLanes = 16;
  static BG_INLINE F16 ld(const float* p) { return F16::loadu(p); }
  static BG_INLINE void st(float* p, F16 v) { v.storeu(p); }
};

}  // namespace

const RwTable rw_table_avx512 = make_rw_table<PRwAvx512>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
