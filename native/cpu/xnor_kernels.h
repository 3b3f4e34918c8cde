// Per-ISA micro-kernels of the XNOR-popcount convolution / GEMM (native/cpu/xnor.cpp).
// Each ISA lives in its own translation unit compiled with that ISA's flags and exports
// exactly one function that fills a table of pointers to its internal-linkage loops.
//
// Layouts (word-major, specs/mst-break-even.md §6):
//   panel: [kw][64] words: word k of 64 consecutive output pixels, one 512-byte row per k.
//   w6:    [kw][6] words: word k of 6 consecutive output channels (missing channels 0).
#pragma once
#include <cstdint>

namespace bg {
namespace cpu {

struct XnorKernels {
  // pc[c * 64 + p] = (acc ? pc[c * 64 + p] : 0) + sum_{k < kw} popc(panel[k * 64 + p] ^ w6[k * 6 + c])
  // for c < nc (1..6) and p < 64.
  void (*tile)(const uint64_t* panel, const uint64_t* w6, int64_t kw, int nc, uint32_t* pc, bool acc);
  // Sum of the popcounts of n words.
  int64_t (*popcount)(const uint64_t* p, int64_t n);
};

void xnor_kernels_scalar(XnorKernels* out);
void xnor_kernels_avx2(XnorKernels* out);
// Needs AVX512F/BW/VL and VPOPCNTDQ at run time.
void xnor_kernels_avx512(XnorKernels* out);

}  // namespace cpu
}  // namespace bg
