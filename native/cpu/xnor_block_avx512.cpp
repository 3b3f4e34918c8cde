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

#define BG_VPOPCNT __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vpopcntdq")))

namespace bg {
namespace cpu {
namespace {

// NV vectors of 8 pixels (up to 32) x NC channels over kw words.
template <int NC, int NV>
BG_VPOPCNT inline __attribute__((always_inline)) void block32(const uint64_t* panel, const uint64_t* w6, int64_t kw,
                                                              uint32_t* pc, bool acc) {
  __m512i s[NC][NV];
#pragma GCC unroll 6
  for (int c = 0; c < NC; ++c)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) s[c][j] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kw; ++k) {
    const uint64_t* a = panel + k * 64;
    __m512i x[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) x[j] = _mm512_load_si512(a + 8 * j);
    const uint64_t* wk = w6 + k * 6;
#pragma GCC unroll 6
    for (int c = 0; c < NC; ++c) {
      const __m512i b = _mm512_set1_epi64(static_cast<long long>(wk[c]));
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) s[c][j] = _mm512_add_epi64(s[c][j], _mm512_popcnt_epi64(_mm512_xor_si512(x[j], b)));
    }
  }
#pragma GCC unroll 6
  for (int c = 0; c < NC; ++c) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      __m256i v = _mm512_cvtepi64_epi32(s[c][j]);
      uint32_t* o = pc + c * 64 + j * 8;
      if (acc) v = _mm256_add_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(o)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), v);
    }
  }
}

// 32 pixels starting at panel column p0, of which n (1..32) are needed.
template <int NC>
BG_VPOPCNT inline __attribute__((always_inline)) void half(const uint64_t* panel, const uint64_t* w6, int64_t kw, int n,
                                                           uint32_t* pc, bool acc) {
  switch ((n + 7) >> 3) {
    case 1: block32<NC, 1>(panel, w6, kw, pc, acc); break;
    case 2: block32<NC, 2>(panel, w6, kw, pc, acc); break;
    case 3: block32<NC, 3>(panel, w6, kw, pc, acc); break;
    default: block32<NC, 4>(panel, w6, kw, pc, acc); break;
  }
}

template <int NC>
BG_VPOPCNT void tile_nc(const uint64_t* panel, const uint64_t* w6, int64_t kw, int npix, uint32_t* pc, bool acc) {
  half<NC>(panel, w6, kw, npix < 32 ? npix : 32, pc, acc);
  if (npix > 32) half<NC>(panel + 32, w6, kw, npix - 32, pc + 32, acc);
}

void tile(const uint64_t* panel, const uint64_t* w6, int64_t kw, int nc, int npix, uint32_t* pc, bool acc) {
  switch (nc) {
    case 6: tile_nc<6>(panel, w6, kw, npix, pc, acc); break;
    case 5: tile_nc<5>(panel, w6, kw, npix, pc, acc); break;
    case 4: tile_nc<4>(panel, w6, kw, npix, pc, acc); break;
    case 3: tile_nc<3>(panel, w6, kw, npix, pc, acc); break;
    case 2: tile_nc<2>(panel, w6, kw, npix, pc, acc); break;
    default: tile_nc<1>(panel, w6, kw, npix, pc, acc); break;
  }
}

// Float x ±1 tile (xnor_kernels.h): 6 rows x 64 columns = 24 zmm accumulators; for each
// j the four 16-bit masks of b's word pick +1 / -1 per lane (one blend each, shared by
// the 6 rows), then one FMA per accumulator with the coefficient broadcast from the
// [nj][6] panel: acc + c * (±1) = acc ± c exactly, as the scalar path adds. Rows past
// nr have zero coefficients and are not stored.
BG_VPOPCNT void sgemm(const float* cp, const uint64_t* b, int64_t bstride, int64_t nj, int nr, int kv, float* out,
                      int64_t ostride, bool accumulate) {
  const __m512 pos = _mm512_set1_ps(1.0f);
  const __m512 neg = _mm512_set1_ps(-1.0f);
  const uint64_t kmask = kv >= 64 ? ~uint64_t{0} : (uint64_t{1} << kv) - 1;
  __m512 a[6][4];
#pragma GCC unroll 6
  for (int r = 0; r < 6; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q)
      a[r][q] = accumulate && r < nr ? _mm512_maskz_loadu_ps(static_cast<__mmask16>(kmask >> (16 * q)), out + r * ostride + 16 * q)
                                     : _mm512_setzero_ps();
  for (int64_t j = 0; j < nj; ++j) {
    const uint64_t w = b[j * bstride];
    const __m512 s0 = _mm512_mask_blend_ps(static_cast<__mmask16>(w), neg, pos);
    const __m512 s1 = _mm512_mask_blend_ps(static_cast<__mmask16>(w >> 16), neg, pos);
    const __m512 s2 = _mm512_mask_blend_ps(static_cast<__mmask16>(w >> 32), neg, pos);
    const __m512 s3 = _mm512_mask_blend_ps(static_cast<__mmask16>(w >> 48), neg, pos);
    const float* c = cp + j * 6;
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) {
      const __m512 cr = _mm512_set1_ps(c[r]);
      a[r][0] = _mm512_fmadd_ps(cr, s0, a[r][0]);
      a[r][1] = _mm512_fmadd_ps(cr, s1, a[r][1]);
      a[r][2] = _mm512_fmadd_ps(cr, s2, a[r][2]);
      a[r][3] = _mm512_fmadd_ps(cr, s3, a[r][3]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < 6; ++r) {
    if (r >= nr) break;
    float* o = out + r * ostride;
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const __mmask16 km = static_cast<__mmask16>(kmask >> (16 * q));
      _mm512_mask_storeu_ps(o + 16 * q, km, a[r][q]);
    }
  }
}

// 16x16 transpose of 32-bit elements: r[i] = row i in, r[j] = column j out.
BG_VPOPCNT inline __attribute__((always_inline)) void transpose16(__m512i r[16]) {
  __m512i t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512i a = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
    const __m512i b = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xDD);
    const __m512i c = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
    const __m512i d = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xDD);
    r[j] = _mm512_shuffle_i32x4(a, c, 0x88);
    r[4 + j] = _mm512_shuffle_i32x4(b, d, 0x88);
    r[8 + j] = _mm512_shuffle_i32x4(a, c, 0xDD);
    r[12 + j] = _mm512_shuffle_i32x4(b, d, 0xDD);
  }
}

// Pixel-major epilogue (xnor_kernels.h): 16 channels x 16 pixels of popcounts are
// transposed in registers, then each pixel's 16 channels are finished and stored with
// one (masked) store. Float output is xnor_affine (math/xnor_epilogue.h): one float FMA
// of float(dot); bits compare the exact value in double like the C++ loop (|dot| < 2^29
// makes double(dot) * alpha exact).
BG_VPOPCNT void epilogue(const XnorEpi& e) {
  const __m512i kt = _mm512_set1_epi32(e.kt);
  // Packed bits: each 16-channel group's mask is one uint16 of the pixel's words, so
  // clear the words (their padding bits stay 0) and store the masks in place.
  if (e.obits) {
    const uint64_t zero = 0;
    for (int64_t i = 0; i < e.npix * e.owords; ++i) __builtin_memcpy(e.obits + i, &zero, 8);
  }
  for (int c0 = 0; c0 < e.nch; c0 += 16) {
    const int nc = e.nch - c0 < 16 ? e.nch - c0 : 16;
    const __mmask16 cm = static_cast<__mmask16>(nc == 16 ? 0xffffu : (1u << nc) - 1);
    __m512d al0 = _mm512_setzero_pd(), al1 = al0, be0 = al0, be1 = al0;
    __m512 alf = _mm512_setzero_ps(), bef = alf;
    if (e.out_type != 0) {
      const __m512 a = _mm512_maskz_loadu_ps(cm, e.alpha + c0);
      alf = a;
      if (e.beta) bef = _mm512_maskz_loadu_ps(cm, e.beta + c0);
      al0 = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
      al1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
      if (e.beta) {
        const __m512 b = _mm512_maskz_loadu_ps(cm, e.beta + c0);
        be0 = _mm512_cvtps_pd(_mm512_castps512_ps256(b));
        be1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1)));
      }
    }
    for (int l0 = 0; l0 < e.npix; l0 += 16) {
      __m512i r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        r[i] = i < nc ? _mm512_loadu_si512(e.pc + (c0 + i) * 64 + l0) : _mm512_setzero_si512();
      transpose16(r);
      const int nl = e.npix - l0 < 16 ? e.npix - l0 : 16;
      for (int l = 0; l < nl; ++l) {
        __m512i d = _mm512_sub_epi32(kt, _mm512_slli_epi32(r[l], 1));
        const int32_t* cr = e.corr ? e.corr[l0 + l] : nullptr;
        if (cr) d = _mm512_sub_epi32(d, _mm512_maskz_loadu_epi32(cm, cr + e.corr_off + c0));
        const int64_t off = (l0 + l) * e.ostride + c0;
        if (e.out_type == 0) {
          _mm512_mask_storeu_epi32(e.oi + off, cm, d);
          continue;
        }
        if (e.out_type == 1) {
          __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), alf, bef);
          if (e.residual) f = _mm512_add_ps(f, _mm512_maskz_loadu_ps(cm, e.residual + off));
          _mm512_mask_storeu_ps(e.of + off, cm, f);
          continue;
        }
        const __m512d d0 = _mm512_cvtepi32_pd(_mm512_castsi512_si256(d));
        const __m512d d1 = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(d, 1));
        const __m512d v0 = _mm512_add_pd(_mm512_mul_pd(d0, al0), be0);
        const __m512d v1 = _mm512_add_pd(_mm512_mul_pd(d1, al1), be1);
        const __mmask8 g0 = _mm512_cmp_pd_mask(v0, _mm512_setzero_pd(), _CMP_GE_OQ);
        const __mmask8 g1 = _mm512_cmp_pd_mask(v1, _mm512_setzero_pd(), _CMP_GE_OQ);
        const __mmask16 gm = static_cast<__mmask16>(static_cast<unsigned>(g0) | (static_cast<unsigned>(g1) << 8));
        if (e.obits) {
          const uint16_t v = static_cast<uint16_t>(gm & cm);
          __builtin_memcpy(reinterpret_cast<uint8_t*>(e.obits + (l0 + l) * e.owords) + (c0 >> 3), &v, 2);
        } else {
          _mm_mask_storeu_epi8(e.ob + off, cm, _mm_maskz_mov_epi8(gm, _mm_set1_epi8(1)));
        }
      }
    }
  }
}

// Direct path (xnor_kernels.h XnorDirect): NP pixels (broadcast from the panel) x 32
// channels (4 zmm of 8 channels, word k of each) per micro-tile, 24 accumulators as in
// block32; the tile's outputs are finished from registers: 8 channels of one pixel per
// vpmovqd, stored contiguously in the NHWC output. The output type OT is a template
// parameter, and direct() works on a local copy of the call's fields, so the finishing
// code neither branches on the type nor reloads fields that output stores could alias.
template <int NP, int OT>
BG_VPOPCNT inline __attribute__((always_inline)) void direct_tile(const XnorDirect& d, int p0, int c0, int nc) {
  __m512i s[NP][4];
#pragma GCC unroll 6
  for (int i = 0; i < NP; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) s[i][v] = _mm512_setzero_si512();
  const uint64_t* wb = d.wq + (c0 >> 5) * d.kw * 32;
  const uint64_t* pp = d.panel + p0;
  const int64_t kw = d.kw;
  for (int64_t k = 0; k < kw; ++k) {
    const uint64_t* wk = wb + k * 32;
    const __m512i w0 = _mm512_load_si512(wk);
    const __m512i w1 = _mm512_load_si512(wk + 8);
    const __m512i w2 = _mm512_load_si512(wk + 16);
    const __m512i w3 = _mm512_load_si512(wk + 24);
    const uint64_t* pk = pp + k * 64;
#pragma GCC unroll 6
    for (int i = 0; i < NP; ++i) {
      const __m512i b = _mm512_set1_epi64(static_cast<long long>(pk[i]));
      s[i][0] = _mm512_add_epi64(s[i][0], _mm512_popcnt_epi64(_mm512_xor_si512(w0, b)));
      s[i][1] = _mm512_add_epi64(s[i][1], _mm512_popcnt_epi64(_mm512_xor_si512(w1, b)));
      s[i][2] = _mm512_add_epi64(s[i][2], _mm512_popcnt_epi64(_mm512_xor_si512(w2, b)));
      s[i][3] = _mm512_add_epi64(s[i][3], _mm512_popcnt_epi64(_mm512_xor_si512(w3, b)));
    }
  }
  const __m256i kt = _mm256_set1_epi32(d.kt);
  const int32_t* const* corr = d.corr;
  const int64_t corr_off = d.corr_off;
  // Channel vectors outer, pixels inner: a vector's scale and bias are loaded once; no
  // early exit, so the constant trip counts unroll fully and s stays in registers.
#pragma GCC unroll 4
  for (int v = 0; v < 4; ++v) {
    const int c = c0 + v * 8;
    const int left = nc - v * 8;
    if (left <= 0) continue;
    const __mmask8 m = static_cast<__mmask8>(left >= 8 ? 0xff : (1u << left) - 1);
    __m256 alf = _mm256_setzero_ps(), bef = alf;
    if (OT != 0) {
      alf = _mm256_maskz_loadu_ps(m, d.alpha + c);
      if (d.beta) bef = _mm256_maskz_loadu_ps(m, d.beta + c);
    }
#pragma GCC unroll 6
    for (int i = 0; i < NP; ++i) {
      const int64_t l = p0 + i;
      __m256i dot = _mm256_sub_epi32(kt, _mm256_slli_epi32(_mm512_cvtepi64_epi32(s[i][v]), 1));
      const int32_t* cr = corr ? corr[l] : nullptr;
      if (cr) dot = _mm256_sub_epi32(dot, _mm256_maskz_loadu_epi32(m, cr + corr_off + c));
      const int64_t off = l * d.ostride + c;
      if (OT == 0) {
        _mm256_mask_storeu_epi32(d.oi + off, m, dot);
      } else if (OT == 1) {
        __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), alf, bef);
        if (d.residual) f = _mm256_add_ps(f, _mm256_maskz_loadu_ps(m, d.residual + off));
        _mm256_mask_storeu_ps(d.of + off, m, f);
      } else {
        // The sign of fmaf(float(dot), alpha, beta) is the sign of the exact value: it is a
        // multiple of 2^-149 (an integer times a float, plus a float), so it rounds to
        // zero only when it is zero, and >= 0 then holds either way (-0 >= 0).
        const __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), alf, bef);
        const __mmask8 ge = _mm256_cmp_ps_mask(f, _mm256_setzero_ps(), _CMP_GE_OQ);
        d.ob8[l * d.obstride + (c >> 3)] = static_cast<uint8_t>(ge & m);
      }
    }
  }
}

template <int OT>
BG_VPOPCNT void direct_ot(const XnorDirect& d) {
  const int npix = d.npix, nch = d.nch;
  for (int c0 = 0; c0 < nch; c0 += 32) {
    const int nc = nch - c0 < 32 ? nch - c0 : 32;
    int p0 = 0;
    for (; p0 + 6 <= npix; p0 += 6) direct_tile<6, OT>(d, p0, c0, nc);
    switch (npix - p0) {
      case 5: direct_tile<5, OT>(d, p0, c0, nc); break;
      case 4: direct_tile<4, OT>(d, p0, c0, nc); break;
      case 3: direct_tile<3, OT>(d, p0, c0, nc); break;
      case 2: direct_tile<2, OT>(d, p0, c0, nc); break;
      case 1: direct_tile<1, OT>(d, p0, c0, nc); break;
      default: break;
    }
  }
}

BG_VPOPCNT void direct(const XnorDirect& x) {
  const XnorDirect d = x;
  if (d.out_type == 0)
    direct_ot<0>(d);
  else if (d.out_type == 1)
    direct_ot<1>(d);
  else
    direct_ot<2>(d);
}

// Sum of the popcounts of n words, 8 words per vpopcntq (zero-padding corrections).
BG_VPOPCNT int64_t popcount(const uint64_t* p, int64_t n) {
  __m512i s = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_loadu_si512(p + i)));
  if (i < n) {
    const __mmask8 m = static_cast<__mmask8>((1u << (n - i)) - 1);
    s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_maskz_loadu_epi64(m, p + i)));
  }
  return static_cast<int64_t>(_mm512_reduce_add_epi64(s));
}

// Popcount sum of the n words at q, as 8 partial qword sums.
BG_VPOPCNT inline __attribute__((always_inline)) __m512i row_pc(const uint64_t* q, int64_t n) {
  __m512i s = _mm512_setzero_si512();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_loadu_si512(q + i)));
  if (i < n) {
    const __mmask8 m = static_cast<__mmask8>((1u << (n - i)) - 1);
    s = _mm512_add_epi64(s, _mm512_popcnt_epi64(_mm512_maskz_loadu_epi64(m, q + i)));
  }
  return s;
}

// Per-tap popcounts (xnor_kernels.h tap_popcounts): 8 channels of one tap at a time, their
// 8 partial-sum vectors reduced together by a transposing add tree (no per-row
// horizontal reduction, no call per row) and stored as 8 contiguous int32.
BG_VPOPCNT void tap_popcounts(const uint64_t* w, int64_t nco, int64_t taps, int64_t n, int32_t* out, int64_t ostride) {
  int64_t co = 0;
  for (; co + 8 <= nco; co += 8)
    for (int64_t t = 0; t < taps; ++t) {
      __m512i v[8];
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) v[i] = row_pc(w + ((co + i) * taps + t) * n, n);
      __m512i a[4];
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i)
        a[i] = _mm512_add_epi64(_mm512_unpacklo_epi64(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_epi64(v[2 * i], v[2 * i + 1]));
      // a[i]: 128-bit lanes of (row 2i, row 2i + 1) partial sums.
      const __m512i b0 = _mm512_add_epi64(_mm512_shuffle_i64x2(a[0], a[1], 0x88), _mm512_shuffle_i64x2(a[0], a[1], 0xDD));
      const __m512i b1 = _mm512_add_epi64(_mm512_shuffle_i64x2(a[2], a[3], 0x88), _mm512_shuffle_i64x2(a[2], a[3], 0xDD));
      const __m512i c = _mm512_add_epi64(_mm512_shuffle_i64x2(b0, b1, 0x88), _mm512_shuffle_i64x2(b0, b1, 0xDD));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t * ostride + co), _mm512_cvtepi64_epi32(c));
    }
  for (; co < nco; ++co)
    for (int64_t t = 0; t < taps; ++t)
      out[t * ostride + co] = static_cast<int32_t>(_mm512_reduce_add_epi64(row_pc(w + (co * taps + t) * n, n)));
}

}  // namespace

void xnor_kernels_avx512(XnorKernels* out) {
  out->popcount = &popcount;
  out->epilogue = &epilogue;
  out->tile = &tile;
  out->sgemm = &sgemm;
  out->tap_popcounts = &tap_popcounts;
  out->direct = &direct;
}

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
