// Research losses on the device (lib/losses/research.ts): straightforward kernels over
// the math of native/math/research_losses.h. Deterministic: every reduction is per
// block with CUB in a grid that depends only on the sizes, and partials are added by
// one block in a fixed order (no atomics in any summation).
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstdint>
#include <string>

#include "../native/math/research_losses.h"
#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 1024;
constexpr int64_t kPerBlock = kThreads * 4;
using BlockReduce = cub::BlockReduce<double, kThreads>;

// Sums v[0..K) over the block (result in thread 0); reuses one TempStorage.
template <int K>
__device__ __forceinline__ void block_sums(double (&v)[K], typename BlockReduce::TempStorage& tmp) {
  for (int k = 0; k < K; ++k) {
    v[k] = BlockReduce(tmp).Sum(v[k]);
    __syncthreads();
  }
}

int64_t reduce_blocks(int64_t n) {
  if (n <= 0) return 0;
  const int64_t b = (n + kPerBlock - 1) / kPerBlock;
  return b < kMaxBlocks ? b : kMaxBlocks;
}

unsigned ew_blocks(int64_t n) {
  if (n <= 0) return 0;
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65536 ? b : 65536);
}

size_t align256(size_t b) { return (b + 255) / 256 * 256; }

__device__ __forceinline__ double row_scale(int reduction, const float* go, float scale, int64_t r, double div) {
  if (reduction == static_cast<int>(Reduction::None)) return go ? static_cast<double>(go[r]) : 1.0;
  if (reduction == static_cast<int>(Reduction::Mean)) return static_cast<double>(scale) / div;
  return scale;
}

// Adds vals[i * stride] for i < count in a fixed order; writes sum or sum / div.
__global__ void __launch_bounds__(kThreads)
    finish_sum(const double* vals, int64_t count, int64_t stride, bool mean, double div, float* loss) {
  __shared__ typename BlockReduce::TempStorage tmp;
  double s = 0;
  for (int64_t i = threadIdx.x; i < count; i += kThreads) s += vals[i * stride];
  const double t = BlockReduce(tmp).Sum(s);
  if (threadIdx.x == 0) *loss = static_cast<float>(mean ? t / div : t);
}

// ---- Overlap ------------------------------------------------------------------------
struct OvParams {
  rl::Overlap<double> ov;
  int squared;
  const float* p;
  const float* g;
  int64_t rows, cols;
  double* row;  // rows x 3: loss, num, den
  float* loss_none;
};

__global__ void __launch_bounds__(kThreads) ov_rows(const OvParams k) {
  __shared__ typename BlockReduce::TempStorage tmp;
  for (int64_t r = blockIdx.x; r < k.rows; r += gridDim.x) {
    double v[3] = {0, 0, 0};
    const float* p = k.p + r * k.cols;
    const float* g = k.g + r * k.cols;
    for (int64_t i = threadIdx.x; i < k.cols; i += kThreads) {
      const double pi = p[i], gi = g[i];
      v[0] += pi * gi;
      v[1] += k.squared ? pi * pi : pi;
      v[2] += k.squared ? gi * gi : gi;
    }
    block_sums<3>(v, tmp);
    if (threadIdx.x == 0) {
      double l, num, den;
      k.ov.eval(v[0], v[1], v[2], l, num, den);
      k.row[r * 3] = l;
      k.row[r * 3 + 1] = num;
      k.row[r * 3 + 2] = den;
      if (k.loss_none) k.loss_none[r] = static_cast<float>(l);
    }
  }
}

__global__ void ov_grad(const OvParams k, int reduction, const float* go, float scale, float* grad) {
  const int64_t n = k.rows * k.cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / k.cols;
    const double s = row_scale(reduction, go, scale, r, static_cast<double>(k.rows));
    grad[i] = static_cast<float>(s * k.ov.grad(k.p[i], k.g[i], k.squared != 0, k.row[r * 3 + 1], k.row[r * 3 + 2]));
  }
}

// ---- BASNet -------------------------------------------------------------------------
struct BasParams {
  double win[rl::kSsimTaps];
  rl::Overlap<double> iou;
  const float* p;
  const float* g;
  int64_t n, h, w;
  double* t5;    // 5 x n horizontal sums (then 3 x n for the backward)
  double* g3;    // 3 x n backward maps
  double* part;  // (blocks per image x images) x 5
  double* img;   // images x 3: loss, num, den
  int64_t bpi;   // blocks per image
  int32_t* bad;
};

__device__ __forceinline__ double moment(const float* p, const float* g, int64_t i, int k) {
  const double a = p[i], b = g[i];
  return k == 0 ? a : k == 1 ? b : k == 2 ? a * a : k == 3 ? b * b : a * b;
}

// Horizontal pass over the 5 product maps (computed on the fly).
__global__ void bas_h5(const BasParams k) {
  const int64_t n = k.n * k.h * k.w;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t x = i % k.w;
    double s[5] = {0, 0, 0, 0, 0};
    for (int t = 0; t < rl::kSsimTaps; ++t) {
      const int64_t xx = x + t - rl::kSsimPad;
      if (xx < 0 || xx >= k.w) continue;
      const int64_t j = i - x + xx;
      for (int m = 0; m < 5; ++m) s[m] += k.win[t] * moment(k.p, k.g, j, m);
    }
    for (int m = 0; m < 5; ++m) k.t5[m * n + i] = s[m];
  }
}

// Vertical pass, SSIM map, its backward maps and per-block sums (S, bce, PG, P, G).
__global__ void __launch_bounds__(kThreads) bas_v5(const BasParams k) {
  __shared__ typename BlockReduce::TempStorage tmp;
  const int64_t hw = k.h * k.w, n = k.n * hw;
  const int64_t b = blockIdx.y;
  const double inv = 1.0 / static_cast<double>(hw);
  double v[5] = {0, 0, 0, 0, 0};
  bool bad = false;
  for (int64_t q = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x; q < hw;
       q += static_cast<int64_t>(k.bpi) * kThreads) {
    const int64_t i = b * hw + q;
    const int64_t y = q / k.w;
    double m[5] = {0, 0, 0, 0, 0};
    for (int t = 0; t < rl::kSsimTaps; ++t) {
      const int64_t yy = y + t - rl::kSsimPad;
      if (yy < 0 || yy >= k.h) continue;
      const int64_t j = i + (yy - y) * k.w;
      for (int c = 0; c < 5; ++c) m[c] += k.win[t] * k.t5[c * n + j];
    }
    double S, dmu, d11, d12;
    rl::ssim_px<double>(m[0], m[1], m[2], m[3], m[4], S, dmu, d11, d12);
    k.g3[i] = -dmu * inv;
    k.g3[n + i] = -d11 * inv;
    k.g3[2 * n + i] = -d12 * inv;
    const float pf = k.p[i];
    bad |= !(pf >= 0.0f && pf <= 1.0f);
    const double p = pf, g = k.g[i];
    double l, d;
    rl::bce_prob<double>(p, g, l, d);
    v[0] += S;
    v[1] += l;
    v[2] += p * g;
    v[3] += p;
    v[4] += g;
  }
  if (bad && k.bad) *k.bad = 1;
  block_sums<5>(v, tmp);
  if (threadIdx.x == 0)
    for (int c = 0; c < 5; ++c) k.part[(b * k.bpi + blockIdx.x) * 5 + c] = v[c];
}

// One block per image: adds the partials in order, writes the image's loss.
__global__ void __launch_bounds__(kThreads) bas_img(const BasParams k, float* loss_none) {
  __shared__ typename BlockReduce::TempStorage tmp;
  const int64_t b = blockIdx.x;
  double v[5] = {0, 0, 0, 0, 0};
  for (int64_t j = threadIdx.x; j < k.bpi; j += kThreads)
    for (int c = 0; c < 5; ++c) v[c] += k.part[(b * k.bpi + j) * 5 + c];
  block_sums<5>(v, tmp);
  if (threadIdx.x == 0) {
    const double inv = 1.0 / static_cast<double>(k.h * k.w);
    double li, num, den;
    k.iou.eval(v[2], v[3], v[4], li, num, den);
    const double l = v[1] * inv + (1.0 - v[0] * inv) + li;
    k.img[b * 3] = l;
    k.img[b * 3 + 1] = num;
    k.img[b * 3 + 2] = den;
    if (loss_none) loss_none[b] = static_cast<float>(l);
  }
}

// Horizontal pass over the 3 backward maps into t5[0..3n).
__global__ void bas_h3(const BasParams k) {
  const int64_t n = k.n * k.h * k.w;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t x = i % k.w;
    double s[3] = {0, 0, 0};
    for (int t = 0; t < rl::kSsimTaps; ++t) {
      const int64_t xx = x + t - rl::kSsimPad;
      if (xx < 0 || xx >= k.w) continue;
      const int64_t j = i - x + xx;
      for (int m = 0; m < 3; ++m) s[m] += k.win[t] * k.g3[m * n + j];
    }
    for (int m = 0; m < 3; ++m) k.t5[m * n + i] = s[m];
  }
}

// Vertical pass of the backward maps and the full gradient.
__global__ void bas_grad(const BasParams k, int reduction, const float* go, float scale, float* grad) {
  const int64_t hw = k.h * k.w, n = k.n * hw;
  const double inv = 1.0 / static_cast<double>(hw);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t b = i / hw, y = (i % hw) / k.w;
    double c[3] = {0, 0, 0};
    for (int t = 0; t < rl::kSsimTaps; ++t) {
      const int64_t yy = y + t - rl::kSsimPad;
      if (yy < 0 || yy >= k.h) continue;
      const int64_t j = i + (yy - y) * k.w;
      for (int m = 0; m < 3; ++m) c[m] += k.win[t] * k.t5[m * n + j];
    }
    const double p = k.p[i], g = k.g[i];
    double l, d;
    rl::bce_prob<double>(p, g, l, d);
    const double s = row_scale(reduction, go, scale, b, static_cast<double>(k.n));
    const double gi = k.iou.grad(p, g, false, k.img[b * 3 + 1], k.img[b * 3 + 2]);
    grad[i] = static_cast<float>(s * (d * inv + c[0] + 2.0 * p * c[1] + g * c[2] + gi));
  }
}

// ---- AnyLoss / Tri-BCE: partial sums, one finishing block, the gradient ----------------
struct BatchParams {
  ResearchParams prm;
  const float* x;
  const float* x2;
  const float* y;
  int64_t n;
  double* part;  // blocks x 3
  double* coef;  // 4 coefficients from the finishing block
};

template <int Kind>
__global__ void __launch_bounds__(kThreads) batch_part(const BatchParams k) {
  __shared__ typename BlockReduce::TempStorage tmp;
  double v[3] = {0, 0, 0};
  for (int64_t i = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x; i < k.n;
       i += static_cast<int64_t>(gridDim.x) * kThreads) {
    const double y = k.y[i];
    if (Kind == static_cast<int>(ResearchKind::AnyLoss)) {
      const double a = rl::any_approx<double>(k.x[i], k.prm.L);
      v[0] += y * a;
      v[1] += a;
      v[2] += y;
    } else {
      const double zd = k.x[i], zs = k.x2[i];
      v[0] += rl::bce_logit<double>(0.5 * (zd + zs), y);
      v[1] += rl::bce_logit<double>(zd, y);
      v[2] += rl::bce_logit<double>(zs, y);
    }
  }
  block_sums<3>(v, tmp);
  if (threadIdx.x == 0)
    for (int c = 0; c < 3; ++c) k.part[blockIdx.x * 3 + c] = v[c];
}

template <int Kind>
__global__ void __launch_bounds__(kThreads) batch_finish(const BatchParams k, int64_t nparts, float* loss) {
  __shared__ typename BlockReduce::TempStorage tmp;
  double v[3] = {0, 0, 0};
  for (int64_t j = threadIdx.x; j < nparts; j += kThreads)
    for (int c = 0; c < 3; ++c) v[c] += k.part[j * 3 + c];
  block_sums<3>(v, tmp);
  if (threadIdx.x != 0) return;
  const double nn = static_cast<double>(k.n);
  if (Kind == static_cast<int>(ResearchKind::AnyLoss)) {
    const double tp = v[0], fn = v[2] - v[0], fp = v[1] - v[0], tn = (nn - v[2]) - v[1] + v[0];
    double m, dtp, dfn, dfp, dtn;
    rl::any_metric<double>(k.prm.metric, k.prm.beta, k.prm.any_eps, tp, fn, fp, tn, m, dtp, dfn, dfp, dtn);
    if (loss) *loss = static_cast<float>(1.0 - m);
    k.coef[0] = dtp - dfn;
    k.coef[1] = dfp - dtn;
    k.coef[2] = 0.0;  // batch_grad loads all three: keep the scratch read initialized
  } else {
    double total, cf, cd, cs;
    rl::tri_coef<double>(v[0] / nn, v[1] / nn, v[2] / nn, k.prm.detach != 0, total, cf, cd, cs);
    if (loss) *loss = static_cast<float>(total);
    k.coef[0] = cf;
    k.coef[1] = cd;
    k.coef[2] = cs;
  }
}

template <int Kind>
__global__ void batch_grad(const BatchParams k, float scale, float* grad, float* grad2) {
  const double c0 = k.coef[0], c1 = k.coef[1], c2 = k.coef[2];
  const double sc = Kind == static_cast<int>(ResearchKind::AnyLoss) ? static_cast<double>(scale)
                                                                    : static_cast<double>(scale) / static_cast<double>(k.n);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < k.n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const double y = k.y[i];
    if (Kind == static_cast<int>(ResearchKind::AnyLoss)) {
      if (grad) grad[i] = static_cast<float>(sc * rl::any_grad<double>(k.x[i], y, k.prm.L, c0, c1));
    } else {
      const double zd = k.x[i], zs = k.x2[i];
      const double gf = 0.5 * (rl::sigmoid<double>(0.5 * (zd + zs)) - y);
      if (grad) grad[i] = static_cast<float>(sc * (c0 * gf + c1 * (rl::sigmoid<double>(zd) - y)));
      if (grad2) grad2[i] = static_cast<float>(sc * (c0 * gf + c2 * (rl::sigmoid<double>(zs) - y)));
    }
  }
}

// ---- MW loss ------------------------------------------------------------------------
// One block per positive: sums over every negative.
__global__ void __launch_bounds__(kThreads)
    mw_pos(const float* S, int64_t B, int64_t C, double inv_tau, double* row, float* loss_none) {
  __shared__ typename BlockReduce::TempStorage tmp;
  for (int64_t i = blockIdx.x; i < B; i += gridDim.x) {
    const double pos = S[i * C + i];
    double v[2] = {0, 0};
    for (int64_t e = threadIdx.x; e < B * C; e += kThreads) {
      if (e / C == e % C) continue;
      double l, g;
      rl::mw_pair<double>(pos, S[e], inv_tau, l, g);
      v[0] += l;
      v[1] += g;
    }
    block_sums<2>(v, tmp);
    if (threadIdx.x == 0) {
      row[i * 2] = v[0];
      row[i * 2 + 1] = v[1];
      if (loss_none) loss_none[i] = static_cast<float>(v[0]);
    }
  }
}

// One thread per score: a negative sums over every positive, a positive takes its sum.
__global__ void mw_grad(const float* S, int64_t B, int64_t C, double inv_tau, const double* row, int reduction,
                        const float* go, float scale, float* grad) {
  const double div = static_cast<double>(B);
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < B * C;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = e / C, c = e % C;
    if (r == c) {
      grad[e] = static_cast<float>(-row_scale(reduction, go, scale, r, div) * row[r * 2 + 1]);
      continue;
    }
    const double neg = S[e];
    double g = 0;
    for (int64_t i = 0; i < B; ++i) {
      double l, gi;
      rl::mw_pair<double>(S[i * C + i], neg, inv_tau, l, gi);
      g += row_scale(reduction, go, scale, i, div) * gi;
    }
    grad[e] = static_cast<float>(g);
  }
}

// ---- PA-BCE -------------------------------------------------------------------------
// One thread per list: selects the top-k by P&L (descending, ties by index), writes the
// list loss and the unscaled gradient row.
__global__ void pa_lists(const float* s, const float* pnl, int64_t Q, int64_t M, int64_t k, int64_t* idx, double* lst,
                         float* grad) {
  for (int64_t q = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; q < Q;
       q += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float* sq = s + q * M;
    const float* pq = pnl + q * M;
    int64_t* iq = idx + q * k;
    for (int64_t u = 0; u < k; ++u) {
      int64_t best = -1;
      for (int64_t e = 0; e < M; ++e) {
        if (u > 0) {
          const int64_t pv = iq[u - 1];
          const bool after = pq[e] < pq[pv] || (pq[e] == pq[pv] && e > pv);
          if (!after) continue;
        }
        if (best < 0 || pq[e] > pq[best]) best = e;
      }
      iq[u] = best < 0 ? 0 : best;
    }
    float* d = grad ? grad + q * M : nullptr;
    if (d)
      for (int64_t e = 0; e < M; ++e) d[e] = 0.0f;
    double l = 0;
    const double invk = k > 0 ? 1.0 / static_cast<double>(k) : 0.0;
    for (int64_t u = 0; u < k; ++u) {
      double gu = 0;
      for (int64_t v = 0; v < k; ++v) {
        if (v == u) continue;
        const int64_t a = v < u ? iq[v] : iq[u], b = v < u ? iq[u] : iq[v];
        double lab, gab;
        rl::pa_pair<double>(sq[a], sq[b], pq[a], pq[b], lab, gab);
        if (v > u) {
          l += lab;
          gu -= gab;
        } else {
          gu += gab;
        }
      }
      if (d) d[iq[u]] = static_cast<float>(gu * invk);
    }
    lst[q] = l * invk;
  }
}

// One block: the loss (mean over non-zero lists) and the scale of every row.
__global__ void __launch_bounds__(kThreads) pa_finish(const double* lst, int64_t Q, int reduction, float* loss,
                                                       double* out_div) {
  __shared__ typename BlockReduce::TempStorage tmp;
  double v[2] = {0, 0};
  for (int64_t q = threadIdx.x; q < Q; q += kThreads) {
    if (loss && reduction == static_cast<int>(Reduction::None)) loss[q] = static_cast<float>(lst[q]);
    v[0] += lst[q];
    v[1] += lst[q] != 0.0 ? 1.0 : 0.0;
  }
  block_sums<2>(v, tmp);
  if (threadIdx.x != 0) return;
  *out_div = v[1];
  if (!loss || reduction == static_cast<int>(Reduction::None)) return;
  if (reduction == static_cast<int>(Reduction::Mean))
    *loss = v[1] > 0 ? static_cast<float>(v[0] / v[1]) : 0.0f;
  else
    *loss = static_cast<float>(v[0]);
}

__global__ void pa_scale(int64_t Q, int64_t M, const double* lst, const double* div, int reduction, const float* go,
                         float scale, float* grad) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < Q * M;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t q = e / M;
    const double nz = *div;
    const double s = (reduction == static_cast<int>(Reduction::Mean) && nz == 0) ? 0.0 : row_scale(reduction, go, scale, q, nz);
    grad[e] = static_cast<float>(s * grad[e]);
  }
}

__global__ void write_empty(float* loss, float v) { *loss = v; }

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "research_loss (CUDA): " + what;
  return s;
}

struct Layout {
  size_t a = 0, b = 0, c = 0, d = 0;  // byte offsets / sizes of the scratch regions
  size_t total = 0;
};

Layout layout(const ResearchArgs& a) {
  Layout L;
  const int64_t n = a.rows * a.cols;
  size_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  switch (a.kind) {
    case ResearchKind::Overlap: s0 = static_cast<size_t>(a.rows) * 3 * sizeof(double); break;
    case ResearchKind::Basnet: {
      const int64_t hw = a.h * a.w;
      const int64_t bpi = reduce_blocks(hw) > 0 ? reduce_blocks(hw) : 1;
      s0 = static_cast<size_t>(n) * 5 * sizeof(double);
      s1 = static_cast<size_t>(n) * 3 * sizeof(double);
      s2 = static_cast<size_t>(a.rows * bpi) * 5 * sizeof(double);
      s3 = static_cast<size_t>(a.rows) * 3 * sizeof(double);
      break;
    }
    case ResearchKind::AnyLoss:
    case ResearchKind::TriBce:
      s0 = static_cast<size_t>(reduce_blocks(a.cols) + 1) * 3 * sizeof(double);
      s1 = 4 * sizeof(double);
      break;
    case ResearchKind::Mw: s0 = static_cast<size_t>(a.rows) * 2 * sizeof(double); break;
    case ResearchKind::PaBce: {
      const int64_t k = a.params.top_k < a.cols ? a.params.top_k : a.cols;
      s0 = static_cast<size_t>(a.rows * (k > 0 ? k : 0)) * sizeof(int64_t);
      s1 = static_cast<size_t>(a.rows) * sizeof(double);
      s2 = sizeof(double);
      break;
    }
    default: break;
  }
  L.a = 0;
  L.b = align256(s0);
  L.c = L.b + align256(s1);
  L.d = L.c + align256(s2);
  L.total = L.d + align256(s3);
  return L;
}

}  // namespace

size_t research_scratch_bytes(const ResearchArgs& a) { return layout(a).total; }

Status research_loss(int device, const ResearchArgs& a, void* scratch, int32_t* bad_flag_device) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  const int kind = static_cast<int>(a.kind);
  if (kind < 0 || kind >= kResearchCount) return bad_args("unknown loss");
  if (a.rows < 0 || a.cols < 0) return bad_args("negative size");
  const int64_t n = a.rows * a.cols;
  if (n > 0 && (a.x == nullptr || a.y == nullptr)) return bad_args("null input");
  const Layout L = layout(a);
  if (L.total > 0 && scratch == nullptr) return bad_args("null scratch");
  char* base = static_cast<char*>(scratch);
  const int red = static_cast<int>(a.reduction);
  const bool none = a.reduction == Reduction::None;
  const bool mean = a.reduction == Reduction::Mean;
  float* loss_none = none ? a.loss : nullptr;
  (void)cudaGetLastError();

  switch (a.kind) {
    case ResearchKind::Overlap: {
      if (a.rows == 0) {
        if (!none && a.loss) write_empty<<<1, 1, 0, stream>>>(a.loss, mean ? NAN : 0.0f);
        return detail::check_launch();
      }
      OvParams k;
      const ResearchParams& q = a.params;
      k.ov = rl::Overlap<double>{q.a, q.b, q.c, q.smooth_nr, q.smooth_dr};
      k.squared = q.squared;
      k.p = a.x;
      k.g = a.y;
      k.rows = a.rows;
      k.cols = a.cols;
      k.row = reinterpret_cast<double*>(base + L.a);
      k.loss_none = loss_none;
      const unsigned grid = static_cast<unsigned>(a.rows < 65536 ? a.rows : 65536);
      ov_rows<<<grid, kThreads, 0, stream>>>(k);
      if (a.grad && n > 0) ov_grad<<<ew_blocks(n), kThreads, 0, stream>>>(k, red, a.grad_out, a.grad_scale, a.grad);
      if (!none && a.loss) finish_sum<<<1, kThreads, 0, stream>>>(k.row, a.rows, 3, mean, static_cast<double>(a.rows), a.loss);
      return detail::check_launch();
    }
    case ResearchKind::Basnet: {
      if (a.rows == 0) {
        if (!none && a.loss) write_empty<<<1, 1, 0, stream>>>(a.loss, mean ? NAN : 0.0f);
        return detail::check_launch();
      }
      BasParams k;
      rl::ssim_window(k.win);
      const double e = a.params.iou_eps;
      k.iou = rl::Overlap<double>{1.0, 1.0, -1.0, e, e};
      k.p = a.x;
      k.g = a.y;
      k.n = a.rows;
      k.h = a.h;
      k.w = a.w;
      k.t5 = reinterpret_cast<double*>(base + L.a);
      k.g3 = reinterpret_cast<double*>(base + L.b);
      k.part = reinterpret_cast<double*>(base + L.c);
      k.img = reinterpret_cast<double*>(base + L.d);
      const int64_t hw = a.h * a.w;
      k.bpi = reduce_blocks(hw) > 0 ? reduce_blocks(hw) : 1;
      k.bad = a.check == kResearchCheckInput01 ? bad_flag_device : nullptr;
      if (a.rows > 65535) return bad_args("at most 65535 images per call");
      if (n > 0) bas_h5<<<ew_blocks(n), kThreads, 0, stream>>>(k);
      bas_v5<<<dim3(static_cast<unsigned>(k.bpi), static_cast<unsigned>(a.rows)), kThreads, 0, stream>>>(k);
      bas_img<<<static_cast<unsigned>(a.rows), kThreads, 0, stream>>>(k, loss_none);
      if (a.grad && n > 0) {
        bas_h3<<<ew_blocks(n), kThreads, 0, stream>>>(k);
        bas_grad<<<ew_blocks(n), kThreads, 0, stream>>>(k, red, a.grad_out, a.grad_scale, a.grad);
      }
      if (!none && a.loss) finish_sum<<<1, kThreads, 0, stream>>>(k.img, a.rows, 3, mean, static_cast<double>(a.rows), a.loss);
      return detail::check_launch();
    }
    case ResearchKind::AnyLoss:
    case ResearchKind::TriBce: {
      BatchParams k;
      k.prm = a.params;
      k.x = a.x;
      k.x2 = a.x2;
      k.y = a.y;
      k.n = a.cols;
      k.part = reinterpret_cast<double*>(base + L.a);
      k.coef = reinterpret_cast<double*>(base + L.b);
      const int64_t nb = reduce_blocks(a.cols);
      const bool any = a.kind == ResearchKind::AnyLoss;
      if (nb > 0) {
        if (any)
          batch_part<static_cast<int>(ResearchKind::AnyLoss)><<<static_cast<unsigned>(nb), kThreads, 0, stream>>>(k);
        else
          batch_part<static_cast<int>(ResearchKind::TriBce)><<<static_cast<unsigned>(nb), kThreads, 0, stream>>>(k);
      }
      if (any)
        batch_finish<static_cast<int>(ResearchKind::AnyLoss)><<<1, kThreads, 0, stream>>>(k, nb, a.loss);
      else
        batch_finish<static_cast<int>(ResearchKind::TriBce)><<<1, kThreads, 0, stream>>>(k, nb, a.loss);
      if (a.cols > 0 && (a.grad || a.grad2)) {
        if (any)
          batch_grad<static_cast<int>(ResearchKind::AnyLoss)><<<ew_blocks(a.cols), kThreads, 0, stream>>>(k, a.grad_scale, a.grad, nullptr);
        else
          batch_grad<static_cast<int>(ResearchKind::TriBce)><<<ew_blocks(a.cols), kThreads, 0, stream>>>(k, a.grad_scale, a.grad, a.grad2);
      }
      return detail::check_launch();
    }
    case ResearchKind::Mw: {
      if (a.rows == 0) {
        if (!none && a.loss) write_empty<<<1, 1, 0, stream>>>(a.loss, mean ? NAN : 0.0f);
        return detail::check_launch();
      }
      if (a.cols < a.rows) return bad_args("mwLoss needs at least as many columns as rows");
      double* row = reinterpret_cast<double*>(base + L.a);
      const double inv_tau = 1.0 / static_cast<double>(a.params.tau);
      const unsigned grid = static_cast<unsigned>(a.rows < 65536 ? a.rows : 65536);
      mw_pos<<<grid, kThreads, 0, stream>>>(a.x, a.rows, a.cols, inv_tau, row, loss_none);
      if (a.grad) mw_grad<<<ew_blocks(n), kThreads, 0, stream>>>(a.x, a.rows, a.cols, inv_tau, row, red, a.grad_out, a.grad_scale, a.grad);
      if (!none && a.loss) finish_sum<<<1, kThreads, 0, stream>>>(row, a.rows, 2, mean, static_cast<double>(a.rows), a.loss);
      return detail::check_launch();
    }
    case ResearchKind::PaBce: {
      const int64_t k = a.params.top_k < a.cols ? a.params.top_k : a.cols;
      int64_t* idx = reinterpret_cast<int64_t*>(base + L.a);
      double* lst = reinterpret_cast<double*>(base + L.b);
      double* div = reinterpret_cast<double*>(base + L.c);
      if (a.rows > 0) pa_lists<<<ew_blocks(a.rows), kThreads, 0, stream>>>(a.x, a.y, a.rows, a.cols, k, idx, lst, a.grad);
      pa_finish<<<1, kThreads, 0, stream>>>(lst, a.rows, red, a.loss, div);
      if (n > 0 && a.grad) pa_scale<<<ew_blocks(n), kThreads, 0, stream>>>(a.rows, a.cols, lst, div, red, a.grad_out, a.grad_scale, a.grad);
      return detail::check_launch();
    }
    default: return bad_args("unknown loss");
  }
}

}  // namespace cuda
}  // namespace bg
