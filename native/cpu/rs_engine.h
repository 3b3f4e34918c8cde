// The research-loss kernels (rs_kernels.h), written once over an ISA policy P: the float
// vector of rw_engine.h (P::V, P::kLanes, P::ld, P::st) plus a double vector P::D with
// P::kDLanes lanes, P::dld / P::dst (doubles), P::dldf / P::dstf (floats converted), and
// dfma(a, b, c), arithmetic, unary minus and explicit construction from double found by
// argument-dependent lookup. Included by rs_block_{avx2,avx512}.cpp after their vector
// header; everything is in an anonymous namespace and nothing calls an inline std::
// function (the ODR rules of rw_engine.h). Tails of double loops are plain double code
// (it only ever runs in these TUs' anonymous namespace).
#pragma once
#include <cstddef>
#include <cstdint>

#include "../math/research_losses.h"
#include "rs_kernels.h"
#include "rw_engine.h"

namespace bg {
namespace cpu {
namespace {

template <class P>
BG_INLINE double rs_dhsum(typename P::D v) {
  alignas(64) double l[P::kDLanes];
  P::dst(l, v);
  double s = 0.0;
  for (size_t j = 0; j < P::kDLanes; ++j) s += l[j];
  return s;
}

// Branch-free sigmoid(u) and e = exp(-|u|) (u >= 0: 1 / (1 + e), else e / (1 + e)).
template <class P>
BG_INLINE typename P::V rs_sigmoid(typename P::V u, typename P::V& e) {
  using V = typename P::V;
  const V zero(0.0f), one(1.0f);
  e = vexp(zero - vabs(u));
  return vselect(vge(u, zero), one, e) / (one + e);
}

// ---- mwLoss ----------------------------------------------------------------------------

template <class P, bool kGrad>
void rs_mw_tile_t(const RsMwIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const int64_t n = in.n, full = n / L * L, rest = n - full;
  const V it(in.inv_tau), zero(0.0f);
  const V valid = rw_valid<P>(rest);
  float* fs = in.fscratch;
  auto pair = [&](V neg, V pos, V& sg) {
    const V u = (neg - pos) * it;
    V e;
    sg = rs_sigmoid<P>(u, e);
    return vmax(u, zero) + vlog1p(e);
  };
  for (int64_t i0 = 0; i0 < in.np; i0 += kRsMwFlush) {
    const int64_t i1 = in.np - i0 < kRsMwFlush ? in.np : i0 + kRsMwFlush;
    if (kGrad)
      for (int64_t k = 0; k < n; ++k) fs[k] = 0.0f;
    for (int64_t i = i0; i < i1; ++i) {
      const V pos(in.pos[i]);
      const V w(kGrad ? in.wf[i] : 0.0f);
      V la(0.0f), lb(0.0f), ga(0.0f), gb(0.0f), sg;
      int64_t k = 0;
      for (; k + 2 * L <= full; k += 2 * L) {
        la = la + pair(P::ld(in.neg + k), pos, sg);
        ga = ga + sg;
        if (kGrad) P::st(fs + k, vfma(w, sg, P::ld(fs + k)));
        lb = lb + pair(P::ld(in.neg + k + L), pos, sg);
        gb = gb + sg;
        if (kGrad) P::st(fs + k + L, vfma(w, sg, P::ld(fs + k + L)));
      }
      for (; k < full; k += L) {
        la = la + pair(P::ld(in.neg + k), pos, sg);
        ga = ga + sg;
        if (kGrad) P::st(fs + k, vfma(w, sg, P::ld(fs + k)));
      }
      if (rest) {
        const V l = rw_keep<P>(valid, pair(rw_ldpad<P>(in.neg + full, rest, 0.0f), pos, sg));
        sg = rw_keep<P>(valid, sg);
        lb = lb + l;
        gb = gb + sg;
        if (kGrad) rw_stpart<P>(fs + full, vfma(w, sg, rw_ldpad<P>(fs + full, rest, 0.0f)), rest);
      }
      in.l[i] = rw_hsum<P>(la + lb);
      in.g[i] = rw_hsum<P>(ga + gb);
    }
    if (kGrad)
      for (int64_t k = 0; k < n; ++k) in.gneg[k] += static_cast<double>(fs[k]);
  }
}

template <class P>
void rs_mw_tile(const RsMwIn& in) {
  if (in.wf)
    rs_mw_tile_t<P, true>(in);
  else
    rs_mw_tile_t<P, false>(in);
}

// ---- basnetHybrid ----------------------------------------------------------------------
// Horizontal "same" correlation with zero padding: double vectors where the whole window
// is inside the row, the plain loop of research_losses.cpp's conv_same at the borders.

// Stage 1: maps P, G, P^2, G^2, P G of rows [y0, y1), and the float BCE / IoU sums.
template <class P>
void rs_bas_h5(const RsBasIn& in, int64_t y0, int64_t y1, double* sums) {
  using D = typename P::D;
  using V = typename P::V;
  constexpr int64_t DL = static_cast<int64_t>(P::kDLanes);
  constexpr int K = rl::kSsimTaps, R = rl::kSsimPad;
  const int64_t W = in.W, HW = in.ms;
  D wv[K];
  for (int t = 0; t < K; ++t) wv[t] = D(in.win[t]);
  for (int64_t y = y0; y < y1; ++y) {
    const float* p = in.P + y * W;
    const float* g = in.G + y * W;
    double* o = in.t5 + y * in.ws;
    auto px = [&](int64_t x) {
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
      for (int t = 0; t < K; ++t) {
        const int64_t xx = x + t - R;
        if (xx < 0 || xx >= W) continue;
        const double pv = p[xx], gv = g[xx], w = in.win[t];
        s0 += w * pv;
        s1 += w * gv;
        s2 += w * (pv * pv);
        s3 += w * (gv * gv);
        s4 += w * (pv * gv);
      }
      o[x] = s0;
      o[HW + x] = s1;
      o[2 * HW + x] = s2;
      o[3 * HW + x] = s3;
      o[4 * HW + x] = s4;
    };
    int64_t x = 0;
    for (; x < R && x < W; ++x) px(x);
    for (; x + DL + R <= W; x += DL) {
      D a0(0.0), a1(0.0), a2(0.0), a3(0.0), a4(0.0);
      for (int t = 0; t < K; ++t) {
        const D pv = P::dldf(p + x + t - R), gv = P::dldf(g + x + t - R);
        const D pw = wv[t] * pv, gw = wv[t] * gv;
        a0 = a0 + pw;
        a1 = a1 + gw;
        a2 = dfma(pw, pv, a2);
        a3 = dfma(gw, gv, a3);
        a4 = dfma(pw, gv, a4);
      }
      P::dst(o + x, a0);
      P::dst(o + HW + x, a1);
      P::dst(o + 2 * HW + x, a2);
      P::dst(o + 3 * HW + x, a3);
      P::dst(o + 4 * HW + x, a4);
    }
    for (; x < W; ++x) px(x);
  }
  // BCE (PyTorch's clamps: log at -100, p (1 - p) at 1e-12) and the IoU sums, float lanes.
  // Padded lanes hold p = g = 0: every term is exactly 0 there.
  const float* P0 = in.P + y0 * W;
  const float* G0 = in.G + y0 * W;
  float* O0 = in.out ? in.out + y0 * W : nullptr;
  const V zero(0.0f), one(1.0f), lo(-100.0f), eps(9.99999996e-13f);
  rw_reduce<P, 4>((y1 - y0) * W, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == static_cast<int64_t>(P::kLanes);
    const V pv = full ? P::ld(P0 + k) : rw_ldpad<P>(P0 + k, cnt, 0.0f);
    const V gv = full ? P::ld(G0 + k) : rw_ldpad<P>(G0 + k, cnt, 0.0f);
    // As bce_prob: a log below -100 or NaN is clamped to -100 unless p itself is NaN.
    const auto pn = visnan(pv);
    V lp = vlog(pv), lq = vlog1p(zero - pv);
    lp = vselect(vge(lp, lo) | pn, lp, lo);
    lq = vselect(vge(lq, lo) | pn, lq, lo);
    acc[0] = acc[0] + ((gv - one) * lq - gv * lp);
    acc[1] = vfma(pv, gv, acc[1]);
    acc[2] = acc[2] + pv;
    acc[3] = acc[3] + gv;
    if (O0) {
      const V d = (pv - gv) / vmax(pv * (one - pv), eps);
      if (full)
        P::st(O0 + k, d);
      else
        rw_stpart<P>(O0 + k, d, cnt);
    }
  }, sums);
}

// Vertical window of nmaps maps of t5 at output row y, columns [x, x + DL).
template <class P, int kMaps>
BG_INLINE void rs_vwin(const RsBasIn& in, const typename P::D* wv, int64_t y, int64_t x, typename P::D* acc) {
  using D = typename P::D;
  constexpr int K = rl::kSsimTaps, R = rl::kSsimPad;
  const int64_t H = in.H, HW = in.ms;
  for (int m = 0; m < kMaps; ++m) acc[m] = D(0.0);
  for (int t = 0; t < K; ++t) {
    const int64_t yy = y + t - R;
    if (yy < 0 || yy >= H) continue;
    const double* row = in.t5 + yy * in.ws + x;
    for (int m = 0; m < kMaps; ++m) acc[m] = dfma(wv[t], P::dld(row + m * HW), acc[m]);
  }
}
template <int kMaps>
BG_INLINE void rs_vwin1(const RsBasIn& in, int64_t y, int64_t x, double* acc) {
  constexpr int K = rl::kSsimTaps, R = rl::kSsimPad;
  const int64_t H = in.H, HW = in.ms;
  for (int m = 0; m < kMaps; ++m) acc[m] = 0.0;
  for (int t = 0; t < K; ++t) {
    const int64_t yy = y + t - R;
    if (yy < 0 || yy >= H) continue;
    for (int m = 0; m < kMaps; ++m) acc[m] += in.win[t] * in.t5[m * HW + yy * in.ws + x];
  }
}

// Stage 2: moments, SSIM and its backward maps (the formula of math/research_losses.h,
// instantiated for the double vector).
template <class P>
double rs_bas_v5(const RsBasIn& in, int64_t y0, int64_t y1) {
  using D = typename P::D;
  constexpr int64_t DL = static_cast<int64_t>(P::kDLanes);
  const int64_t W = in.W, HW = in.ms, full = W / DL * DL;
  D wv[rl::kSsimTaps];
  for (int t = 0; t < rl::kSsimTaps; ++t) wv[t] = D(in.win[t]);
  const D inv(in.inv);
  D sv(0.0);
  double tail = 0.0;
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x = 0; x < full; x += DL) {
      D m[5], S, dmu, d11, d12;
      rs_vwin<P, 5>(in, wv, y, x, m);
      rl::ssim_px<D>(m[0], m[1], m[2], m[3], m[4], S, dmu, d11, d12);
      sv = sv + S;
      if (in.out) {
        const int64_t i = y * in.ws + x;
        P::dst(in.gm + i, -dmu * inv);
        P::dst(in.gm + HW + i, -d11 * inv);
        P::dst(in.gm + 2 * HW + i, -d12 * inv);
      }
    }
    for (int64_t x = full; x < W; ++x) {
      double m[5], S, dmu, d11, d12;
      rs_vwin1<5>(in, y, x, m);
      rl::ssim_px<double>(m[0], m[1], m[2], m[3], m[4], S, dmu, d11, d12);
      tail += S;
      if (in.out) {
        const int64_t i = y * in.ws + x;
        in.gm[i] = -dmu * in.inv;
        in.gm[HW + i] = -d11 * in.inv;
        in.gm[2 * HW + i] = -d12 * in.inv;
      }
    }
  }
  return rs_dhsum<P>(sv) + tail;
}

// Stage 3: horizontal window of the backward maps (the window is symmetric, so the
// adjoint of the correlation is the same correlation).
template <class P>
void rs_bas_h3(const RsBasIn& in, int64_t y0, int64_t y1) {
  using D = typename P::D;
  constexpr int64_t DL = static_cast<int64_t>(P::kDLanes);
  constexpr int K = rl::kSsimTaps, R = rl::kSsimPad;
  const int64_t W = in.W, HW = in.ms;
  D wv[K];
  for (int t = 0; t < K; ++t) wv[t] = D(in.win[t]);
  for (int64_t y = y0; y < y1; ++y) {
    const double* src = in.gm + y * in.ws;
    double* o = in.t5 + y * in.ws;
    auto px = [&](int64_t x) {
      for (int m = 0; m < 3; ++m) {
        double s = 0;
        for (int t = 0; t < K; ++t) {
          const int64_t xx = x + t - R;
          if (xx >= 0 && xx < W) s += in.win[t] * src[m * HW + xx];
        }
        o[m * HW + x] = s;
      }
    };
    int64_t x = 0;
    for (; x < R && x < W; ++x) px(x);
    for (; x + DL + R <= W; x += DL) {
      D a[3] = {D(0.0), D(0.0), D(0.0)};
      for (int t = 0; t < K; ++t)
        for (int m = 0; m < 3; ++m) a[m] = dfma(wv[t], P::dld(src + m * HW + x + t - R), a[m]);
      for (int m = 0; m < 3; ++m) P::dst(o + m * HW + x, a[m]);
    }
    for (; x < W; ++x) px(x);
  }
}

// Stage 4: out = s (d inv + cmu + 2 p c11 + g c12 + dIoU), d the stored BCE gradient.
template <class P>
void rs_bas_v3(const RsBasIn& in, int64_t y0, int64_t y1) {
  using D = typename P::D;
  constexpr int64_t DL = static_cast<int64_t>(P::kDLanes);
  const int64_t W = in.W, full = W / DL * DL;
  D wv[rl::kSsimTaps];
  for (int t = 0; t < rl::kSsimTaps; ++t) wv[t] = D(in.win[t]);
  // The gradient of the IoU term reads only a, b, c (the smoothing is in num and den).
  const rl::Overlap<D> iov{D(1.0), D(1.0), D(-1.0), D(0.0), D(0.0)};
  const rl::Overlap<double> ios{1.0, 1.0, -1.0, 0.0, 0.0};
  const D s(in.s), inv(in.inv), num(in.num), den(in.den), two(2.0);
  for (int64_t y = y0; y < y1; ++y) {
    for (int64_t x = 0; x < full; x += DL) {
      D c[3];
      rs_vwin<P, 3>(in, wv, y, x, c);
      const int64_t i = y * W + x;
      const D p = P::dldf(in.P + i), g = P::dldf(in.G + i), d = P::dldf(in.out + i);
      const D gs = c[0] + two * p * c[1] + g * c[2];
      P::dstf(in.out + i, s * (d * inv + gs + iov.grad(p, g, false, num, den)));
    }
    for (int64_t x = full; x < W; ++x) {
      double c[3];
      rs_vwin1<3>(in, y, x, c);
      const int64_t i = y * W + x;
      const double p = in.P[i], g = in.G[i], d = in.out[i];
      const double gs = c[0] + 2.0 * p * c[1] + g * c[2];
      in.out[i] = static_cast<float>(in.s * (d * in.inv + gs + ios.grad(p, g, false, in.num, in.den)));
    }
  }
}

// ---- Dice / soft IoU -------------------------------------------------------------------

template <class P, bool kSq>
void rs_ov_sums_t(const float* p, const float* g, int64_t n, double* out) {
  using D = typename P::D;
  constexpr int64_t DL = static_cast<int64_t>(P::kDLanes);
  D I0(0.0), I1(0.0), P0(0.0), P1(0.0), G0(0.0), G1(0.0);
  int64_t i = 0;
  for (; i + 2 * DL <= n; i += 2 * DL) {
    const D pa = P::dldf(p + i), ga = P::dldf(g + i), pb = P::dldf(p + i + DL), gb = P::dldf(g + i + DL);
    I0 = dfma(pa, ga, I0);
    I1 = dfma(pb, gb, I1);
    P0 = kSq ? dfma(pa, pa, P0) : P0 + pa;
    P1 = kSq ? dfma(pb, pb, P1) : P1 + pb;
    G0 = kSq ? dfma(ga, ga, G0) : G0 + ga;
    G1 = kSq ? dfma(gb, gb, G1) : G1 + gb;
  }
  double I = rs_dhsum<P>(I0 + I1), Ps = rs_dhsum<P>(P0 + P1), Gs = rs_dhsum<P>(G0 + G1);
  for (; i < n; ++i) {
    const double pi = p[i], gi = g[i];
    I += pi * gi;
    Ps += kSq ? pi * pi : pi;
    Gs += kSq ? gi * gi : gi;
  }
  out[0] = I;
  out[1] = Ps;
  out[2] = Gs;
}
template <class P>
void rs_ov_sums(const float* p, const float* g, int64_t n, int sq, double* out) {
  if (sq)
    rs_ov_sums_t<P, true>(p, g, n, out);
  else
    rs_ov_sums_t<P, false>(p, g, n, out);
}

template <class P>
void rs_ov_grad(const float* p, const float* g, float* d, int64_t n, int sq, const double* abc, double num, double den,
                double s) {
  using D = typename P::D;
  constexpr int64_t DL = static_cast<int64_t>(P::kDLanes);
  const rl::Overlap<D> ov{D(abc[0]), D(abc[1]), D(abc[2]), D(0.0), D(0.0)};
  const rl::Overlap<double> os{abc[0], abc[1], abc[2], 0.0, 0.0};
  const D sv(s), nv(num), dv(den);
  const bool q = sq != 0;
  int64_t i = 0;
  for (; i + DL <= n; i += DL) P::dstf(d + i, sv * ov.grad(P::dldf(p + i), P::dldf(g + i), q, nv, dv));
  for (; i < n; ++i) d[i] = static_cast<float>(s * os.grad(p[i], g[i], q, num, den));
}

// ---- triBce / anyLoss --------------------------------------------------------------------

template <class P>
void rs_tri_sums(const float* zd, const float* zs, const float* y, int64_t n, double* out) {
  using V = typename P::V;
  const V half(0.5f);
  rw_reduce<P, 3>(n, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == static_cast<int64_t>(P::kLanes);
    const V a = full ? P::ld(zd + k) : rw_ldpad<P>(zd + k, cnt, 0.0f);
    const V b = full ? P::ld(zs + k) : rw_ldpad<P>(zs + k, cnt, 0.0f);
    const V t = full ? P::ld(y + k) : rw_ldpad<P>(y + k, cnt, 0.0f);
    const V f = half * (a + b);
    V lf = rw_softplus<P>(f) - t * f, ld = rw_softplus<P>(a) - t * a, ls = rw_softplus<P>(b) - t * b;
    if (!full) {
      const V ok = rw_valid<P>(cnt);
      lf = rw_keep<P>(ok, lf);
      ld = rw_keep<P>(ok, ld);
      ls = rw_keep<P>(ok, ls);
    }
    acc[0] = acc[0] + lf;
    acc[1] = acc[1] + ld;
    acc[2] = acc[2] + ls;
  }, out);
}

template <class P>
void rs_tri_grad(const float* zd, const float* zs, const float* y, int64_t n, float* gd, float* gs, float sc, float cf,
                 float cd, float cs) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V half(0.5f), scv(sc), cfv(cf), cdv(cd), csv(cs);
  auto step = [&](int64_t k, int64_t cnt) {
    const bool full = cnt == L;
    const V a = full ? P::ld(zd + k) : rw_ldpad<P>(zd + k, cnt, 0.0f);
    const V b = full ? P::ld(zs + k) : rw_ldpad<P>(zs + k, cnt, 0.0f);
    const V t = full ? P::ld(y + k) : rw_ldpad<P>(y + k, cnt, 0.0f);
    V e;
    const V gf = cfv * (half * (rs_sigmoid<P>(half * (a + b), e) - t));
    if (gd) {
      const V v = scv * vfma(cdv, rs_sigmoid<P>(a, e) - t, gf);
      if (full)
        P::st(gd + k, v);
      else
        rw_stpart<P>(gd + k, v, cnt);
    }
    if (gs) {
      const V v = scv * vfma(csv, rs_sigmoid<P>(b, e) - t, gf);
      if (full)
        P::st(gs + k, v);
      else
        rw_stpart<P>(gs + k, v, cnt);
    }
  };
  const int64_t full = n / L * L;
  for (int64_t k = 0; k < full; k += L) step(k, L);
  if (n > full) step(full, n - full);
}

template <class P>
void rs_any_sums(const float* p, const float* y, int64_t n, float Lf, double* out) {
  using V = typename P::V;
  const V Lv(Lf), half(0.5f), zero(0.0f), one(1.0f);
  rw_reduce<P, 4>(n, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == static_cast<int64_t>(P::kLanes);
    const V pv = full ? P::ld(p + k) : rw_ldpad<P>(p + k, cnt, 0.5f);
    const V t = full ? P::ld(y + k) : rw_ldpad<P>(y + k, cnt, 0.0f);
    const V z = Lv * (pv - half);
    V e;
    (void)rs_sigmoid<P>(z, e);
    // a and 1 - a each from e = exp(-|z|): a saturated float a (L = 73) keeps 1 - a.
    const V r = one / (one + e), re = e * r;
    const auto pos = vge(z, zero);
    V a = vselect(pos, r, re), ac = vselect(pos, re, r);
    V tc = one - t;
    if (!full) {
      const V ok = rw_valid<P>(cnt);
      a = rw_keep<P>(ok, a);
      ac = rw_keep<P>(ok, ac);
      tc = rw_keep<P>(ok, tc);
    }
    acc[0] = vfma(t, a, acc[0]);
    acc[1] = vfma(t, ac, acc[1]);
    acc[2] = vfma(tc, a, acc[2]);
    acc[3] = vfma(tc, ac, acc[3]);
  }, out);
}

template <class P>
void rs_any_grad(const float* p, const float* y, float* g, int64_t n, float Lf, float kpos, float kneg, float s) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V Lv(Lf), half(0.5f), one(1.0f), kp(kpos), kn(kneg), sl(-s * Lf);
  auto step = [&](V pv, V t) {
    V e;
    (void)rs_sigmoid<P>(Lv * (pv - half), e);
    // a (1 - a) = e / (1 + e)^2 with e = exp(-|z|): no cancellation when a is near 1.
    const V q = one + e;
    return sl * vfma(t, kp, (one - t) * kn) * (e / (q * q));
  };
  const int64_t full = n / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(g + k, step(P::ld(p + k), P::ld(y + k)));
  if (n > full) rw_stpart<P>(g + full, step(rw_ldpad<P>(p + full, n - full, 0.5f), rw_ldpad<P>(y + full, n - full, 0.0f)), n - full);
}

template <class P>
constexpr RsTable make_rs_table() {
  return RsTable{&rs_mw_tile<P>, &rs_bas_h5<P>,   &rs_bas_v5<P>,   &rs_bas_h3<P>,    &rs_bas_v3<P>,   &rs_ov_sums<P>,
                 &rs_ov_grad<P>, &rs_tri_sums<P>, &rs_tri_grad<P>, &rs_any_sums<P>, &rs_any_grad<P>};
}

}  // namespace
}  // namespace cpu
}  // namespace bg
