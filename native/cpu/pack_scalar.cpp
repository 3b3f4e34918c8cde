// Scalar (baseline, any CPU) loops of bit packing; the reference the SIMD paths must
// match bit for bit. Only pack_kernels_scalar is exported.
#include "pack_common.h"
#include "pack_kernels.h"

namespace bg {
namespace cpu {
namespace {

// Bit of one float: x >= 0 by value (-0 gives 1, NaN gives 0 and is reported apart).
inline uint64_t bit_of(float v) { return v >= 0.0f ? 1u : 0u; }

// kT: channel c's value is x - t[c] (fused binarize + pack); otherwise x itself.
template <bool kT>
bool rows_impl(const float* x, const float* t, int64_t row_stride, int64_t k, uint64_t* out,
               int64_t words, int64_t rows) {
  bool nan = false;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * row_stride;
    uint64_t* o = out + r * words;
    for (int64_t g = 0; g < words; ++g) {
      const int64_t c0 = g * 64;
      const int64_t nc = k - c0 <= 0 ? 0 : (k - c0 < 64 ? k - c0 : 64);
      uint64_t w = 0;
      for (int64_t j = 0; j < nc; ++j) {
        const float v = kT ? xr[c0 + j] - t[c0 + j] : xr[c0 + j];
        nan |= v != v;
        w |= bit_of(v) << j;
      }
      o[g] = w;
    }
  }
  return nan;
}

template <bool kT>
bool planar_impl(const float* x, const float* t, int64_t plane, int64_t k, uint64_t* out,
                 int64_t words, int64_t pixels) {
  bool nan = false;
  auto load = [&nan, t](const float* p, int64_t n, int64_t c) {
    const float shift = kT ? t[c] : 0.0f;
    uint64_t m = 0;
    for (int64_t q = 0; q < n; ++q) {
      const float v = kT ? p[q] - shift : p[q];
      nan |= v != v;
      m |= bit_of(v) << q;
    }
    return m;
  };
  planar_tiles(x, plane, k, out, words, pixels, load);
  return nan;
}

bool rows_scalar(const float* x, int64_t row_stride, int64_t k, uint64_t* out, int64_t words,
                 int64_t rows) {
  return rows_impl<false>(x, nullptr, row_stride, k, out, words, rows);
}
bool rows_t_scalar(const float* x, const float* t, int64_t row_stride, int64_t k, uint64_t* out,
                   int64_t words, int64_t rows) {
  return rows_impl<true>(x, t, row_stride, k, out, words, rows);
}
bool planar_scalar(const float* x, int64_t plane, int64_t k, uint64_t* out, int64_t words,
                   int64_t pixels) {
  return planar_impl<false>(x, nullptr, plane, k, out, words, pixels);
}
bool planar_t_scalar(const float* x, const float* t, int64_t plane, int64_t k, uint64_t* out,
                     int64_t words, int64_t pixels) {
  return planar_impl<true>(x, t, plane, k, out, words, pixels);
}

void unpack_scalar(const uint64_t* bits, int64_t words, int64_t k, float* out, int64_t rows) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint64_t* b = bits + r * words;
    float* o = out + r * k;
    for (int64_t c = 0; c < k; ++c) o[c] = ((b[c >> 6] >> (c & 63)) & 1u) ? 1.0f : -1.0f;
  }
}

}  // namespace

void pack_kernels_scalar(PackKernels* out) {
  out->rows = &rows_scalar;
  out->planar = &planar_scalar;
  out->rows_t = &rows_t_scalar;
  out->planar_t = &planar_t_scalar;
  out->unpack = &unpack_scalar;
}

}  // namespace cpu
}  // namespace bg
