// Scalar (baseline) elementwise-loss loops: the float instantiations of
// math/loss_ew.h, with libm for exp / log / log1p.
// clang-format off
#include "../math/scalar.h"
#include "loss_ew_engine.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct PScalar {
  using V = float;
  using Mask = int;
  using Ok = bool;
  using Acc = double;
  static constexpr size_t kLanes = 1;
  static BG_INLINE float ld(const float* p) { return *p; }
  static BG_INLINE void st(float* p, float v) { *p = v; }
  static BG_INLINE float ldm(const float* p, int) { return *p; }
  static BG_INLINE void stm(float* p, float v, int) { *p = v; }
  static BG_INLINE int tail(size_t) { return 0; }
  static BG_INLINE bool all(bool ok) { return ok; }
  static BG_INLINE double acc_zero() { return 0.0; }
  static BG_INLINE void acc_add(double& acc, float v, int, bool) { acc += static_cast<double>(v); }
  static BG_INLINE double acc_sum(double acc) { return acc; }
};

}  // namespace

const LossTable loss_table_scalar = make_loss_table<PScalar>();

}  // namespace cpu
}  // namespace bg
