// AVX-512 inner loop of bceWithLogits (16 floats per step). Compiled with -mavx512f
// -mavx512dq -mavx512bw -mavx512vl -mfma, and only this file is. ODR safety: everything
// except the exported bce_block_avx512 is in an anonymous namespace (vec_avx512.h
// included), the only shared template instantiated here is bce_logits_elem<F16>
// (internal linkage through F16), tails use masked loads and stores so no float
// instantiation exists in this TU, and no inline std:: functions are called.
#include "kernels.h"

#if defined(__x86_64__)

#include "vec_avx512.h"
// clang-format off
#include "../math/bce_logits.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct Acc16 {
  __m512d lo;     // loss sums of lanes 0..7, in double
  __m512d hi;     // lanes 8..15
  __mmask16 bad;  // lanes that saw a target outside [0, 1] or NaN
};

// One step of 16 lanes at b.*[i]. kTail: only the lanes set in `lanes` exist (masked
// loads read 0 elsewhere, masked stores leave memory alone).
template <bool kTail>
BG_INLINE void step16(const BceBlock& b, size_t i, __mmask16 lanes, bool check, F16 gs, Acc16& acc) {
  const F16 one(1.0f);
  auto ld = [&](const float* p) { return kTail ? F16::load_masked(p + i, lanes) : F16::loadu(p + i); };
  auto st = [&](float* p, F16 v) {
    if (kTail)
      v.store_masked(p + i, lanes);
    else
      v.storeu(p + i);
  };
  const F16 x = ld(b.x);
  const F16 y = ld(b.y);
  const F16 w = b.w ? ld(b.w) : one;
  const F16 p = b.p ? ld(b.p) : one;
  if (check) {
    // Ordered compares: NaN fails both.
    const M16 ok = vge(y, F16(0.0f)) & vle(y, one);
    acc.bad = static_cast<__mmask16>(acc.bad | (lanes & static_cast<__mmask16>(~ok.k)));
  }
  F16 loss, dloss;
  bce_logits_elem(x, y, w, p, loss, dloss);
  if (b.loss_none) st(b.loss_none, loss);
  if (b.grad) {
    const F16 g = b.go ? dloss * ld(b.go) : dloss;
    st(b.grad, g * gs);
  }
  __m512 l = loss.v;
  if (kTail) l = _mm512_maskz_mov_ps(lanes, l);
  acc.lo = _mm512_add_pd(acc.lo, _mm512_cvtps_pd(_mm512_castps512_ps256(l)));
  acc.hi = _mm512_add_pd(acc.hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(l, 1)));
}

}  // namespace

double bce_block_avx512(const BceBlock& b, bool check, bool* bad) {
  const size_t n = b.n;
  const F16 gs(b.grad_scale);
  const __mmask16 all = static_cast<__mmask16>(0xffff);
  Acc16 acc;
  acc.lo = _mm512_setzero_pd();
  acc.hi = _mm512_setzero_pd();
  acc.bad = 0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) step16<false>(b, i, all, check, gs, acc);
  if (i < n) step16<true>(b, i, first_lanes16(n - i), check, gs, acc);
  if (check && acc.bad != 0) *bad = true;
  // Lanes combined in a fixed order.
  alignas(64) double lanes[16];
  _mm512_store_pd(lanes, acc.lo);
  _mm512_store_pd(lanes + 8, acc.hi);
  double sum = 0.0;
  for (int k = 0; k < 16; ++k) sum += lanes[k];
  return sum;
}

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
