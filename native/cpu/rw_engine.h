// The row-wise loss row kernels (rw_kernels.h), written once over an ISA policy P
// (P::V, P::kLanes, P::ld, P::st; as ce_engine.h). Included by rw_block_{avx2,avx512}.cpp
// after their vector header. Everything is in an anonymous namespace; tails go through
// padded stack buffers, so the vector TUs never instantiate anything with float, and
// no inline std:: function is called.
#pragma once
#include <cstddef>
#include <cstdint>

#include "rw_kernels.h"

namespace bg {
namespace cpu {
namespace {

template <class P>
BG_INLINE double rw_hsum(typename P::V v) {
  alignas(64) float l[P::kLanes];
  P::st(l, v);
  double s = 0.0;
  for (size_t j = 0; j < P::kLanes; ++j) s += static_cast<double>(l[j]);
  return s;
}

// Loads lanes [i, i + n) of p into a vector padded with `pad`.
template <class P>
BG_INLINE typename P::V rw_ldpad(const float* p, int64_t n, float pad) {
  alignas(64) float b[P::kLanes];
  for (int64_t j = 0; j < static_cast<int64_t>(P::kLanes); ++j) b[j] = j < n ? p[j] : pad;
  return P::ld(b);
}
template <class P>
BG_INLINE void rw_stpart(float* p, typename P::V v, int64_t n) {
  alignas(64) float b[P::kLanes];
  P::st(b, v);
  for (int64_t j = 0; j < n; ++j) p[j] = b[j];
}

template <class P>
void rw_lse(const float* x, int64_t C, float scale, RwLse* out) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const float ninf = -__builtin_inff();
  V m0(ninf), m1(ninf);
  const int64_t full = C / L * L;
  int64_t i = 0;
  for (; i + 2 * L <= full; i += 2 * L) {
    m0 = vmax(P::ld(x + i), m0);
    m1 = vmax(P::ld(x + i + L), m1);
  }
  for (; i < full; i += L) m0 = vmax(P::ld(x + i), m0);
  if (C > full) m1 = vmax(rw_ldpad<P>(x + full, C - full, ninf), m1);
  alignas(64) float l[L];
  P::st(l, vmax(m0, m1));
  float xm = l[0];
  for (int64_t j = 1; j < L; ++j) xm = (xm != xm) ? xm : ((l[j] > xm || l[j] != l[j]) ? l[j] : xm);
  out->xm = xm;
  if (xm == ninf || xm != xm) {  // all -inf (d = 0, lse -inf) or NaN
    out->d = xm == ninf ? 0.0 : static_cast<double>(xm);
    return;
  }
  const V mv(xm), sv(scale);
  double d = 0.0;
  for (int64_t b0 = 0; b0 < C; b0 += kRwBlock) {
    const int64_t e = C - b0 < kRwBlock ? C : b0 + kRwBlock;
    const int64_t ef = b0 + (e - b0) / L * L;
    V s0(0.0f), s1(0.0f);
    int64_t k = b0;
    for (; k + 2 * L <= ef; k += 2 * L) {
      s0 = s0 + vexp((P::ld(x + k) - mv) * sv);
      s1 = s1 + vexp((P::ld(x + k + L) - mv) * sv);
    }
    for (; k < ef; k += L) s0 = s0 + vexp((P::ld(x + k) - mv) * sv);
    if (e > ef) s1 = s1 + vexp((rw_ldpad<P>(x + ef, e - ef, ninf) - mv) * sv);
    d += rw_hsum<P>(s0 + s1);
  }
  out->d = d;
}

template <class P>
BG_INLINE typename P::V rw_kd_step(const RwKdIn& in, typename P::V x, typename P::V t, typename P::V* g) {
  using V = typename P::V;
  const V zs = vfma(x - V(in.xsm), V(in.iT), V(-in.ls0));
  const V zt = vfma(t - V(in.xtm), V(in.iT), V(-in.lt0));
  const V q = vexp(zt);
  if (g) *g = V(in.gs) * (vexp(zs) - q);
  return vselect(veq(q, V(0.0f)), V(0.0f), q * (zt - zs));
}

template <class P>
double rw_kd(const RwKdIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  double A = 0.0;
  for (int64_t b0 = 0; b0 < in.C; b0 += kRwBlock) {
    const int64_t e = in.C - b0 < kRwBlock ? in.C : b0 + kRwBlock;
    const int64_t ef = b0 + (e - b0) / L * L;
    V s(0.0f);
    V gv(0.0f);
    for (int64_t k = b0; k < ef; k += L) {
      s = s + rw_kd_step<P>(in, P::ld(in.x + k), P::ld(in.t + k), in.g ? &gv : nullptr);
      if (in.g) P::st(in.g + k, gv);
    }
    if (e > ef) {
      // Padded lanes: x = xsm, t = -inf, so q = 0 and the term is 0.
      const V a = rw_kd_step<P>(in, rw_ldpad<P>(in.x + ef, e - ef, in.xsm), rw_ldpad<P>(in.t + ef, e - ef, -__builtin_inff()),
                                in.g ? &gv : nullptr);
      s = s + a;
      if (in.g) rw_stpart<P>(in.g + ef, gv, e - ef);
    }
    A += rw_hsum<P>(s);
  }
  return A;
}

template <class P>
void rw_rmt_sums(const RwRmtIn& in, double* Aout, double* Sout) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V xs(in.xsm), l0(in.ls0), xt(in.xtm), t0(in.lt0);
  const V zero(0.0f);
  double A = 0.0, S = 0.0;
  for (int64_t b0 = 0; b0 < in.C; b0 += kRwBlock) {
    const int64_t e = in.C - b0 < kRwBlock ? in.C : b0 + kRwBlock;
    const int64_t ef = b0 + (e - b0) / L * L;
    V a(0.0f), s(0.0f);
    for (int64_t k = b0; k <= e - 1; k += L) {
      const bool part = k >= ef;
      const V xv = part ? rw_ldpad<P>(in.x + k, e - k, in.xsm) : P::ld(in.x + k);
      const V tv = part ? rw_ldpad<P>(in.t + k, e - k, in.xtm) : P::ld(in.t + k);
      const V lx = (xv - xs) - l0;
      const V lt = (tv - xt) - t0;
      V ps = vexp(lx) * lt;
      V at = vfma(vexp(lt), lx, ps);
      if (part) {
        alignas(64) float o[L];
        for (int64_t j = 0; j < L; ++j) o[j] = j < e - k ? 1.0f : 0.0f;
        const V ov = P::ld(o);
        ps = vselect(veq(ov, zero), zero, ps);
        at = vselect(veq(ov, zero), zero, at);
      }
      a = a + at;
      s = s + ps;
    }
    A += rw_hsum<P>(a);
    S += rw_hsum<P>(s);
  }
  *Aout = A;
  *Sout = S;
}

template <class P>
void rw_rmt_grad(const RwRmtIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V xs(in.xsm), l0(in.ls0), xt(in.xtm), t0(in.lt0), half(0.5f), gs(in.gs), S(in.S);
  auto step = [&](V xv, V tv) {
    const V lx = (xv - xs) - l0;
    const V lt = (tv - xt) - t0;
    const V p = vexp(lx);
    return gs * (half * (p - vexp(lt)) - half * p * (lt - S));
  };
  const int64_t full = in.C / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(in.g + k, step(P::ld(in.x + k), P::ld(in.t + k)));
  if (in.C > full)
    rw_stpart<P>(in.g + full, step(rw_ldpad<P>(in.x + full, in.C - full, in.xsm), rw_ldpad<P>(in.t + full, in.C - full, in.xtm)),
                 in.C - full);
}

template <class P>
void rw_exp_grad(const RwExpIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V xm(in.xm), c0(in.c0), gs(in.gs);
  const int64_t full = in.C / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(in.g + k, gs * vexp((P::ld(in.x + k) - xm) + c0));
  if (in.C > full) rw_stpart<P>(in.g + full, gs * vexp((rw_ldpad<P>(in.x + full, in.C - full, in.xm) - xm) + c0), in.C - full);
}

// 1.0f in lanes [0, cnt), 0 elsewhere: masks the padded lanes of a tail.
template <class P>
BG_INLINE typename P::V rw_valid(int64_t cnt) {
  alignas(64) float o[P::kLanes];
  for (int64_t j = 0; j < static_cast<int64_t>(P::kLanes); ++j) o[j] = j < cnt ? 1.0f : 0.0f;
  return P::ld(o);
}
template <class P>
BG_INLINE typename P::V rw_keep(typename P::V valid, typename P::V v) {
  using V = typename P::V;
  return vselect(veq(valid, V(0.0f)), V(0.0f), v);
}

// kSums fixed-order sums over [0, n): step(k, cnt, acc) adds lanes [k, k + cnt) (cnt <=
// L, lanes past cnt contributing 0) into acc[0..kSums). Per block of kRwBlock elements two
// accumulators per sum, added lane by lane into a double; block sums in block order. So
// the result depends only on the values (never on threads or addresses).
template <class P, int kSums, class Step>
BG_INLINE void rw_reduce(int64_t n, const Step& step, double* out) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  for (int i = 0; i < kSums; ++i) out[i] = 0.0;
  for (int64_t b0 = 0; b0 < n; b0 += kRwBlock) {
    const int64_t e = n - b0 < kRwBlock ? n : b0 + kRwBlock;
    V a0[kSums], a1[kSums];
    for (int i = 0; i < kSums; ++i) a0[i] = a1[i] = V(0.0f);
    int64_t k = b0;
    for (; k + 2 * L <= e; k += 2 * L) {
      step(k, L, a0);
      step(k + L, L, a1);
    }
    for (; k < e; k += L) step(k, e - k < L ? e - k : L, a0);
    for (int i = 0; i < kSums; ++i) out[i] += rw_hsum<P>(a0[i] + a1[i]);
  }
}

// ---- zLoss ---------------------------------------------------------------------------

template <class P>
void rw_moments(const float* x, int64_t C, RwMoments* out) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  V mn(__builtin_inff()), mx(-__builtin_inff());
  double sum;
  rw_reduce<P, 1>(C, [&](int64_t k, int64_t cnt, V* acc) {
    if (cnt == L) {
      const V v = P::ld(x + k);
      acc[0] = acc[0] + v;
      mn = vmin(v, mn);
      mx = vmax(v, mx);
    } else {
      acc[0] = acc[0] + rw_ldpad<P>(x + k, cnt, 0.0f);
      const V v = rw_ldpad<P>(x + k, cnt, x[k]);  // pads with a row value: min / max unchanged
      mn = vmin(v, mn);
      mx = vmax(v, mx);
    }
  }, &sum);
  alignas(64) float a[L], b[L];
  P::st(a, mn);
  P::st(b, mx);
  float lo = a[0], hi = b[0];
  for (int64_t j = 1; j < L; ++j) {
    lo = a[j] < lo ? a[j] : lo;
    hi = b[j] > hi ? b[j] : hi;
  }
  out->sum = sum;
  out->mn = lo;
  out->mx = hi;
}

template <class P>
void rw_dev2(const float* x, int64_t C, float mu, double* s1, double* s2) {
  using V = typename P::V;
  const V m(mu);
  double r[2];
  rw_reduce<P, 2>(C, [&](int64_t k, int64_t cnt, V* acc) {
    // Padded lanes hold mu: their deviation is exactly 0.
    const V d = (cnt == static_cast<int64_t>(P::kLanes) ? P::ld(x + k) : rw_ldpad<P>(x + k, cnt, mu)) - m;
    acc[0] = acc[0] + d;
    acc[1] = vfma(d, d, acc[1]);
  }, r);
  *s1 = r[0];
  *s2 = r[1];
}

template <class P>
void rw_affine(const RwAffineIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V mu(in.mu), c1(in.c1), c0(in.c0);
  const int64_t full = in.C / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(in.g + k, vfma(P::ld(in.x + k) - mu, c1, c0));
  if (in.C > full) rw_stpart<P>(in.g + full, vfma(rw_ldpad<P>(in.x + full, in.C - full, in.mu) - mu, c1, c0), in.C - full);
}

// ---- LDR-KL / ALDR-KL ------------------------------------------------------------------

template <class P>
BG_INLINE typename P::V rw_softplus(typename P::V x) {
  using V = typename P::V;
  const V zero(0.0f);
  return vmax(x, zero) + vlog1p(vexp(zero - vabs(x)));
}

template <class P>
double rw_softplus_store(const float* x, float* s, int64_t n) {
  using V = typename P::V;
  double sum;
  rw_reduce<P, 1>(n, [&](int64_t k, int64_t cnt, V* acc) {
    if (cnt == static_cast<int64_t>(P::kLanes)) {
      const V v = rw_softplus<P>(P::ld(x + k));
      P::st(s + k, v);
      acc[0] = acc[0] + v;
    } else {
      const V v = rw_softplus<P>(rw_ldpad<P>(x + k, cnt, -__builtin_inff()));  // softplus(-inf) = 0
      rw_stpart<P>(s + k, v, cnt);
      acc[0] = acc[0] + v;
    }
  }, &sum);
  return sum;
}

template <class P>
double rw_abssum(const float* x, int64_t n) {
  using V = typename P::V;
  double sum;
  rw_reduce<P, 1>(n, [&](int64_t k, int64_t cnt, V* acc) {
    acc[0] = acc[0] + vabs(cnt == static_cast<int64_t>(P::kLanes) ? P::ld(x + k) : rw_ldpad<P>(x + k, cnt, 0.0f));
  }, &sum);
  return sum;
}

template <class P>
float rw_max(const float* x, int64_t n) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const float ninf = -__builtin_inff();
  V m(ninf);
  const int64_t full = n / L * L;
  for (int64_t k = 0; k < full; k += L) m = vmax(P::ld(x + k), m);
  if (n > full) m = vmax(rw_ldpad<P>(x + full, n - full, ninf), m);
  alignas(64) float l[L];
  P::st(l, m);
  float r = l[0];
  for (int64_t j = 1; j < L; ++j) r = l[j] > r ? l[j] : r;
  return r;
}

template <class P>
void rw_ldr_expsum(const RwLdrIn& in, double* D, double* F) {
  using V = typename P::V;
  const V a(in.a), c(in.c), sr(in.sref);
  double r[2];
  rw_reduce<P, 2>(in.n, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == static_cast<int64_t>(P::kLanes);
    const V sv = full ? P::ld(in.s + k) : rw_ldpad<P>(in.s + k, cnt, in.sref);
    V e = vexp(vfma(sv - sr, a, c));
    if (!full) e = rw_keep<P>(rw_valid<P>(cnt), e);
    acc[0] = acc[0] + e;
    acc[1] = vfma(e, sv, acc[1]);
  }, r);
  *D = r[0];
  if (F) *F = r[1];
}

template <class P>
double rw_ldr_klsum(const RwLdrIn& in, float inv_norm, float eps, float K) {
  using V = typename P::V;
  const V a(in.a), c(in.c), sr(in.sref), inv(inv_norm), ep(eps), kv(K);
  double r;
  rw_reduce<P, 1>(in.n, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == static_cast<int64_t>(P::kLanes);
    const V sv = full ? P::ld(in.s + k) : rw_ldpad<P>(in.s + k, cnt, in.sref);
    const V pv = (vexp(vfma(sv - sr, a, c)) + ep) * inv;
    V t = pv * vlog(kv * pv);
    if (!full) t = rw_keep<P>(rw_valid<P>(cnt), t);
    acc[0] = acc[0] + t;
  }, &r);
  return r;
}

template <class P>
void rw_ldr_grad(const RwLdrIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V a(in.a), c(in.c), sr(in.sref), A(in.A), B(in.B), zero(0.0f), one(1.0f);
  auto step = [&](V xv, V sv) {
    const V e = vexp(vfma(sv - sr, a, c));
    if (in.mode == 0) {
      const V t = vexp(zero - vabs(xv));
      const V sig = vselect(vge(xv, zero), one, t) / (one + t);
      return sig * vfma(A, e, B);
    }
    const V sg = vselect(vlt(zero, xv), one, vselect(vlt(xv, zero), V(-1.0f), zero));
    return vfma(A, e, B * sg);
  };
  const int64_t full = in.n / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(in.g + k, step(P::ld(in.x + k), P::ld(in.s + k)));
  if (in.n > full)
    rw_stpart<P>(in.g + full, step(rw_ldpad<P>(in.x + full, in.n - full, 0.0f), rw_ldpad<P>(in.s + full, in.n - full, in.sref)),
                 in.n - full);
}

// ---- decoupledSoftmax / cbcLoss / plackettLuceDistillation ------------------------------

template <class P>
float rw_min(const float* x, int64_t n) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const float pinf = __builtin_inff();
  V m(pinf);
  const int64_t full = n / L * L;
  for (int64_t k = 0; k < full; k += L) m = vmin(P::ld(x + k), m);
  if (n > full) m = vmin(rw_ldpad<P>(x + full, n - full, pinf), m);
  alignas(64) float l[L];
  P::st(l, m);
  float r = l[0];
  for (int64_t j = 1; j < L; ++j) r = l[j] < r ? l[j] : r;
  return r;
}

template <class P>
double rw_expsum(const float* x, int64_t n, float ref) {
  using V = typename P::V;
  const V rv(ref);
  double r;
  rw_reduce<P, 1>(n, [&](int64_t k, int64_t cnt, V* acc) {
    const V xv = cnt == static_cast<int64_t>(P::kLanes) ? P::ld(x + k) : rw_ldpad<P>(x + k, cnt, -__builtin_inff());
    acc[0] = acc[0] + vexp(xv - rv);
  }, &r);
  return r;
}

template <class P>
void rw_exp_map(const float* x, float* out, int64_t n, float ref, float scale, float c) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V rv(ref), sv(scale), cv(c);
  const int64_t full = n / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(out + k, vexp(vfma(P::ld(x + k) - rv, sv, cv)));
  if (n > full) rw_stpart<P>(out + full, vexp(vfma(rw_ldpad<P>(x + full, n - full, ref) - rv, sv, cv)), n - full);
}

template <class P>
void rw_dex_lse(const float* x, const float* m, int64_t C, RwLse* out, double* npos) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const float ninf = -__builtin_inff();
  const V zero(0.0f), one(1.0f), vninf(ninf);
  V mx(ninf);
  // Padded lanes: x = -inf, m = 0 (a negative contributing nothing to the max or the sum).
  rw_reduce<P, 1>(C, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == L;
    const V xv = full ? P::ld(x + k) : rw_ldpad<P>(x + k, cnt, ninf);
    const V mv = full ? P::ld(m + k) : rw_ldpad<P>(m + k, cnt, 0.0f);
    const auto neg = veq(mv, zero);
    mx = vmax(vselect(neg, xv, vninf), mx);
    acc[0] = acc[0] + vselect(neg, zero, one);
  }, npos);
  alignas(64) float l[L];
  P::st(l, mx);
  float xm = l[0];
  for (int64_t j = 1; j < L; ++j) xm = (xm != xm) ? xm : ((l[j] > xm || l[j] != l[j]) ? l[j] : xm);
  out->xm = xm;
  out->d = 0.0;
  if (xm == ninf || xm != xm || xm == -ninf) return;  // the caller takes the float64 code
  const V mv0(xm);
  rw_reduce<P, 1>(C, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == L;
    const V xv = full ? P::ld(x + k) : rw_ldpad<P>(x + k, cnt, ninf);
    const V mv = full ? P::ld(m + k) : rw_ldpad<P>(m + k, cnt, 0.0f);
    // Positives may sit far above xm: their exp overflows but is never selected.
    acc[0] = acc[0] + vselect(veq(mv, zero), vexp(xv - mv0), zero);
  }, &out->d);
}

// dd = lse_neg - x with lse_neg = xm + logd; (xm - x) is exact near the max, so the
// positives that carry the loss keep full relative precision.
template <class P>
BG_INLINE void rw_dex_terms(const RwDexIn& in, typename P::V xv, typename P::V* sp, typename P::V* sg) {
  using V = typename P::V;
  const V zero(0.0f), one(1.0f);
  const V dd = (V(in.xm) - xv) + V(in.logd);
  const V e = vexp(zero - vabs(dd));
  if (sp) *sp = vmax(dd, zero) + vlog1p(e);
  *sg = vselect(vge(dd, zero), one, e) / (one + e);
}

template <class P>
void rw_dex_pos(const RwDexIn& in, double* Lout, double* Gout) {
  using V = typename P::V;
  const V zero(0.0f);
  double r[2];
  rw_reduce<P, 2>(in.C, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == static_cast<int64_t>(P::kLanes);
    const V xv = full ? P::ld(in.x + k) : rw_ldpad<P>(in.x + k, cnt, in.xm);
    const V mv = full ? P::ld(in.m + k) : rw_ldpad<P>(in.m + k, cnt, 0.0f);
    V sp, sg;
    rw_dex_terms<P>(in, xv, &sp, &sg);
    const auto neg = veq(mv, zero);
    acc[0] = acc[0] + vselect(neg, zero, sp);
    acc[1] = acc[1] + vselect(neg, zero, sg);
  }, r);
  *Lout = r[0];
  *Gout = r[1];
}

template <class P>
void rw_dex_grad(const RwDexIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V zero(0.0f), A(in.A), B(in.B), xm(in.xm), ld(in.logd);
  auto step = [&](V xv, V mv) {
    V sg;
    rw_dex_terms<P>(in, xv, nullptr, &sg);
    return vselect(veq(mv, zero), B * vexp((xv - xm) - ld), A * sg);
  };
  const int64_t full = in.C / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(in.g + k, step(P::ld(in.x + k), P::ld(in.m + k)));
  if (in.C > full)
    rw_stpart<P>(in.g + full, step(rw_ldpad<P>(in.x + full, in.C - full, in.xm), rw_ldpad<P>(in.m + full, in.C - full, 0.0f)),
                 in.C - full);
}

template <class P>
void rw_cbc_neg(const RwCbcIn& in, double* Lout, double* Rout) {
  using V = typename P::V;
  const V zero(0.0f), one(1.0f), xm(in.xm), ld(in.logd);
  double r[2];
  // Padded lanes: x = -inf, so p = 0 and both terms are 0.
  rw_reduce<P, 2>(in.n, [&](int64_t k, int64_t cnt, V* acc) {
    const V xv = cnt == static_cast<int64_t>(P::kLanes) ? P::ld(in.x + k) : rw_ldpad<P>(in.x + k, cnt, -__builtin_inff());
    const V p = vexp((xv - xm) - ld);
    acc[0] = acc[0] - vlog1p(zero - p);
    acc[1] = acc[1] + p / (one - p);
  }, r);
  *Lout = r[0];
  *Rout = r[1];
}

template <class P>
void rw_cbc_grad(const RwCbcIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V zero(0.0f), one(1.0f), xm(in.xm), ld(in.logd), A(in.A), B(in.B), R(in.R);
  auto step = [&](V xv) {
    const V p = vexp((xv - xm) - ld);
    return vfma(A, p, B * vfma(zero - p, R, p / (one - p)));
  };
  const int64_t full = in.n / L * L;
  for (int64_t k = 0; k < full; k += L) P::st(in.g + k, step(P::ld(in.x + k)));
  if (in.n > full) rw_stpart<P>(in.g + full, step(rw_ldpad<P>(in.x + full, in.n - full, -__builtin_inff())), in.n - full);
}

template <class P>
double rw_pld_loss(const float* x, const float* alpha, const float* S, int64_t n, float ref) {
  using V = typename P::V;
  const V rv(ref);
  double r;
  // Padded lanes: alpha = 0, x = ref, S = 1: the term is exactly 0.
  rw_reduce<P, 1>(n, [&](int64_t k, int64_t cnt, V* acc) {
    const bool full = cnt == static_cast<int64_t>(P::kLanes);
    const V xv = full ? P::ld(x + k) : rw_ldpad<P>(x + k, cnt, ref);
    const V av = full ? P::ld(alpha + k) : rw_ldpad<P>(alpha + k, cnt, 0.0f);
    const V sv = full ? P::ld(S + k) : rw_ldpad<P>(S + k, cnt, 1.0f);
    acc[0] = vfma(av, (rv - xv) + vlog(sv), acc[0]);
  }, &r);
  return r;
}

template <class P>
constexpr RwTable make_rw_table() {
  return RwTable{&rw_lse<P>,     &rw_kd<P>,          &rw_rmt_sums<P>, &rw_rmt_grad<P>,    &rw_exp_grad<P>,
                 &rw_moments<P>, &rw_dev2<P>,        &rw_affine<P>,   &rw_softplus_store<P>, &rw_abssum<P>,
                 &rw_max<P>,     &rw_ldr_expsum<P>,  &rw_ldr_klsum<P>, &rw_ldr_grad<P>,
                 &rw_min<P>,     &rw_expsum<P>,      &rw_exp_map<P>,  &rw_dex_lse<P>,     &rw_dex_pos<P>,
                 &rw_dex_grad<P>, &rw_cbc_neg<P>,    &rw_cbc_grad<P>, &rw_pld_loss<P>};
}

}  // namespace
}  // namespace cpu
}  // namespace bg
