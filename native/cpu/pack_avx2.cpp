// AVX2 loops of bit packing: an ordered x >= 0 compare and vmovmskps give 8 bits per
// step (NaN gives 0; an unordered compare flags it), eight steps per 64-bit word.
// Compiled with -mavx2 -mfma, and only this file is. ODR safety: everything except the
// exported pack_kernels_avx2 is in an anonymous namespace,
// tails use masked loads and stores (masked-off lanes are cleared from the bits), and
// no inline std:: functions are called.
#include "pack_kernels.h"

#if defined(__x86_64__)

#include <immintrin.h>


namespace bg {
namespace cpu {
namespace {

// Lanes [0, n) of 8 set (n in 0..8).
inline __m256i lanes8(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline uint64_t ge_bits(__m256 v) {
  return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GE_OQ)));
}

// Mask of (p[q] >= 0) for q < n (n in 1..64), 0 above; NaN lanes ORed into *nan
// (masked-off lanes load 0, never NaN).
// kT: the value is p[q] - t[q] (fused binarize + pack; masked-off lanes give 0 - 0).
template <bool kT>
inline uint64_t mask64_partial(const float* p, const float* t, int64_t n, __m256* nan) {
  uint64_t w = 0;
  for (int s = 0; s < 8 && n > 8 * s; ++s) {
    const int64_t left = n - 8 * s;
    __m256 v = left >= 8 ? _mm256_loadu_ps(p + 8 * s) : _mm256_maskload_ps(p + 8 * s, lanes8(left));
    if (kT)
      v = _mm256_sub_ps(v, left >= 8 ? _mm256_loadu_ps(t + 8 * s) : _mm256_maskload_ps(t + 8 * s, lanes8(left)));
    const uint64_t keep = left >= 8 ? 0xffu : ((1u << left) - 1u);
    *nan = _mm256_or_ps(*nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    w |= (ge_bits(v) & keep) << (8 * s);
  }
  return w;
}

// 64 floats -> one word. The unordered compare of two vectors flags a NaN in either.
template <bool kT>
inline uint64_t mask64_full(const float* p, const float* t, __m256* nan) {
  uint64_t w = 0;
  __m256 bad = *nan;
  for (int s = 0; s < 8; s += 2) {
    __m256 a = _mm256_loadu_ps(p + 8 * s);
    __m256 b = _mm256_loadu_ps(p + 8 * s + 8);
    if (kT) {
      a = _mm256_sub_ps(a, _mm256_loadu_ps(t + 8 * s));
      b = _mm256_sub_ps(b, _mm256_loadu_ps(t + 8 * s + 8));
    }
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
    w |= ge_bits(a) << (8 * s);
    w |= ge_bits(b) << (8 * s + 8);
  }
  *nan = bad;
  return w;
}

template <bool kT>
bool rows_impl(const float* x, const float* t, int64_t row_stride, int64_t k, uint64_t* out,
               int64_t words, int64_t rows) {
  __m256 nan = _mm256_setzero_ps();
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
  return _mm256_movemask_ps(nan) != 0;
}

// Channel planes: blocks of up to kBlock pixels. Per pixel, int32 accumulators lo / hi
// (in L1) hold channels 0..31 / 32..63 of the current word; for each channel the block's
// run of the plane is read contiguously and (x >= 0) & (1 << j) is ORed in (a transpose
// through memory), then lo | hi << 32 widens to the pixels' words. Lanes past the last
// pixel load 0 and only touch accumulators that are never stored. 2048 pixels: see
// pack_avx512.cpp.
constexpr int64_t kBlock = 2048;

template <bool kT>
bool planar_impl(const float* x, const float* t, int64_t plane, int64_t k, uint64_t* out,
                 int64_t words, int64_t pixels) {
  const __m256 zero = _mm256_setzero_ps();
  __m256 nan = _mm256_setzero_ps();
  alignas(32) uint32_t lo[kBlock];
  alignas(32) uint32_t hi[kBlock];
  alignas(32) uint64_t buf[8];
  for (int64_t p0 = 0; p0 < pixels; p0 += kBlock) {
    const int64_t np = pixels - p0 < kBlock ? pixels - p0 : kBlock;
    const int64_t nv = (np + 7) / 8;
    const __m256i last = lanes8(np - 8 * (nv - 1));
    for (int64_t g = 0; g < words; ++g) {
      const int64_t c0 = g * 64;
      const int64_t nc = k - c0 <= 0 ? 0 : (k - c0 < 64 ? k - c0 : 64);
      for (int64_t u = 0; u < nv; ++u) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(lo + 8 * u), _mm256_setzero_si256());
        _mm256_store_si256(reinterpret_cast<__m256i*>(hi + 8 * u), _mm256_setzero_si256());
      }
      for (int64_t j = 0; j < nc; ++j) {
        const float* row = x + (c0 + j) * plane + p0;
        const __m256i bit = _mm256_set1_epi32(static_cast<int>(1u << (j & 31)));
        uint32_t* acc = j < 32 ? lo : hi;
        const __m256 shift = kT ? _mm256_set1_ps(t[c0 + j]) : zero;
        for (int64_t u = 0; u < nv; ++u) {
          // Two channels ahead, into L2 (why: pack_avx512.cpp).
          if ((u & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(row + 2 * plane + 8 * u), _MM_HINT_T1);
          __m256 v = u == nv - 1 ? _mm256_maskload_ps(row + 8 * u, last) : _mm256_loadu_ps(row + 8 * u);
          __m256 bad = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
          if (kT) {
            v = _mm256_sub_ps(v, shift);
            // Lanes past the last pixel load 0 and 0 - t may be NaN: keep only real lanes.
            bad = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
            if (u == nv - 1) bad = _mm256_and_ps(bad, _mm256_castsi256_ps(last));
          }
          nan = _mm256_or_ps(nan, bad);
          const __m256i ge = _mm256_castps_si256(_mm256_cmp_ps(v, zero, _CMP_GE_OQ));
          __m256i* ap = reinterpret_cast<__m256i*>(acc + 8 * u);
          _mm256_store_si256(ap, _mm256_or_si256(_mm256_load_si256(ap), _mm256_and_si256(ge, bit)));
        }
      }
      for (int64_t u = 0; u < nv; ++u) {
        const __m256i l = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo + 8 * u));
        const __m256i h = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi + 8 * u));
        const __m256i wa = _mm256_or_si256(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(l)),
                                           _mm256_slli_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(h)), 32));
        const __m256i wb = _mm256_or_si256(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(l, 1)),
                                           _mm256_slli_epi64(_mm256_cvtepu32_epi64(_mm256_extracti128_si256(h, 1)), 32));
        _mm256_store_si256(reinterpret_cast<__m256i*>(buf), wa);
        _mm256_store_si256(reinterpret_cast<__m256i*>(buf + 4), wb);
        const int64_t q0 = 8 * u;
        const int64_t n = np - q0 < 8 ? np - q0 : 8;
        uint64_t* o = out + (p0 + q0) * words + g;
        for (int64_t q = 0; q < n; ++q) o[q * words] = buf[q];
      }
    }
  }
  return _mm256_movemask_ps(nan) != 0;
}

bool rows_avx2(const float* x, int64_t row_stride, int64_t k, uint64_t* out, int64_t words,
               int64_t rows) {
  return rows_impl<false>(x, nullptr, row_stride, k, out, words, rows);
}
bool rows_t_avx2(const float* x, const float* t, int64_t row_stride, int64_t k, uint64_t* out,
                 int64_t words, int64_t rows) {
  return rows_impl<true>(x, t, row_stride, k, out, words, rows);
}
bool planar_avx2(const float* x, int64_t plane, int64_t k, uint64_t* out, int64_t words,
                 int64_t pixels) {
  return planar_impl<false>(x, nullptr, plane, k, out, words, pixels);
}
bool planar_t_avx2(const float* x, const float* t, int64_t plane, int64_t k, uint64_t* out,
                   int64_t words, int64_t pixels) {
  return planar_impl<true>(x, t, plane, k, out, words, pixels);
}

void unpack_avx2(const uint64_t* bits, int64_t words, int64_t k, float* out, int64_t rows) {
  const __m256 plus = _mm256_set1_ps(1.0f);
  const __m256 minus = _mm256_set1_ps(-1.0f);
  const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* b = bits + r * words;
    float* o = out + r * k;
    for (int64_t c = 0; c < k; c += 8) {
      const int m = static_cast<int>((b[c >> 6] >> (c & 63)) & 0xffu);
      const __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(m), sel), sel);
      const __m256 v = _mm256_blendv_ps(minus, plus, _mm256_castsi256_ps(on));
      if (k - c >= 8)
        _mm256_storeu_ps(o + c, v);
      else
        _mm256_maskstore_ps(o + c, lanes8(k - c), v);
    }
  }
}

}  // namespace

void pack_kernels_avx2(PackKernels* out) {
  out->rows = &rows_avx2;
  out->planar = &planar_avx2;
  out->rows_t = &rows_t_avx2;
  out->planar_t = &planar_t_avx2;
  out->unpack = &unpack_avx2;
}

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
