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
  // Block-sum lanes (ew_engine.h ew_sum_block): element k of a 16-element step into lane k.
  struct DAcc {
    double v[16];
  };
  static BG_INLINE void dzero(DAcc& a) {
    for (double& d : a.v) d = 0.0;
  }
  static BG_INLINE void dadd(DAcc& acc, size_t k, float v) { acc.v[k] += static_cast<double>(v); }
  static BG_INLINE void dstore(const DAcc& a, double* l) {
    for (int i = 0; i < 16; ++i) l[i] = a.v[i];
  }
};

}  // namespace

const EstTable est_table_scalar = make_est_table<PScalar>();

}  // namespace cpu
}  // namespace bg
