// AVX2 micro-kernel of the XNOR-popcount convolution / GEMM: vpshufb nibble-LUT popcount
// (Muła, Kurz, Lemire), byte counters flushed with vpsadbw every 31 words (8 * 31 < 256),
// 3 output channels x 2 vectors (8 pixels) per register block on the word-major panel.
// Compiled with -mavx2 -mfma, and only this file is. ODR safety: everything except
// xnor_kernels_avx2 is in an anonymous namespace, and no inline std:: functions are called.
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

namespace bg {
namespace cpu {
namespace {

constexpr int64_t kFlush = 31;

// 8 pixels (2 vectors) x NC channels (NC <= 3) over kw words; w points at channel 0 of
// the block inside a [kw][6] panel.
template <int NC>
inline __attribute__((always_inline)) void block8(const uint64_t* panel, const uint64_t* w, int64_t kw, uint32_t* pc,
                                                  bool acc) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2,
                                       3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i zero = _mm256_setzero_si256();
  __m256i t[NC][2];
#pragma GCC unroll 3
  for (int c = 0; c < NC; ++c) t[c][0] = t[c][1] = zero;
  for (int64_t k0 = 0; k0 < kw; k0 += kFlush) {
    const int64_t k1 = kw < k0 + kFlush ? kw : k0 + kFlush;
    __m256i s[NC][2];
#pragma GCC unroll 3
    for (int c = 0; c < NC; ++c) s[c][0] = s[c][1] = zero;
    for (int64_t k = k0; k < k1; ++k) {
      const __m256i x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + k * 64));
      const __m256i x1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(panel + k * 64 + 4));
#pragma GCC unroll 3
      for (int c = 0; c < NC; ++c) {
        const __m256i b = _mm256_set1_epi64x(static_cast<long long>(w[k * 6 + c]));
        const __m256i a0 = _mm256_xor_si256(x0, b);
        const __m256i a1 = _mm256_xor_si256(x1, b);
        const __m256i l0 = _mm256_shuffle_epi8(lut, _mm256_and_si256(a0, low));
        const __m256i h0 = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(a0, 4), low));
        const __m256i l1 = _mm256_shuffle_epi8(lut, _mm256_and_si256(a1, low));
        const __m256i h1 = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(a1, 4), low));
        s[c][0] = _mm256_add_epi8(s[c][0], _mm256_add_epi8(l0, h0));
        s[c][1] = _mm256_add_epi8(s[c][1], _mm256_add_epi8(l1, h1));
      }
    }
#pragma GCC unroll 3
    for (int c = 0; c < NC; ++c) {
      t[c][0] = _mm256_add_epi64(t[c][0], _mm256_sad_epu8(s[c][0], zero));
      t[c][1] = _mm256_add_epi64(t[c][1], _mm256_sad_epu8(s[c][1], zero));
    }
  }
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
#pragma GCC unroll 3
  for (int c = 0; c < NC; ++c) {
    for (int j = 0; j < 2; ++j) {
      __m128i v = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(t[c][j], even));
      uint32_t* o = pc + c * 64 + j * 4;
      if (acc) v = _mm_add_epi32(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(o)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), v);
    }
  }
}

template <int NC>
void tile_nc(const uint64_t* panel, const uint64_t* w, int64_t kw, int npix, uint32_t* pc, bool acc) {
  for (int p = 0; p < npix; p += 8) block8<NC>(panel + p, w, kw, pc + p, acc);
}

void tile(const uint64_t* panel, const uint64_t* w6, int64_t kw, int nc, int npix, uint32_t* pc, bool acc) {
  for (int c0 = 0; c0 < nc; c0 += 3) {
    const int n = nc - c0 < 3 ? nc - c0 : 3;
    if (n == 3)
      tile_nc<3>(panel, w6 + c0, kw, npix, pc + c0 * 64, acc);
    else if (n == 2)
      tile_nc<2>(panel, w6 + c0, kw, npix, pc + c0 * 64, acc);
    else
      tile_nc<1>(panel, w6 + c0, kw, npix, pc + c0 * 64, acc);
  }
}

// Float x ±1 tile (xnor_kernels.h): 16 columns per pass (6 rows x 2 ymm accumulators),
// four passes per 64-bit word. vpsllvd moves bit k of the broadcast 16 bits into the
// sign bit of lane k and vblendvps picks the coefficient or +0 from it.
void sgemm(const float* cp, const uint64_t* b, int64_t bstride, int64_t nj, int nr, int kv, float* out,
           int64_t ostride, bool accumulate) {
  const __m256i cnt0 = _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24);
  const __m256i cnt1 = _mm256_setr_epi32(23, 22, 21, 20, 19, 18, 17, 16);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 zero = _mm256_setzero_ps();
  for (int q = 0; q * 16 < kv; ++q) {
    const int n = kv - q * 16 < 16 ? kv - q * 16 : 16;
    __m256 a[6][2];
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) a[r][0] = a[r][1] = zero;
    if (accumulate)
      for (int r = 0; r < nr; ++r) {
        float tmp[16] = {};
        const float* o = out + r * ostride + q * 16;
        for (int k = 0; k < n; ++k) tmp[k] = o[k];
        a[r][0] = _mm256_loadu_ps(tmp);
        a[r][1] = _mm256_loadu_ps(tmp + 8);
      }
    for (int64_t j = 0; j < nj; ++j) {
      // Bit k of the word moved to lane k's sign bit, then +1 / -1 per lane.
      const __m256i wb = _mm256_set1_epi32(static_cast<int>((b[j * bstride] >> (16 * q)) & 0xffff));
      const __m256 m0 = _mm256_castsi256_ps(_mm256_sllv_epi32(wb, cnt0));
      const __m256 m1 = _mm256_castsi256_ps(_mm256_sllv_epi32(wb, cnt1));
      const __m256 s0 = _mm256_or_ps(one, _mm256_andnot_ps(m0, sign));
      const __m256 s1 = _mm256_or_ps(one, _mm256_andnot_ps(m1, sign));
      const float* c = cp + j * 6;
#pragma GCC unroll 6
      for (int r = 0; r < 6; ++r) {
        const __m256 cr = _mm256_broadcast_ss(c + r);
        a[r][0] = _mm256_fmadd_ps(cr, s0, a[r][0]);
        a[r][1] = _mm256_fmadd_ps(cr, s1, a[r][1]);
      }
    }
    for (int r = 0; r < nr; ++r) {
      float* o = out + r * ostride + q * 16;
      if (n == 16) {
        _mm256_storeu_ps(o, a[r][0]);
        _mm256_storeu_ps(o + 8, a[r][1]);
      } else {
        float tmp[16];
        _mm256_storeu_ps(tmp, a[r][0]);
        _mm256_storeu_ps(tmp + 8, a[r][1]);
        for (int k = 0; k < n; ++k) o[k] = tmp[k];
      }
    }
  }
}

}  // namespace

void xnor_kernels_avx2(XnorKernels* out) {
  out->tile = &tile;
  out->sgemm = &sgemm;
}

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
