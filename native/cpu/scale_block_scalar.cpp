// Scalar (baseline) loops of the row-statistic binarizers: the float instantiations of
// math/scaling.h, with libm for exp.
// clang-format off
#include "../math/scalar.h"
#include "scale_engine.h"
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

const ScaleTable scale_table_scalar = make_scale_table<PScalar>();

}  // namespace cpu
}  // namespace bg
