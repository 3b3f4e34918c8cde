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
// Logits per block of pass 1: 8 KiB, so the exp-sum re-reads the block from L1.
constexpr int64_t kCeBlock = 2048;
// Rows up to this many logits take the one-exp path (the stored exps, 256 KiB at most,
// stay in L2 for pass 2); longer rows recompute the exp in pass 2 instead of a second
// trip to memory. Per-row block count is at most kCeFuseMaxC / kCeBlock.
constexpr int64_t kCeFuseMaxC = 65536;
constexpr int64_t kCeFuseMaxBlocks = kCeFuseMaxC / kCeBlock;

struct CeStatsIn {
  const float* x;
  const float* w;  // [C] or null
  const float* t;  // [C] probability targets or null
  int64_t C;
  bool smooth;
  float eps1;  // 1 - label_smoothing
  float k;     // label_smoothing / C
  // Optional (one-exp path): e[c] = exp(x_c - M_b) is written for every c (e may equal
  // x: each vector is read before it is written), bmax[b] = M_b, the running max after
  // block b (-inf while the row is all -inf, where e = 0). Null: stats only.
  float* e = nullptr;
  double* bmax = nullptr;
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

// Pass 2 of the one-exp path: g_c = e_c bscale[b] - b_c (b_c as in CeGradIn), with
// bscale[b] = exp(M_b - m) invd sA per block of kCeBlock. g may equal e.
struct CeRescaleIn {
  const float* e;
  float* g;
  const float* w;
  const float* t;
  int64_t C;
  const float* bscale;
  float sk;
  float seps1;
};

using CeStatsFn = void (*)(const CeStatsIn& in, CeStats* out);
using CeGradFn = void (*)(const CeGradIn& in);
using CeRescaleFn = void (*)(const CeRescaleIn& in);

struct CeTable {
  CeStatsFn stats;
  CeGradFn grad;
  CeRescaleFn rescale;
};

extern const CeTable ce_table_scalar;
extern const CeTable ce_table_avx2;
extern const CeTable ce_table_avx512;

}  // namespace cpu
}  // namespace bg
