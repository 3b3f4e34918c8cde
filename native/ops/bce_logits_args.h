// Plain description of one bceWithLogits call, shared by the CPU and CUDA backends.
#pragma once
#include <cstddef>
#include <cstdint>

namespace bg {

enum class Reduction : int { None = 0, Mean = 1, Sum = 2 };

// A broadcast operand: element i of the input reads data[(i / div) % mod].
// (div = 1, mod = n) is a full tensor, mod = 1 a scalar, (1, C) a last-dim vector,
// (inner, rows) a per-row weight. null data means "absent" (value 1).
struct Broadcast {
  const float* data = nullptr;
  int64_t div = 1;
  int64_t mod = 1;
};

struct BceLogitsArgs {
  const float* x = nullptr;   // logits, n
  const float* y = nullptr;   // targets, n
  Broadcast weight;           // rescaling weight
  Broadcast pos_weight;       // weight of positive examples
  int64_t n = 0;
  Reduction reduction = Reduction::Mean;
  // Upstream gradient: for None, per element (null = ones); for Mean/Sum, the scalar
  // grad_scale. The 1/n of Mean is folded in by the kernel.
  const float* grad_out = nullptr;
  float grad_scale = 1.0f;
  float* loss = nullptr;      // n floats for None, 1 float otherwise
  float* grad = nullptr;      // n floats, or null to skip the gradient
  bool check_targets = true;  // reject targets outside [0, 1] or NaN
};

}  // namespace bg
