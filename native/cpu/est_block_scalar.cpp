// Scalar (baseline) estimator loops: the float instantiations of math/estimators.h,
// with libm for exp / log / sin / cos.
// clang-format off
#include "../math/scalar.h"
#include "ew_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PScalar {
  using V = float;
  using Mask = int;
  static constexpr size_t kLanes = 1;
  static BG_INLINE float ld(const float* p) { return *p; }
  static BG_INLINE void st(float* p, float v) { *p = v; }
  static BG_INLINE float ldm(const float* p, int) { return *p; }
  static BG_INLINE void stm(float* p, float v, int) { *p = v; }
  static BG_INLINE int tail(size_t) { return 0; }
};

}  // namespace

const EstTable est_table_scalar = make_est_table<PScalar>();

}  // namespace cpu
}  // namespace bg
