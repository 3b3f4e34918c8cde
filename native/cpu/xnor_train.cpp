// CPU float x ±1 GEMMs of the binary dense layer's backward pass, reading bits (never
// unpacking to a float matrix). Both products have the form
//   out[r][q] = sum_j C[r][j] * B_b[j][q]
// with B_b a bit matrix [J][words]: gradInput (r = i, j = output channel, C = g * alpha,
// B = w) and gradWeight (r = output channel, j = i, C = g transposed, B = x).
// C is packed once into [row block of 6][J][6] panels; the per-ISA tile (xnor_kernels.h)
// adds each coefficient with the sign of its bit (+1 set, -1 clear), in j order, in
// float32 (the SIMD paths by FMAs with ±1, which round the same). Tasks are (row block, 8-word column
// chunk): fixed by the shape, each output element computed by one task in one fixed
// order, so the bits never depend on the thread count or the SIMD path.
#include "xnor_train.h"

#include <vector>

#include "threadpool.h"
#include "xnor_kernels.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kChunkWords = 8;                     // 512 columns per task
// Rows of B per pass: B rows are a.words apart, so each j touches its own cache line; 256
// lines (16 KiB) stay in L1 while the task's 8 words sweep them, where all J would not.
constexpr int64_t kChunkJ = 256;
constexpr int64_t kParallelMin = INT64_C(1) << 18;     // element-updates below which one thread runs

// mode 0: C[r][j] = g[r * n + j] * alpha[j] (r < m, j < n); mode 1: C[r][j] = g[j * n + r] (r < n, j < m).
void signed_gemm(const XnorLinearBwdArgs& a, int mode, const uint64_t* bits, float* out) {
  const int64_t R = mode == 0 ? a.m : a.n;
  const int64_t J = mode == 0 ? a.n : a.m;
  if (R <= 0 || a.k <= 0) return;
  const int64_t RB = (R + 5) / 6;
  const int64_t Jp = J > 0 ? J : 1;
  std::vector<float> panel(static_cast<size_t>(RB * Jp * 6), 0.0f);
  const int threads = num_threads();
  const bool parallel = threads > 1 && static_cast<double>(R) * static_cast<double>(J) * static_cast<double>(a.k) >=
                                           static_cast<double>(kParallelMin);
  const int64_t n = a.n;
  auto pack = [&](int64_t rb) {
    float* p = panel.data() + rb * Jp * 6;
    for (int rr = 0; rr < 6; ++rr) {
      const int64_t r = rb * 6 + rr;
      if (r >= R) break;
      for (int64_t j = 0; j < J; ++j) {
        float c;
        if (mode == 0)
          c = a.alpha ? a.g[r * n + j] * a.alpha[j] : a.g[r * n + j];
        else
          c = a.g[j * n + r];
        p[j * 6 + rr] = c;
      }
    }
  };
  if (parallel && RB > 1)
    parallel_for(static_cast<size_t>(RB), [&](size_t rb) { pack(static_cast<int64_t>(rb)); });
  else
    for (int64_t rb = 0; rb < RB; ++rb) pack(rb);

  const XnorKernels& kern = xnor_kernels_active();
  const int64_t words = (a.k + 63) / 64;
  const int64_t KC = (words + kChunkWords - 1) / kChunkWords;
  const int64_t tasks = RB * KC;
  auto run = [&](int64_t t) {
    const int64_t rb = t / KC;
    const int64_t kc = t % KC;
    const int64_t r0 = rb * 6;
    const int nr = static_cast<int>(R - r0 < 6 ? R - r0 : 6);
    const int64_t w1 = (kc + 1) * kChunkWords < words ? (kc + 1) * kChunkWords : words;
    // j in chunks, each word's sum carried across them (acc): same order, same bits.
    for (int64_t j0 = 0; j0 == 0 || j0 < J; j0 += kChunkJ) {
      const int64_t nj = J - j0 < kChunkJ ? J - j0 : kChunkJ;
      for (int64_t wq = kc * kChunkWords; wq < w1; ++wq) {
        const int kv = static_cast<int>(a.k - wq * 64 < 64 ? a.k - wq * 64 : 64);
        kern.sgemm(panel.data() + rb * Jp * 6 + j0 * 6, bits + j0 * a.words + wq, a.words, nj > 0 ? nj : 0, nr, kv,
                   out + r0 * a.k + wq * 64, a.k, j0 > 0);
      }
    }
  };
  if (parallel && tasks > 1)
    parallel_for(static_cast<size_t>(tasks), [&](size_t t) { run(static_cast<int64_t>(t)); });
  else
    for (int64_t t = 0; t < tasks; ++t) run(t);
}

}  // namespace

void xnor_linear_backward(const XnorLinearBwdArgs& a) {
  if (a.gx) signed_gemm(a, 0, a.w, a.gx);
  if (a.gw) signed_gemm(a, 1, a.x, a.gw);
}

}  // namespace cpu
}  // namespace bg
