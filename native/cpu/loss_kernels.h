// Per-ISA inner loops of the elementwise losses (plain interface; each ISA lives in its
// own translation unit, loss_block_*.cpp, built with that ISA's flags).
#pragma once
#include <cstddef>

#include "../ops/loss_ew_args.h"

namespace bg {
namespace cpu {

// One contiguous block. w, go may be null (= ones); a broadcast weight was expanded into
// contiguous scratch by the caller.
struct LossBlock {
  const float* x;
  const float* y;
  const float* w;
  const float* go;     // upstream gradient per element, or null
  float* loss_none;    // per-element loss, or null (reductions)
  float* grad;         // dL/dx, or null
  float* grad_t;       // dL/dy, or null (ignored by losses without a target gradient)
  size_t n;
  float grad_scale;    // multiplies every gradient (1/divisor of mean, upstream scalar)
};

// Returns the sum of the block's (weighted) losses. *bad is set when `check` names an
// operand and some element of it is NaN or outside [0, 1]; it is never cleared.
using LossBlockFn = double (*)(const LossParams& p, const LossBlock& b, int check, bool* bad);

// The only symbols the ISA translation units export.
struct LossTable {
  LossBlockFn fn[kLossCount];
};

extern const LossTable loss_table_scalar;
extern const LossTable loss_table_avx2;
extern const LossTable loss_table_avx512;

}  // namespace cpu
}  // namespace bg
