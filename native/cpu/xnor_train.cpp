// CPU float x ±1 GEMMs of the binary dense layer's backward pass, reading bits (never
// unpacking to a float matrix). Both products have the form
//   out[r][q] = sum_j C[r][j] * B_b[j][q]
// with B_b a bit matrix [J][words]: gradInput (r = i, j = output channel, C = g * alpha,
// B = w) and gradWeight (r = output channel, j = i, C = g transposed, B = x).
// C is packed once into [row block of 6][J][6] panels together with the row sums
// S[r] = sum_j C[r][j]; the per-ISA tile (xnor_kernels.h) adds the coefficients whose
// bit is set, in j order, and writes 2 * acc - S. Tasks are (row block, 8-word column
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
constexpr int64_t kParallelMin = INT64_C(1) << 18;     // element-updates below which one thread runs

// mode 0: C[r][j] = g[r * n + j] * alpha[j] (r < m, j < n); mode 1: C[r][j] = g[j * n + r] (r < n, j < m).
void signed_gemm(const XnorLinearBwdArgs& a, int mode, const uint64_t* bits, float* out) {
  const int64_t R = mode == 0 ? a.m : a.n;
  const int64_t J = mode == 0 ? a.n : a.m;
  if (R <= 0 || a.k <= 0) return;
  const int64_t RB = (R + 5) / 6;
  const int64_t Jp = J > 0 ? J : 1;
  std::vector<float> panel(static_cast<size_t>(RB * Jp * 6), 0.0f);
  std::vector<float> sums(static_cast<size_t>(RB * 6), 0.0f);
  const int threads = num_threads();
  const bool parallel = threads > 1 && static_cast<double>(R) * static_cast<double>(J) * static_cast<double>(a.k) >=
                                           static_cast<double>(kParallelMin);
  const int64_t n = a.n;
  auto pack = [&](int64_t rb) {
    float* p = panel.data() + rb * Jp * 6;
    for (int rr = 0; rr < 6; ++rr) {
      const int64_t r = rb * 6 + rr;
      if (r >= R) break;
      float s = 0.0f;
      for (int64_t j = 0; j < J; ++j) {
        float c;
        if (mode == 0)
          c = a.alpha ? a.g[r * n + j] * a.alpha[j] : a.g[r * n + j];
        else
          c = a.g[j * n + r];
        p[j * 6 + rr] = c;
        s += c;
      }
      sums[static_cast<size_t>(rb * 6 + rr)] = s;
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
    for (int64_t wq = kc * kChunkWords; wq < w1; ++wq) {
      const int kv = static_cast<int>(a.k - wq * 64 < 64 ? a.k - wq * 64 : 64);
      kern.sgemm(panel.data() + rb * Jp * 6, bits + wq, a.words, J, nr, kv, sums.data() + r0, out + r0 * a.k + wq * 64,
                 a.k);
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
