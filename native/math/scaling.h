// Row-statistic binarizers: the per-element math of binarize.magnitudeAwareSign / xnor /
// dorefa, ternaryWeights, libraPB, recu, bivitWeights, multiBasis and recuActivation, written once over
// the value type V (float on the CPU scalar path and CUDA, F8 / F16 in the SIMD units),
// like math/estimators.h. Statistics (means, deviations, reduced gradient sums) are
// computed by the drivers in double and arrive as per-row coefficients `co`
// (kRowCo floats per row). Each functor provides
//   fwd(x)        the forward output
//   grad(x, g)    the local gradient h (before any row-sum term)
//   fin(x, h)     the final dL/dx from h and the reduced row sums (kFin = true only)
//   terms(x, g, h, t) (float only) the per-element values whose row sums the backward needs
//   pairs(x, g, h, a, b) the same terms as products a_j b_j of two floats (exact in
//                 double), which the CPU sums in fixed double lanes (scale_engine.h)
// Conventions as estimators.h: sign(0) = +1 (or 0 with zeroMode 'zero'), NaN propagates.
#pragma once
#include "../common/hd.h"
#include "../ops/scale_args.h"
#include "estimators.h"
#include "scalar.h"

namespace bg {

// d|x|/dx as PyTorch autograd takes it: sign with 0 at 0, NaN for NaN.
template <class V>
BG_HD BG_INLINE V sc_sgn0(V x) {
  return est_sign(x, V(0.0f));
}

// alpha sign(x), with the clamp-STE backward g alpha 1{|x| <= clip} and, under
// scaleGrad 'full', the exact chain rule term sgn0(x) / K * sum_j g_j sign(x_j).
// co: [alpha, sum_j g_j sign(x_j) / K].
template <class V>
struct MasRow {
  static constexpr bool kFin = true;
  static constexpr int kTerms = 1;
  V zero, clip, alpha, fullc;
  bool inclusive, full;
  BG_HD MasRow(const ScaleParams& p, const float* co)
      : zero(p.zero), clip(p.clip), alpha(co[0]), fullc(co[1]), inclusive(p.inclusive != 0), full(p.full != 0) {}
  BG_HD BG_INLINE V fwd(V x) const { return alpha * est_sign(x, zero); }
  BG_HD BG_INLINE V grad(V x, V g) const { return est_keep_nan(x, g * alpha * est_window(vabs(x), clip, inclusive)); }
  BG_HD BG_INLINE V fin(V x, V h) const { return full ? h + fullc * sc_sgn0(x) : h; }
  BG_HD BG_INLINE int terms(float x, float g, float, double* t) const {
    t[0] = static_cast<double>(g) * static_cast<double>(est_sign(x, static_cast<float>(zero)));
    return 1;
  }
  static constexpr int kPairs = 1;
  BG_HD BG_INLINE int pairs(V x, V g, V, V* a, V* b) const {
    a[0] = g;
    b[0] = est_sign(x, zero);
    return 1;
  }
};

// TBT statistics-based weights: ternary alpha round(clip(x / alpha, -1, 1)) with
// alpha = 4/3 mean|x| (ties to even), or binary alpha sign(x) with alpha = mean|x|;
// identity STE backward. co: [alpha].
template <class V>
struct TernaryRow {
  static constexpr bool kFin = false;
  static constexpr int kTerms = 0;
  V zero, alpha;
  bool ternary;
  BG_HD TernaryRow(const ScaleParams& p, const float* co) : zero(p.zero), alpha(co[0]), ternary(p.levels == 3) {}
  BG_HD BG_INLINE V fwd(V x) const {
    if (!ternary) return alpha * est_sign(x, zero);
    const V z(0.0f);
    const V q = vround(vmin(vmax(x / alpha, V(-1.0f)), V(1.0f)));
    // alpha == 0 (all-zero row): output 0 (NaN stays NaN).
    return vselect(veq(alpha, z), est_keep_nan(x, z), alpha * q);
  }
  BG_HD BG_INLINE V grad(V x, V g) const { return est_keep_nan(x, g); }
  BG_HD BG_INLINE V fin(V, V h) const { return h; }
  BG_HD BG_INLINE int terms(float, float, float, double*) const { return 0; }
  static constexpr int kPairs = 0;
  BG_HD BG_INLINE int pairs(V, V, V, V*, V*) const { return 0; }
};

// Standardized weights w = (x - mu) k with k = c / sigma (sigma = sqrt(unbiased var + eps)):
//   Libra-PB (IR-Net): out = s sign(w), h = g s EDE'(w)            co2 = s
//   ReCU:              out = sign(clamp(w, -Q, Q)), h = g 1{|w| <= Q} co2 = Q
// fin differentiates the standardization: dx = k (h - mean h - w sum(h w) / (c^2 (K - 1))).
// co: [mu, k, s or Q, mean h, sum(h w) / (c^2 (K - 1))].
template <class V>
struct StdRow {
  static constexpr bool kFin = true;
  static constexpr int kTerms = 2;
  V zero, mu, k, sq, hm, hw, kt4, t2;
  bool recu;
  BG_HD StdRow(const ScaleParams& p, const float* co)
      : zero(p.zero), mu(co[0]), k(co[1]), sq(co[2]), hm(co[3]), hw(co[4]), kt4(p.kt4), t2(p.t2),
        recu(p.kind == static_cast<int>(ScaleKind::Recu)) {}
  BG_HD BG_INLINE V w_of(V x) const { return (x - mu) * k; }
  BG_HD BG_INLINE V fwd(V x) const {
    const V w = w_of(x);
    if (recu) return est_sign(vmin(vmax(w, V(0.0f) - sq), sq), zero);
    return sq * est_sign(w, zero);
  }
  BG_HD BG_INLINE V grad(V x, V g) const {
    const V w = w_of(x);
    if (recu) return est_keep_nan(w, g * vselect(vle(vabs(w), sq), V(1.0f), V(0.0f)));
    const V e = vexp(V(0.0f) - t2 * vabs(w));
    const V d = V(1.0f) + e;
    return est_keep_nan(w, g * sq * (kt4 * e / (d * d)));
  }
  BG_HD BG_INLINE V fin(V x, V h) const { return k * (h - hm - w_of(x) * hw); }
  BG_HD BG_INLINE int terms(float x, float, float h, double* t) const {
    t[0] = static_cast<double>(h);
    t[1] = static_cast<double>(h) * static_cast<double>(w_of(x));
    return 2;
  }
  static constexpr int kPairs = 2;
  BG_HD BG_INLINE int pairs(V x, V, V h, V* a, V* b) const {
    a[0] = a[1] = h;
    b[0] = V(1.0f);
    b[1] = w_of(x);
    return 2;
  }
};

// BiViT weights: z = x - mu (row mean), out = alpha sign(z); h = g alpha 1{|z| <= clip}
// (the BiViT code's window is exclusive), dx = h - mean h, dalpha = sum g sign(z).
// co: [mu, alpha, -, mean h].
template <class V>
struct BivitRow {
  static constexpr bool kFin = true;
  static constexpr int kTerms = 2;
  V zero, clip, mu, alpha, hm;
  bool inclusive;
  BG_HD BivitRow(const ScaleParams& p, const float* co)
      : zero(p.zero), clip(p.clip), mu(co[0]), alpha(co[1]), hm(co[3]), inclusive(p.inclusive != 0) {}
  BG_HD BG_INLINE V fwd(V x) const { return alpha * est_sign(x - mu, zero); }
  BG_HD BG_INLINE V grad(V x, V g) const {
    const V z = x - mu;
    return est_keep_nan(z, g * alpha * est_window(vabs(z), clip, inclusive));
  }
  BG_HD BG_INLINE V fin(V, V h) const { return h - hm; }
  BG_HD BG_INLINE int terms(float x, float g, float h, double* t) const {
    t[0] = static_cast<double>(h);
    t[1] = static_cast<double>(g) * static_cast<double>(est_sign(x - static_cast<float>(mu), static_cast<float>(zero)));
    return 2;
  }
  static constexpr int kPairs = 2;
  BG_HD BG_INLINE int pairs(V x, V g, V h, V* a, V* b) const {
    a[0] = h;
    b[0] = V(1.0f);
    a[1] = g;
    b[1] = est_sign(x - mu, zero);
    return 2;
  }
};

// Residual multi-basis binarization: r_1 = x, b_i = sign(r_i), r_{i+1} = r_i - a_i b_i,
// out = sum_i a_i b_i (i < bases). Backward with m_i = 1{|r_i| <= clip}:
// D_T+1 = 0, D_i = a_i m_i + (1 - a_i m_i) D_{i+1}; dx = g D_1;
// da_i = sum g b_i (1 - D_{i+1}). co: [a_1 .. a_4].
template <class V>
struct MultiRow {
  static constexpr bool kFin = false;
  static constexpr int kTerms = kMaxBases;
  V zero, clip, a[kMaxBases];
  int nb;
  bool inclusive;
  BG_HD MultiRow(const ScaleParams& p, const float* co)
      : zero(p.zero), clip(p.clip), a{V(co[0]), V(co[1]), V(co[2]), V(co[3])}, nb(p.bases), inclusive(p.inclusive != 0) {}
  BG_HD BG_INLINE V fwd(V x) const {
    V r = x;
    V out(0.0f);
    for (int i = 0; i < kMaxBases; ++i) {
      if (i >= nb) break;
      const V ab = a[i] * est_sign(r, zero);
      out = out + ab;
      r = r - ab;
    }
    return est_keep_nan(x, out);
  }
  // D_1 .. D_nb into d[], b_i into b[].
  BG_HD BG_INLINE void chain(V x, V* b, V* d) const {
    V r = x;
    V m[kMaxBases];
    for (int i = 0; i < kMaxBases; ++i) {
      if (i >= nb) break;
      b[i] = est_sign(r, zero);
      d[i] = V(0.0f);
      m[i] = est_window(vabs(r), clip, inclusive);
      r = r - a[i] * b[i];
    }
    V dn(0.0f);
    for (int i = kMaxBases - 1; i >= 0; --i) {
      if (i >= nb) continue;
      const V am = a[i] * m[i];
      dn = am + (V(1.0f) - am) * dn;
      d[i] = dn;
    }
  }
  BG_HD BG_INLINE V grad(V x, V g) const {
    V b[kMaxBases], d[kMaxBases];
    d[0] = V(0.0f);
    chain(x, b, d);
    return est_keep_nan(x, g * d[0]);
  }
  BG_HD BG_INLINE V fin(V, V h) const { return h; }
  BG_HD BG_INLINE int terms(float x, float g, float, double* t) const {
    float b[kMaxBases] = {0, 0, 0, 0}, d[kMaxBases] = {0, 0, 0, 0};
    chain(x, b, d);
    for (int i = 0; i < nb; ++i) {
      const float dn = i + 1 < nb ? d[i + 1] : 0.0f;
      t[i] = static_cast<double>(g) * static_cast<double>(b[i]) * (1.0 - static_cast<double>(dn));
    }
    return nb;
  }
  // g b_i (1 - D_i+1) as g b_i - g b_i D_i+1: g b_i is exact (b_i is +-1 or 0), so both
  // are products of two floats; the driver subtracts the two sums.
  static constexpr int kPairs = 2 * kMaxBases;
  BG_HD BG_INLINE int pairs(V x, V g, V, V* pa, V* pb) const {
    V b[kMaxBases], d[kMaxBases];
    chain(x, b, d);
    for (int i = 0; i < kMaxBases; ++i) {
      if (i >= nb) break;
      const V gb = g * b[i];
      pa[2 * i] = pa[2 * i + 1] = gb;
      pb[2 * i] = V(1.0f);
      const int in = i + 1 < kMaxBases ? i + 1 : i;  // (keeps the index in bounds)
      pb[2 * i + 1] = i + 1 < nb ? d[in] : V(0.0f);
    }
    return 2 * nb;
  }
};

// ReCU activations (BiBench ReCuActivationQuantization; BiPer's are the same): per sample
// (row) a = x k with k = 1 / sqrt(unbiased Var(x) + 1e-5) in training, k = 1 in eval;
// out = sign(a) = sign(x) (k > 0), h = g max(0, 2 - 2|a|) (ApproxSign), and in training
// the normalization differentiated, the variance not detached:
// dx = k h - (x - m) c with c = k^3 sum(h x) / (K - 1). A NaN anywhere in the row makes
// k NaN, so h (kept NaN through a) and the whole row's gradient are NaN, as in autograd.
// co: [m, k, sqrt(Var + 1e-5) (reported as alpha), c].
template <class V>
struct RecuActRow {
  static constexpr bool kFin = true;
  static constexpr int kTerms = 1;
  V zero, m, k, c;
  BG_HD RecuActRow(const ScaleParams& p, const float* co) : zero(p.zero), m(co[0]), k(co[1]), c(co[3]) {}
  BG_HD BG_INLINE V fwd(V x) const { return est_sign(x, zero); }
  BG_HD BG_INLINE V grad(V x, V g) const {
    const V a = x * k;
    const V two(2.0f);
    return est_keep_nan(a, g * vmax(two - two * vabs(a), V(0.0f)));
  }
  BG_HD BG_INLINE V fin(V x, V h) const { return k * h - (x - m) * c; }
  BG_HD BG_INLINE int terms(float x, float, float h, double* t) const {
    t[0] = static_cast<double>(h) * static_cast<double>(x);
    return 1;
  }
  static constexpr int kPairs = 1;
  BG_HD BG_INLINE int pairs(V x, V, V h, V* a, V* b) const {
    a[0] = h;
    b[0] = x;
    return 1;
  }
};

}  // namespace bg
