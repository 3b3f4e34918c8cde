// Per-ISA row kernels of crossEntropy (plain interface; each ISA lives in its own
// translation unit, ce_block_*.cpp, built with that ISA's flags; ce_engine.h holds
// the one template they instantiate).
#pragma once
#include <cstddef>
#include <cstdint>

namespace bg {
namespace cpu {

// Pass 1 over one contiguous row of C logits: the online softmax statistics.
// With a_c = w_c (index targets, smooth) or w_c T'_c (probability targets,
// T' = T eps1 + k), w_c = 1 when w is null:
//   m = max x, d = sum exp(x - m), a = sum a_c, sx = sum a_c (x_c - m)
// (a and sx only when `smooth`). The row is read once from memory: blocks of
// kCeBlock logits get their max, then (from L1) their exp-sum; the running sums are
// rescaled when the max grows.
struct CeStatsIn {
  const float* x;
  const float* w;  // [C] or null
  const float* t;  // [C] probability targets or null
  int64_t C;
  bool smooth;
  float eps1;  // 1 - label_smoothing
  float k;     // label_smoothing / C
};
struct CeStats {
  double m;
  double d;
  double a;
  double sx;
};

// Pass 2: g_c = p_c sA - b_c with p_c = exp(x_c - m) invd and
//   b_c = w_c sk                   (index targets; the target class is fixed up by the caller)
//   b_c = w_c (T_c seps1 + sk)     (probability targets)
// g may equal x (in place): each vector is loaded before it is stored.
struct CeGradIn {
  const float* x;
  float* g;
  const float* w;
  const float* t;
  int64_t C;
  float m;
  float invd;
  float sA;
  float sk;
  float seps1;
};

using CeStatsFn = void (*)(const CeStatsIn& in, CeStats* out);
using CeGradFn = void (*)(const CeGradIn& in);

struct CeTable {
  CeStatsFn stats;
  CeGradFn grad;
};

extern const CeTable ce_table_scalar;
extern const CeTable ce_table_avx2;
extern const CeTable ce_table_avx512;

}  // namespace cpu
}  // namespace bg
