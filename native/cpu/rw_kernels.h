// Per-ISA row kernels of the row-wise research losses (rowwise_losses.cpp): the
// exp-heavy per-row passes of kdLoss, rmtSymmetricCrossEntropy, the comp-sum family
// (compSumLoss / generalizedCrossEntropy), LDR-KL / ALDR-KL, decoupledSoftmax, cbcLoss
// and plackettLuceDistillation, and the moment passes of zLoss, in float vectors with vmath.h's exp / log1p / log. Each
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

// zLoss moments. sum: sum x with the row's min and max (an all-equal row is detected
// exactly, so its std is exactly 0 as in float64). dev2: s1 = sum (x - mu), s2 =
// sum (x - mu)^2 about a float mu (the caller corrects with s1: the corrected two-pass
// variance). affine: g = c1 (x - mu) + c0.
struct RwMoments {
  double sum;
  float mn, mx;
};
struct RwAffineIn {
  const float* x;
  float* g;
  int64_t C;
  float mu, c1, c0;
};

// LDR-KL over a range of n elements with scores s (softplus(z) or z itself):
// u = a (s - sref) + c, sref the largest score that matters, so the terms near the max
// (the ones that count) come without cancellation between a s and c.
// expsum: D = sum exp(u), F = sum exp(u) s (F may be null). klsum: sum p log(K p) with
// p = (exp(u) + eps) inv_norm. grad: g = sigmoid(x) (A exp(u) + B) (mode 0) or
// A exp(u) + B sign(x) (mode 1); s may alias g (each element is read before it is written).
struct RwLdrIn {
  const float* x;
  const float* s;
  float* g;
  int64_t n;
  float a, sref, c;
  float A, B;
  int mode;
};

// decoupledSoftmax. dex_lse: xm = max over the negatives (m == 0), d = sum over them of
// exp(x - xm), npos = number of positives. With dd = (xm - x) + logd (= lse_neg - x):
// dex_pos: L = sum softplus(dd), G = sum sigmoid(dd) over the positives; dex_grad:
// g = A sigmoid(dd) on positives, B exp(-dd) on negatives.
struct RwDexIn {
  const float* x;
  const float* m;
  float* g;
  int64_t C;
  float xm, logd, A, B;
};

// cbcLoss over a range of n student logits, lp = (x - xm) - logd (the row's log-softmax),
// p = exp(lp). cbc_neg: L = sum -log1p(-p), R = sum p / (1 - p) (exact for p <= 1/2, so for
// every class but the arg-max, which the caller adds in double). cbc_grad:
// g = A p + B (p / (1 - p) - p R) (the caller fixes the label and arg-max elements).
struct RwCbcIn {
  const float* x;
  float* g;
  int64_t n;
  float xm, logd, A, B, R;
};

struct RwTable {
  void (*lse)(const float* x, int64_t C, float scale, RwLse* out);
  double (*kd)(const RwKdIn& in);
  void (*rmt_sums)(const RwRmtIn& in, double* A, double* S);
  void (*rmt_grad)(const RwRmtIn& in);
  void (*exp_grad)(const RwExpIn& in);
  void (*moments)(const float* x, int64_t C, RwMoments* out);
  void (*dev2)(const float* x, int64_t C, float mu, double* s1, double* s2);
  void (*affine)(const RwAffineIn& in);
  // s = softplus(x) over n elements; returns sum s.
  double (*softplus)(const float* x, float* s, int64_t n);
  double (*abssum)(const float* x, int64_t n);
  // max of n floats (-inf when n == 0).
  float (*max)(const float* x, int64_t n);
  void (*ldr_expsum)(const RwLdrIn& in, double* D, double* F);
  double (*ldr_klsum)(const RwLdrIn& in, float inv_norm, float eps, float K);
  void (*ldr_grad)(const RwLdrIn& in);
  // min of n floats (+inf when n == 0).
  float (*min)(const float* x, int64_t n);
  // sum exp(x - ref) over n floats.
  double (*expsum)(const float* x, int64_t n, float ref);
  // out = exp((x - ref) * scale + c) over n floats (out may alias x).
  void (*exp_map)(const float* x, float* out, int64_t n, float ref, float scale, float c);
  void (*dex_lse)(const float* x, const float* m, int64_t C, RwLse* out, double* npos);
  void (*dex_pos)(const RwDexIn& in, double* L, double* G);
  void (*dex_grad)(const RwDexIn& in);
  void (*cbc_neg)(const RwCbcIn& in, double* L, double* R);
  void (*cbc_grad)(const RwCbcIn& in);
  // plackettLuceDistillation: sum alpha ((ref - x) + log S) over n (x, alpha, S permuted).
  double (*pld_loss)(const float* x, const float* alpha, const float* S, int64_t n, float ref);
};

extern const RwTable rw_table_avx2;
extern const RwTable rw_table_avx512;

}  // namespace cpu
}  // namespace bg
