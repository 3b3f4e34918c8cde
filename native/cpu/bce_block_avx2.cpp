// AVX2 + FMA inner loop of bceWithLogits (8 floats per step). Compiled with -mavx2 -mfma,
// and only this file is. ODR safety: everything except the exported bce_block_avx2 is in
// an anonymous namespace (vec_avx2.h included), the only shared template instantiated
// here is bce_logits_elem<F8> (internal linkage through F8), tails use masked loads and
// stores so no float instantiation exists in this TU, and no inline std:: functions
// are called.
#include "kernels.h"

#if defined(__x86_64__)

#include "vec_avx2.h"
// clang-format off
#include "../math/bce_logits.h"
// clang-format on

namespace bg {
namespace cpu {
namespace {

struct Acc8 {
  __m256d lo;   // loss sums of lanes 0..3, in double
  __m256d hi;   // lanes 4..7
  __m256 ok;    // all-ones while every target seen is in [0, 1]
};

// One step of 8 lanes at b.*[i]. kTail: only the lanes set in `lanes` exist (masked
// loads read 0 elsewhere, masked stores leave memory alone).
template <bool kTail>
BG_INLINE void step8(const BceBlock& b, size_t i, __m256i lanes, bool check, F8 gs, Acc8& acc) {
  const F8 one(1.0f);
  auto ld = [&](const float* p) { return kTail ? F8::load_masked(p + i, lanes) : F8::loadu(p + i); };
  auto st = [&](float* p, F8 v) {
    if (kTail)
      v.store_masked(p + i, lanes);
    else
      v.storeu(p + i);
  };
  const F8 x = ld(b.x);
  const F8 y = ld(b.y);
  const F8 w = b.w ? ld(b.w) : one;
  const F8 p = b.p ? ld(b.p) : one;
  if (check) {
    // Ordered compares: NaN fails both. Masked-off lanes read 0, which passes.
    const M8 ok = vge(y, F8(0.0f)) & vle(y, one);
    acc.ok = _mm256_and_ps(acc.ok, ok.v);
  }
  F8 loss, dloss;
  bce_logits_elem(x, y, w, p, loss, dloss);
  if (b.loss_none) st(b.loss_none, loss);
  if (b.grad) {
    const F8 g = b.go ? dloss * ld(b.go) : dloss;
    st(b.grad, g * gs);
  }
  __m256 l = loss.v;
  if (kTail) l = _mm256_and_ps(l, _mm256_castsi256_ps(lanes));
  acc.lo = _mm256_add_pd(acc.lo, _mm256_cvtps_pd(_mm256_castps256_ps128(l)));
  acc.hi = _mm256_add_pd(acc.hi, _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)));
}

}  // namespace

double bce_block_avx2(const BceBlock& b, bool check, bool* bad) {
  const size_t n = b.n;
  const F8 gs(b.grad_scale);
  const __m256i all = _mm256_set1_epi32(-1);
  Acc8 acc;
  acc.lo = _mm256_setzero_pd();
  acc.hi = _mm256_setzero_pd();
  acc.ok = _mm256_castsi256_ps(all);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) step8<false>(b, i, all, check, gs, acc);
  if (i < n) step8<true>(b, i, first_lanes8(n - i), check, gs, acc);
  if (check && _mm256_movemask_ps(acc.ok) != 0xff) *bad = true;
  // Lanes combined in a fixed order.
  alignas(32) double lanes[8];
  _mm256_store_pd(lanes, acc.lo);
  _mm256_store_pd(lanes + 4, acc.hi);
  double sum = 0.0;
  for (int k = 0; k < 8; ++k) sum += lanes[k];
  return sum;
}

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
