// Plain description of one elementwise-loss call (binaryCrossEntropy, sigmoidFocalLoss,
// softMarginLoss, hingeEmbeddingLoss, klDiv, marginBce), shared by the CPU and CUDA
// backends. The per-element math is in math/loss_ew.h, one functor per loss.
#pragma once
#include <cstddef>
#include <cstdint>

#include "bce_logits_args.h"  // Broadcast, Reduction

namespace bg {

// Order matters: it indexes the per-ISA tables and must match BG_FOR_EACH_LOSS and
// LOSS_KIND in lib/losses/elementwise.ts.
enum class LossKind : int {
  BceProb = 0,
  Focal = 1,
  SoftMargin = 2,
  HingeEmbedding = 3,
  KlDiv = 4,
  MarginBce = 5,
  Count = 6,
};
constexpr int kLossCount = static_cast<int>(LossKind::Count);

// X(Functor template) for every loss, in LossKind order.
#define BG_FOR_EACH_LOSS(X) \
  X(BceProbOp)              \
  X(FocalOp)                \
  X(SoftMarginOp)           \
  X(HingeEmbeddingOp)       \
  X(KlDivOp)                \
  X(MarginBceOp)

// What the engine checks while it runs (a coded error names the first offender).
enum LossCheck : int {
  kLossCheckNone = 0,
  kLossCheckInput01 = 1,   // x must lie in [0, 1], not NaN (binaryCrossEntropy)
  kLossCheckTarget01 = 2,  // y must lie in [0, 1], not NaN (marginBce)
};

// Hyper-parameters of every loss (each functor reads the ones it needs).
struct LossParams {
  float alpha = 0.25f;  // focal
  float gamma = 2.0f;   // focal, >= 0
  int use_alpha = 1;    // focal: alpha >= 0
  float margin = 1.0f;  // hinge embedding, margin BCE
  int log_target = 0;   // klDiv
};

struct LossEwArgs {
  LossKind kind = LossKind::BceProb;
  LossParams params;
  const float* x = nullptr;  // input (probabilities, logits, log-probabilities), n
  const float* y = nullptr;  // target, n
  Broadcast weight;          // rescaling weight of loss and gradients (null = 1)
  int64_t n = 0;
  Reduction reduction = Reduction::Mean;
  // Mean divides the summed loss (and scales the gradients) by this: n for 'mean',
  // input.size(0) for klDiv's 'batchmean'. Ignored for None / Sum.
  double divisor = 0.0;
  // Upstream gradient: per element for None (null = ones); the scalar grad_scale otherwise.
  const float* grad_out = nullptr;
  float grad_scale = 1.0f;
  float* loss = nullptr;         // n floats for None, 1 float otherwise
  float* grad = nullptr;         // dL/dx, n floats, or null
  float* grad_target = nullptr;  // dL/dy, n floats, or null (only losses with kTargetGrad)
  int check = kLossCheckNone;
};

}  // namespace bg
