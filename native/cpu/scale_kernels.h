// Per-ISA elementwise stages of the row-statistic binarizers (math/scaling.h); each ISA
// lives in its own translation unit, scale_block_*.cpp, built with that ISA's flags.
#pragma once
#include <cstddef>

#include "../ops/scale_args.h"

namespace bg {
namespace cpu {

// One contiguous piece of one row. co: the row's kRowCo coefficients. stage: kStageFwd
// (out = forward), kStageGrad (out = local gradient h from x, g), kStageFin (out = dL/dx
// from x and h, read from out in place).
using ScaleFn = void (*)(const ScaleParams& p, int stage, const float* co, const float* x, const float* g, float* out,
                         size_t n);

// The only symbols the ISA translation units export.
struct ScaleTable {
  ScaleFn fn[kScaleCount];
};

extern const ScaleTable scale_table_scalar;
extern const ScaleTable scale_table_avx2;
extern const ScaleTable scale_table_avx512;

}  // namespace cpu
}  // namespace bg
