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

// 4 e / (1 + e)^2 with e = exp(-u), u >= 0: sech^2(u / 2) without cancellation.
template <class V>
BG_HD BG_INLINE V est_sech2_half(V u, V& e_out) {
  const V e = vexp(V(0.0f) - u);
  const V d = V(1.0f) + e;
  e_out = e;
  return V(4.0f) * e / (d * d);
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

// BNN+ SwishSign: surrogate 2 sigma(bx)[1 + bx(1 - sigma(bx))] - 1, derivative
// b [2 - bx tanh(bx/2)] / (1 + cosh(bx)); with u = b|x|, e = exp(-u):
// b (2 - u (1 - e)/(1 + e)) * 2e/(1 + e)^2. 0 at +-inf.
template <class V>
struct SwishSignOp {
  static constexpr bool kParam = false;
  V zero, beta;
  BG_HD explicit SwishSignOp(const EstParams& p) : zero(p.zero), beta(p.beta) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V one(1.0f);
    const V ax = vabs(x);
    const V u = beta * ax;
    V e;
    const V s = est_sech2_half(u, e);  // 4e/(1+e)^2
    const V th = (one - e) / (one + e);
    const V f = beta * (V(2.0f) - u * th) * (V(0.5f) * s);
    dx = est_keep_nan(x, g * vselect(vlt(ax, V(__builtin_inff())), f, V(0.0f)));
  }
};

// ReSTE: dx = g (1/o)|x|^((1-o)/o) for delta < |x| <= t, g delta^((1-o)/o) for
// |x| <= delta (secant slope, finite at 0), 0 beyond t.
template <class V>
struct ResteOp {
  static constexpr bool kParam = false;
  V zero, inv_o, expo, slope0, t, delta;
  bool inclusive;
  BG_HD explicit ResteOp(const EstParams& p)
      : zero(p.zero), inv_o(p.inv_o), expo(p.expo), slope0(p.slope0), t(p.t), delta(p.delta),
        inclusive(p.inclusive != 0) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V ax = vabs(x);
    // |x| <= delta never uses the power (log 0 = -inf), so its lanes are masked below.
    const V pw = inv_o * vexp(expo * vlog(vmax(ax, delta)));
    const V f = vselect(vle(ax, delta), slope0, pw);
    dx = est_keep_nan(x, g * (f * est_window(ax, t, inclusive)));
  }
};

// BiPer weights: forward sign(sin(omega0 x)) (a square wave), backward
// g omega0 cos(omega0 x) (no window). +-inf: forward +-1, gradient 0 (package rule).
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
    const V inf(__builtin_inff());
    const V f = vselect(veq(vabs(x), inf), V(0.0f), omega * vcos(omega * x));
    dx = est_keep_nan(x, g * f);
  }
};

// IR-Net EDE: dx = g k t sech^2(t x) = g 4kt e/(1+e)^2, e = exp(-2t|x|).
template <class V>
struct EdeOp {
  static constexpr bool kParam = false;
  V zero, kt4, t2;
  BG_HD explicit EdeOp(const EstParams& p) : zero(p.zero), kt4(p.kt4), t2(p.t2) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V e = vexp(V(0.0f) - t2 * vabs(x));
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

// FDA (BiBench): dx = g (4 omega/pi) sum_{i=0..n} cos((2i+1) omega x) inside the
// window |x| <= clip. The sum is evaluated in closed form,
// sin(2(n+1) w) / (2 sin w) with w = omega x (n + 1 where sin w == 0).
template <class V>
struct FdaOp {
  static constexpr bool kParam = false;
  V zero, omega, scale, m, terms, clip;
  bool inclusive;
  BG_HD explicit FdaOp(const EstParams& p)
      : zero(p.zero), omega(p.omega), scale(p.fda_scale), m(p.fda_m), terms(p.fda_terms), clip(p.clip),
        inclusive(p.inclusive != 0) {}
  BG_HD BG_INLINE void forward(V x, V& out) const { out = est_sign(x, zero); }
  BG_HD BG_INLINE void backward(V x, V g, V& dx) const {
    const V ax = vabs(x);
    const V w = omega * x;
    const V den = V(2.0f) * vsin(w);
    const V num = vsin(m * x);
    const V sum = vselect(veq(den, V(0.0f)), terms, num / den);
    const V win = est_window(ax, clip, inclusive);
    // Outside the window the factor is exactly 0 (also for +-inf, where sin is NaN).
    const V f = vselect(vlt(V(0.5f), win), scale * sum, V(0.0f));
    dx = est_keep_nan(x, g * f);
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
