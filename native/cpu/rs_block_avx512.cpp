// AVX-512 research-loss kernels (16 floats / 8 doubles per step). Compiled with
// -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma, and only this file is. ODR safety as
// in rw_block_avx512.cpp: everything but rs_table_avx512 is in an anonymous namespace
// (vec_avx512.h, rw_engine.h, rs_engine.h, the double vector below), tails use padded
// stack buffers or plain double loops, no inline std:: calls.
#include "rs_kernels.h"

#if defined(__x86_64__)

// GCC 12 also reports a false -Wuninitialized (not only the -Wmaybe-uninitialized that
// vec_avx512.h silences) on the _mm512_undefined_* operands of the intrinsics inlined
// into these kernels; the diagnostic state is taken at the header's lines, so including
// it first under the pragma covers exactly those (vec_avx512.h's include is then a no-op).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "vec_avx512.h"
// clang-format off
namespace bg {
namespace cpu {
namespace {

struct D8 {
  __m512d v;
  D8() = default;
  BG_INLINE D8(__m512d x) : v(x) {}
  BG_INLINE explicit D8(double s) : v(_mm512_set1_pd(s)) {}
};
BG_INLINE D8 operator+(D8 a, D8 b) { return _mm512_add_pd(a.v, b.v); }
BG_INLINE D8 operator-(D8 a, D8 b) { return _mm512_sub_pd(a.v, b.v); }
BG_INLINE D8 operator*(D8 a, D8 b) { return _mm512_mul_pd(a.v, b.v); }
BG_INLINE D8 operator/(D8 a, D8 b) { return _mm512_div_pd(a.v, b.v); }
BG_INLINE D8 operator-(D8 a) { return _mm512_xor_pd(a.v, _mm512_set1_pd(-0.0)); }
BG_INLINE D8 dfma(D8 a, D8 b, D8 c) { return _mm512_fmadd_pd(a.v, b.v, c.v); }

struct PRsAvx512 {
  using V = F16;
  static constexpr size_t kLanes = 16;
  static BG_INLINE F16 ld(const float* p) { return F16::loadu(p); }
  static BG_INLINE void st(float* p, F16 v) { v.storeu(p); }
  using D = D8;
  static constexpr size_t kDLanes = 8;
  static BG_INLINE D8 dld(const double* p) { return _mm512_loadu_pd(p); }
  static BG_INLINE void dst(double* p, D8 v) { _mm512_storeu_pd(p, v.v); }
  static BG_INLINE D8 dldf(const float* p) { return _mm512_cvtps_pd(_mm256_loadu_ps(p)); }
  static BG_INLINE void dstf(float* p, D8 v) { _mm256_storeu_ps(p, _mm512_cvtpd_ps(v.v)); }
};

}  // namespace
}  // namespace cpu
}  // namespace bg
#include "rs_engine.h"
// clang-format on

namespace bg {
namespace cpu {

const RsTable rs_table_avx512 = make_rs_table<PRsAvx512>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
