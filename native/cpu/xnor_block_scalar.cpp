// Scalar micro-kernel of the XNOR-popcount convolution: xor + popcount + add per 64-bit
// word. Baseline flags; on x86-64 a copy built with target("popcnt") is chosen at run
// time when the CPU has the instruction (without it GCC calls a table-based helper).
// ODR safety: everything except xnor_kernels_scalar is in an anonymous namespace.
#include "xnor_kernels.h"

namespace bg {
namespace cpu {
namespace {

#define BG_XNOR_SCALAR_BODY                                                    \
  for (int c = 0; c < nc; ++c) {                                               \
    for (int p = 0; p < npix; p += 4) {                                        \
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                 \
      for (int64_t k = 0; k < kw; ++k) {                                       \
        const uint64_t wv = w6[k * 6 + c];                                     \
        const uint64_t* a = panel + k * 64 + p;                                \
        s0 += static_cast<uint64_t>(__builtin_popcountll(a[0] ^ wv));          \
        s1 += static_cast<uint64_t>(__builtin_popcountll(a[1] ^ wv));          \
        s2 += static_cast<uint64_t>(__builtin_popcountll(a[2] ^ wv));          \
        s3 += static_cast<uint64_t>(__builtin_popcountll(a[3] ^ wv));          \
      }                                                                        \
      uint32_t* o = pc + c * 64 + p;                                           \
      if (acc) {                                                               \
        o[0] += static_cast<uint32_t>(s0);                                     \
        o[1] += static_cast<uint32_t>(s1);                                     \
        o[2] += static_cast<uint32_t>(s2);                                     \
        o[3] += static_cast<uint32_t>(s3);                                     \
      } else {                                                                 \
        o[0] = static_cast<uint32_t>(s0);                                      \
        o[1] = static_cast<uint32_t>(s1);                                      \
        o[2] = static_cast<uint32_t>(s2);                                      \
        o[3] = static_cast<uint32_t>(s3);                                      \
      }                                                                        \
    }                                                                          \
  }

void tile_generic(const uint64_t* panel, const uint64_t* w6, int64_t kw, int nc, int npix, uint32_t* pc, bool acc) {
  BG_XNOR_SCALAR_BODY
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("popcnt"))) void tile_popcnt(const uint64_t* panel, const uint64_t* w6, int64_t kw, int nc,
                                                   int npix, uint32_t* pc, bool acc) {
  BG_XNOR_SCALAR_BODY
}
#endif

#undef BG_XNOR_SCALAR_BODY

// SWAR popcount (baseline x86-64 has no popcnt instruction).
int64_t popcount_generic(const uint64_t* p, int64_t n) {
  int64_t s = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t v = p[i];
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    s += static_cast<int64_t>((v * 0x0101010101010101ULL) >> 56);
  }
  return s;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("popcnt"))) int64_t popcount_popcnt(const uint64_t* p, int64_t n) {
  int64_t s = 0;
  for (int64_t i = 0; i < n; ++i) s += __builtin_popcountll(p[i]);
  return s;
}
#endif

// Float x ±1 tile (xnor_kernels.h): one row at a time, j outermost per row so every
// output element sums its coefficients in j order.
void sgemm(const float* cp, const uint64_t* b, int64_t bstride, int64_t nj, int nr, int kv, float* out,
           int64_t ostride, bool accumulate) {
  for (int r = 0; r < nr; ++r) {
    float acc[64];
    for (int k = 0; k < 64; ++k) acc[k] = accumulate && k < kv ? out[r * ostride + k] : 0.0f;
    for (int64_t j = 0; j < nj; ++j) {
      const float c = cp[j * 6 + r];
      const uint64_t w = b[j * bstride];
      for (int k = 0; k < 64; ++k) acc[k] += ((w >> k) & 1) ? c : -c;
    }
    float* o = out + r * ostride;
    for (int k = 0; k < kv; ++k) o[k] = acc[k];
  }
}

}  // namespace

void xnor_kernels_scalar(XnorKernels* out) {
  out->tile = &tile_generic;
  out->popcount = &popcount_generic;
  out->sgemm = &sgemm;
  out->epilogue = nullptr;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("popcnt")) {
    out->tile = &tile_popcnt;
    out->popcount = &popcount_popcnt;
  }
#endif
}

}  // namespace cpu
}  // namespace bg
