// CPU XNOR-popcount convolution; GEMM is the 1x1 case (x = [1, 1, M, K] pixels,
// w = [N, 1, 1, K]).
//
// Implicit GEMM over word-major panels (specs/mst-break-even.md §6): the output pixels
// are cut into blocks of 64; for one block and one group the panel holds, for every
// word k of the group's im2col row (tap-major, then words of the group's channels),
// word k of the 64 pixels side by side (512 bytes per k). Out-of-image taps get the
// all-ones word (+1 in every valid channel, 0 in padding bits). Weights are repacked
// once per call into [group][6-channel block][k][6]. The per-ISA micro-kernel
// (xnor_kernels.h) turns a panel and a 6-channel block into popcount sums; K is cut
// into chunks of at most kMaxKc words so the panel chunk stays in L1 while the weight
// blocks stream from L2.
//
// Zero padding is exact: the kernel always computes the one-padded dot, and the
// epilogue subtracts, for each out-of-image tap of a border pixel, that tap's
// contribution 2 * popc(w_tap) - cg, which leaves valid_bits - 2 * popc over the valid
// taps only. The per-tap corrections are summed once per border pattern (row class x
// column class), so a border pixel costs one extra vector subtract in the epilogue,
// which runs pixel-major in SIMD (a 16 x 16 register transpose on AVX-512).
//
// Work is split into tasks (group, pixel block, channel chunk); the partition depends
// only on the shape and the thread count, and every output element is computed by one
// task in integer arithmetic, so results never depend on the thread count.
#include "xnor.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "../math/xnor_epilogue.h"
#include "simd.h"
#include "threadpool.h"
#include "xnor_kernels.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kMaxKc = 80;  // words per K chunk: 80 * 512 B = 40 KiB of panel
// The direct path keeps a task's whole K in one pass: up to 96 words (6144 bits per
// output, every ResNet-18 3x3 layer) its 32-channel weight block (24 KiB) and the panel
// rows it touches stay near L1; longer K runs tile + epilogue with K chunks.
constexpr int64_t kMaxDirectKw = 96;
// Below this many word-MACs (pixels * channels * words) everything runs on the caller.
constexpr int64_t kParallelMin = INT64_C(1) << 16;

struct Tables {
  XnorKernels t[3];
  const char* names[3];
  Tables() {
    xnor_kernels_scalar(&t[0]);
    names[0] = "scalar";
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("popcnt")) names[0] = "scalar-popcnt";
#endif
    t[1] = t[2] = t[0];
    names[1] = names[2] = names[0];
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (__builtin_cpu_supports("avx2")) {
      xnor_kernels_avx2(&t[1]);
      names[1] = "avx2-pshufb";
      t[2] = t[1];
      names[2] = names[1];
    }
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vpopcntdq")) {
      xnor_kernels_avx512(&t[2]);
      names[2] = "avx512-vpopcntdq";
    }
#endif
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

struct AlignedWords {
  uint64_t* p = nullptr;
  size_t n = 0;
  ~AlignedWords() { release(); }
  void release() {
    if (p) ::operator delete(p, std::align_val_t(64));
    p = nullptr;
    n = 0;
  }
  uint64_t* get(size_t words) {
    if (words > n) {
      release();
      p = static_cast<uint64_t*>(::operator new(words * 8, std::align_val_t(64)));
      n = words;
    }
    return p;
  }
};

struct Plan {
  const XnorConvArgs* a;
  const XnorKernels* kern;
  int64_t P, G, coutg, taps, Kw, Ktot, PB, CB, cb_per_chunk, chunks, Kc;
  int64_t bw;            // channels per weight block: 6 (tile) or 32 (direct)
  bool direct;           // XnorKernels::direct runs the tasks
  // [G * PB][Kw * 64] panels built once before the tasks when channels are split into
  // three or more tasks per (group, pixel block), which would otherwise each build the
  // same panel; null: every task builds its own.
  const uint64_t* panels;
  uint64_t last_mask;
  const uint64_t* wp;    // [G][CB][Kw][bw]
  const int32_t* zpat;    // [patterns][cout] summed corrections (zero padding only)
  // [ho * wo]: per output position of an image, its pattern's row of zpat (channel 0),
  // or null where no tap is outside the image; prefix counts of the non-null ones.
  const int32_t* const* pix_corr;
  const int32_t* pix_cnt;  // [ho * wo + 1]
  uint8_t* flags;         // [P][cout] (bits output through flags only)
  bool direct_bits;       // bits output: the SIMD epilogue packs whole words itself
  bool fma;               // the C++ float epilogue may use the FMA instruction
};

// Panel build for a group whose channels start mid-word (build_panel takes the
// word-aligned ones): each word is funnel-shifted out of two, one pixel at a time.
void build_panel_shifted(const Plan& pl, int64_t g, int64_t pb, uint64_t* panel, int64_t tap0, int64_t tap1) {
  const XnorConvArgs& a = *pl.a;
  const int64_t gw = a.gwords;
  const int64_t off = g * a.cg;
  const int64_t w0 = off >> 6;
  const int bs = static_cast<int>(off & 63);  // 1..63
  const int64_t hw = a.ho * a.wo;
  const uint64_t last_mask = pl.last_mask;
  // Per pixel (once per panel): top-left input row / column and the word offset of
  // that (possibly out-of-image) position; then taps outer, pixels inner, so each
  // panel row is written contiguously.
  int64_t iy0[64], ix0[64], base[64];
  int npix = 0;
  {
    int64_t ni = (pb * 64) / hw;
    int64_t oy = (pb * 64 - ni * hw) / a.wo;
    int64_t ox = pb * 64 - ni * hw - oy * a.wo;
    for (int64_t l = 0; l < 64; ++l, ++ox) {
      if (ox == a.wo) {
        ox = 0;
        if (++oy == a.ho) {
          oy = 0;
          ++ni;
        }
      }
      if (pb * 64 + l >= pl.P) break;
      iy0[l] = oy * a.sh - a.ph;
      ix0[l] = ox * a.sw - a.pw;
      base[l] = ((ni * a.h + iy0[l]) * a.wd + ix0[l]) * a.xwords + w0;
      ++npix;
    }
  }
  for (int64_t tap = tap0; tap < tap1; ++tap) {
    const int64_t ky = tap / a.kw, kx = tap % a.kw;
    const int64_t dy = ky * a.dh, dx = kx * a.dw;
    const int64_t toff = (dy * a.wd + dx) * a.xwords;
    uint64_t* row = panel + tap * gw * 64;
    for (int l = 0; l < npix; ++l) {
      uint64_t* dst = row + l;
      const int64_t iy = iy0[l] + dy, ix = ix0[l] + dx;
      if (static_cast<uint64_t>(iy) >= static_cast<uint64_t>(a.h) ||
          static_cast<uint64_t>(ix) >= static_cast<uint64_t>(a.wd)) {
        for (int64_t j = 0; j < gw; ++j) dst[j * 64] = j == gw - 1 ? last_mask : ~uint64_t{0};
        continue;
      }
      const uint64_t* src = a.x + base[l] + toff;
      const int64_t avail = a.xwords - w0;  // words readable from src
      for (int64_t j = 0; j < gw; ++j) {
        const uint64_t lo = src[j] >> bs;
        const uint64_t hi = j + 1 < avail ? src[j + 1] << (64 - bs) : 0;
        dst[j * 64] = (lo | hi) & (j == gw - 1 ? last_mask : ~uint64_t{0});
      }
    }
  }
  for (int64_t l = npix; l < 64; ++l)
    for (int64_t k = tap0 * gw; k < tap1 * gw; ++k) panel[k * 64 + l] = 0;
}

// Word-aligned groups (the common case: groups = 1, or channels per group a multiple of
// 64): the block's pixels are cut into runs that share an output row, and for each tap
// a run is a prefix and a suffix outside the image (filled) around one strided copy, so
// the per-pixel bounds test and index arithmetic of the generic build leave the inner
// loop; with stride 1 and one word per pixel the copy is a memcpy. Only taps [tap0, tap1)
// are built, so that several threads can share one panel's build.
void build_panel(const Plan& pl, int64_t g, int64_t pb, uint64_t* panel, int64_t tap0, int64_t tap1) {
  const XnorConvArgs& a = *pl.a;
  const int64_t off = g * a.cg;
  if (off & 63) {
    build_panel_shifted(pl, g, pb, panel, tap0, tap1);
    return;
  }
  const int64_t gw = a.gwords;
  const int64_t w0 = off >> 6;
  const int64_t hw = a.ho * a.wo;
  const uint64_t last_mask = pl.last_mask;
  const bool mask_last = pl.G > 1 && gw > 0;
  const int64_t p0 = pb * 64;
  const int npix = static_cast<int>(pl.P - p0 < 64 ? pl.P - p0 : 64);
  struct Run {
    int l0, len;
    int64_t ni, oy, ox0;
  } runs[66];
  int nrun = 0;
  {
    int64_t ni = p0 / hw;
    int64_t oy = (p0 - ni * hw) / a.wo;
    int64_t ox = p0 - ni * hw - oy * a.wo;
    for (int l = 0; l < npix;) {
      const int len = static_cast<int>(a.wo - ox < npix - l ? a.wo - ox : npix - l);
      runs[nrun++] = Run{l, len, ni, oy, ox};
      l += len;
      ox = 0;
      if (++oy == a.ho) {
        oy = 0;
        ++ni;
      }
    }
  }
  const int64_t pstride = a.sw * a.xwords;  // words between neighbouring pixels of a run
  for (int64_t tap = tap0; tap < tap1; ++tap) {
    const int64_t ky = tap / a.kw, kx = tap % a.kw;
    uint64_t* row = panel + tap * gw * 64;
    for (int r = 0; r < nrun; ++r) {
      const Run& run = runs[r];
      const int64_t iy = run.oy * a.sh - a.ph + ky * a.dh;
      // Valid pixels of the run: 0 <= (ox0 + i) * sw - pw + kx * dw < wd.
      const int64_t ix0 = run.ox0 * a.sw - a.pw + kx * a.dw;
      int64_t lo = 0, hi = 0;
      if (static_cast<uint64_t>(iy) < static_cast<uint64_t>(a.h)) {
        lo = ix0 >= 0 ? 0 : (-ix0 + a.sw - 1) / a.sw;
        hi = ix0 >= a.wd ? 0 : (a.wd - ix0 + a.sw - 1) / a.sw;
        if (hi > run.len) hi = run.len;
        if (lo > hi) lo = hi;
      }
      uint64_t* dst = row + run.l0;
      for (int64_t j = 0; j < gw; ++j) {
        const uint64_t fillw = j == gw - 1 ? last_mask : ~uint64_t{0};
        uint64_t* d = dst + j * 64;
        for (int64_t i = 0; i < lo; ++i) d[i] = fillw;
        for (int64_t i = hi > lo ? hi : lo; i < run.len; ++i) d[i] = fillw;
      }
      if (hi <= lo) continue;
      const uint64_t* src = a.x + ((run.ni * a.h + iy) * a.wd + ix0 + lo * a.sw) * a.xwords + w0;
      const int64_t n = hi - lo;
      if (gw == 1 && pstride == 1) {
        std::memcpy(dst + lo, src, static_cast<size_t>(n) * 8);
      } else {
        for (int64_t j = 0; j < gw; ++j) {
          uint64_t* d = dst + j * 64 + lo;
          const uint64_t* sj = src + j;
          for (int64_t i = 0; i < n; ++i) d[i] = sj[i * pstride];
        }
      }
      if (mask_last) {
        uint64_t* d = dst + (gw - 1) * 64 + lo;
        for (int64_t i = 0; i < n; ++i) d[i] &= last_mask;
      }
    }
  }
  if (npix < 64)
    for (int64_t k = tap0 * gw; k < tap1 * gw; ++k) std::memset(panel + k * 64 + npix, 0, static_cast<size_t>(64 - npix) * 8);
}

// Zero padding: the correction rows (null: none) of pixels p0 .. p0 + npix - 1, the
// block's window of the per-position table (it wraps at image boundaries); false when
// no pixel of the block needs one.
bool border_rows(const Plan& pl, int64_t p0, int npix, const int32_t** rows) {
  if (!pl.zpat) return false;
  const int64_t hw = pl.a->ho * pl.a->wo;
  bool any = false;
  int64_t q = p0 % hw;
  for (int l = 0; l < npix;) {
    const int n = static_cast<int>(hw - q < npix - l ? hw - q : npix - l);
    any = any || pl.pix_cnt[q + n] > pl.pix_cnt[q];
    std::memcpy(rows + l, pl.pix_corr + q, static_cast<size_t>(n) * sizeof(rows[0]));
    l += n;
    q = 0;
  }
  return any;
}

// The float epilogue of one pixel's nch channels: xnor_affine (math/xnor_epilogue.h),
// then + residual.
template <bool kFma>
inline void affine_row_impl(const uint32_t* pcl, int64_t kt, const int32_t* cr, const float* al, const float* be,
                            const float* res, float* o, int64_t nch) {
  for (int64_t c = 0; c < nch; ++c) {
    const int64_t dot = kt - 2 * static_cast<int64_t>(pcl[c * 64]) - (cr ? cr[c] : 0);
    // With the FMA instruction, fmaf itself (the same single rounding).
    float f = kFma ? __builtin_fmaf(static_cast<float>(dot), al[c], be ? be[c] : 0.0f)
                   : xnor_affine(dot, al[c], be ? be[c] : 0.0f);
    if (res) f += res[c];
    o[c] = f;
  }
}
void affine_row(const uint32_t* pcl, int64_t kt, const int32_t* cr, const float* al, const float* be, const float* res,
                float* o, int64_t nch) {
  affine_row_impl<false>(pcl, kt, cr, al, be, res, o, nch);
}
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// This file is built for baseline x86-64, where fmaf is a libm call and its inline
// emulation costs more; the AVX2 path runs this loop, and simd.cpp selects AVX2 (or
// AVX-512) only where the CPU has FMA.
__attribute__((target("fma"))) void affine_row_fma(const uint32_t* pcl, int64_t kt, const int32_t* cr,
                                                   const float* al, const float* be, const float* res, float* o,
                                                   int64_t nch) {
  affine_row_impl<true>(pcl, kt, cr, al, be, res, o, nch);
}
#else
void affine_row_fma(const uint32_t* pcl, int64_t kt, const int32_t* cr, const float* al, const float* be,
                    const float* res, float* o, int64_t nch) {
  affine_row_impl<false>(pcl, kt, cr, al, be, res, o, nch);
}
#endif

// Zero padding: the correction of pixel (oy, ox) depends only on its border pattern
// (which ky and kx taps fall outside the image), so xnor_conv sums the per-tap
// corrections once per pattern; a pixel looks its row up (null when nothing is
// outside). Then the per-ISA SIMD epilogue (pixel-major, xnor_kernels.h) or the C++
// loop below finishes the block.
void epilogue(const Plan& pl, int64_t g, int64_t pb, int64_t cb0, int64_t cb1, const uint32_t* pc) {
  const XnorConvArgs& a = *pl.a;
  const int64_t c0 = cb0 * 6;
  const int64_t c1 = cb1 * 6 < pl.coutg ? cb1 * 6 : pl.coutg;
  const int64_t nch = c1 - c0;
  const int64_t co0 = g * pl.coutg + c0;
  const int64_t p0 = pb * 64;
  const int npix = static_cast<int>(pl.P - p0 < 64 ? pl.P - p0 : 64);
  const int32_t* rows[64];
  const bool any = border_rows(pl, p0, npix, rows);
  const int64_t kt = pl.Ktot;
  if (pl.kern->epilogue && kt < (INT64_C(1) << 28)) {
    XnorEpi e;
    e.pc = pc;
    e.npix = npix;
    e.nch = static_cast<int>(nch);
    e.kt = static_cast<int32_t>(kt);
    e.corr = any ? rows : nullptr;
    e.corr_off = co0;
    e.out_type = a.out_type;
    e.ostride = a.cout;
    const int64_t base = p0 * a.cout + co0;
    if (a.out_type == 0) e.oi = a.out_i32 + base;
    if (a.out_type == 1) e.of = a.out_f32 + base;
    if (a.out_type == 2 && pl.direct_bits) {
      const int64_t ow = (a.cout + 63) / 64;
      e.obits = a.out_bits + p0 * ow;
      e.owords = ow;
    } else if (a.out_type == 2) {
      e.ob = pl.flags + base;
    }
    if (a.out_type != 0) {
      e.alpha = a.alpha + co0;
      e.beta = a.beta ? a.beta + co0 : nullptr;
      e.residual = a.residual ? a.residual + base : nullptr;
    }
    pl.kern->epilogue(e);
    return;
  }
  for (int l = 0; l < npix; ++l) {
    const int64_t p = p0 + l;
    const int64_t base = p * a.cout + co0;
    const uint32_t* pcl = pc + l;
    const int32_t* cr = any && rows[l] ? rows[l] + co0 : nullptr;
    if (a.out_type == 0) {
      int32_t* o = a.out_i32 + base;
      if (cr)
        for (int64_t c = 0; c < nch; ++c) o[c] = static_cast<int32_t>(kt - 2 * static_cast<int64_t>(pcl[c * 64]) - cr[c]);
      else
        for (int64_t c = 0; c < nch; ++c) o[c] = static_cast<int32_t>(kt - 2 * static_cast<int64_t>(pcl[c * 64]));
    } else if (a.out_type == 1) {
      const float* res = a.residual ? a.residual + base : nullptr;
      (pl.fma ? affine_row_fma : affine_row)(pcl, kt, cr, a.alpha + co0, a.beta ? a.beta + co0 : nullptr, res,
                                                a.out_f32 + base, nch);
    } else {
      uint8_t* o = pl.flags + base;
      const float* al = a.alpha + co0;
      const float* be = a.beta ? a.beta + co0 : nullptr;
      for (int64_t c = 0; c < nch; ++c) {
        const int64_t dot = kt - 2 * static_cast<int64_t>(pcl[c * 64]) - (cr ? cr[c] : 0);
        o[c] = xnor_affine_ge0(dot, al[c], be ? be[c] : 0.0f) ? 1 : 0;
      }
    }
  }
}

// One task of the direct path: the panel, then the kernel finishes every output of the
// task's pixels and channels from registers.
void run_direct(const Plan& pl, int64_t g, int64_t pb, int64_t cb0, int64_t cb1, const uint64_t* panel) {
  const XnorConvArgs& a = *pl.a;
  const int64_t p0 = pb * 64;
  const int npix = static_cast<int>(pl.P - p0 < 64 ? pl.P - p0 : 64);
  const int64_t c0 = cb0 * 32;
  const int64_t c1 = cb1 * 32 < pl.coutg ? cb1 * 32 : pl.coutg;
  const int64_t co0 = g * pl.coutg + c0;
  const int32_t* rows[64];
  XnorDirect d;
  d.panel = panel;
  d.npix = npix;
  d.wq = pl.wp + (g * pl.CB + cb0) * pl.Kw * 32;
  d.kw = pl.Kw;
  d.nch = static_cast<int>(c1 - c0);
  d.kt = static_cast<int32_t>(pl.Ktot);
  d.corr = border_rows(pl, p0, npix, rows) ? rows : nullptr;
  d.corr_off = co0;
  d.out_type = a.out_type;
  d.ostride = a.cout;
  const int64_t base = p0 * a.cout + co0;
  if (a.out_type == 0) d.oi = a.out_i32 + base;
  if (a.out_type == 1) d.of = a.out_f32 + base;
  if (a.out_type == 2) {
    const int64_t ow = (a.cout + 63) / 64;
    d.obstride = ow * 8;
    d.ob8 = reinterpret_cast<uint8_t*>(a.out_bits + p0 * ow) + co0 / 8;
  }
  if (a.out_type != 0) {
    d.alpha = a.alpha + co0;
    d.beta = a.beta ? a.beta + co0 : nullptr;
    d.residual = a.out_type == 1 && a.residual ? a.residual + base : nullptr;
  }
  pl.kern->direct(d);
}

void run_task(const Plan& pl, int64_t task) {
  thread_local AlignedWords panel_buf;
  thread_local std::vector<uint32_t> pc_buf;
  const int64_t ch = task % pl.chunks;
  const int64_t rest = task / pl.chunks;
  const int64_t pb = rest % pl.PB;
  const int64_t g = rest / pl.PB;
  const int64_t cb0 = ch * pl.cb_per_chunk;
  const int64_t cb1 = cb0 + pl.cb_per_chunk < pl.CB ? cb0 + pl.cb_per_chunk : pl.CB;
  if (cb0 >= cb1) return;
  const int64_t Kw1 = pl.Kw > 0 ? pl.Kw : 1;
  const uint64_t* panel = pl.panels;
  if (panel) {
    panel += (g * pl.PB + pb) * Kw1 * 64;
  } else {
    uint64_t* own = panel_buf.get(static_cast<size_t>(Kw1 * 64));
    build_panel(pl, g, pb, own, 0, pl.taps);
    panel = own;
  }
  if (pl.direct) {
    run_direct(pl, g, pb, cb0, cb1, panel);
    return;
  }
  pc_buf.resize(static_cast<size_t>((cb1 - cb0) * 6 * 64));
  uint32_t* pc = pc_buf.data();
  const int npix = static_cast<int>(pl.P - pb * 64 < 64 ? pl.P - pb * 64 : 64);
  if (pl.Kw == 0) std::memset(pc, 0, pc_buf.size() * 4);
  for (int64_t k0 = 0; k0 < pl.Kw; k0 += pl.Kc) {
    const int64_t kl = pl.Kw - k0 < pl.Kc ? pl.Kw - k0 : pl.Kc;
    for (int64_t cb = cb0; cb < cb1; ++cb) {
      const int64_t rem = pl.coutg - cb * 6;
      const int nc = rem < 6 ? static_cast<int>(rem) : 6;
      pl.kern->tile(panel + k0 * 64, pl.wp + ((g * pl.CB + cb) * pl.Kw + k0) * 6, kl, nc, npix, pc + (cb - cb0) * 6 * 64,
                    k0 > 0);
    }
  }
  epilogue(pl, g, pb, cb0, cb1, pc);
}

// Forms of a weight tensor that depend only on its bits and the layer's geometry: the
// [G][CB][Kw][6] repack, the per-tap popcounts of zero padding and, for one input
// geometry, the per-pattern corrections. Built on a weight's first use and kept with its
// buffer (XnorConvArgs::wcache) while its bits do not change, so repeated calls on the
// same weights (inference, or a training step's several passes) skip that work.
struct ZeroPad {
  int64_t key[10];
  std::vector<int32_t> zpat;               // [patterns][cout]
  std::vector<const int32_t*> pix_corr;    // [ho * wo]
  std::vector<int32_t> pix_cnt;            // [ho * wo + 1]
};

struct WeightForms {
  uint64_t version = 0;
  int64_t key[8] = {};
  AlignedWords wp;                 // [G][CB][Kw][bw]
  std::vector<int32_t> pt;         // [taps][cout] popcounts, filled on first need
  std::mutex zmu;                  // guards pt and zero while they are filled
  std::unique_ptr<ZeroPad> zero;   // the geometry seen first
};

void fill_forms(const XnorConvArgs& a, const Plan& pl, WeightForms& f) {
  const int64_t Kw1 = pl.Kw > 0 ? pl.Kw : 1;
  const int64_t bw = pl.bw;
  uint64_t* wp = f.wp.get(static_cast<size_t>(pl.G * pl.CB * Kw1 * bw));
  if (pl.coutg % bw != 0)
    for (int64_t g = 0; g < pl.G; ++g)
      std::memset(wp + (g * pl.CB + pl.CB - 1) * Kw1 * bw, 0, static_cast<size_t>(Kw1 * bw * 8));
  // Locals: stores through uint64_t* could alias the plan's int64_t fields.
  const int64_t G = pl.G, coutg = pl.coutg, CB = pl.CB, Kw = pl.Kw;
  const uint64_t* w = a.w;
  for (int64_t g = 0; g < G; ++g)
    for (int64_t co = 0; co < coutg; ++co) {
      const uint64_t* src = w + (g * coutg + co) * Kw;
      uint64_t* dst = wp + (g * CB + co / bw) * Kw * bw + co % bw;
      for (int64_t k = 0; k < Kw; ++k) dst[k * bw] = src[k];
    }
}

std::shared_ptr<WeightForms> weight_forms(const XnorConvArgs& a, const Plan& pl) {
  const int64_t key[8] = {pl.G, pl.coutg, pl.Kw, pl.taps, a.gwords, a.cg, a.cout, pl.bw};
  auto matches = [&](const WeightForms& f) {
    return f.version == a.wversion && std::memcmp(f.key, key, sizeof key) == 0;
  };
  auto build = [&] {
    auto f = std::make_shared<WeightForms>();
    f->version = a.wversion;
    std::memcpy(f->key, key, sizeof key);
    fill_forms(a, pl, *f);
    return f;
  };
  if (a.wcache == nullptr) return build();
  std::lock_guard<std::mutex> lock(a.wcache->mu);
  auto cached = std::static_pointer_cast<WeightForms>(a.wcache->value);
  if (cached && matches(*cached)) return cached;
  auto f = build();
  a.wcache->value = f;
  return f;
}

// Zero padding: per (channel, tap) the one-padded contribution 2 * popc(w_tap) - cg,
// summed once per border pattern. Out-of-image taps of a row are a prefix and a
// suffix of ky (iy grows with ky), so (prefix, suffix) names a row class; same for x.
void build_zero_pad(const XnorConvArgs& a, const Plan& pl, const int32_t* pt, ZeroPad& out) {
  std::vector<int32_t> row_cls(static_cast<size_t>(a.ho)), col_cls(static_cast<size_t>(a.wo));
  std::vector<uint8_t> zused;
  int64_t ncol = 1;
  auto classes = [](int64_t outn, int64_t k, int64_t s, int64_t p, int64_t d, int64_t in, std::vector<int32_t>& cls,
                    std::vector<std::pair<int64_t, int64_t>>& keys) {
    for (int64_t o = 0; o < outn; ++o) {
      int64_t lead = 0, trail = 0;
      for (int64_t q = 0; q < k; ++q) {
        const int64_t i = o * s - p + q * d;
        if (i < 0) ++lead;
        else if (i >= in) ++trail;
      }
      const std::pair<int64_t, int64_t> key(lead, trail);
      size_t id = 0;
      while (id < keys.size() && keys[id] != key) ++id;
      if (id == keys.size()) keys.push_back(key);
      cls[static_cast<size_t>(o)] = static_cast<int32_t>(id);
    }
  };
  std::vector<std::pair<int64_t, int64_t>> rk, ck;
  classes(a.ho, a.kh, a.sh, a.ph, a.dh, a.h, row_cls, rk);
  classes(a.wo, a.kw, a.sw, a.pw, a.dw, a.wd, col_cls, ck);
  ncol = static_cast<int64_t>(ck.size());
  const int64_t npat = static_cast<int64_t>(rk.size()) * ncol;
  out.zpat.assign(static_cast<size_t>(npat * a.cout), 0);
  zused.assign(static_cast<size_t>(npat), 0);
  // Out-of-image taps of each pattern, then per channel (one pass over its weights):
  // the per-tap corrections and their sums over each pattern's taps.
  std::vector<int64_t> ptap_off(static_cast<size_t>(npat + 1), 0);
  std::vector<int32_t> ptaps;
  for (int64_t pid = 0; pid < npat; ++pid) {
    const auto& r = rk[static_cast<size_t>(pid / ncol)];
    const auto& c = ck[static_cast<size_t>(pid % ncol)];
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      const bool row_out = ky < r.first || ky >= a.kh - r.second;
      for (int64_t kx = 0; kx < a.kw; ++kx)
        if (row_out || kx < c.first || kx >= a.kw - c.second) ptaps.push_back(static_cast<int32_t>(ky * a.kw + kx));
    }
    ptap_off[static_cast<size_t>(pid + 1)] = static_cast<int64_t>(ptaps.size());
    zused[static_cast<size_t>(pid)] = ptap_off[static_cast<size_t>(pid + 1)] > ptap_off[static_cast<size_t>(pid)];
  }
  // Per-tap weight popcounts pt[t][co] (channel-contiguous), then each pattern's
  // correction 2 * (sum of pt over its taps) - cg * (its tap count) as whole-row adds
  // (vectorizable), a chunk of channels per task.
  auto fill = [&](int64_t co0, int64_t co1) {
    const int64_t cout = a.cout;
    const int32_t cg = static_cast<int32_t>(a.cg);
    for (int64_t pid = 0; pid < npat; ++pid) {
      int32_t* dst = out.zpat.data() + pid * cout;
      const int64_t i0 = ptap_off[static_cast<size_t>(pid)], i1 = ptap_off[static_cast<size_t>(pid + 1)];
      if (i0 == i1) continue;
      for (int64_t i = i0; i < i1; ++i) {
        const int32_t* src = pt + static_cast<int64_t>(ptaps[static_cast<size_t>(i)]) * cout;
        for (int64_t co = co0; co < co1; ++co) dst[co] += src[co];
      }
      const int32_t k = cg * static_cast<int32_t>(i1 - i0);
      for (int64_t co = co0; co < co1; ++co) dst[co] = 2 * dst[co] - k;
    }
  };
  const int64_t zchunk = 64;
  const int64_t nz = (a.cout + zchunk - 1) / zchunk;
  if (num_threads() > 1 && nz > 1 && a.cout * npat * pl.taps >= (INT64_C(1) << 16))
    parallel_for(static_cast<size_t>(nz), [&](size_t i) {
      const int64_t z0 = static_cast<int64_t>(i) * zchunk;
      fill(z0, z0 + zchunk < a.cout ? z0 + zchunk : a.cout);
    });
  else
    fill(0, a.cout);
  const int64_t hw = a.ho * a.wo;
  out.pix_corr.resize(static_cast<size_t>(hw));
  out.pix_cnt.resize(static_cast<size_t>(hw + 1));
  out.pix_cnt[0] = 0;
  for (int64_t oy = 0, q = 0; oy < a.ho; ++oy)
    for (int64_t ox = 0; ox < a.wo; ++ox, ++q) {
      const int64_t pid = static_cast<int64_t>(row_cls[static_cast<size_t>(oy)]) * ncol + col_cls[static_cast<size_t>(ox)];
      const bool used = zused[static_cast<size_t>(pid)] != 0;
      out.pix_corr[static_cast<size_t>(q)] = used ? out.zpat.data() + pid * a.cout : nullptr;
      out.pix_cnt[static_cast<size_t>(q + 1)] = out.pix_cnt[static_cast<size_t>(q)] + (used ? 1 : 0);
    }
}

// The zero-padding tables of this call: the forms' cached ones when the geometry
// matches (or none is cached yet), else built into *local.
const ZeroPad* zero_pad(const XnorConvArgs& a, const Plan& pl, WeightForms& f, std::unique_ptr<ZeroPad>* local) {
  const int64_t key[10] = {a.h, a.wd, a.ph, a.pw, a.sh, a.sw, a.dh, a.dw, a.ho, a.wo};
  std::lock_guard<std::mutex> lock(f.zmu);
  if (f.pt.empty() && pl.taps * a.cout > 0) {
    f.pt.resize(static_cast<size_t>(pl.taps * a.cout));
    const int64_t taps = pl.taps, gwords = a.gwords, cout = a.cout;
    int32_t* pt = f.pt.data();
    auto fill = [&](int64_t co0, int64_t co1) {
      if (pl.kern->tap_popcounts) {
        pl.kern->tap_popcounts(a.w + co0 * taps * gwords, co1 - co0, taps, gwords, pt + co0, cout);
      } else {
        for (int64_t co = co0; co < co1; ++co)
          for (int64_t t = 0; t < taps; ++t)
            pt[t * cout + co] = static_cast<int32_t>(pl.kern->popcount(a.w + (co * taps + t) * gwords, gwords));
      }
    };
    const int64_t zchunk = 64;
    const int64_t nz = (cout + zchunk - 1) / zchunk;
    if (num_threads() > 1 && nz > 1 && cout * taps * gwords >= (INT64_C(1) << 16))
      parallel_for(static_cast<size_t>(nz), [&](size_t i) {
        const int64_t z0 = static_cast<int64_t>(i) * zchunk;
        fill(z0, z0 + zchunk < cout ? z0 + zchunk : cout);
      });
    else
      fill(0, cout);
  }
  if (f.zero && std::memcmp(f.zero->key, key, sizeof key) == 0) return f.zero.get();
  auto z = std::unique_ptr<ZeroPad>(new ZeroPad());
  std::memcpy(z->key, key, sizeof key);
  build_zero_pad(a, pl, f.pt.data(), *z);
  if (!f.zero) {
    f.zero = std::move(z);
    return f.zero.get();
  }
  *local = std::move(z);
  return local->get();
}

}  // namespace

const XnorKernels& xnor_kernels_active() { return tables().t[static_cast<int>(isa_info().active)]; }

const char* xnor_kernel_name() { return tables().names[static_cast<int>(isa_info().active)]; }

void xnor_conv(const XnorConvArgs& a) {
  Plan pl;
  pl.a = &a;
  pl.kern = &tables().t[static_cast<int>(isa_info().active)];
  // Every vector path implies FMA (simd.cpp); the forced scalar path stays baseline
  // x86-64 here too (and so tests the emulation).
  pl.fma = isa_info().active != Isa::Scalar;
  pl.P = a.n * a.ho * a.wo;
  if (pl.P <= 0 || a.cout <= 0) return;
  pl.G = a.groups;
  pl.coutg = a.cout / a.groups;
  pl.taps = a.kh * a.kw;
  pl.Kw = pl.taps * a.gwords;
  pl.Ktot = pl.taps * a.cg;
  pl.PB = (pl.P + 63) / 64;
  // The direct path where the ISA has it and K fits one pass (float output needs
  // |dot| <= 2^24 for its float FMA; packed bits need each task's channels to start on
  // a byte). Its 32-channel blocks would mostly compute padding for narrow groups
  // (depthwise convs, small N), where 6-channel tiles waste little.
  pl.direct = pl.kern->direct != nullptr && pl.Kw > 0 && pl.Kw <= kMaxDirectKw && pl.Ktot <= (INT64_C(1) << 24) &&
              pl.coutg >= 24 && (a.out_type != 2 || pl.G == 1 || pl.coutg % 8 == 0);
  pl.bw = pl.direct ? 32 : 6;
  pl.CB = (pl.coutg + pl.bw - 1) / pl.bw;
  pl.last_mask = a.cg % 64 ? (uint64_t{1} << (a.cg % 64)) - 1 : ~uint64_t{0};
  {
    const int64_t nk = (pl.Kw + kMaxKc - 1) / kMaxKc;
    pl.Kc = nk > 0 ? (pl.Kw + nk - 1) / nk : 1;
  }

  std::shared_ptr<WeightForms> forms = weight_forms(a, pl);
  pl.wp = forms->wp.p;
  const ZeroPad* zp = nullptr;
  std::unique_ptr<ZeroPad> zlocal;
  pl.zpat = nullptr;
  pl.pix_corr = nullptr;
  pl.pix_cnt = nullptr;
  if (a.pad_mode == 0 && (a.ph > 0 || a.pw > 0)) {
    zp = zero_pad(a, pl, *forms, &zlocal);
    pl.zpat = zp->zpat.data();
    pl.pix_corr = zp->pix_corr.data();
    pl.pix_cnt = zp->pix_cnt.data();
  }

  // Partition: split channels only when there are too few (group, pixel block) pairs.
  const int threads = num_threads();
  const int64_t work = pl.P * a.cout * (pl.Kw > 0 ? pl.Kw : 1);
  const bool parallel = threads > 1 && work >= kParallelMin;
  const int64_t base = pl.G * pl.PB;
  // One pixel block on two threads (a small image): two channel halves, each task with
  // its own panel, rather than eight chunks behind a shared build phase (one fork and
  // join instead of two: ResNet-18 7x7x512, 57.6 -> 56.3 us). With more threads the
  // panel would be built too many times, so it stays shared.
  const int64_t want = !parallel ? 1 : base == 1 && threads == 2 ? 2 : 4 * static_cast<int64_t>(threads);
  int64_t cpg = 1;
  if (base < want) cpg = (want + base - 1) / base;
  if (cpg > pl.CB) cpg = pl.CB;
  if (cpg < 1) cpg = 1;
  pl.cb_per_chunk = (pl.CB + cpg - 1) / cpg;
  if (pl.cb_per_chunk < 1) pl.cb_per_chunk = 1;
  pl.chunks = (pl.CB + pl.cb_per_chunk - 1) / pl.cb_per_chunk;
  if (pl.chunks < 1) pl.chunks = 1;
  const int64_t tasks = base * pl.chunks;
  pl.panels = nullptr;
  thread_local AlignedWords shared_panels;
  struct Release {
    AlignedWords& b;
    ~Release() {
      if (b.n > (size_t{1} << 20)) b.release();  // keep at most 8 MiB between calls
    }
  } release_large{shared_panels};
  // Shared only from 3 channel chunks per panel: with 2, each task building its own copy
  // in its own cache costs less than a separate build phase (one more fork and join)
  // whose panels the tasks then read from the other core (ResNet-18 14x14x256 on 2
  // threads: 61 -> 58.5 us).
  if (pl.chunks > 2) {
    const int64_t Kw1 = pl.Kw > 0 ? pl.Kw : 1;
    uint64_t* sp = shared_panels.get(static_cast<size_t>(base * Kw1 * 64));
    // Fewer panels than threads (a small image): each panel's taps are split as well, so
    // no thread waits while another builds the one panel.
    int64_t splits = parallel && base < threads ? (threads + base - 1) / base : 1;
    if (splits > pl.taps) splits = pl.taps > 0 ? pl.taps : 1;
    auto build = [&](int64_t i) {
      const int64_t pi = i / splits, part = i % splits;
      build_panel(pl, pi / pl.PB, pi % pl.PB, sp + pi * Kw1 * 64, pl.taps * part / splits, pl.taps * (part + 1) / splits);
    };
    const int64_t nbuild = base * splits;
    if (parallel && nbuild > 1)
      parallel_for(static_cast<size_t>(nbuild), [&](size_t i) { build(static_cast<int64_t>(i)); });
    else
      for (int64_t i = 0; i < nbuild; ++i) build(i);
    pl.panels = sp;
  }

  // Bits output: when one task owns every channel of its pixels (one group, channels
  // not split), the SIMD epilogue writes whole packed words; otherwise words would be
  // shared between tasks, so flags are packed in a second pass.
  std::vector<uint8_t> flags;
  pl.flags = nullptr;
  pl.direct_bits = a.out_type == 2 && !pl.direct && pl.kern->epilogue && pl.G == 1 && pl.chunks == 1 &&
                   pl.Ktot < (INT64_C(1) << 28);
  if (a.out_type == 2 && pl.direct) {
    // Whole bytes are written per 8 channels; padding bytes of each pixel's words stay 0.
    std::memset(a.out_bits, 0, static_cast<size_t>(pl.P * ((a.cout + 63) / 64) * 8));
  } else if (a.out_type == 2 && !pl.direct_bits) {
    flags.resize(static_cast<size_t>(pl.P * a.cout));
    pl.flags = flags.data();
  }
  if (parallel && tasks > 1) {
    parallel_for(static_cast<size_t>(tasks), [&](size_t t) { run_task(pl, static_cast<int64_t>(t)); });
  } else {
    for (int64_t t = 0; t < tasks; ++t) run_task(pl, t);
  }

  if (a.out_type == 2 && !pl.direct_bits && !pl.direct) {
    const int64_t ow = (a.cout + 63) / 64;
    auto pack_rows = [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const uint8_t* f = pl.flags + p * a.cout;
        for (int64_t q = 0; q < ow; ++q) {
          uint64_t v = 0;
          const int64_t n = a.cout - q * 64 < 64 ? a.cout - q * 64 : 64;
          int64_t b = 0;
          // 8 flag bytes (0 / 1) -> 8 bits, flag i to bit i, by one multiply.
          for (; b + 8 <= n; b += 8) {
            uint64_t e;
            std::memcpy(&e, f + q * 64 + b, 8);
            v |= ((e * UINT64_C(0x0102040810204080)) >> 56) << b;
          }
          for (; b < n; ++b) v |= static_cast<uint64_t>(f[q * 64 + b]) << b;
          a.out_bits[p * ow + q] = v;
        }
      }
    };
    const int64_t rows_per = 1024;
    const int64_t nchunk = (pl.P + rows_per - 1) / rows_per;
    if (parallel && nchunk > 1)
      parallel_for(static_cast<size_t>(nchunk), [&](size_t c) {
        const int64_t p0 = static_cast<int64_t>(c) * rows_per;
        pack_rows(p0, p0 + rows_per < pl.P ? p0 + rows_per : pl.P);
      });
    else
      pack_rows(0, pl.P);
  }
}

}  // namespace cpu
}  // namespace bg
