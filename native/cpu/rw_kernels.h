// Per-ISA row kernels of the row-wise research losses (rowwise_losses.cpp): the
// exp-heavy per-row passes of kdLoss, rmtSymmetricCrossEntropy and the comp-sum family
// (compSumLoss / generalizedCrossEntropy), in float vectors with vmath.h's exp. Each
// ISA lives in its own translation unit (rw_block_{avx2,avx512}.cpp, built with that
// ISA's flags) instantiating rw_engine.h. The scalar path has no table: it is the
// float64 code of rowwise_losses.cpp.
//
// Reductions run in a fixed order: per block of kRwBlock elements, lane sums of float
// vectors, combined lane 0..L-1 into a double; block sums added in block order. So a
// row's result depends only on its values and the ISA (never on threads or addresses).
#pragma once
#include <cstddef>
#include <cstdint>

namespace bg {
namespace cpu {

constexpr int64_t kRwBlock = 2048;

// Row max xm = max x (NaN propagates) and d = sum exp((x - xm) * scale); the row's
// logsumexp of scale * x is xm * scale + log d. x - xm is exact for the elements that
// matter, so extreme logits keep full precision.
struct RwLse {
  float xm;
  double d;
};

// kd: zs = (x - xsm) iT - ls0, zt = (t - xtm) iT - lt0 (log-softmaxes), returns
// sum q (zt - zs) with q = exp(zt) (terms with q == 0 are 0); g (when non-null) gets
// gs (exp(zs) - q).
struct RwKdIn {
  const float* x;
  const float* t;
  float* g;
  int64_t C;
  float iT, xsm, ls0, xtm, lt0, gs;
};
// rmt: lx = x - xsm - ls0, lt = t - xtm - lt0. Pass A returns {sum exp(lt) lx + exp(lx) lt,
// sum exp(lx) lt}; pass G writes g = gs (0.5 (p - q) - 0.5 p (lt - S)).
struct RwRmtIn {
  const float* x;
  const float* t;
  float* g;
  int64_t C;
  float xsm, ls0, xtm, lt0, gs, S;
};
// comp-sum gradient of the non-target elements: g = gs exp((x - xm) + c0), with
// c0 = (1 - tau) l - log d (the caller fixes the target element).
struct RwExpIn {
  const float* x;
  float* g;
  int64_t C;
  float xm, c0, gs;
};

struct RwTable {
  void (*lse)(const float* x, int64_t C, float scale, RwLse* out);
  double (*kd)(const RwKdIn& in);
  void (*rmt_sums)(const RwRmtIn& in, double* A, double* S);
  void (*rmt_grad)(const RwRmtIn& in);
  void (*exp_grad)(const RwExpIn& in);
};

extern const RwTable rw_table_avx2;
extern const RwTable rw_table_avx512;

}  // namespace cpu
}  // namespace bg
