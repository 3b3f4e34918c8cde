// CPU backward products of the binary convolution as implicit GEMMs over the packed
// layouts, on the float x ±1 tile of the dense layer's backward (xnor_kernels.h sgemm:
// AVX-512 / AVX2 FMAs with ±1 picked by the bits, scalar adds), which computes out = the
// sum over j in order of each coefficient with the sign of its bit (+1 set, -1 clear).
// Nothing is unpacked to floats:
//
// gradInput: rows = 6 consecutive input pixels, j = t * coutg + co over the group's
//   taps and output channels, B = the weight bits repacked once per call to
//   [group][tap][coutg][gwords] (uniform stride). The coefficient panel holds
//   g[p][co] * alpha[co] where tap t of output pixel p lands on the row's input pixel,
//   else 0 (adding ±0 to a float32 sum that starts at +0 changes nothing: it never
//   becomes -0).
// gradWeight: rows = 6 output channels of a group, j = output pixels, one GEMM per tap:
//   B = that tap's input words gathered per output pixel (im2col of one tap, shifted to
//   the group's channels); out-of-image taps are all-ones rows ('one') or are left out
//   of j ('zero').
//
// Tasks are fixed by the shape and every output element is computed by one task in one
// fixed order, so results never depend on the thread count or the SIMD path.
#include "xnor_conv_train.h"

#include <vector>

#include "threadpool.h"
#include "xnor_kernels.h"

namespace bg {
namespace cpu {

namespace {

constexpr double kParallelMin = 1 << 18;  // element-updates below which one thread runs

void grad_input(const XnorConvBwdArgs& a, const XnorKernels& kern) {
  const int64_t R = a.n * a.h * a.wd;
  if (R <= 0 || a.c <= 0) return;
  const int64_t taps = a.kh * a.kw;
  const int64_t coutg = a.cout / a.groups;
  const int64_t J = coutg * taps;
  const int64_t RB = (R + 5) / 6;
  const int64_t hw = a.h * a.wd;
  const int64_t tasks = a.groups * RB;
  const int64_t gwords = a.gwords;
  // Weights [cout][taps][gwords] -> [G][taps][coutg][gwords]: row j = t * coutg + co.
  std::vector<uint64_t> wr(static_cast<size_t>((a.cout * taps * gwords) > 0 ? a.cout * taps * gwords : 1));
  for (int64_t g = 0; g < a.groups; ++g)
    for (int64_t co = 0; co < coutg; ++co)
      for (int64_t t = 0; t < taps; ++t) {
        const uint64_t* src = a.w + ((g * coutg + co) * taps + t) * gwords;
        uint64_t* dst = wr.data() + ((g * taps + t) * coutg + co) * gwords;
        for (int64_t q = 0; q < gwords; ++q) dst[q] = src[q];
      }
  auto run = [&](int64_t task) {
    thread_local std::vector<float> panel;
    const int64_t g = task / RB;
    const int64_t rb = task % RB;
    const int64_t r0 = rb * 6;
    const int nr = static_cast<int>(R - r0 < 6 ? R - r0 : 6);
    panel.resize(static_cast<size_t>((J > 0 ? J : 1) * 6));
    // Per row and tap: the gradient row of the output pixel the tap came from, or null.
    int64_t iy[6], ix[6], ni[6];
    for (int rr = 0; rr < 6; ++rr) {
      const int64_t r = r0 + (rr < nr ? rr : 0);
      ni[rr] = r / hw;
      iy[rr] = (r % hw) / a.wd;
      ix[rr] = r % a.wd;
    }
    const float* al = a.alpha ? a.alpha + g * coutg : nullptr;
    for (int64_t ky = 0; ky < a.kh; ++ky)
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const int64_t t = ky * a.kw + kx;
        const float* src[6];
        bool any = false;
        for (int rr = 0; rr < 6; ++rr) {
          src[rr] = nullptr;
          if (rr >= nr) continue;
          const int64_t ny = iy[rr] + a.ph - ky * a.dh;
          const int64_t nx = ix[rr] + a.pw - kx * a.dw;
          if (ny < 0 || ny % a.sh != 0 || ny / a.sh >= a.ho || nx < 0 || nx % a.sw != 0 || nx / a.sw >= a.wo) continue;
          src[rr] = a.g + ((ni[rr] * a.ho + ny / a.sh) * a.wo + nx / a.sw) * a.cout + g * coutg;
          any = true;
        }
        float* dst = panel.data() + t * coutg * 6;
        if (!any) {
          for (int64_t i = 0; i < coutg * 6; ++i) dst[i] = 0.0f;
          continue;  // ±0 terms: the sums do not change (they never become -0)
        }
        for (int64_t co = 0; co < coutg; ++co) {
          float* d = dst + co * 6;
          for (int rr = 0; rr < 6; ++rr) {
            const float v = src[rr] ? (al ? src[rr][co] * al[co] : src[rr][co]) : 0.0f;
            d[rr] = v;
          }
        }
      }
    const uint64_t* b = wr.data() + g * taps * coutg * gwords;
    for (int64_t wq = 0; wq < gwords; ++wq) {
      const int kv = static_cast<int>(a.cg - wq * 64 < 64 ? a.cg - wq * 64 : 64);
      kern.sgemm(panel.data(), b + wq, gwords, J, nr, kv, a.gx + r0 * a.c + g * a.cg + wq * 64, a.c, false);
    }
  };
  const bool parallel =
      num_threads() > 1 && tasks > 1 && static_cast<double>(R) * static_cast<double>(a.c) * static_cast<double>(J) >= kParallelMin;
  if (parallel)
    parallel_for(static_cast<size_t>(tasks), [&](size_t t) { run(static_cast<int64_t>(t)); });
  else
    for (int64_t t = 0; t < tasks; ++t) run(t);
}

void grad_weight(const XnorConvBwdArgs& a, const XnorKernels& kern) {
  const int64_t taps = a.kh * a.kw;
  const int64_t coutg = a.cout / a.groups;
  if (a.cout <= 0 || a.cg <= 0) return;
  const int64_t P = a.n * a.ho * a.wo;
  const int64_t hw = a.ho * a.wo;
  const int64_t CB = (coutg + 5) / 6;
  const int64_t gw_words = a.gwords;
  // Channel-block chunks per (group, tap): enough tasks for the pool, the gather of a
  // tap's bits shared by a chunk's blocks.
  const int threads = num_threads();
  const double work = static_cast<double>(P) * static_cast<double>(a.cout) * static_cast<double>(taps * a.cg);
  const bool parallel = threads > 1 && work >= kParallelMin;
  const int64_t base = a.groups * taps;
  const int64_t want = parallel ? 4 * static_cast<int64_t>(threads) : 1;
  int64_t per = CB;
  if (base < want) {
    const int64_t split = (want + base - 1) / base;
    per = (CB + split - 1) / split;
  }
  if (per < 1) per = 1;
  const int64_t chunks = (CB + per - 1) / per;
  const int64_t tasks = base * chunks;
  const int64_t stride_out = taps * a.cg;
  auto run = [&](int64_t task) {
    thread_local std::vector<uint64_t> bits;
    thread_local std::vector<int64_t> pix;
    thread_local std::vector<float> panel;
    const int64_t ch = task % chunks;
    const int64_t gt = task / chunks;
    const int64_t g = gt / taps;
    const int64_t t = gt % taps;
    const int64_t ky = t / a.kw;
    const int64_t kx = t % a.kw;
    const int64_t cb0 = ch * per;
    const int64_t cb1 = cb0 + per < CB ? cb0 + per : CB;
    if (cb0 >= cb1) return;
    // Gather this tap's input words for every output pixel (j order = pixel order).
    const int64_t off = g * a.cg;
    const int64_t w0 = off >> 6;
    const int bs = static_cast<int>(off & 63);
    const int64_t avail = a.xwords - w0;
    bits.resize(static_cast<size_t>((P > 0 ? P : 1) * gw_words));
    pix.resize(static_cast<size_t>(P > 0 ? P : 1));
    int64_t nj = 0;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t ni = p / hw;
      const int64_t oy = (p % hw) / a.wo;
      const int64_t ox = p % a.wo;
      const int64_t iy = oy * a.sh - a.ph + ky * a.dh;
      const int64_t ix = ox * a.sw - a.pw + kx * a.dw;
      uint64_t* dst = bits.data() + nj * gw_words;
      if (iy < 0 || iy >= a.h || ix < 0 || ix >= a.wd) {
        if (a.pad_mode == 0) continue;
        for (int64_t q = 0; q < gw_words; ++q) dst[q] = ~uint64_t{0};
      } else {
        const uint64_t* src = a.x + ((ni * a.h + iy) * a.wd + ix) * a.xwords + w0;
        if (bs == 0)
          for (int64_t q = 0; q < gw_words; ++q) dst[q] = src[q];
        else
          for (int64_t q = 0; q < gw_words; ++q)
            dst[q] = (src[q] >> bs) | (q + 1 < avail ? src[q + 1] << (64 - bs) : 0);
      }
      pix[static_cast<size_t>(nj)] = p;
      ++nj;
    }
    panel.resize(static_cast<size_t>((nj > 0 ? nj : 1) * 6));
    for (int64_t cb = cb0; cb < cb1; ++cb) {
      const int64_t c0 = cb * 6;
      const int nr = static_cast<int>(coutg - c0 < 6 ? coutg - c0 : 6);
      const float* gcol = a.g + g * coutg + c0;
      for (int64_t j = 0; j < nj; ++j) {
        const float* src = gcol + pix[static_cast<size_t>(j)] * a.cout;
        float* dst = panel.data() + j * 6;
        if (nr == 6) {
          for (int rr = 0; rr < 6; ++rr) dst[rr] = src[rr];
        } else {
          for (int rr = 0; rr < 6; ++rr) {
            dst[rr] = rr < nr ? src[rr] : 0.0f;
          }
        }
      }
      float* out = a.gw + (g * coutg + c0) * stride_out + t * a.cg;
      for (int64_t wq = 0; wq < gw_words; ++wq) {
        const int kv = static_cast<int>(a.cg - wq * 64 < 64 ? a.cg - wq * 64 : 64);
        kern.sgemm(panel.data(), bits.data() + wq, gw_words, nj, nr, kv, out + wq * 64, stride_out, false);
      }
    }
  };
  if (parallel && tasks > 1)
    parallel_for(static_cast<size_t>(tasks), [&](size_t t) { run(static_cast<int64_t>(t)); });
  else
    for (int64_t t = 0; t < tasks; ++t) run(t);
}

}  // namespace

void xnor_conv_backward(const XnorConvBwdArgs& a) {
  const XnorKernels& kern = xnor_kernels_active();
  if (a.gx) grad_input(a, kern);
  if (a.gw) grad_weight(a, kern);
}

}  // namespace cpu
}  // namespace bg
