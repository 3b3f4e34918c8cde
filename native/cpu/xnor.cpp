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
// contribution 2 * popc(w_tap) - cg (precomputed per channel and tap), which leaves
// valid_bits - 2 * popc over the valid taps only.
//
// Work is split into tasks (group, pixel block, channel chunk); the partition depends
// only on the shape and the thread count, and every output element is computed by one
// task in integer arithmetic, so results never depend on the thread count.
#include "xnor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "simd.h"
#include "threadpool.h"
#include "xnor_kernels.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kMaxKc = 80;  // words per K chunk: 80 * 512 B = 40 KiB of panel
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
  uint64_t last_mask;
  const uint64_t* wp;    // [G][CB][Kw][6]
  const int32_t* zcorr;  // [taps][cout] (zero padding only)
  uint8_t* flags;        // [P][cout] (bits output only)
  const uint8_t* row_full;  // [ho]: every ky tap of output row oy is inside the image
  const uint8_t* col_full;  // [wo]
};

void build_panel(const Plan& pl, int64_t g, int64_t pb, uint64_t* panel) {
  const XnorConvArgs& a = *pl.a;
  const int64_t gw = a.gwords;
  const int64_t off = g * a.cg;
  const int64_t w0 = off >> 6;
  const int bs = static_cast<int>(off & 63);
  const int64_t hw = a.ho * a.wo;
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
    const int64_t p = pb * 64 + l;
    if (p >= pl.P) {
      for (int64_t k = 0; k < pl.Kw; ++k) panel[k * 64 + l] = 0;
      continue;
    }
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      const int64_t iy = oy * a.sh - a.ph + ky * a.dh;
      const bool row_ok = iy >= 0 && iy < a.h;
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const int64_t ix = ox * a.sw - a.pw + kx * a.dw;
        uint64_t* dst = panel + (ky * a.kw + kx) * gw * 64 + l;
        if (!row_ok || ix < 0 || ix >= a.wd) {
          for (int64_t j = 0; j < gw; ++j) dst[j * 64] = j == gw - 1 ? pl.last_mask : ~uint64_t{0};
          continue;
        }
        const uint64_t* src = a.x + ((ni * a.h + iy) * a.wd + ix) * a.xwords + w0;
        if (bs == 0) {
          for (int64_t j = 0; j < gw; ++j) dst[j * 64] = src[j];
          if (pl.G > 1 && gw > 0) dst[(gw - 1) * 64] &= pl.last_mask;
        } else {
          const int64_t avail = a.xwords - w0;  // words readable from src
          for (int64_t j = 0; j < gw; ++j) {
            const uint64_t lo = src[j] >> bs;
            const uint64_t hi = j + 1 < avail ? src[j + 1] << (64 - bs) : 0;
            dst[j * 64] = (lo | hi) & (j == gw - 1 ? pl.last_mask : ~uint64_t{0});
          }
        }
      }
    }
  }
}

void epilogue(const Plan& pl, int64_t g, int64_t pb, int64_t cb0, int64_t cb1, const uint32_t* pc,
              std::vector<int32_t>& corr) {
  const XnorConvArgs& a = *pl.a;
  const int64_t c0 = cb0 * 6;
  const int64_t c1 = cb1 * 6 < pl.coutg ? cb1 * 6 : pl.coutg;
  const int64_t nch = c1 - c0;
  const int64_t hw = a.ho * a.wo;
  corr.assign(static_cast<size_t>(nch), 0);
  int64_t oy = (pb * 64 % hw) / a.wo;
  int64_t ox = pb * 64 % hw - oy * a.wo;
  for (int64_t l = 0; l < 64; ++l, ++ox) {
    if (ox == a.wo) {
      ox = 0;
      if (++oy == a.ho) oy = 0;
    }
    const int64_t p = pb * 64 + l;
    if (p >= pl.P) break;
    bool border = false;
    if (pl.zcorr && !(pl.row_full[oy] && pl.col_full[ox])) {
      for (int64_t ky = 0; ky < a.kh; ++ky) {
        const int64_t iy = oy * a.sh - a.ph + ky * a.dh;
        const bool row_ok = iy >= 0 && iy < a.h;
        for (int64_t kx = 0; kx < a.kw; ++kx) {
          const int64_t ix = ox * a.sw - a.pw + kx * a.dw;
          if (row_ok && ix >= 0 && ix < a.wd) continue;
          if (!border) {
            border = true;
            for (auto& v : corr) v = 0;
          }
          const int64_t t = ky * a.kw + kx;
          const int32_t* z = pl.zcorr + t * a.cout + g * pl.coutg + c0;
          for (int64_t c = 0; c < nch; ++c) corr[c] += z[c];
        }
      }
    }
    const int64_t base = p * a.cout + g * pl.coutg + c0;
    const int64_t co0 = g * pl.coutg + c0;
    const uint32_t* pcl = pc + l;
    const int64_t kt = pl.Ktot;
    const int32_t* cr = border ? corr.data() : nullptr;
    if (a.out_type == 0) {
      int32_t* o = a.out_i32 + base;
      if (cr)
        for (int64_t c = 0; c < nch; ++c) o[c] = static_cast<int32_t>(kt - 2 * static_cast<int64_t>(pcl[c * 64]) - cr[c]);
      else
        for (int64_t c = 0; c < nch; ++c) o[c] = static_cast<int32_t>(kt - 2 * static_cast<int64_t>(pcl[c * 64]));
    } else if (a.out_type == 1) {
      float* o = a.out_f32 + base;
      const float* al = a.alpha + co0;
      const float* be = a.beta ? a.beta + co0 : nullptr;
      const float* res = a.residual ? a.residual + base : nullptr;
      for (int64_t c = 0; c < nch; ++c) {
        const int64_t dot = kt - 2 * static_cast<int64_t>(pcl[c * 64]) - (cr ? cr[c] : 0);
        float f = static_cast<float>(static_cast<double>(dot) * al[c] + (be ? be[c] : 0.0f));
        if (res) f += res[c];
        o[c] = f;
      }
    } else {
      uint8_t* o = pl.flags + base;
      const float* al = a.alpha + co0;
      const float* be = a.beta ? a.beta + co0 : nullptr;
      for (int64_t c = 0; c < nch; ++c) {
        const int64_t dot = kt - 2 * static_cast<int64_t>(pcl[c * 64]) - (cr ? cr[c] : 0);
        o[c] = static_cast<double>(dot) * al[c] + (be ? be[c] : 0.0f) >= 0.0 ? 1 : 0;
      }
    }
  }
}

void run_task(const Plan& pl, int64_t task) {
  thread_local AlignedWords panel_buf;
  thread_local std::vector<uint32_t> pc_buf;
  thread_local std::vector<int32_t> corr;
  const int64_t ch = task % pl.chunks;
  const int64_t rest = task / pl.chunks;
  const int64_t pb = rest % pl.PB;
  const int64_t g = rest / pl.PB;
  const int64_t cb0 = ch * pl.cb_per_chunk;
  const int64_t cb1 = cb0 + pl.cb_per_chunk < pl.CB ? cb0 + pl.cb_per_chunk : pl.CB;
  if (cb0 >= cb1) return;
  uint64_t* panel = panel_buf.get(static_cast<size_t>((pl.Kw > 0 ? pl.Kw : 1) * 64));
  pc_buf.resize(static_cast<size_t>((cb1 - cb0) * 6 * 64));
  uint32_t* pc = pc_buf.data();
  build_panel(pl, g, pb, panel);
  if (pl.Kw == 0) std::memset(pc, 0, pc_buf.size() * 4);
  for (int64_t k0 = 0; k0 < pl.Kw; k0 += pl.Kc) {
    const int64_t kl = pl.Kw - k0 < pl.Kc ? pl.Kw - k0 : pl.Kc;
    for (int64_t cb = cb0; cb < cb1; ++cb) {
      const int64_t rem = pl.coutg - cb * 6;
      const int nc = rem < 6 ? static_cast<int>(rem) : 6;
      pl.kern->tile(panel + k0 * 64, pl.wp + ((g * pl.CB + cb) * pl.Kw + k0) * 6, kl, nc, pc + (cb - cb0) * 6 * 64,
                    k0 > 0);
    }
  }
  epilogue(pl, g, pb, cb0, cb1, pc, corr);
}

}  // namespace

const char* xnor_kernel_name() { return tables().names[static_cast<int>(isa_info().active)]; }

void xnor_conv(const XnorConvArgs& a) {
  Plan pl;
  pl.a = &a;
  pl.kern = &tables().t[static_cast<int>(isa_info().active)];
  pl.P = a.n * a.ho * a.wo;
  if (pl.P <= 0 || a.cout <= 0) return;
  pl.G = a.groups;
  pl.coutg = a.cout / a.groups;
  pl.taps = a.kh * a.kw;
  pl.Kw = pl.taps * a.gwords;
  pl.Ktot = pl.taps * a.cg;
  pl.PB = (pl.P + 63) / 64;
  pl.CB = (pl.coutg + 5) / 6;
  pl.last_mask = a.cg % 64 ? (uint64_t{1} << (a.cg % 64)) - 1 : ~uint64_t{0};
  {
    const int64_t nk = (pl.Kw + kMaxKc - 1) / kMaxKc;
    pl.Kc = nk > 0 ? (pl.Kw + nk - 1) / nk : 1;
  }

  // Weights: [cout][Kw] -> [G][CB][Kw][6].
  std::vector<uint64_t> wp(static_cast<size_t>(pl.G * pl.CB * (pl.Kw > 0 ? pl.Kw : 1) * 6), 0);
  for (int64_t g = 0; g < pl.G; ++g)
    for (int64_t co = 0; co < pl.coutg; ++co) {
      const uint64_t* src = a.w + (g * pl.coutg + co) * pl.Kw;
      uint64_t* dst = wp.data() + (g * pl.CB + co / 6) * pl.Kw * 6 + co % 6;
      for (int64_t k = 0; k < pl.Kw; ++k) dst[k * 6] = src[k];
    }
  pl.wp = wp.data();

  // Zero padding: per (channel, tap) the one-padded contribution 2 * popc(w_tap) - cg.
  std::vector<int32_t> zc;
  pl.zcorr = nullptr;
  if (a.pad_mode == 0 && (a.ph > 0 || a.pw > 0)) {
    zc.resize(static_cast<size_t>(a.cout * pl.taps));
    for (int64_t co = 0; co < a.cout; ++co)
      for (int64_t t = 0; t < pl.taps; ++t) {
        const int64_t pcnt = pl.kern->popcount(a.w + (co * pl.taps + t) * a.gwords, a.gwords);
        zc[t * a.cout + co] = static_cast<int32_t>(2 * pcnt - a.cg);
      }
    pl.zcorr = zc.data();
  }

  std::vector<uint8_t> row_full(static_cast<size_t>(a.ho), 1), col_full(static_cast<size_t>(a.wo), 1);
  for (int64_t oy = 0; oy < a.ho; ++oy)
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      const int64_t iy = oy * a.sh - a.ph + ky * a.dh;
      if (iy < 0 || iy >= a.h) row_full[oy] = 0;
    }
  for (int64_t ox = 0; ox < a.wo; ++ox)
    for (int64_t kx = 0; kx < a.kw; ++kx) {
      const int64_t ix = ox * a.sw - a.pw + kx * a.dw;
      if (ix < 0 || ix >= a.wd) col_full[ox] = 0;
    }
  pl.row_full = row_full.data();
  pl.col_full = col_full.data();

  std::vector<uint8_t> flags;
  pl.flags = nullptr;
  if (a.out_type == 2) {
    flags.resize(static_cast<size_t>(pl.P * a.cout));
    pl.flags = flags.data();
  }

  // Partition: split channels only when there are too few (group, pixel block) pairs.
  const int threads = num_threads();
  const int64_t work = pl.P * a.cout * (pl.Kw > 0 ? pl.Kw : 1);
  const bool parallel = threads > 1 && work >= kParallelMin;
  const int64_t want = parallel ? 4 * static_cast<int64_t>(threads) : 1;
  const int64_t base = pl.G * pl.PB;
  int64_t cpg = 1;
  if (base < want) cpg = (want + base - 1) / base;
  if (cpg > pl.CB) cpg = pl.CB;
  if (cpg < 1) cpg = 1;
  pl.cb_per_chunk = (pl.CB + cpg - 1) / cpg;
  if (pl.cb_per_chunk < 1) pl.cb_per_chunk = 1;
  pl.chunks = (pl.CB + pl.cb_per_chunk - 1) / pl.cb_per_chunk;
  if (pl.chunks < 1) pl.chunks = 1;
  const int64_t tasks = base * pl.chunks;
  if (parallel && tasks > 1) {
    parallel_for(static_cast<size_t>(tasks), [&](size_t t) { run_task(pl, static_cast<int64_t>(t)); });
  } else {
    for (int64_t t = 0; t < tasks; ++t) run_task(pl, t);
  }

  if (a.out_type == 2) {
    const int64_t ow = (a.cout + 63) / 64;
    auto pack_rows = [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const uint8_t* f = pl.flags + p * a.cout;
        for (int64_t q = 0; q < ow; ++q) {
          uint64_t v = 0;
          const int64_t n = a.cout - q * 64 < 64 ? a.cout - q * 64 : 64;
          for (int64_t b = 0; b < n; ++b) v |= static_cast<uint64_t>(f[q * 64 + b]) << b;
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
