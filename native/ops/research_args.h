// Plain description of one research-loss call (diceLoss / softIoULoss, basnetHybrid,
// anyLoss, mwLoss, paBce, triBce), shared by the CPU and CUDA backends. The math is in
// math/research_losses.h; lib/losses/research.ts validates and fills these fields.
#pragma once
#include <cstddef>
#include <cstdint>

#include "bce_logits_args.h"  // Reduction

namespace bg {

// Order matters: it must match KIND in lib/losses/research.ts.
enum class ResearchKind : int {
  Overlap = 0,  // soft Dice / Jaccard / soft IoU per row (sample x channel)
  Basnet = 1,   // BCE + (1 - SSIM) + (1 - IoU) per image
  AnyLoss = 2,  // 1 - metric(soft confusion matrix), batch-level
  Mw = 3,       // Mann-Whitney pairwise softplus over in-batch negatives
  PaBce = 4,    // profit-aware pairwise BCE over the top-k of each list
  TriBce = 5,   // Tri-BCE of FCN, batch-level
  Count = 6,
};
constexpr int kResearchCount = static_cast<int>(ResearchKind::Count);

enum ResearchCheck : int {
  kResearchCheckNone = 0,
  kResearchCheckInput01 = 1,  // x must lie in [0, 1], not NaN (basnetHybrid's BCE)
};

// AnyLoss metrics.
enum AnyMetric : int { kAnyFbeta = 0, kAnyAccuracy = 1, kAnyBalanced = 2, kAnyGmean = 3 };

struct ResearchParams {
  // Overlap: loss = 1 - (a I + smooth_nr) / (b (P + G) + c I + smooth_dr);
  // dice (a, b, c) = (2, 1, 0), MONAI jaccard (2, 2, -2), soft IoU (1, 1, -1).
  float a = 2.0f, b = 1.0f, c = 0.0f;
  float smooth_nr = 1e-5f, smooth_dr = 1e-5f;
  int squared = 0;      // P = sum p^2, G = sum g^2
  float iou_eps = 0.0f; // basnet: IoU term (I + eps) / (U + eps)
  float L = 73.0f;      // anyLoss amplifying scale
  float beta = 1.0f;    // anyLoss F-beta
  int metric = kAnyFbeta;
  float any_eps = 0.0f; // anyLoss denominators
  float tau = 1.0f;     // mwLoss temperature
  int top_k = 3;        // paBce
  int detach = 0;       // triBce: detach the weights
};

struct ResearchArgs {
  ResearchKind kind = ResearchKind::Overlap;
  ResearchParams params;
  // Overlap: rows groups of cols elements. Basnet: rows images of h x w (cols = h w).
  // AnyLoss / TriBce: rows = 1, cols = n. Mw: rows = B queries, cols = C passages
  // (positive of query i at column i). PaBce: rows lists of cols items.
  int64_t rows = 0, cols = 0, h = 0, w = 0;
  const float* x = nullptr;   // trained input (probabilities, scores, z_D)
  const float* x2 = nullptr;  // second trained input (TriBce z_S)
  const float* y = nullptr;   // target / ground truth / P&L
  Reduction reduction = Reduction::Mean;  // AnyLoss / TriBce: Sum (the value as is)
  const float* grad_out = nullptr;        // None: one per row (null = ones)
  float grad_scale = 1.0f;                // Mean / Sum upstream gradient
  float* loss = nullptr;                  // rows floats for None, else 1
  float* grad = nullptr;                  // d/dx (rows x cols) or null
  float* grad2 = nullptr;                 // d/dx2 (TriBce) or null
  int check = kResearchCheckNone;
};

}  // namespace bg
