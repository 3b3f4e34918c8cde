// The generic elementwise engine of the estimators: one template loop per direction,
// instantiated for every estimator of math/estimators.h with one ISA policy P:
//   P::V              value type (float, F8, F16); P::kLanes lanes per step
//   P::Mask           tail mask; P::tail(k) the first k lanes
//   P::ld / P::st     unaligned full loads / stores
//   P::ldm / P::stm   masked loads (other lanes 0) / stores (other lanes untouched)
// Included by est_block_{scalar,avx2,avx512}.cpp after their vector header. Everything
// is in an anonymous namespace; the vector policies never instantiate an estimator with
// float (tails are masked), and nothing here calls an inline std:: function.
#pragma once
#include <cstddef>

#include "../math/estimators.h"
#include "est_kernels.h"

namespace bg {
namespace cpu {
namespace {

template <class P, class F, bool kFwd, bool kTail>
BG_INLINE void ew_step(const F& f, const EwBlock& b, size_t i, typename P::Mask m) {
  using V = typename P::V;
  auto ld = [&](const float* p) { return kTail ? P::ldm(p + i, m) : P::ld(p + i); };
  auto st = [&](float* p, V v) {
    if (kTail)
      P::stm(p + i, v, m);
    else
      P::st(p + i, v);
  };
  const V x = ld(b.x);
  if constexpr (F::kParam) {
    const V a = ld(b.a);
    if (kFwd) {
      V o;
      f.forward(x, a, o);
      st(b.out, o);
    } else {
      V dx, da;
      f.backward(x, a, ld(b.g), dx, da);
      st(b.out, dx);
      if (b.da) st(b.da, da);
    }
  } else {
    V o;
    if (kFwd)
      f.forward(x, o);
    else
      f.backward(x, ld(b.g), o);
    st(b.out, o);
  }
}

// Estimators whose backward is latency-bound (FdaOp, ResteOp) provide backward2 for two
// independent vectors and set kPair; the others are stepped one vector at a time.
template <class F, class = void>
struct ew_has_pair {
  static constexpr bool value = false;
};
template <class F>
struct ew_has_pair<F, decltype(void(F::kPair))> {
  static constexpr bool value = F::kPair;
};

template <class P, class F>
BG_INLINE void ew_pair_step(const F& f, const EwBlock& b, size_t i) {
  using V = typename P::V;
  const size_t j = i + P::kLanes;
  V d0, d1;
  f.backward2(P::ld(b.x + i), P::ld(b.g + i), P::ld(b.x + j), P::ld(b.g + j), d0, d1);
  P::st(b.out + i, d0);
  P::st(b.out + j, d1);
}

template <class P, template <class> class Op, bool kFwd>
void ew_block(const EstParams& prm, const EwBlock& b) {
  using F = Op<typename P::V>;
  const F f(prm);
  const size_t n = b.n;
  size_t i = 0;
  if constexpr (!kFwd && !F::kParam && ew_has_pair<F>::value)
    for (; i + 2 * P::kLanes <= n; i += 2 * P::kLanes) ew_pair_step<P, F>(f, b, i);
  for (; i + P::kLanes <= n; i += P::kLanes) ew_step<P, F, kFwd, false>(f, b, i, typename P::Mask());
  if (P::kLanes > 1 && i < n) ew_step<P, F, kFwd, true>(f, b, i, P::tail(n - i));
}

template <class P>
constexpr EstTable make_est_table() {
  return EstTable{
#define BG_EST_FWD(Op) &ew_block<P, Op, true>,
      {BG_FOR_EACH_ESTIMATOR(BG_EST_FWD)},
#undef BG_EST_FWD
#define BG_EST_BWD(Op) &ew_block<P, Op, false>,
      {BG_FOR_EACH_ESTIMATOR(BG_EST_BWD)},
#undef BG_EST_BWD
  };
}

}  // namespace
}  // namespace cpu
}  // namespace bg
