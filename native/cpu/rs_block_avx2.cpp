// AVX2 research-loss kernels (8 floats / 4 doubles per step). Compiled with -mavx2
// -mfma, and only this file is. ODR safety as in rw_block_avx2.cpp: everything but
// rs_table_avx2 is in an anonymous namespace (vec_avx2.h, rw_engine.h, rs_engine.h, the
// double vector below), tails use padded stack buffers or plain double loops, no inline
// std:: calls.
#include "rs_kernels.h"

#if defined(__x86_64__)

#include "vec_avx2.h"
// clang-format off
#include <immintrin.h>
namespace bg {
namespace cpu {
namespace {

struct D4 {
  __m256d v;
  D4() = default;
  BG_INLINE D4(__m256d x) : v(x) {}
  BG_INLINE explicit D4(double s) : v(_mm256_set1_pd(s)) {}
};
BG_INLINE D4 operator+(D4 a, D4 b) { return _mm256_add_pd(a.v, b.v); }
BG_INLINE D4 operator-(D4 a, D4 b) { return _mm256_sub_pd(a.v, b.v); }
BG_INLINE D4 operator*(D4 a, D4 b) { return _mm256_mul_pd(a.v, b.v); }
BG_INLINE D4 operator/(D4 a, D4 b) { return _mm256_div_pd(a.v, b.v); }
BG_INLINE D4 operator-(D4 a) { return _mm256_xor_pd(a.v, _mm256_set1_pd(-0.0)); }
BG_INLINE D4 dfma(D4 a, D4 b, D4 c) { return _mm256_fmadd_pd(a.v, b.v, c.v); }

struct PRsAvx2 {
  using V = F8;
  static constexpr size_t kLanes = 8;
  static BG_INLINE F8 ld(const float* p) { return F8::loadu(p); }
  static BG_INLINE void st(float* p, F8 v) { v.storeu(p); }
  using D = D4;
  static constexpr size_t kDLanes = 4;
  static BG_INLINE D4 dld(const double* p) { return _mm256_loadu_pd(p); }
  static BG_INLINE void dst(double* p, D4 v) { _mm256_storeu_pd(p, v.v); }
  static BG_INLINE D4 dldf(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static BG_INLINE void dstf(float* p, D4 v) { _mm_storeu_ps(p, _mm256_cvtpd_ps(v.v)); }
};

}  // namespace
}  // namespace cpu
}  // namespace bg
#include "rs_engine.h"
// clang-format on

namespace bg {
namespace cpu {

const RsTable rs_table_avx2 = make_rs_table<PRsAvx2>();

}  // namespace cpu
}  // namespace bg

#endif  // __x86_64__
