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

// One 64-pixel block of the conv / GEMM epilogue (xnor.cpp): for pixel l < npix and
// channel c < nch, dot = kt - 2 * pc[c * 64 + l] - (corr[l] ? corr[l][corr_off + c] : 0), then
// out_type 0: oi[l * ostride + c] = dot; 1: of[...] = xnor_affine(dot, alpha[c], beta[c])
// (+ residual[l * ostride + c]); 2: ob[...] = xnor_affine_ge0(dot, alpha[c], beta[c])
// (math/xnor_epilogue.h). Callers guarantee |dot| < 2^29.
struct XnorEpi {
  const uint32_t* pc = nullptr;
  int npix = 0, nch = 0;
  int32_t kt = 0;
  const int32_t* const* corr = nullptr;  // [npix] rows at the layer's channel 0, null entries: none
  int64_t corr_off = 0;                  // the block's first channel in those rows
  int out_type = 0;
  int32_t* oi = nullptr;
  float* of = nullptr;
  uint8_t* ob = nullptr;
  // out_type 2 packed directly (then ob is null): the block holds every channel of the
  // layer (corr_off 0, nch = cout); pixel l's bits go to obits[l * owords + c / 64] bit
  // c % 64, whole words written, padding bits 0.
  uint64_t* obits = nullptr;
  int64_t owords = 0;
  int64_t ostride = 0;
  const float* alpha = nullptr;
  const float* beta = nullptr;      // or null (0)
  const float* residual = nullptr;  // or null
};

// One task of the direct conv / GEMM path (AVX-512 only): accumulators hold 8 channels
// per register (pixels broadcast), so each 6-pixel x 32-channel micro-tile finishes its
// outputs from registers, pixel-major, with no popcount buffer and no transpose.
//   panel: [kw][64] as for tile; npix valid pixels (1..64).
//   wq:    [ceil(nch / 32)][kw][32] words: word k of 32 consecutive channels (missing 0).
//   For pixel l < npix, channel c < nch: dot = kt - 2 * popcount sum - corr (as XnorEpi,
//   corr rows indexed at corr_off + c), then by out_type: oi[l * ostride + c] = dot;
//   of[...] = fmaf(float(dot), alpha[c], beta[c]) (+ residual[l * ostride + c]) (callers
//   guarantee kt <= 2^24, so float(dot) is exact); bits: bit c % 8 of byte
//   ob8[l * obstride + c / 8] = double(dot) * alpha[c] + beta[c] >= 0 (the sign of that
//   fmaf, which is the same), whole bytes written (bits past nch 0).
struct XnorDirect {
  const uint64_t* panel = nullptr;
  int npix = 0;
  const uint64_t* wq = nullptr;
  int64_t kw = 0;
  int nch = 0;
  int32_t kt = 0;
  const int32_t* const* corr = nullptr;
  int64_t corr_off = 0;
  int out_type = 0;
  int32_t* oi = nullptr;
  float* of = nullptr;
  uint8_t* ob8 = nullptr;
  int64_t ostride = 0, obstride = 0;
  const float* alpha = nullptr;
  const float* beta = nullptr;
  const float* residual = nullptr;
};

struct XnorKernels {
  // pc[c * 64 + p] = (acc ? pc[c * 64 + p] : 0) + sum_{k < kw} popc(panel[k * 64 + p] ^ w6[k * 6 + c])
  // for c < nc (1..6) and p < npix (1..64); entries of later pixels may be written too
  // (a partial block, the last of a small image, skips the vectors it does not need).
  void (*tile)(const uint64_t* panel, const uint64_t* w6, int64_t kw, int nc, int npix, uint32_t* pc, bool acc);
  // Sum of the popcounts of n words.
  int64_t (*popcount)(const uint64_t* p, int64_t n);
  // Float x ±1 GEMM tile of the training kernels (xnor_train.cpp), reading bits:
  //   out[r * ostride + k] = (acc ? out[r * ostride + k] : 0) + sum over j = 0, 1, ...,
  //                          nj - 1 in that order of (bit k of b row j ? cp[j * 6 + r] : -cp[j * 6 + r])
  // in float32, one rounding per step, for r < nr (1..6), k < kv (1..64); acc lets a
  // caller cut j into chunks without changing the order or the bits. b points at one
  // word of row 0, rows bstride words apart; cp is a [nj][6] panel of coefficients.
  // acc + (±c) is what a fused multiply-add by ±1 computes (the product is exact), so
  // the SIMD paths use FMAs and every path gives the same bits.
  void (*sgemm)(const float* cp, const uint64_t* b, int64_t bstride, int64_t nj, int nr, int kv, float* out,
                int64_t ostride, bool acc);
  // Pixel-major SIMD epilogue of one block, or null (xnor.cpp's C++ loop runs).
  void (*epilogue)(const XnorEpi& e);
  // Per-tap weight popcounts of zero padding in one call, transposed: for co < nco and
  // t < taps, out[t * ostride + co] = sum of the popcounts of the n words of row
  // co * taps + t of w. Null: xnor.cpp calls popcount per row.
  void (*tap_popcounts)(const uint64_t* w, int64_t nco, int64_t taps, int64_t n, int32_t* out,
                        int64_t ostride) = nullptr;
  // The direct path (XnorDirect), or null (xnor.cpp uses tile + epilogue).
  void (*direct)(const XnorDirect& d) = nullptr;
};

// The table of the active SIMD path (xnor.cpp).
const XnorKernels& xnor_kernels_active();

void xnor_kernels_scalar(XnorKernels* out);
void xnor_kernels_avx2(XnorKernels* out);
// Needs AVX512F/BW/VL and VPOPCNTDQ at run time.
void xnor_kernels_avx512(XnorKernels* out);

}  // namespace cpu
}  // namespace bg
