// Scalar (baseline x86-64 / any CPU) inner loop of bceWithLogits: the float
// instantiation of math/bce_logits.h, with libm expf / log1pf.
// scalar.h must come before bce_logits.h: the template finds the float overloads by
// ordinary lookup at its definition (float has no associated namespace for ADL).
// clang-format off
#include "../math/scalar.h"
#include "../math/bce_logits.h"
// clang-format on
#include "kernels.h"

namespace bg {
namespace cpu {

double bce_block_scalar(const BceBlock& b, bool check, bool* bad) {
  double sum = 0.0;
  bool any_bad = false;
  const size_t n = b.n;
  for (size_t i = 0; i < n; ++i) {
    const float x = b.x[i];
    const float y = b.y[i];
    const float w = b.w ? b.w[i] : 1.0f;
    const float p = b.p ? b.p[i] : 1.0f;
    if (check && !(y >= 0.0f && y <= 1.0f)) any_bad = true;
    float loss, dloss;
    bce_logits_elem(x, y, w, p, loss, dloss);
    if (b.loss_none) b.loss_none[i] = loss;
    if (b.grad) {
      const float g = b.go ? dloss * b.go[i] : dloss;
      b.grad[i] = g * b.grad_scale;
    }
    sum += static_cast<double>(loss);
  }
  if (any_bad) *bad = true;
  return sum;
}

}  // namespace cpu
}  // namespace bg
