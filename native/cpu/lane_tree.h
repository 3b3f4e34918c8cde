// The one fixed order in which 16 double lanes of a sum are combined. The estimator
// block sums (ew_engine.h), the scaling row sums (scale_engine.h) and the estimators'
// scalar run sums (estimators.cpp) all use it, so every ISA and thread count gives the
// same bits. Internal linkage: per-ISA translation units include it (see ew_engine.h).
#pragma once
#include "../common/hd.h"

namespace bg {
namespace cpu {
namespace {

BG_INLINE double lane_tree16(const double* l) {
  double s8[8], s4[4];
  for (int i = 0; i < 8; ++i) s8[i] = l[i] + l[i + 8];
  for (int i = 0; i < 4; ++i) s4[i] = s8[i] + s8[i + 4];
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

}  // namespace
}  // namespace cpu
}  // namespace bg
