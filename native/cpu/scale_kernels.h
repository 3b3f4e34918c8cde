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

// Row sums over one piece: res[j] = sum over the piece of a_j b_j for the products of
// two floats that `what` names (below), each accumulated in double in 16 lanes (element
// i of the piece into lane i % 16) and the lanes added in one fixed tree, so every ISA
// (scalar included) and every thread count gives the same bits. A product of two
// floats is exact in double, so fused or separate multiply-adds agree too.
enum ScaleSum : int {
  kSumAbs = 0,     // |x|
  kSumVal = 1,     // x
  kSumDev2 = 2,    // (x - co[0])^2 as three products of x - co[0] = hi + lo (TwoSum)
  kSumStdAbs = 3,  // |(x - co[0]) co[1]| (the float standardized weight)
  kSumResAbs = 4,  // |r_arg|, the multi-basis residual after `arg` bases (co[0..arg))
  kSumPairs = 5,   // the row functor's pairs(x, g, h) (math/scaling.h)
};
constexpr int kSumMaxPairs = 2 * kMaxBases;
using ScaleSumFn = void (*)(const ScaleParams& p, int what, int arg, const float* co, const float* x, const float* g,
                            const float* h, size_t n, double* res);

// The only symbols the ISA translation units export.
struct ScaleTable {
  ScaleFn fn[kScaleCount];
  ScaleSumFn sum[kScaleCount];
};

extern const ScaleTable scale_table_scalar;
extern const ScaleTable scale_table_avx2;
extern const ScaleTable scale_table_avx512;

}  // namespace cpu
}  // namespace bg
