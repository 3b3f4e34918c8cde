// Per-ISA inner loops of the CPU backend. Each ISA lives in its own translation unit
// compiled with that ISA's flags (and only that TU), behind this plain interface.
#pragma once
#include <cstddef>

namespace bg {
namespace cpu {

// One contiguous block of bceWithLogits. w, p, go may be null (= all ones);
// broadcast operands were expanded into contiguous scratch by the caller.
struct BceBlock {
  const float* x;
  const float* y;
  const float* w;
  const float* p;
  const float* go;     // upstream gradient per element, or null
  float* loss_none;    // per-element loss, or null (reductions)
  float* grad;         // gradient, or null
  size_t n;
  float grad_scale;    // multiplies every gradient (1/n of mean, upstream scalar)
};

// Returns the sum of the block's losses. *bad is set when check is true and some
// target is NaN or outside [0, 1]; it is never cleared.
using BceBlockFn = double (*)(const BceBlock& b, bool check, bool* bad);

double bce_block_scalar(const BceBlock& b, bool check, bool* bad);
double bce_block_avx2(const BceBlock& b, bool check, bool* bad);
double bce_block_avx512(const BceBlock& b, bool check, bool* bad);

}  // namespace cpu
}  // namespace bg
