// AVX-512 loops of bit packing: vcmpps into 16-bit masks (x >= 0, ordered, so NaN
// gives 0; an unordered compare flags NaN), four masks per 64-bit word. Compiled with
// -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma -mavx2, and only this file is.
// ODR safety: everything except the exported pack_kernels_avx512 is in an anonymous
// namespace, tails use masked loads, masked compares and
// masked stores, and no inline std:: functions are called.
#include "pack_kernels.h"

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

inline __mmask16 lanes16(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1u);
}

// Mask of (p[q] >= 0) for q < n (n in 1..64), 0 above; NaN lanes ORed into *nan.
// kT: the value is p[q] - t[q] (fused binarize + pack).
template <bool kT>
inline uint64_t mask64_partial(const float* p, const float* t, int64_t n, __mmask16* nan) {
  const __m512 zero = _mm512_setzero_ps();
  uint64_t w = 0;
  for (int s = 0; s < 4 && n > 16 * s; ++s) {
    const __mmask16 lanes = lanes16(n - 16 * s);
    __m512 v = _mm512_maskz_loadu_ps(lanes, p + 16 * s);
    if (kT) v = _mm512_sub_ps(v, _mm512_maskz_loadu_ps(lanes, t + 16 * s));
    const __mmask16 ge = _mm512_mask_cmp_ps_mask(lanes, v, zero, _CMP_GE_OQ);
    *nan = static_cast<__mmask16>(*nan | _mm512_mask_cmp_ps_mask(lanes, v, v, _CMP_UNORD_Q));
    w |= static_cast<uint64_t>(ge) << (16 * s);
  }
  return w;
}

// 64 floats -> one word. The unordered compare of two vectors flags a NaN in either.
template <bool kT>
inline uint64_t mask64_full(const float* p, const float* t, __mmask16* nan) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 v0 = _mm512_loadu_ps(p);
  __m512 v1 = _mm512_loadu_ps(p + 16);
  __m512 v2 = _mm512_loadu_ps(p + 32);
  __m512 v3 = _mm512_loadu_ps(p + 48);
  if (kT) {
    v0 = _mm512_sub_ps(v0, _mm512_loadu_ps(t));
    v1 = _mm512_sub_ps(v1, _mm512_loadu_ps(t + 16));
    v2 = _mm512_sub_ps(v2, _mm512_loadu_ps(t + 32));
    v3 = _mm512_sub_ps(v3, _mm512_loadu_ps(t + 48));
  }
  const uint64_t m0 = _mm512_cmp_ps_mask(v0, zero, _CMP_GE_OQ);
  const uint64_t m1 = _mm512_cmp_ps_mask(v1, zero, _CMP_GE_OQ);
  const uint64_t m2 = _mm512_cmp_ps_mask(v2, zero, _CMP_GE_OQ);
  const uint64_t m3 = _mm512_cmp_ps_mask(v3, zero, _CMP_GE_OQ);
  const __mmask16 n01 = _mm512_cmp_ps_mask(v0, v1, _CMP_UNORD_Q);
  const __mmask16 n23 = _mm512_cmp_ps_mask(v2, v3, _CMP_UNORD_Q);
  *nan = static_cast<__mmask16>(*nan | n01 | n23);
  return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
}

template <bool kT>
bool rows_impl(const float* x, const float* t, int64_t row_stride, int64_t k, uint64_t* out,
               int64_t words, int64_t rows) {
  __mmask16 nan = 0;
  const int64_t full = k / 64;
  const int64_t rem = k - full * 64;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * row_stride;
    uint64_t* o = out + r * words;
    int64_t g = 0;
    for (; g < full; ++g) o[g] = mask64_full<kT>(xr + g * 64, kT ? t + g * 64 : nullptr, &nan);
    if (rem > 0 && g < words) o[g++] = mask64_partial<kT>(xr + full * 64, kT ? t + full * 64 : nullptr, rem, &nan);
    for (; g < words; ++g) o[g] = 0;
  }
  return nan != 0;
}

// Channel planes: blocks of up to kBlock pixels. Per pixel, int32 accumulators lo / hi
// (in L1) hold channels 0..31 / 32..63 of the current word; for each channel the block's
// run of the plane is read contiguously and a masked OR sets bit j where x >= 0 (a
// transpose through memory), then lo | hi << 32 widens to the pixels' words.
// 2048 pixels: 8 KiB runs per channel (two pages, so the streams restart half as often),
// and lo / hi take 16 KiB, half of L1.
constexpr int64_t kBlock = 2048;

template <bool kT>
bool planar_impl(const float* x, const float* t, int64_t plane, int64_t k, uint64_t* out,
                 int64_t words, int64_t pixels) {
  const __m512 zero = _mm512_setzero_ps();
  const __mmask16 all = static_cast<__mmask16>(0xffff);
  __mmask16 nan = 0;
  alignas(64) uint32_t lo[kBlock];
  alignas(64) uint32_t hi[kBlock];
  alignas(64) uint64_t buf[16];
  for (int64_t p0 = 0; p0 < pixels; p0 += kBlock) {
    const int64_t np = pixels - p0 < kBlock ? pixels - p0 : kBlock;
    const int64_t nv = (np + 15) / 16;
    const __mmask16 last = lanes16(np - 16 * (nv - 1));
    for (int64_t g = 0; g < words; ++g) {
      const int64_t c0 = g * 64;
      const int64_t nc = k - c0 <= 0 ? 0 : (k - c0 < 64 ? k - c0 : 64);
      for (int64_t u = 0; u < nv; ++u) {
        _mm512_store_si512(lo + 16 * u, _mm512_setzero_si512());
        _mm512_store_si512(hi + 16 * u, _mm512_setzero_si512());
      }
      for (int64_t j = 0; j < nc; ++j) {
        const float* row = x + (c0 + j) * plane + p0;
        const __m512i bit = _mm512_set1_epi32(static_cast<int>(1u << (j & 31)));
        uint32_t* acc = j < 32 ? lo : hi;
        const __m512 shift = kT ? _mm512_set1_ps(t[c0 + j]) : zero;
        for (int64_t u = 0; u < nv; ++u) {
          const __mmask16 lanes = u == nv - 1 ? last : all;
          // Channel runs lie on other pages, out of the hardware prefetchers' reach: fetch
          // the run two channels ahead into L2. Into L1 (T0), or one channel ahead, it
          // arrived too late or evicted lines still in use (measured on Zen 4: 0.50x of
          // memcpy, against 0.88x with T1 and two channels).
          _mm_prefetch(reinterpret_cast<const char*>(row + 2 * plane + 16 * u), _MM_HINT_T1);
          __m512 v = _mm512_maskz_loadu_ps(lanes, row + 16 * u);
          if (kT) v = _mm512_sub_ps(v, shift);  // masked-off lanes may then be NaN: mask the check
          nan = static_cast<__mmask16>(nan | (kT ? _mm512_mask_cmp_ps_mask(lanes, v, v, _CMP_UNORD_Q)
                                                 : _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q)));  // masked-off lanes are 0
          const __mmask16 ge = _mm512_mask_cmp_ps_mask(lanes, v, zero, _CMP_GE_OQ);
          const __m512i a = _mm512_load_si512(acc + 16 * u);
          _mm512_store_si512(acc + 16 * u, _mm512_mask_or_epi32(a, ge, a, bit));
        }
      }
      for (int64_t u = 0; u < nv; ++u) {
        const __m512i l = _mm512_load_si512(lo + 16 * u);
        const __m512i h = _mm512_load_si512(hi + 16 * u);
        const __m512i wa = _mm512_or_si512(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(l)),
                                           _mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(h)), 32));
        const __m512i wb = _mm512_or_si512(_mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(l, 1)),
                                           _mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(h, 1)), 32));
        const int64_t q0 = 16 * u;
        const int64_t n = np - q0 < 16 ? np - q0 : 16;
        if (words == 1) {
          const __mmask16 m = lanes16(n);
          _mm512_mask_storeu_epi64(out + p0 + q0, static_cast<__mmask8>(m & 0xff), wa);
          _mm512_mask_storeu_epi64(out + p0 + q0 + 8, static_cast<__mmask8>(m >> 8), wb);
        } else {
          _mm512_store_si512(buf, wa);
          _mm512_store_si512(buf + 8, wb);
          uint64_t* o = out + (p0 + q0) * words + g;
          for (int64_t q = 0; q < n; ++q) o[q * words] = buf[q];
        }
      }
    }
  }
  return nan != 0;
}

bool rows_avx512(const float* x, int64_t row_stride, int64_t k, uint64_t* out, int64_t words,
                 int64_t rows) {
  return rows_impl<false>(x, nullptr, row_stride, k, out, words, rows);
}
bool rows_t_avx512(const float* x, const float* t, int64_t row_stride, int64_t k, uint64_t* out,
                   int64_t words, int64_t rows) {
  return rows_impl<true>(x, t, row_stride, k, out, words, rows);
}
bool planar_avx512(const float* x, int64_t plane, int64_t k, uint64_t* out, int64_t words,
                   int64_t pixels) {
  return planar_impl<false>(x, nullptr, plane, k, out, words, pixels);
}
bool planar_t_avx512(const float* x, const float* t, int64_t plane, int64_t k, uint64_t* out,
                     int64_t words, int64_t pixels) {
  return planar_impl<true>(x, t, plane, k, out, words, pixels);
}

void unpack_avx512(const uint64_t* bits, int64_t words, int64_t k, float* out, int64_t rows) {
  const __m512 plus = _mm512_set1_ps(1.0f);
  const __m512 minus = _mm512_set1_ps(-1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* b = bits + r * words;
    float* o = out + r * k;
    for (int64_t c = 0; c < k; c += 16) {
      const __mmask16 m = static_cast<__mmask16>((b[c >> 6] >> (c & 63)) & 0xffffu);
      const __m512 v = _mm512_mask_blend_ps(m, minus, plus);
      if (k - c >= 16)
        _mm512_storeu_ps(o + c, v);
      else
        _mm512_mask_storeu_ps(o + c, lanes16(k - c), v);
    }
  }
}

}  // namespace

void pack_kernels_avx512(PackKernels* out) {
  out->rows = &rows_avx512;
  out->planar = &planar_avx512;
  out->rows_t = &rows_t_avx512;
  out->planar_t = &planar_t_avx512;
  out->unpack = &unpack_avx512;
}

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
