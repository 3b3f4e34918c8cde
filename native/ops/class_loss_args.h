// Plain description of one class-dimension loss call (crossEntropy, nllLoss,
// multiMarginLoss), shared by the CPU and CUDA backends.
//
// Layout: input [outer, C, inner] row-major (PyTorch's class dim 1; a 1-D [C] input is
// outer = inner = 1). Row r = n * inner + s reads class c at x[(n * C + c) * inner + s];
// targets and per-row outputs are indexed by r.
#pragma once
#include <cstdint>

#include "bce_logits_args.h"  // Reduction

namespace bg {

enum class ClassLossKind : int { CrossEntropy = 0, Nll = 1, MultiMargin = 2 };
// Element type of x (and of grad): float32 everywhere; bf16 / fp16 on CUDA only.
enum class LogitType : int { F32 = 0, BF16 = 1, F16 = 2 };

struct ClassLossArgs {
  ClassLossKind kind = ClassLossKind::CrossEntropy;
  LogitType dtype = LogitType::F32;
  const void* x = nullptr;          // logits / log-probabilities / scores
  int64_t outer = 0;
  int64_t classes = 0;
  int64_t inner = 1;
  const int32_t* target = nullptr;  // class index per row, or null (probability targets)
  const float* prob = nullptr;      // probability targets, the input's shape (CE only)
  const float* weight = nullptr;    // [C] class weights, or null (all ones)
  int32_t ignore_index = -100;      // CE / NLL index targets
  float label_smoothing = 0.0f;     // CE
  int p = 1;                        // multi-margin exponent (1 or 2)
  float margin = 1.0f;              // multi-margin
  Reduction reduction = Reduction::Mean;
  // Upstream gradient: per row for None (null = ones); the scalar grad_scale otherwise.
  const float* grad_out = nullptr;
  float grad_scale = 1.0f;
  float* loss = nullptr;            // rows floats for None, 1 float otherwise
  void* grad = nullptr;             // like x (may be x itself: in place), or null
};

// Result of the target check: the first row whose index is neither in [0, C) nor
// ignore_index.
struct ClassTargetCheck {
  bool ok = true;
  int64_t index = -1;
  int32_t value = 0;
};

}  // namespace bg
