// AVX-512 VPOPCNTDQ micro-kernel of the XNOR-popcount convolution / GEMM. Register
// blocking after specs/mst-break-even.md §2/§6: word-major panel (one zmm = word k of 8
// pixels), 6 output channels x 4 vectors = 24 zmm accumulators, each step one
// broadcast weight word, vpxorq + vpopcntq + vpaddq. Compiled with -mavx512f -mavx512dq
// -mavx512bw -mavx512vl -mfma -mavx2 like every AVX-512 TU; VPOPCNTDQ is enabled per
// function with a target attribute (the caller checks the CPU has it).
// ODR safety: everything except xnor_kernels_avx512 is in an anonymous namespace, and
// no inline std:: functions are called.
#include "xnor_kernels.h"

#if defined(__x86_64__)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// GCC 12 flags the undefined pass-through operand inside _mm512_cvtepi64_epi32.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define BG_VPOPCNT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq")))

namespace bg {
namespace cpu {
namespace {

// 32 pixels (4 vectors) x NC channels over kw words.
template <int NC>
BG_VPOPCNT inline __attribute__((always_inline)) void block32(const uint64_t* panel, const uint64_t* w6, int64_t kw,
                                                              uint32_t* pc, bool acc) {
  __m512i s[NC][4];
#pragma GCC unroll 6
  for (int c = 0; c < NC; ++c)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) s[c][j] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kw; ++k) {
    const uint64_t* a = panel + k * 64;
    const __m512i x0 = _mm512_load_si512(a);
    const __m512i x1 = _mm512_load_si512(a + 8);
    const __m512i x2 = _mm512_load_si512(a + 16);
    const __m512i x3 = _mm512_load_si512(a + 24);
    const uint64_t* wk = w6 + k * 6;
#pragma GCC unroll 6
    for (int c = 0; c < NC; ++c) {
      const __m512i b = _mm512_set1_epi64(static_cast<long long>(wk[c]));
      s[c][0] = _mm512_add_epi64(s[c][0], _mm512_popcnt_epi64(_mm512_xor_si512(x0, b)));
      s[c][1] = _mm512_add_epi64(s[c][1], _mm512_popcnt_epi64(_mm512_xor_si512(x1, b)));
      s[c][2] = _mm512_add_epi64(s[c][2], _mm512_popcnt_epi64(_mm512_xor_si512(x2, b)));
      s[c][3] = _mm512_add_epi64(s[c][3], _mm512_popcnt_epi64(_mm512_xor_si512(x3, b)));
    }
  }
#pragma GCC unroll 6
  for (int c = 0; c < NC; ++c) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      __m256i v = _mm512_cvtepi64_epi32(s[c][j]);
      uint32_t* o = pc + c * 64 + j * 8;
      if (acc) v = _mm256_add_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(o)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), v);
    }
  }
}

template <int NC>
BG_VPOPCNT void tile_nc(const uint64_t* panel, const uint64_t* w6, int64_t kw, uint32_t* pc, bool acc) {
  block32<NC>(panel, w6, kw, pc, acc);
  block32<NC>(panel + 32, w6, kw, pc + 32, acc);
}

void tile(const uint64_t* panel, const uint64_t* w6, int64_t kw, int nc, uint32_t* pc, bool acc) {
  switch (nc) {
    case 6: tile_nc<6>(panel, w6, kw, pc, acc); break;
    case 5: tile_nc<5>(panel, w6, kw, pc, acc); break;
    case 4: tile_nc<4>(panel, w6, kw, pc, acc); break;
    case 3: tile_nc<3>(panel, w6, kw, pc, acc); break;
    case 2: tile_nc<2>(panel, w6, kw, pc, acc); break;
    default: tile_nc<1>(panel, w6, kw, pc, acc); break;
  }
}

}  // namespace

void xnor_kernels_avx512(XnorKernels* out) { out->tile = &tile; }

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
