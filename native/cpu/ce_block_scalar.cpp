// Scalar (baseline) crossEntropy row kernels: the float instantiation of ce_engine.h,
// with libm expf through math/scalar.h.
// clang-format off
#include "../math/scalar.h"
#include "ce_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PCeScalar {
  using V = float;
  static constexpr size_t kLanes = 1;
  static BG_INLINE float ld(const float* p) { return *p; }
  static BG_INLINE void st(float* p, float v) { *p = v; }
};

}  // namespace

const CeTable ce_table_scalar = make_ce_table<PCeScalar>();

}  // namespace cpu
}  // namespace bg
