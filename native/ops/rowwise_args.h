// Plain description of one row-wise research-loss call (lib/losses/rowwise.ts), shared
// by the CPU and CUDA backends. Input x is [rows, C] row-major float32.
#pragma once
#include <cstdint>

#include "bce_logits_args.h"  // Reduction

namespace bg {

enum class RowLossKind : int {
  ZLoss = 0,             // target; p0 = a, p1 = b
  CompSum = 1,           // target; p0 = tau
  RmtSce = 2,            // teacher logits t
  Kd = 3,                // teacher logits t; p0 = temperature
  DecoupledSoftmax = 4,  // t = positives mask (0 / 1)
  Pld = 5,               // teacher logits t, target; p0 = temperature
  LdrKl = 6,             // target; p0 = margin, p1 = lambda; mode = score transform
  AldrKl = 7,            // target, state[index]; p0 = margin, p1 = lambda0, p2 = alpha; mode
  Cbc = 8,               // teacher logits t; p0 = tau_pos, p1 = tau_neg
  PassAtN = 9,           // target; p0 = N
};
constexpr int kRowLossKinds = 10;

struct RowLossArgs {
  RowLossKind kind = RowLossKind::ZLoss;
  const float* x = nullptr;          // [rows, C] logits / scores (the input that gets the gradient)
  const float* t = nullptr;          // [rows, C] teacher logits or positives mask, or null
  const int32_t* target = nullptr;   // [rows] class indices, or null
  int64_t rows = 0;
  int64_t classes = 0;
  float p0 = 0.0f, p1 = 0.0f, p2 = 0.0f;
  int mode = 0;                      // LDR / ALDR score transform: 0 softplus, 1 L1
  float* state = nullptr;            // ALDR: per-sample lambda, n_state floats (read and updated)
  const int32_t* index = nullptr;    // ALDR: [rows] sample indices into state
  int64_t n_state = 0;
  Reduction reduction = Reduction::Mean;
  // Upstream gradient: per row for None (null = ones); the scalar grad_scale otherwise.
  const float* grad_out = nullptr;
  float grad_scale = 1.0f;
  float* loss = nullptr;             // rows floats for None, 1 float otherwise
  float* grad = nullptr;             // [rows, C] or null
};

// First bad row of a check: what = 0 target out of [0, C), 1 sample index out of
// [0, n_state), 2 mask value not 0 / 1 (value is then the element's column).
struct RowCheck {
  bool ok = true;
  int what = 0;
  int64_t index = -1;
  double value = 0.0;
};

}  // namespace bg
