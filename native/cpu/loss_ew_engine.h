// The generic elementwise loss engine: one template loop, instantiated for every loss
// of math/loss_ew.h with one ISA policy P:
//   P::V              value type (float, F8, F16); P::kLanes lanes per step
//   P::Mask           tail mask; P::tail(k) the first k lanes
//   P::Ok             comparison result of V (bool, M8, M16); P::all(ok) all lanes true
//   P::ld / P::st     unaligned full loads / stores
//   P::ldm / P::stm   masked loads (other lanes 0) / stores (other lanes untouched)
//   P::Acc            double accumulator; P::acc_zero(), P::acc_add(acc, v, mask, tail),
//                     P::acc_sum(acc) (lanes combined in a fixed order)
// Included by loss_block_{scalar,avx2,avx512}.cpp after their vector header.
// Everything is in an anonymous namespace; the vector policies never instantiate a
// loss with float (tails are masked), and nothing here calls an inline std:: function.
#pragma once
#include <cstddef>

#include "../math/loss_ew.h"
#include "loss_kernels.h"

namespace bg {
namespace cpu {
namespace {

template <class P, class F, bool kTail>
BG_INLINE void loss_step(const F& f, const LossBlock& b, size_t i, typename P::Mask m, int check,
                         typename P::V gs, typename P::Acc& acc, typename P::Ok& ok) {
  using V = typename P::V;
  auto ld = [&](const float* p) { return kTail ? P::ldm(p + i, m) : P::ld(p + i); };
  auto st = [&](float* p, V v) {
    if (kTail)
      P::stm(p + i, v, m);
    else
      P::st(p + i, v);
  };
  const V one(1.0f);
  const V zero(0.0f);
  const V x = ld(b.x);
  const V y = ld(b.y);
  if (check == kLossCheckInput01) {
    ok = ok & (vge(x, zero) & vle(x, one));  // NaN fails both; masked lanes read 0
  } else if (check == kLossCheckTarget01) {
    ok = ok & (vge(y, zero) & vle(y, one));
  }
  V loss, dx, dy;
  f.apply(x, y, loss, dx, dy);
  if (b.w) {
    const V w = ld(b.w);
    loss = loss * w;
    dx = dx * w;
    if (F::kTargetGrad) dy = dy * w;
  }
  if (b.loss_none) st(b.loss_none, loss);
  if (b.grad || (F::kTargetGrad && b.grad_t)) {
    const V g = b.go ? ld(b.go) * gs : gs;
    if (b.grad) st(b.grad, dx * g);
    if (F::kTargetGrad && b.grad_t) st(b.grad_t, dy * g);
  }
  P::acc_add(acc, loss, m, kTail);
}

template <class P, template <class> class Op>
double loss_block(const LossParams& prm, const LossBlock& b, int check, bool* bad) {
  using V = typename P::V;
  using F = Op<V>;
  const F f(prm);
  const V gs(b.grad_scale);
  typename P::Acc acc = P::acc_zero();
  typename P::Ok ok = vge(V(0.0f), V(0.0f));  // all lanes true
  const size_t n = b.n;
  size_t i = 0;
  for (; i + P::kLanes <= n; i += P::kLanes)
    loss_step<P, F, false>(f, b, i, typename P::Mask(), check, gs, acc, ok);
  if (P::kLanes > 1 && i < n) loss_step<P, F, true>(f, b, i, P::tail(n - i), check, gs, acc, ok);
  if (check != kLossCheckNone && !P::all(ok)) *bad = true;
  return P::acc_sum(acc);
}

template <class P>
constexpr LossTable make_loss_table() {
  return LossTable{
#define BG_LOSS_ENTRY(Op) &loss_block<P, Op>,
      {BG_FOR_EACH_LOSS(BG_LOSS_ENTRY)},
#undef BG_LOSS_ENTRY
  };
}

}  // namespace
}  // namespace cpu
}  // namespace bg
