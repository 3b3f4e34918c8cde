// Straight-through estimators: forward (a sign) and backward (a surrogate gradient)
// per element, written once against the primitive names of math/scalar.h so the same
// code runs for float (CPU scalar path, CUDA) and the SIMD vector types.
//
// Each estimator is a class template over the value type V with its hyper-parameters
// as members (broadcast once), built from EstParams, and
//   forward(x, out)              out = the binarized x
//   backward(x, g, dx)           dx  = g * d(surrogate)/dx
// or, with a per-channel parameter a (kParam = true),
//   forward(x, a, out), backward(x, a, g, dx, da)   da = g * d(surrogate)/da per element.
// Class templates rather than member templates: every member, constructors included,
// is instantiated per V, so an ISA translation unit (V in an anonymous namespace) never
// emits an externally visible function that baseline code could link to.
//
// Conventions (specs/binarize-mst.md section 0): sign(0) = +1 (or 0 with zeroMode
// 'zero', EstParams::zero), compared by value so -0 is 0; +-inf give +-1; NaN
// propagates to the output and to the gradient; windows pass |x| == bound when
// inclusive.
#pragma once
#include "../common/hd.h"
#include "../ops/estimator_args.h"
#include "scalar.h"  // float overloads must be visible where the templates are defined

namespace bg {

// +1 for x > 0 (and +inf), -1 for x < 0, `zero` for x == +-0, NaN for NaN.
template <class V>
BG_HD BG_INLINE V est_sign(V x, V zero) {
  const V z(0.0f);
  V s = vselect(vge(x, z), V(1.0f), V(-1.0f));
  s = vselect(veq(x, z), zero, s);
  return vselect(visnan(x), x, s);
}

// v, except NaN where x is NaN.
template <class V>
BG_HD BG_INLINE V est_keep_nan(V x, V v) {
  return vselect(visnan(x), x, v);
}

// 1 where |x| is inside the window (|x| <= b inclusive, |x| < b exclusive), else 0.
template <class V>
BG_HD BG_INLINE V est_window(V ax, V b, bool inclusive) {
  const V one(1.0f);
  const V z(0.0f);
  return inclusive ? vselect(vle(ax, b), one, z) : vselect(vlt(ax, b), one, z);
}

// Hardtanh STE (BinaryConnect / BNN): dx = g 1{|x| <= clip}.
template <class V>
struct SteOp {
  static constexpr bool kParam = false;
  V zero, clip;
  bool inclusive;
  BG_HD explicit SteOp(const EstParams& p) : zero(p.zero), clip(p.clip), inclusive(p.inclusive != 0) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    dx = est_keep_nan(x, g * est_window(vabs(x), clip, inclusive));
  }
};

// Bi-Real ApproxSign: dx = g max(0, 2 - 2|x|).
template <class V>
struct ApproxSignOp {
  static constexpr bool kParam = false;
  V zero;
  BG_HD explicit ApproxSignOp(const EstParams& p) : zero(p.zero) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V two(2.0f);
    dx = est_keep_nan(x, g * vmax(two - two * vabs(x), V(0.0f)));
  }
};

// exp(-u) for u >= 0 (NaN gives NaN): the reduction and polynomial of vmath.h's expf_v
// (u = t - n ln2 with n = round(-u log2 e) <= 0, ln2 in a high / low split), the
// polynomial evaluated at -t as 1 + t (t P(-t) - 1), and 2^n by one vldexp (which also
// rounds subnormal results once). Half the instructions of vexp: no clamp (u = inf
// would give inf - inf = NaN, so callers pass vmin(u, 104); exp(-104) is already 0 in
// float), no two-step scaling.
template <class V>
BG_HD BG_INLINE V est_exp_neg(V u) {
  const V n = vround(u * V(-1.44269504088896341f));
  V t = vfma(n, V(0.693359375f), u);
  t = vfma(n, V(-2.12194440054690583e-4f), t);
  // P(-t), P the (exp(r) - 1 - r) / r^2 fit of expf_v.
  V p = vfma(V(1.381439972e-03f), t, V(-8.368811570e-03f));
  p = vfma(p, t, V(4.166839644e-02f));
  p = vfma(p, t, V(-1.666651964e-01f));
  p = vfma(p, t, V(4.999999404e-01f));
  return vldexp(vfma(t, vfma(t, p, V(-1.0f)), V(1.0f)), n);
}

// BNN+ SwishSign: surrogate 2 sigma(bx)[1 + bx(1 - sigma(bx))] - 1, derivative
// b [2 - bx tanh(bx/2)] / (1 + cosh(bx)); with u = b|x|, e = exp(-u), d = 1 + e:
// 2 b e (2 d - u (1 - e)) / d^3, one division (the tanh and sech^2 factors share d).
// 0 at +-inf: u is clamped at 104, where e is already 0, so the bracket stays finite
// and the product is exactly 0 (made +0 below); NaN x makes every step NaN, so no separate NaN select.
template <class V>
struct SwishSignOp {
  static constexpr bool kParam = false;
  V zero, beta, beta2;
  BG_HD explicit SwishSignOp(const EstParams& p) : zero(p.zero), beta(p.beta), beta2(2.0f * p.beta) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V u = vmin(beta * vabs(x), V(104.0f));
    const V e = est_exp_neg(u);
    const V d = V(1.0f) + e;
    const V num = vfma(u, e - V(1.0f), d + d);
    // + 0: where e underflows to 0 the bracket is negative and the product -0; the
    // package's gradient at +-inf is +0 (times g).
    dx = g * ((beta2 * e) * num / (d * d * d) + V(0.0f));
  }
};

// log2(x) for finite x > 0: x = m 2^e (m in [1, 2)), log2(m) = t P(t) with t = m - 1
// and P a degree-7 least-squares fit on Chebyshev nodes of [0, 1] (fitted for this
// file; |t P(t) - log2(1 + t)| < 5e-8 before float rounding). Absolute accuracy is what
// a power needs: an error d in y = a log2(x) is a relative error d ln2 in 2^y. Cheaper
// than vlog (no reduction to [sqrt(1/2), sqrt(2)), no special-case lanes).
template <class V>
BG_HD BG_INLINE V est_log2_pos(V x) {
  V e;
  const V t = vmant_exp(x, e) - V(1.0f);
  // Estrin's scheme: the dependent chain is 4 operations deep instead of Horner's 8.
  const V t2 = t * t;
  const V p01 = vfma(V(-0.7211657762527466f), t, V(1.4426898956298828f));
  const V p23 = vfma(V(-0.3473007380962372f), t, V(0.47868362069129944f));
  const V p45 = vfma(V(-0.1375204175710678f), t, V(0.24186401069164276f));
  const V p67 = vfma(V(-0.009309016168117523f), t, V(0.052058421075344086f));
  const V p03 = vfma(p23, t2, p01);
  const V p47 = vfma(p67, t2, p45);
  return vfma(t, vfma(p47, t2 * t2, p03), e);
}

// 2^y for |y| < 150: y = k + r with k = round(y), |r| <= 1/2 (exact), 2^r by a degree-5
// fit (relative error < 8e-8 before float rounding; fitted for this file), times 2^k.
template <class V>
BG_HD BG_INLINE V est_exp2(V y) {
  const V k = vround(y);
  const V r = y - k;
  const V r2 = r * r;
  const V p01 = vfma(V(0.6931469440460205f), r, V(1.0000001192092896f));
  const V p23 = vfma(V(0.05550713464617729f), r, V(0.24022120237350464f));
  const V p45 = vfma(V(0.0013276466634124517f), r, V(0.009675540961325169f));
  return vldexp(vfma(vfma(p45, r2, p23), r2, p01), k);
}

// ReSTE: dx = g (1/o)|x|^((1-o)/o) for delta < |x| <= t, g delta^((1-o)/o) for
// |x| <= delta (secant slope, finite at 0), 0 beyond t. The power is
// 2^(expo log2|x| + log2(1/o)) from the polynomial log2 / exp2 above (about 3e-7
// relative; the generic vexp(vlog) costs twice the instructions and made this the
// slowest estimator).
template <class V>
struct ResteOp {
  static constexpr bool kParam = false;
  V zero, expo, lg_inv_o, slope0, t, delta;
  bool inclusive;
  BG_HD explicit ResteOp(const EstParams& p)
      : zero(p.zero), expo(p.expo), lg_inv_o(log2f(p.inv_o)), slope0(p.slope0), t(p.t), delta(p.delta),
        inclusive(p.inclusive != 0) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V ax = vabs(x);
    // Clamped into [delta, t] (the only place the power is used): a finite positive
    // argument needs no 0 / inf lanes in log2, and +-inf gives 0 rather than 0 * inf.
    const V c = vmin(vmax(ax, delta), t);
    const V pw = est_exp2(vfma(expo, est_log2_pos(c), lg_inv_o));
    const V f = vselect(vle(ax, delta), slope0, pw);
    dx = est_keep_nan(x, g * (f * est_window(ax, t, inclusive)));
  }
  // log2 then exp2 is one dependent chain per input; two independent inputs per step
  // (ew_engine.h) give the out-of-order core more to overlap. Same per-lane operations.
  static constexpr bool kPair = true;
  BG_HD BG_INLINE void backward2(V x0, V g0, V x1, V g1, V& dx0, V& dx1) const {
    backward(x0, g0, dx0);
    backward(x1, g1, dx1);
  }
};

// BiPer weights: forward sign(sin(omega0 x)) (a square wave), backward
// g omega0 cos(omega0 x) (no window). +-inf: forward +-1, gradient 0 (package rule).
// The backward's cosine (a = |omega0 x|, cos even): cos(a) = (-1)^k sin(r) with
// k = round(a / pi + 1/2) and r = a - (k - 1/2) pi in [-pi/2, pi/2] (pi in three parts,
// FMA, as vmath.h's sincosf_v), so one odd polynomial and no quadrant selection; zeros
// of the cosine sit at r = 0, where sin(r) keeps full relative accuracy. The sign
// (-1)^k is 1 - 8 (k/2 - round(k/2))^2. sin(r) = r + r^3 P(r^2), P a degree-4 fit on
// [0, pi/2] (fitted for this file; <= 1.9 ulp evaluated in float). Accurate up to
// a = 2^24 (k - 1/2 stays exact); beyond, where a float's spacing is >= 2 radians, a is
// clamped to 2^24, so the gradient stays bounded (it carries no information there).
template <class V>
struct BiperOp {
  static constexpr bool kParam = false;
  V zero, omega;
  BG_HD explicit BiperOp(const EstParams& p) : zero(p.zero), omega(p.omega) {}
  BG_HD BG_INLINE void forward(V x, V& out) const {
    const V inf(__builtin_inff());
    const V s = est_sign(vsin(omega * x), zero);
    out = vselect(veq(vabs(x), inf), est_sign(x, zero), s);
  }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V a = vabs(omega * x);
    const V ac = vmin(a, V(16777216.0f));  // keeps NaN
    const V k = vround(vfma(ac, V(0.318309886183790672f), V(0.5f)));
    const V m = k - V(0.5f);
    V r = vfma(m, V(-3.14159274101257324f), ac);
    r = vfma(m, V(8.74227765734758600e-08f), r);
    r = vfma(m, V(3.43024902001176380e-15f), r);
    const V h = k * V(0.5f);
    const V par = h - vround(h);  // 0 for even k, +-1/2 for odd
    r = r * vfma(par * par, V(-8.0f), V(1.0f));
    const V r2 = r * r;
    V p = vfma(V(-2.3888951261596958e-08f), r2, V(2.7525386485649506e-06f));
    p = vfma(p, r2, V(-1.984086848096922e-04f));
    p = vfma(p, r2, V(8.333330973982811e-03f));
    p = vfma(p, r2, V(-0.1666666716337204f));
    const V c = vfma(r * r2, p, r);
    // a is NaN for NaN x, and so is c: the select passes it on.
    dx = vselect(veq(a, V(__builtin_inff())), V(0.0f), (g * omega) * c);
  }
};

// IR-Net EDE: dx = g k t sech^2(t x) = g 4kt e/(1+e)^2, e = exp(-2t|x|). The
// exponential is est_exp_neg (as SwishSign's; the generic vexp's range clamps and
// two-step scaling made this the slowest backward after FDA); 2t|x| is clamped at 104,
// where e is already 0, so +-inf gives g * 0.
template <class V>
struct EdeOp {
  static constexpr bool kParam = false;
  V zero, kt4, t2;
  BG_HD explicit EdeOp(const EstParams& p) : zero(p.zero), kt4(p.kt4), t2(p.t2) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V e = est_exp_neg(vmin(t2 * vabs(x), V(104.0f)));
    const V d = V(1.0f) + e;
    dx = est_keep_nan(x, g * (kt4 * e / (d * d)));
  }
};

// ReActNet RSign with a learnable per-channel threshold a: forward sign(x - a),
// backward with y = x - a: dx = g max(0, 2 - 2|y|), da = -dx.
template <class V>
struct RsignOp {
  static constexpr bool kParam = true;
  V zero;
  BG_HD explicit RsignOp(const EstParams& p) : zero(p.zero) {}
  BG_HD BG_INLINE void forward(V x, V a, V& out) const { out = est_sign(x - a, zero); }
  BG_HD BG_INLINE void backward(V x, V a, V g, V& dx, V& da) const {
    const V two(2.0f);
    const V y = x - a;
    const V d = est_keep_nan(y, g * vmax(two - two * vabs(y), V(0.0f)));
    dx = d;
    da = V(0.0f) - d;
  }
};

// Largest n for which FDA sums its series term by term (2 operations per term); above
// it the closed form (two sines and a division) is cheaper.
constexpr int kFdaRecurMax = 32;

// FDA (BiBench): dx = g (4 omega/pi) S inside the window |x| <= clip, with
// S = sum_{i=0..n} cos((2i+1) w), w = omega x. When every in-window |w| <= pi/4 and
// n <= kFdaRecurMax, S is summed by the recurrence S_k+1 = 2 cos(2w) S_k - S_k-1
// (S_0 = cos w, S_-1 = 0) in Reinsch's difference form D_k+1 = D_k + q S_k,
// S_k+1 = S_k + D_k+1 with q = 2 cos(2w) - 2 = -4 sin^2 w: q is small and accurate near
// w = 0, where forming 2 cos(2w) itself would lose the digits the sum depends on.
// cos w and q are Taylor polynomials in u = w^2 (truncation below 1e-8 relative for
// |w| <= pi/4), so no range reduction is needed. Otherwise the closed form
// sin(2(n+1) w) / (2 sin w) (n + 1 where sin w == 0).
template <class V>
struct FdaOp {
  static constexpr bool kParam = false;
  V zero, omega, scale, m, terms, clip;
  int n;
  bool inclusive, recur;
  BG_HD explicit FdaOp(const EstParams& p)
      : zero(p.zero), omega(p.omega), scale(p.fda_scale), m(p.fda_m), terms(p.fda_terms), clip(p.clip),
        n(static_cast<int>(p.fda_terms) - 1), inclusive(p.inclusive != 0),
        recur(static_cast<int>(p.fda_terms) - 1 <= kFdaRecurMax && (p.omega < 0.0f ? -p.omega : p.omega) * p.clip <= 0.785398f) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  // -4 sin^2(w) and cos(w) of w = omega x, as polynomials in u = w^2.
  BG_HD BG_INLINE void recur_start(V x, V& q, V& c) const {
    const V w = omega * x;
    const V u = w * w;
    q = vfma(V(1.7102239e-5f), u, V(-5.6437389e-4f));
    q = vfma(q, u, V(0.012698413f));
    q = vfma(q, u, V(-0.17777778f));
    q = vfma(q, u, V(1.3333334f));
    q = vfma(q, u, V(-4.0f)) * u;
    c = vfma(V(-2.7557319e-7f), u, V(2.4801587e-5f));
    c = vfma(c, u, V(-1.3888889e-3f));
    c = vfma(c, u, V(0.041666668f));
    c = vfma(c, u, V(-0.5f));
    c = vfma(c, u, V(1.0f));
  }
  BG_HD BG_INLINE V sum_closed(V x) const {
    const V den = V(2.0f) * vsin(omega * x);
    return vselect(veq(den, V(0.0f)), terms, vsin(m * x) / den);
  }
  BG_HD BG_INLINE V finish(V x, V g, V sum) const {
    const V win = est_window(vabs(x), clip, inclusive);
    // Outside the window the factor is exactly 0 (also for +-inf, where the sum is NaN).
    const V f = vselect(vlt(V(0.5f), win), scale * sum, V(0.0f));
    return est_keep_nan(x, g * f);
  }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    if (!recur) {
      dx = finish(x, g, sum_closed(x));
      return;
    }
    V q, s;
    recur_start(x, q, s);
    V d = s;
    for (int k = 0; k < n; ++k) {
      d = vfma(q, s, d);
      s = s + d;
    }
    dx = finish(x, g, s);
  }
  // Two independent inputs at once (CPU engine, ew_engine.h): the recurrence is one
  // chain of dependent operations, latency-bound, so interleaving two chains nearly
  // doubles the throughput. Per lane exactly the operations of backward().
  static constexpr bool kPair = true;
  BG_HD BG_INLINE void backward2(V x0, V g0, V x1, V g1, V& dx0, V& dx1) const {
    if (!recur) {
      backward(x0, g0, dx0);
      backward(x1, g1, dx1);
      return;
    }
    V q0, s0, q1, s1;
    recur_start(x0, q0, s0);
    recur_start(x1, q1, s1);
    V d0 = s0, d1 = s1;
    for (int k = 0; k < n; ++k) {
      d0 = vfma(q0, s0, d0);
      d1 = vfma(q1, s1, d1);
      s0 = s0 + d0;
      s1 = s1 + d1;
    }
    dx0 = finish(x0, g0, s0);
    dx1 = finish(x1, g1, s1);
  }
};

// TBT elastic (LSQ-style) activation quantizer with a learnable scale a (one value per
// tensor, or per channel): q = x / a;
//   mode 0 signed binary:   out = a sign(x),                     Qn = -1, Qp = 1
//   mode 1 signed ternary:  out = a clip(round(q), -1, 1),       Qn = -1, Qp = 1
//   mode 2 unsigned binary: out = a clip(round(q), 0, 1),        Qn = 0,  Qp = 1
// backward dx = g 1{Qn <= q <= Qp}; da = g gs c with c = sign(x) (mode 0), else Qn below,
// Qp above, round(q) - q inside; gs = 1 / sqrt(N Qp) (LSQ gradient scale).
template <class V>
struct ElasticOp {
  static constexpr bool kParam = true;
  V zero, gs;
  int mode;
  BG_HD explicit ElasticOp(const EstParams& p) : zero(p.zero), gs(p.lsq_gs), mode(p.lsq_mode) {}
  BG_HD BG_INLINE V qn() const { return V(mode == 2 ? 0.0f : -1.0f); }
  BG_HD BG_INLINE void forward(V x, V a, V& out) const {
    if (mode == 0) {
      out = a * est_sign(x, zero);
      return;
    }
    const V q = vround(x / a);
    out = a * vmin(vmax(q, qn()), V(1.0f));
  }
  BG_HD BG_INLINE void backward(V x, V a, V g, V& dx, V& da) const {
    const V q = x / a;
    const V lo = qn(), hi(1.0f), z(0.0f);
    const V below = vselect(vlt(q, lo), V(1.0f), z);
    const V above = vselect(vlt(hi, q), V(1.0f), z);
    const V inside = V(1.0f) - below - above;
    dx = est_keep_nan(q, g * inside);
    // Selected, not blended: round(q) - q is NaN for infinite q (those lanes are outside).
    const V c = mode == 0 ? est_sign(x, zero) : vselect(vlt(V(0.5f), inside), vround(q) - q, below * lo + above * hi);
    da = est_keep_nan(q, g * gs * c);
  }
};

}  // namespace bg
