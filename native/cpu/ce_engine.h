// The crossEntropy row kernels, written once over an ISA policy P (the same policy
// shape as ew_engine.h: P::V, P::kLanes, P::ld, P::st). Included by
// ce_block_{scalar,avx2,avx512}.cpp after their vector header. Everything is in an
// anonymous namespace; tails go through small padded stack buffers, so the vector
// TUs never instantiate anything with float, and no inline std:: function is called
// (scalar exp / log of the per-block bookkeeping use __builtin_exp).
#pragma once
#include <cstddef>
#include <cstdint>

#include "ce_kernels.h"

namespace bg {
namespace cpu {
namespace {

// Logits per block of pass 1: 8 KiB, so the exp-sum re-reads the block from L1.
static_assert(kCeBlock == 2048, "ce_kernels.h block size");

template <class P>
BG_INLINE float ce_hmax(typename P::V v) {
  alignas(64) float l[P::kLanes];
  P::st(l, v);
  float m = l[0];
  for (size_t j = 1; j < P::kLanes; ++j) m = (m != m) ? m : ((l[j] > m || l[j] != l[j]) ? l[j] : m);
  return m;
}

template <class P>
BG_INLINE double ce_hsum(typename P::V v) {
  alignas(64) float l[P::kLanes];
  P::st(l, v);
  double s = 0.0;
  for (size_t j = 0; j < P::kLanes; ++j) s += static_cast<double>(l[j]);
  return s;
}

// a_c of CeStatsIn for one vector.
template <class P, bool kW, bool kT>
BG_INLINE typename P::V ce_a(const float* w, const float* t, typename P::V eps1, typename P::V k) {
  using V = typename P::V;
  V a(1.0f);
  if (kT) a = vfma(P::ld(t), eps1, k);
  if (kW) a = kT ? a * P::ld(w) : P::ld(w);
  return a;
}

// kStore (CeStatsIn::e non-null): also writes e_c = exp(x_c - M_b) over the row, where
// M_b is the running max after block b (stored in bmax[b]), so pass 2 needs no exp.
template <class P, bool kSmooth, bool kW, bool kT, bool kStore>
void ce_stats_impl(const CeStatsIn& in, CeStats* out) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const float ninf = -__builtin_inff();
  const V eps1(in.eps1);
  const V kk(in.k);
  double M = ninf, d = 0.0, A = 0.0, SX = 0.0;
  alignas(64) float xb[L], wb[L], tb[L], ob[L];
  for (int64_t b0 = 0; b0 < in.C; b0 += kCeBlock) {
    const int64_t len = in.C - b0 < kCeBlock ? in.C - b0 : kCeBlock;
    const float* x = in.x + b0;
    const float* w = kW ? in.w + b0 : nullptr;
    const float* t = kT ? in.t + b0 : nullptr;
    const int64_t full = len / L * L;
    const int64_t rem = len - full;
    if (rem) {
      for (int64_t j = 0; j < L; ++j) {
        xb[j] = j < rem ? x[full + j] : ninf;
        if (kW) wb[j] = j < rem ? w[full + j] : 0.0f;
        if (kT) tb[j] = j < rem ? t[full + j] : 0.0f;
        ob[j] = j < rem ? 1.0f : 0.0f;
      }
    }
    // Block max (two chains; a NaN anywhere propagates).
    V m0(ninf), m1(ninf);
    int64_t i = 0;
    for (; i + 2 * L <= full; i += 2 * L) {
      m0 = vmax(P::ld(x + i), m0);
      m1 = vmax(P::ld(x + i + L), m1);
    }
    for (; i < full; i += L) m0 = vmax(P::ld(x + i), m0);
    if (rem) m1 = vmax(P::ld(xb), m1);
    const float mb = ce_hmax<P>(vmax(m0, m1));
    double Mn = M;
    if (mb != mb || mb > M) Mn = mb;
    if (Mn > M && M > ninf) {
      d *= __builtin_exp(M - Mn);
      if (kSmooth) SX += A * (M - Mn);
    }
    M = Mn;
    if (kStore) in.bmax[b0 / kCeBlock] = M;
    // Every logit so far is -inf (masked): nothing to add yet (exp(-inf - m) = 0 once
    // a finite max arrives). A row that stays all -inf gives d = 0 and a NaN loss.
    if (M == ninf) {
      if (kStore)
        for (int64_t j = 0; j < len; ++j) in.e[b0 + j] = 0.0f;
      continue;
    }
    float* eo = kStore ? in.e + b0 : nullptr;
    const V mv(static_cast<float>(M));
    V e0(0.0f), e1(0.0f), sa(0.0f), sz(0.0f);
    i = 0;
    for (; i + 2 * L <= full; i += 2 * L) {
      const V z0 = P::ld(x + i) - mv;
      const V z1 = P::ld(x + i + L) - mv;
      const V x0 = vexp(z0);
      const V x1 = vexp(z1);
      e0 = e0 + x0;
      e1 = e1 + x1;
      if (kStore) {
        P::st(eo + i, x0);
        P::st(eo + i + L, x1);
      }
      if (kSmooth) {
        const V a0 = ce_a<P, kW, kT>(w + i, t + i, eps1, kk);
        const V a1 = ce_a<P, kW, kT>(w + i + L, t + i + L, eps1, kk);
        sa = sa + (a0 + a1);
        sz = vfma(a0, z0, sz);
        sz = vfma(a1, z1, sz);
      }
    }
    for (; i < full; i += L) {
      const V z0 = P::ld(x + i) - mv;
      const V x0 = vexp(z0);
      e0 = e0 + x0;
      if (kStore) P::st(eo + i, x0);
      if (kSmooth) {
        const V a0 = ce_a<P, kW, kT>(w + i, t + i, eps1, kk);
        sa = sa + a0;
        sz = vfma(a0, z0, sz);
      }
    }
    if (rem) {
      // Padded lanes: z = 0 (finite), then masked out by o = 0.
      for (int64_t j = rem; j < L; ++j) xb[j] = static_cast<float>(M);
      const V o = P::ld(ob);
      const V z0 = P::ld(xb) - mv;
      const V x0 = vexp(z0) * o;
      e1 = e1 + x0;
      if (kStore) {
        P::st(ob, x0);  // ob is not read again in this block
        for (int64_t j = 0; j < rem; ++j) eo[full + j] = ob[j];
      }
      if (kSmooth) {
        const V a0 = ce_a<P, kW, kT>(wb, tb, eps1, kk) * o;
        sa = sa + a0;
        sz = vfma(a0, z0, sz);
      }
    }
    d += ce_hsum<P>(e0 + e1);
    if (kSmooth) {
      A += ce_hsum<P>(sa);
      SX += ce_hsum<P>(sz);
    }
  }
  out->m = M;
  out->d = d;
  out->a = A;
  out->sx = SX;
}

template <class P, bool kW, bool kT>
BG_INLINE typename P::V ce_gstep(const float* x, const float* w, const float* t, typename P::V mv,
                                 typename P::V invd, typename P::V sA, typename P::V sk,
                                 typename P::V se) {
  using V = typename P::V;
  const V p = vexp(P::ld(x) - mv) * invd;
  V b = kT ? vfma(P::ld(t), se, sk) : sk;
  if (kW) b = b * P::ld(w);
  return p * sA - b;
}

template <class P, bool kW, bool kT>
void ce_grad_impl(const CeGradIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V mv(in.m), invd(in.invd), sA(in.sA), sk(in.sk), se(in.seps1);
  const int64_t full = in.C / L * L;
  for (int64_t i = 0; i < full; i += L)
    P::st(in.g + i, ce_gstep<P, kW, kT>(in.x + i, kW ? in.w + i : nullptr, kT ? in.t + i : nullptr, mv, invd, sA, sk, se));
  const int64_t rem = in.C - full;
  if (rem) {
    alignas(64) float xb[L], wb[L], tb[L], gb[L];
    for (int64_t j = 0; j < L; ++j) {
      xb[j] = j < rem ? in.x[full + j] : 0.0f;
      wb[j] = (kW && j < rem) ? in.w[full + j] : 0.0f;
      tb[j] = (kT && j < rem) ? in.t[full + j] : 0.0f;
    }
    P::st(gb, ce_gstep<P, kW, kT>(xb, wb, tb, mv, invd, sA, sk, se));
    for (int64_t j = 0; j < rem; ++j) in.g[full + j] = gb[j];
  }
}

// Pass 2 after a storing pass 1: g_c = e_c s_b - b_c, with s_b = bscale[block of c]
// (= exp(M_b - m) invd sA, computed by the caller). g may equal e (in place).
template <class P, bool kW, bool kT>
void ce_rescale_impl(const CeRescaleIn& in) {
  using V = typename P::V;
  constexpr int64_t L = static_cast<int64_t>(P::kLanes);
  const V sk(in.sk), se(in.seps1);
  for (int64_t b0 = 0; b0 < in.C; b0 += kCeBlock) {
    const int64_t len = in.C - b0 < kCeBlock ? in.C - b0 : kCeBlock;
    const V sb(in.bscale[b0 / kCeBlock]);
    const float* e = in.e + b0;
    float* g = in.g + b0;
    const float* w = kW ? in.w + b0 : nullptr;
    const float* t = kT ? in.t + b0 : nullptr;
    const int64_t full = len / L * L;
    for (int64_t i = 0; i < full; i += L) {
      V b = kT ? vfma(P::ld(t + i), se, sk) : sk;
      if (kW) b = b * P::ld(w + i);
      P::st(g + i, P::ld(e + i) * sb - b);
    }
    const int64_t rem = len - full;
    if (rem) {
      alignas(64) float eb[L], wb[L], tb[L], gb[L];
      for (int64_t j = 0; j < L; ++j) {
        eb[j] = j < rem ? e[full + j] : 0.0f;
        wb[j] = (kW && j < rem) ? w[full + j] : 0.0f;
        tb[j] = (kT && j < rem) ? t[full + j] : 0.0f;
      }
      V b = kT ? vfma(P::ld(tb), se, sk) : sk;
      if (kW) b = b * P::ld(wb);
      P::st(gb, P::ld(eb) * sb - b);
      for (int64_t j = 0; j < rem; ++j) g[full + j] = gb[j];
    }
  }
}

template <class P, bool kStore>
void ce_stats_sel(const CeStatsIn& in, CeStats* out) {
  const bool w = in.w != nullptr;
  if (in.t != nullptr) {
    if (w)
      ce_stats_impl<P, true, true, true, kStore>(in, out);
    else
      ce_stats_impl<P, true, false, true, kStore>(in, out);
  } else if (in.smooth) {
    if (w)
      ce_stats_impl<P, true, true, false, kStore>(in, out);
    else
      ce_stats_impl<P, true, false, false, kStore>(in, out);
  } else {
    ce_stats_impl<P, false, false, false, kStore>(in, out);
  }
}

template <class P>
void ce_stats(const CeStatsIn& in, CeStats* out) {
  if (in.e != nullptr)
    ce_stats_sel<P, true>(in, out);
  else
    ce_stats_sel<P, false>(in, out);
}

template <class P>
void ce_rescale(const CeRescaleIn& in) {
  const bool w = in.w != nullptr;
  if (in.t != nullptr) {
    if (w)
      ce_rescale_impl<P, true, true>(in);
    else
      ce_rescale_impl<P, false, true>(in);
  } else {
    if (w)
      ce_rescale_impl<P, true, false>(in);
    else
      ce_rescale_impl<P, false, false>(in);
  }
}

template <class P>
void ce_grad(const CeGradIn& in) {
  const bool w = in.w != nullptr;
  if (in.t != nullptr) {
    if (w)
      ce_grad_impl<P, true, true>(in);
    else
      ce_grad_impl<P, false, true>(in);
  } else {
    if (w)
      ce_grad_impl<P, true, false>(in);
    else
      ce_grad_impl<P, false, false>(in);
  }
}

template <class P>
constexpr CeTable make_ce_table() {
  return CeTable{&ce_stats<P>, &ce_grad<P>, &ce_rescale<P>};
}

}  // namespace
}  // namespace cpu
}  // namespace bg
