// Per-element and per-group math of the research losses (lib/losses/research.ts),
// written once for the CPU (T = double) and CUDA (T = float or double) backends.
#pragma once
#include <cmath>

#include "../common/hd.h"
#include "../ops/research_args.h"

namespace bg {
namespace rl {

BG_HD BG_INLINE float r_exp(float x) { return expf(x); }
BG_HD BG_INLINE double r_exp(double x) { return exp(x); }
BG_HD BG_INLINE float r_log(float x) { return logf(x); }
BG_HD BG_INLINE double r_log(double x) { return log(x); }
BG_HD BG_INLINE float r_log1p(float x) { return log1pf(x); }
BG_HD BG_INLINE double r_log1p(double x) { return log1p(x); }
BG_HD BG_INLINE float r_log10(float x) { return log10f(x); }
BG_HD BG_INLINE double r_log10(double x) { return log10(x); }

// softplus(x) = max(x, 0) + log1p(exp(-|x|)).
template <class T>
BG_HD BG_INLINE T softplus(T x) {
  const T ax = x < T(0) ? -x : x;
  return (x > T(0) ? x : T(0)) + r_log1p(r_exp(-ax));
}

// Branch-on-sign sigmoid.
template <class T>
BG_HD BG_INLINE T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + r_exp(-x));
  const T e = r_exp(x);
  return e / (T(1) + e);
}

// ---- Overlap (soft Dice, MONAI Jaccard, soft IoU; BASNet's IoU term) ----------------
// loss = 1 - num / den, num = a I + snr, den = b (P + G) + c I + sdr.
template <class T>
struct Overlap {
  T a, b, c, snr, sdr;
  BG_HD BG_INLINE void eval(T I, T P, T G, T& loss, T& num, T& den) const {
    num = a * I + snr;
    den = b * (P + G) + c * I + sdr;
    loss = T(1) - num / den;
  }
  // d loss / d p for one element (dP = 1, or 2p when squared).
  BG_HD BG_INLINE T grad(T p, T g, bool squared, T num, T den) const {
    const T dP = squared ? T(2) * p : T(1);
    const T dnum = a * g;
    const T dden = b * dP + c * g;
    return -(dnum * den - num * dden) / (den * den);
  }
};

// ---- Binary cross-entropy on probabilities, PyTorch's (log clamp -100, eps 1e-12) --
template <class T>
BG_HD BG_INLINE void bce_prob(T p, T g, T& l, T& d) {
  T lp = r_log(p), lq = r_log1p(-p);
  if (!(lp >= T(-100))) lp = (p != p) ? lp : T(-100);
  if (!(lq >= T(-100))) lq = (p != p) ? lq : T(-100);
  l = (g - T(1)) * lq - g * lp;
  T q = p * (T(1) - p);
  const T eps = T(9.99999996e-13);
  if (!(q >= eps)) q = (q != q) ? q : eps;
  d = (p - g) / q;
}

// BCE with logits: softplus(z) - y z; d/dz = sigmoid(z) - y.
template <class T>
BG_HD BG_INLINE T bce_logit(T z, T y) {
  return softplus(z) - y * z;
}

// ---- SSIM (BASNet / pytorch_ssim): 11 x 11 Gaussian, sigma 1.5, zero padding 5 -----
constexpr int kSsimTaps = 11;
constexpr int kSsimPad = 5;
constexpr double kSsimC1 = 0.01 * 0.01;
constexpr double kSsimC2 = 0.03 * 0.03;

// The normalised 1-D window (the 2-D window is its outer product).
inline void ssim_window(double* w) {
  double s = 0.0;
  for (int k = 0; k < kSsimTaps; ++k) {
    const double d = static_cast<double>(k - kSsimPad);
    w[k] = std::exp(-d * d / (2.0 * 1.5 * 1.5));
    s += w[k];
  }
  for (int k = 0; k < kSsimTaps; ++k) w[k] /= s;
}

// SSIM at one pixel from the local moments (mu1 = w*P, mu2 = w*G, e11 = w*P^2,
// e22 = w*G^2, e12 = w*(P G)) and its partial derivatives with respect to mu1, e11,
// e12 (the moments that depend on P). Variances as conv(x x) - mu^2, as the reference.
template <class T>
BG_HD BG_INLINE void ssim_px(T mu1, T mu2, T e11, T e22, T e12, T& S, T& dmu1, T& de11, T& de12) {
  const T C1 = T(kSsimC1), C2 = T(kSsimC2);
  const T s11 = e11 - mu1 * mu1, s22 = e22 - mu2 * mu2, s12 = e12 - mu1 * mu2;
  const T A = T(2) * mu1 * mu2 + C1, B = T(2) * s12 + C2;
  const T C = mu1 * mu1 + mu2 * mu2 + C1, D = s11 + s22 + C2;
  const T CD = C * D;
  S = A * B / CD;
  dmu1 = (T(2) * mu2 * (B - A) - S * T(2) * mu1 * (D - C)) / CD;
  de11 = -S / D;
  de12 = T(2) * A / CD;
}

// ---- AnyLoss ---------------------------------------------------------------------
// A(p) = sigmoid(L (p - 0.5)).
template <class T>
BG_HD BG_INLINE T any_approx(T p, T L) {
  return sigmoid(L * (p - T(0.5)));
}

// metric m of the soft confusion matrix and dm / d(TP, FN, FP, TN).
template <class T>
BG_HD BG_INLINE void any_metric(int metric, T beta, T e, T tp, T fn, T fp, T tn, T& m, T& dtp, T& dfn, T& dfp,
                                T& dtn) {
  dtp = dfn = dfp = dtn = T(0);
  if (metric == kAnyFbeta) {
    const T b2 = beta * beta, k = T(1) + b2;
    const T D = k * tp + b2 * fn + fp + e;
    m = k * tp / D;
    dtp = k * (D - k * tp) / (D * D);
    dfn = -k * tp * b2 / (D * D);
    dfp = -k * tp / (D * D);
  } else if (metric == kAnyAccuracy) {
    const T D = tp + tn + fp + fn + e;
    m = (tp + tn) / D;
    dtp = dtn = (D - (tp + tn)) / (D * D);
    dfp = dfn = -(tp + tn) / (D * D);
  } else if (metric == kAnyBalanced) {
    const T D1 = tp + fn + e, D0 = tn + fp + e;
    m = T(0.5) * (tp / D1 + tn / D0);
    dtp = T(0.5) * (D1 - tp) / (D1 * D1);
    dfn = -T(0.5) * tp / (D1 * D1);
    dtn = T(0.5) * (D0 - tn) / (D0 * D0);
    dfp = -T(0.5) * tn / (D0 * D0);
  } else {  // G-mean surrogate of the authors' code: TP TN / (n1 n0)
    const T n1 = tp + fn, n0 = tn + fp;
    const T D = n1 * n0 + e;
    m = tp * tn / D;
    dtp = tn / D - tp * tn * n0 / (D * D);
    dfn = -tp * tn * n0 / (D * D);
    dtn = tp / D - tp * tn * n1 / (D * D);
    dfp = -tp * tn * n1 / (D * D);
  }
}

// d loss / d p_i with loss = 1 - m: -(y (dtp - dfn) + (1 - y)(dfp - dtn)) L a (1 - a).
template <class T>
BG_HD BG_INLINE T any_grad(T p, T y, T L, T kpos, T kneg) {
  const T a = any_approx(p, L);
  return -(y * kpos + (T(1) - y) * kneg) * L * a * (T(1) - a);
}

// ---- MW loss: softplus(-(pos - neg) / tau) and d/dneg = sigmoid(-(pos - neg)/tau)/tau --
template <class T>
BG_HD BG_INLINE void mw_pair(T pos, T neg, T inv_tau, T& l, T& g) {
  const T z = (pos - neg) * inv_tau;
  l = softplus(-z);
  g = sigmoid(-z) * inv_tau;
}

// ---- PA-BCE pair: w = log10(pnl_i - pnl_j + 1), l = w softplus(-(s_i - s_j)),
// g = w sigmoid(-(s_i - s_j)) (d/ds_j = +g, d/ds_i = -g). --------------------------
template <class T>
BG_HD BG_INLINE void pa_pair(T si, T sj, T pi, T pj, T& l, T& g) {
  const T w = r_log10(pi - pj + T(1));
  const T d = si - sj;
  l = w * softplus(-d);
  g = w * sigmoid(-d);
}

// ---- Tri-BCE: coefficients of the gradient from the three batch means -------------
// L_tri = L + w_D L_D + w_S L_S, w = max(0, L_x - L). d L_tri = cf dL + cd dL_D + cs dL_S.
template <class T>
BG_HD BG_INLINE void tri_coef(T L, T LD, T LS, bool detach, T& total, T& cf, T& cd, T& cs) {
  const T wD = LD - L > T(0) ? LD - L : T(0);
  const T wS = LS - L > T(0) ? LS - L : T(0);
  total = L + wD * LD + wS * LS;
  cf = T(1);
  if (detach) {
    cd = wD;
    cs = wS;
  } else {
    cd = LD - L > T(0) ? T(2) * LD - L : T(0);
    cs = LS - L > T(0) ? T(2) * LS - L : T(0);
    if (LD - L > T(0)) cf -= LD;
    if (LS - L > T(0)) cf -= LS;
  }
}

}  // namespace rl
}  // namespace bg
