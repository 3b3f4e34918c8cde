// Per-ISA inner loops of bit packing (see native/ops/pack_args.h for the bit
// convention). Each ISA's loops live in their own translation unit compiled with that
// ISA's flags and export exactly one function, which fills a table of pointers to its
// internal-linkage loops.
#pragma once
#include <cstddef>
#include <cstdint>

namespace bg {
namespace cpu {

struct PackKernels {
  // Channels contiguous: row j (j < rows) packs the k floats at x + j * row_stride into
  // `words` words at out + j * words (bits past k zero, words past ceil(k/64) zero).
  // Returns true when some float read is NaN (its bit is then unspecified).
  bool (*rows)(const float* x, int64_t row_stride, int64_t k, uint64_t* out, int64_t words,
               int64_t rows);
  // Channel planes (NCHW): pixel p (p < pixels), channel c reads x[c * plane + p]; pixel
  // p's row goes to out + p * words. Same padding and NaN rules as `rows`.
  bool (*planar)(const float* x, int64_t plane, int64_t k, uint64_t* out, int64_t words,
                 int64_t pixels);
  // As rows / planar, with channel c's bit (x - t[c]) >= 0 and a NaN difference
  // reported (t: k floats).
  bool (*rows_t)(const float* x, const float* t, int64_t row_stride, int64_t k, uint64_t* out,
                 int64_t words, int64_t rows);
  bool (*planar_t)(const float* x, const float* t, int64_t plane, int64_t k, uint64_t* out,
                   int64_t words, int64_t pixels);
  // Row j of `words` words at bits + j * words becomes the k floats (+1 / -1) at
  // out + j * k.
  void (*unpack)(const uint64_t* bits, int64_t words, int64_t k, float* out, int64_t rows);
};

void pack_kernels_scalar(PackKernels* out);
void pack_kernels_avx2(PackKernels* out);
void pack_kernels_avx512(PackKernels* out);

}  // namespace cpu
}  // namespace bg
