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
  // Row-sum lanes (scale_engine.h sc_reduce): element k of a 16-element step into lane k.
  struct DAcc {
    double v[16];
  };
  static BG_INLINE void dzero(DAcc& a) {
    for (double& d : a.v) d = 0.0;
  }
  static BG_INLINE void dadd(DAcc& acc, size_t k, float a, float b) {
    acc.v[k] += static_cast<double>(a) * static_cast<double>(b);
  }
  static BG_INLINE void dstore(const DAcc& a, double* l) {
    for (int i = 0; i < 16; ++i) l[i] = a.v[i];
  }
};

}  // namespace

const ScaleTable scale_table_scalar = make_scale_table<PScalar>();

}  // namespace cpu
}  // namespace bg
