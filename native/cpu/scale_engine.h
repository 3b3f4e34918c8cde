// The elementwise loops of the row-statistic binarizers: one template per stage,
// instantiated for every row functor of math/scaling.h with one ISA policy P (the same
// policy shape as ew_engine.h). Included by scale_block_{scalar,avx2,avx512}.cpp after
// their vector header; everything is in an anonymous namespace, vector policies never
// instantiate a functor with float (tails are masked).
#pragma once
#include <cstddef>

#include "../math/scaling.h"
#include "scale_kernels.h"

namespace bg {
namespace cpu {
namespace {

template <class P, class F, int kStage, bool kTail>
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
    P::st(out + i, o);
}

template <class P, class F, int kStage>
BG_INLINE void sc_loop(const F& f, const float* x, const float* g, float* out, size_t n) {
  size_t i = 0;
  for (; i + P::kLanes <= n; i += P::kLanes) sc_step<P, F, kStage, false>(f, x, g, out, i, typename P::Mask());
  if (P::kLanes > 1 && i < n) sc_step<P, F, kStage, true>(f, x, g, out, i, P::tail(n - i));
}

template <class P, template <class> class Row>
void sc_piece(const ScaleParams& p, int stage, const float* co, const float* x, const float* g, float* out, size_t n) {
  using F = Row<typename P::V>;
  const F f(p, co);
  if (stage == kStageFwd)
    sc_loop<P, F, kStageFwd>(f, x, g, out, n);
  else if (stage == kStageGrad)
    sc_loop<P, F, kStageGrad>(f, x, g, out, n);
  else if (F::kFin)
    sc_loop<P, F, kStageFin>(f, x, g, out, n);
}

template <class P>
constexpr ScaleTable make_scale_table() {
  return ScaleTable{
#define BG_SC_ROW(Row) &sc_piece<P, Row>,
      {BG_FOR_EACH_SCALE_ROW(BG_SC_ROW)},
#undef BG_SC_ROW
  };
}

}  // namespace
}  // namespace cpu
}  // namespace bg
