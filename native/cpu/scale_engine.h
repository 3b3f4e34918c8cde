// The elementwise loops of the row-statistic binarizers: one template per stage,
// instantiated for every row functor of math/scaling.h with one ISA policy P (the same
// policy shape as ew_engine.h). Included by scale_block_{scalar,avx2,avx512}.cpp after
// their vector header; everything is in an anonymous namespace, vector policies never
// instantiate a functor with float (tails are masked). Vector policies also have
// P::stream / P::fence (non-temporal store of an aligned full vector, store fence; the
// shared pieces of streaming are in stream_stores.h).
#pragma once
#include <cstddef>

#include "../math/scaling.h"
#include "lane_tree.h"
#include "scale_kernels.h"
#include "stream_stores.h"

namespace bg {
namespace cpu {
namespace {

template <class P, class F, int kStage, bool kTail, bool kNT = false>
BG_INLINE void sc_step(const F& f, const float* x, const float* g, float* out, size_t i, typename P::Mask m) {
  using V = typename P::V;
  auto ld = [&](const float* p) { return kTail ? P::ldm(p + i, m) : P::ld(p + i); };
  const V xv = ld(x);
  V o;
  if (kStage == kStageFwd)
    o = f.fwd(xv);
  else if (kStage == kStageGrad)
    o = f.grad(xv, ld(g));
  else
    o = f.fin(xv, ld(out));
  if (kTail)
    P::stm(out + i, o, m);
  else
    store_out<P, kNT>(out + i, o);
}

// kNT: `out` is streamed (ScaleParams::stream); a masked first step reaches its vector
// alignment.
template <class P, class F, int kStage, bool kNT>
BG_INLINE void sc_loop(const F& f, const float* x, const float* g, float* out, size_t n) {
  size_t i = 0;
  if constexpr (kNT) {
    i = stream_head(out, P::kLanes, n);
    if (i) sc_step<P, F, kStage, true>(f, x, g, out, 0, P::tail(i));
  }
  for (; i + P::kLanes <= n; i += P::kLanes) sc_step<P, F, kStage, false, kNT>(f, x, g, out, i, typename P::Mask());
  if (P::kLanes > 1 && i < n) sc_step<P, F, kStage, true>(f, x, g, out, i, P::tail(n - i));
  if constexpr (kNT) P::fence();
}

template <class P, class F, int kStage>
BG_INLINE void sc_loop_any(const F& f, bool stream, const float* x, const float* g, float* out, size_t n) {
  with_streaming<P>(stream, [&](auto nt) { sc_loop<P, F, kStage, decltype(nt)::value>(f, x, g, out, n); });
}

template <class P, template <class> class Row>
void sc_piece(const ScaleParams& p, int stage, const float* co, const float* x, const float* g, float* out, size_t n) {
  using F = Row<typename P::V>;
  const F f(p, co);
  if (stage == kStageFwd)
    sc_loop_any<P, F, kStageFwd>(f, p.stream != 0, x, g, out, n);
  else if (stage == kStageGrad)
    sc_loop_any<P, F, kStageGrad>(f, p.stream != 0, x, g, out, n);
  else if (F::kFin)
    sc_loop_any<P, F, kStageFin>(f, p.stream != 0, x, g, out, n);
}

// Sums of the pairs term(x, g, h, a, b) fills (m of them, at most M) over n elements.
// Steps of 16 elements, each as 16 / kLanes vectors; vector k of a step feeds lanes
// k kLanes .. (k + 1) kLanes - 1 of the accumulators (P::dadd). The last, partial step
// is masked: lanes past n add 0 * 0, as the scalar policy does for missing elements.
template <class P, int M, class T>
BG_INLINE void sc_reduce(const T& term, int m, const float* x, const float* g, const float* h, size_t n,
                         double* res) {
  using V = typename P::V;
  constexpr size_t kSub = 16 / P::kLanes;
  typename P::DAcc acc[M];
  for (int j = 0; j < M; ++j) P::dzero(acc[j]);
  auto add = [&](size_t k, const V* a, const V* b) {
    for (int j = 0; j < M; ++j)
      if (j < m) P::dadd(acc[j], k, a[j], b[j]);
  };
  const V z(0.0f);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (size_t k = 0; k < kSub; ++k) {
      const size_t o = i + k * P::kLanes;
      V a[M], b[M];
      for (int j = 0; j < M; ++j) a[j] = b[j] = z;  // (pairs past m stay unused)
      term(P::ld(x + o), g ? P::ld(g + o) : z, h ? P::ld(h + o) : z, a, b);
      add(k, a, b);
    }
  if (i < n)
    for (size_t k = 0; k < kSub; ++k) {
      const size_t o = i + k * P::kLanes;
      V a[M], b[M];
      for (int j = 0; j < M; ++j) a[j] = b[j] = z;
      if (o + P::kLanes <= n) {
        term(P::ld(x + o), g ? P::ld(g + o) : z, h ? P::ld(h + o) : z, a, b);
      } else if constexpr (P::kLanes > 1) {
        if (o < n) {
          const auto mk = P::tail(n - o);
          term(P::ldm(x + o, mk), g ? P::ldm(g + o, mk) : z, h ? P::ldm(h + o, mk) : z, a, b);
          for (int j = 0; j < M; ++j) {
            a[j] = P::zero_off(a[j], mk);
            b[j] = P::zero_off(b[j], mk);
          }
        }
      }
      add(k, a, b);
    }
  for (int j = 0; j < m; ++j) {
    double l[16];
    P::dstore(acc[j], l);
    res[j] = lane_tree16(l);
  }
}

template <class P, template <class> class Row>
void sc_sum(const ScaleParams& p, int what, int arg, const float* co, const float* x, const float* g, const float* h,
            size_t n, double* res) {
  using V = typename P::V;
  const V one(1.0f);
  switch (what) {
    case kSumAbs:
      sc_reduce<P, 1>([&](V xv, V, V, V* a, V* b) { a[0] = vabs(xv), b[0] = one; }, 1, x, nullptr, nullptr, n, res);
      break;
    case kSumVal:
      sc_reduce<P, 1>([&](V xv, V, V, V* a, V* b) { a[0] = xv, b[0] = one; }, 1, x, nullptr, nullptr, n, res);
      break;
    case kSumDev2: {
      // x - mu = hi + lo exactly (Knuth's TwoSum); (hi + lo)^2 = hi hi + hi (2 lo) + lo lo.
      const V nmu(-co[0]);
      sc_reduce<P, 3>(
          [&](V xv, V, V, V* a, V* b) {
            const V hi = xv + nmu;
            const V bv = hi - xv;
            const V lo = (xv - (hi - bv)) + (nmu - bv);
            a[0] = b[0] = a[1] = hi;
            b[1] = lo + lo;
            a[2] = b[2] = lo;
          },
          3, x, nullptr, nullptr, n, res);
      break;
    }
    case kSumStdAbs: {
      const V mu(co[0]), k(co[1]);
      sc_reduce<P, 1>([&](V xv, V, V, V* a, V* b) { a[0] = vabs((xv - mu) * k), b[0] = one; }, 1, x, nullptr, nullptr,
                      n, res);
      break;
    }
    case kSumResAbs: {
      const V zero(p.zero);
      V c[kMaxBases];
      for (int j = 0; j < kMaxBases; ++j) c[j] = V(j < arg ? co[j] : 0.0f);
      sc_reduce<P, 1>(
          [&](V xv, V, V, V* a, V* b) {
            V r = xv;
            for (int j = 0; j < kMaxBases; ++j) {
              if (j >= arg) break;
              r = r - c[j] * est_sign(r, zero);
            }
            a[0] = vabs(r), b[0] = one;
          },
          1, x, nullptr, nullptr, n, res);
      break;
    }
    default: {
      using F = Row<V>;
      constexpr int M = F::kPairs > 0 ? F::kPairs : 1;
      const F f(p, co);
      V a0[M], b0[M];
      const int m = f.pairs(V(0.0f), V(0.0f), V(0.0f), a0, b0);
      if (m > 0) sc_reduce<P, M>([&](V xv, V gv, V hv, V* a, V* b) { f.pairs(xv, gv, hv, a, b); }, m, x, g, h, n, res);
      break;
    }
  }
}

template <class P>
constexpr ScaleTable make_scale_table() {
  return ScaleTable{
#define BG_SC_ROW(Row) &sc_piece<P, Row>,
      {BG_FOR_EACH_SCALE_ROW(BG_SC_ROW)},
#undef BG_SC_ROW
#define BG_SC_SUM(Row) &sc_sum<P, Row>,
      {BG_FOR_EACH_SCALE_ROW(BG_SC_SUM)},
#undef BG_SC_SUM
  };
}

}  // namespace
}  // namespace cpu
}  // namespace bg
