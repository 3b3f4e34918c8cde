// The generic elementwise engine of the estimators: one template loop per direction,
// instantiated for every estimator of math/estimators.h with one ISA policy P:
//   P::V              value type (float, F8, F16); P::kLanes lanes per step
//   P::Mask           tail mask; P::tail(k) the first k lanes
//   P::ld / P::st     unaligned full loads / stores
//   P::ldm / P::stm   masked loads (other lanes 0) / stores (other lanes untouched)
//   P::zero_off       lanes outside a tail mask set to 0
//   P::DAcc, P::dzero, P::dadd(acc, k, v), P::dstore   16 double lanes of a block sum:
//                     vector k of a 16-element step adds into lanes k kLanes .. + kLanes - 1
//   P::stream / P::fence   non-temporal store of a full vector to a kLanes * 4-byte
//                     aligned address, and the store fence that ends a streaming pass
//   P::Rot16, P::rot16(h), P::rotate16(v, r, out)   the 16-lane rotation of a step's
//                     vectors: out lane L takes step element (L - h) mod 16
//                     (the last two lines: vector policies only; EwBlock::stream asks for them)
// Included by est_block_{scalar,avx2,avx512}.cpp after their vector header. Everything
// is in an anonymous namespace; the vector policies never instantiate an estimator with
// float (tails are masked), and nothing here calls an inline std:: function.
#pragma once
#include <cstddef>
#include <type_traits>

#include "../math/estimators.h"
#include "est_kernels.h"
#include "lane_tree.h"
#include "stream_stores.h"

namespace bg {
namespace cpu {
namespace {

// kUni: the parameter is b.a1 for every element (b.a is null).
template <class P, class F, bool kFwd, bool kTail, bool kUni, bool kNT = false>
BG_INLINE void ew_step(const F& f, const EwBlock& b, size_t i, typename P::Mask m) {
  using V = typename P::V;
  auto ld = [&](const float* p) { return kTail ? P::ldm(p + i, m) : P::ld(p + i); };
  auto st = [&](float* p, V v) {
    if (kTail)
      P::stm(p + i, v, m);
    else
      P::st(p + i, v);
  };
  auto st_o = [&](V v) {
    if (kTail)
      P::stm(b.out + i, v, m);
    else
      store_out<P, kNT>(b.out + i, v);
  };
  const V x = ld(b.x);
  if constexpr (F::kParam) {
    const V a = kUni ? V(b.a1) : ld(b.a);
    if (kFwd) {
      V o;
      f.forward(x, a, o);
      st_o(o);
    } else {
      V dx, da;
      f.backward(x, a, ld(b.g), dx, da);
      st_o(dx);
      if (b.da) st(b.da, da);
    }
  } else {
    V o;
    if (kFwd)
      f.forward(x, o);
    else
      f.backward(x, ld(b.g), o);
    st_o(o);
  }
}

// Backward of a parameterized estimator with dL/dparam summed in registers instead of
// stored per element (EwBlock::dsum): the sum costs no memory traffic, so the pass runs
// at the speed of the plain backward. Lanes past the end of the block add nothing (the
// masked-off lanes are zeroed: x = 0 may give NaN, e.g. q = 0 / 0).
//
// kNT (streaming dx): elements [0, h) up to out's 64-byte boundary go first, in lanes
// 0 .. h - 1; the 16-element steps then start at element h, and their da vectors are
// rotated by h (P::rotate16) so that element i still lands in lane i % 16 and every lane
// adds the same elements in the same order: the sum has the plain loop's bits.
template <class P, class F, bool kUni, bool kNT>
void ew_sum_block(const F& f, const EwBlock& b) {
  using V = typename P::V;
  constexpr size_t kSub = 16 / P::kLanes;
  typename P::DAcc acc;
  P::dzero(acc);
  const size_t n = b.n;
  // Vector k of the 16-element step at i, for elements below `end` (o < end): dx
  // stored (streamed when kS and the vector is full), da returned with the lanes past
  // `end` zeroed.
  auto vec = [&](auto kS, size_t i, size_t k, size_t end) -> V {
    const size_t o = i + k * P::kLanes;
    V dx, da;
    if (o + P::kLanes <= end) {
      f.backward(P::ld(b.x + o), kUni ? V(b.a1) : P::ld(b.a + o), P::ld(b.g + o), dx, da);
      store_out<P, decltype(kS)::value>(b.out + o, dx);
      return da;
    }
    if constexpr (P::kLanes > 1) {
      const auto mk = P::tail(end - o);
      f.backward(P::ldm(b.x + o, mk), kUni ? V(b.a1) : P::ldm(b.a + o, mk), P::ldm(b.g + o, mk), dx, da);
      P::stm(b.out + o, dx, mk);
      return P::zero_off(da, mk);
    }
    return V(0.0f);  // not reached: a scalar vector is full or past the end
  };
  using Plain = std::false_type;
  size_t i = 0;
  if constexpr (kNT) {
    const size_t h = stream_head(b.out, 16, n);
    for (size_t k = 0; k < kSub; ++k)
      if (k * P::kLanes < h) P::dadd(acc, k, vec(Plain(), 0, k, h));
    const typename P::Rot16 rot = P::rot16(h);
    for (i = h; i < n; i += 16) {
      V da[kSub], r[kSub];
      for (size_t k = 0; k < kSub; ++k)
        da[k] = i + k * P::kLanes < n ? vec(std::true_type(), i, k, n) : V(0.0f);
      P::rotate16(da, rot, r);
      for (size_t k = 0; k < kSub; ++k) P::dadd(acc, k, r[k]);
    }
    P::fence();
  } else {
    for (; i < n; i += 16)
      for (size_t k = 0; k < kSub; ++k)
        if (i + k * P::kLanes < n) P::dadd(acc, k, vec(Plain(), i, k, n));
  }
  double l[16];
  P::dstore(acc, l);
  *b.dsum = lane_tree16(l);
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

template <class P, class F, bool kNT>
BG_INLINE void ew_pair_step(const F& f, const EwBlock& b, size_t i) {
  using V = typename P::V;
  const size_t j = i + P::kLanes;
  V d0, d1;
  f.backward2(P::ld(b.x + i), P::ld(b.g + i), P::ld(b.x + j), P::ld(b.g + j), d0, d1);
  store_out<P, kNT>(b.out + i, d0);
  store_out<P, kNT>(b.out + j, d1);
}

// kNT: `out` is streamed; a masked first step reaches its vector alignment.
template <class P, class F, bool kFwd, bool kUni, bool kNT>
BG_INLINE void ew_loop(const F& f, const EwBlock& b) {
  const size_t n = b.n;
  size_t i = 0;
  if constexpr (kNT) {
    const size_t head = stream_head(b.out, P::kLanes, n);
    if (head) ew_step<P, F, kFwd, true, kUni>(f, b, 0, P::tail(head));
    i = head;
  }
  if constexpr (!kFwd && !F::kParam && ew_has_pair<F>::value)
    for (; i + 2 * P::kLanes <= n; i += 2 * P::kLanes) ew_pair_step<P, F, kNT>(f, b, i);
  for (; i + P::kLanes <= n; i += P::kLanes) ew_step<P, F, kFwd, false, kUni, kNT>(f, b, i, typename P::Mask());
  if (P::kLanes > 1 && i < n) ew_step<P, F, kFwd, true, kUni>(f, b, i, P::tail(n - i));
  if constexpr (kNT) P::fence();
}

template <class P, class F, bool kFwd, bool kUni>
BG_INLINE void ew_loop_any(const F& f, const EwBlock& b) {
  with_streaming<P>(b.stream, [&](auto nt) { ew_loop<P, F, kFwd, kUni, decltype(nt)::value>(f, b); });
}

template <class P, class F, bool kUni>
BG_INLINE void ew_sum_block_any(const F& f, const EwBlock& b) {
  with_streaming<P>(b.stream, [&](auto nt) { ew_sum_block<P, F, kUni, decltype(nt)::value>(f, b); });
}

template <class P, template <class> class Op, bool kFwd>
void ew_block(const EstParams& prm, const EwBlock& b) {
  using F = Op<typename P::V>;
  const F f(prm);
  if constexpr (F::kParam) {
    const bool uni = b.a == nullptr;
    if (!kFwd && b.da == nullptr && b.dsum != nullptr) {
      if (uni)
        ew_sum_block_any<P, F, true>(f, b);
      else
        ew_sum_block_any<P, F, false>(f, b);
    } else if (uni) {
      ew_loop_any<P, F, kFwd, true>(f, b);
    } else {
      ew_loop_any<P, F, kFwd, false>(f, b);
    }
  } else {
    ew_loop_any<P, F, kFwd, false>(f, b);
  }
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
