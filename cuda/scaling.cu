// Row-statistic binarizers, XNOR-Net K and XNOR++ on the device. Statistics: one CUDA
// block per row (grid-stride over rows), a fixed element-to-thread assignment and a
// fixed-shape block reduction in double, so sums are bit-identical run to run; per-row
// coefficients are finished by one thread per row with the same formulas as the CPU
// driver (native/cpu/scaling.cpp); the elementwise stages use the functors of
// math/scaling.h with V = float.
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstdint>
#include <string>

#include "../native/math/scalar.h"
#include "../native/math/scaling.h"
#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

constexpr int kThreads = 256;

struct Dev {
  ScaleParams p;
  ScaleKind kind;
  const float* x;
  const float* g;
  float* out;
  int64_t R, K;
  float* co;     // R * kRowCo
  double* sums;  // R * kMaxBases
};

enum SumMode : int { kAbs = 0, kVal = 1, kDev2 = 2, kStdAbs = 3, kResAbs = 4, kTerms = 5 };

template <template <class> class Row>
__device__ int row_terms(const Dev& d, int64_t r, int64_t k, double* t) {
  const Row<float> f(d.p, d.co + r * kRowCo);
  const int64_t i = r * d.K + k;
  return f.terms(d.x[i], d.g[i], d.out[i], t);
}

__device__ int elem_terms(const Dev& d, int mode, int basis, int64_t r, int64_t k, double* t) {
  const float x = d.x[r * d.K + k];
  const float* c = d.co + r * kRowCo;
  switch (mode) {
    case kAbs: t[0] = fabs(static_cast<double>(x)); return 1;
    case kVal: t[0] = x; return 1;
    case kDev2: {
      const double v = static_cast<double>(x) - static_cast<double>(c[0]);
      t[0] = v * v;
      return 1;
    }
    case kStdAbs: t[0] = fabs(static_cast<double>((x - c[0]) * c[1])); return 1;
    case kResAbs: {
      float res = x;
      for (int j = 0; j < basis; ++j) res = res - c[j] * est_sign(res, d.p.zero);
      t[0] = fabs(static_cast<double>(res));
      return 1;
    }
    default:
      switch (d.kind) {
        case ScaleKind::MeanAbsSign: return row_terms<MasRow>(d, r, k, t);
        case ScaleKind::Libra:
        case ScaleKind::Recu: return row_terms<StdRow>(d, r, k, t);
        case ScaleKind::Bivit: return row_terms<BivitRow>(d, r, k, t);
        case ScaleKind::MultiBasis: return row_terms<MultiRow>(d, r, k, t);
        case ScaleKind::RecuAct: return row_terms<RecuActRow>(d, r, k, t);
        default: return 0;
      }
  }
}

// sums[r * kMaxBases + j] = sum over row r of term j (m terms).
__global__ void __launch_bounds__(kThreads) row_sums(const Dev d, int mode, int basis, int m) {
  using BlockReduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  for (int64_t r = blockIdx.x; r < d.R; r += gridDim.x) {
    double acc[kMaxBases] = {0.0, 0.0, 0.0, 0.0};
    for (int64_t k = threadIdx.x; k < d.K; k += kThreads) {
      double t[kMaxBases] = {0.0, 0.0, 0.0, 0.0};
      elem_terms(d, mode, basis, r, k, t);
      for (int j = 0; j < kMaxBases; ++j) acc[j] += t[j];
    }
    for (int j = 0; j < m; ++j) {
      const double s = BlockReduce(tmp).Sum(acc[j]);
      if (threadIdx.x == 0) d.sums[r * kMaxBases + j] = s;
      __syncthreads();
    }
  }
}

// Coefficient updates after each reduction (one thread per row; `step` as in the CPU driver).
enum Step : int {
  kSetAlpha = 0, kSetMean = 1, kSetK = 2, kSetLibraS = 3, kSetBivitAlpha = 4, kSetBasis = 5, kSetGrad = 6,
  kSetUnit = 7,  // RecuAct in eval: k = 1, reported std 1
};

__global__ void finish_rows(const Dev d, int step, int basis, const float* alpha_in, float* dalpha) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= d.R) return;
  float* c = d.co + r * kRowCo;
  const double* s = d.sums + r * kMaxBases;
  const double invK = 1.0 / static_cast<double>(d.K);
  switch (step) {
    case kSetAlpha: {
      const double f = (d.kind == ScaleKind::Ternary && d.p.levels == 3) ? 4.0 / 3.0 : 1.0;
      c[0] = static_cast<float>(f * s[0] * invK);
      break;
    }
    case kSetMean: c[0] = static_cast<float>(s[0] * invK); break;
    case kSetK: {
      const double var = d.K > 1 ? s[0] / static_cast<double>(d.K - 1) : 0.0;
      if (d.kind == ScaleKind::RecuAct) {
        const double sd = sqrt((d.K > 1 ? var : nan("")) + 1e-5);
        c[1] = static_cast<float>(1.0 / sd);
        c[2] = static_cast<float>(sd);
      } else if (d.kind == ScaleKind::Recu) {
        c[1] = static_cast<float>(2.0 * sqrt(2.0) / sqrt(var + 1e-5));
      } else {
        const double sd = sqrt(var);
        c[1] = static_cast<float>(sd > 0.0 ? 1.0 / sd : 0.0);
      }
      break;
    }
    case kSetLibraS: {
      const double m = s[0] * invK;
      double sc = 1.0;
      if (m > 0.0) sc = ldexp(1.0, static_cast<int>(nearbyint(log2(m))));
      else if (!(m == 0.0)) sc = m;
      c[2] = static_cast<float>(sc);
      break;
    }
    case kSetBivitAlpha: c[1] = alpha_in ? alpha_in[r] : static_cast<float>(s[0] * invK); break;
    case kSetBasis: c[basis] = alpha_in ? alpha_in[basis * d.R + r] : static_cast<float>(s[0] * invK); break;
    case kSetUnit: c[1] = c[2] = 1.0f; break;
    case kSetGrad:
      switch (d.kind) {
        case ScaleKind::MeanAbsSign: c[1] = static_cast<float>(s[0] * invK); break;
        case ScaleKind::Libra:
        case ScaleKind::Recu: {
          const double c2 = d.kind == ScaleKind::Recu ? 8.0 : 1.0;
          c[3] = static_cast<float>(s[0] * invK);
          c[4] = d.K > 1 ? static_cast<float>(s[1] / (c2 * static_cast<double>(d.K - 1))) : 0.0f;
          break;
        }
        case ScaleKind::Bivit:
          c[3] = static_cast<float>(s[0] * invK);
          if (dalpha) dalpha[r] = static_cast<float>(s[1]);
          break;
        case ScaleKind::MultiBasis:
          if (dalpha)
            for (int b = 0; b < d.p.bases; ++b) dalpha[b * d.R + r] = static_cast<float>(s[b]);
          break;
        case ScaleKind::RecuAct: {
          const double k = c[1];
          c[3] = d.K > 1 ? static_cast<float>(k * k * k * s[0] / static_cast<double>(d.K - 1)) : nanf("");
          break;
        }
        default: break;
      }
      break;
    default: break;
  }
}

// ReCU: Q = qfac * (sum over rows, in row order) / (R K), into every row's co[2].
__global__ void recu_q(const Dev d) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  double tot = 0.0;
  for (int64_t r = 0; r < d.R; ++r) tot += d.sums[r * kMaxBases];
  const float q = static_cast<float>(static_cast<double>(d.p.qfac) * tot / static_cast<double>(d.R * d.K));
  for (int64_t r = 0; r < d.R; ++r) d.co[r * kRowCo + 2] = q;
}

__global__ void write_alpha(const Dev d, float* alpha_out) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= d.R) return;
  const float* c = d.co + r * kRowCo;
  switch (d.kind) {
    case ScaleKind::MeanAbsSign:
    case ScaleKind::Ternary: alpha_out[r] = c[0]; break;
    case ScaleKind::Libra:
    case ScaleKind::RecuAct: alpha_out[r] = c[2]; break;
    case ScaleKind::Recu: if (r == 0) alpha_out[0] = c[2]; break;
    case ScaleKind::Bivit: alpha_out[r] = c[1]; break;
    case ScaleKind::MultiBasis:
      for (int b = 0; b < d.p.bases; ++b) alpha_out[b * d.R + r] = c[b];
      break;
    default: break;
  }
}

template <template <class> class Row>
__global__ void __launch_bounds__(kThreads) row_stage(const Dev d, int stage) {
  const int64_t n = d.R * d.K;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < n; i += stride) {
    const Row<float> f(d.p, d.co + (i / d.K) * kRowCo);
    const float x = d.x[i];
    if (stage == kStageFwd)
      d.out[i] = f.fwd(x);
    else if (stage == kStageGrad)
      d.out[i] = f.grad(x, d.g[i]);
    else
      d.out[i] = f.fin(x, d.out[i]);
  }
}

void launch_stage(const Dev& d, int stage, unsigned grid, cudaStream_t s) {
  switch (d.kind) {
    case ScaleKind::MeanAbsSign: row_stage<MasRow><<<grid, kThreads, 0, s>>>(d, stage); break;
    case ScaleKind::Ternary: row_stage<TernaryRow><<<grid, kThreads, 0, s>>>(d, stage); break;
    case ScaleKind::Libra:
    case ScaleKind::Recu: row_stage<StdRow><<<grid, kThreads, 0, s>>>(d, stage); break;
    case ScaleKind::Bivit: row_stage<BivitRow><<<grid, kThreads, 0, s>>>(d, stage); break;
    case ScaleKind::MultiBasis: row_stage<MultiRow><<<grid, kThreads, 0, s>>>(d, stage); break;
    case ScaleKind::RecuAct: row_stage<RecuActRow><<<grid, kThreads, 0, s>>>(d, stage); break;
    default: break;
  }
}

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = what;
  return s;
}

unsigned cap_grid(int device, int64_t blocks) {
  int64_t cap = static_cast<int64_t>(detail::sm_count(device)) * 8;
  if (cap <= 0) cap = 1024;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned>(blocks < cap ? blocks : cap);
}

}  // namespace

size_t scale_rows_scratch_bytes(const ScaleArgs& a) {
  const size_t R = static_cast<size_t>(a.rows > 0 ? a.rows : 0);
  return R * kRowCo * sizeof(float) + R * kMaxBases * sizeof(double);
}

Status scale_rows(int device, const ScaleArgs& a, void* scratch) {
  cudaStream_t st = nullptr;
  Status s = detail::enter(device, &st);
  if (!s.ok) return s;
  if (a.rows < 1 || a.cols < 1 || !a.x || !a.out || !scratch || (a.backward && !a.g))
    return bad_args("scaleRows (CUDA): bad arguments");
  (void)cudaGetLastError();
  Dev d;
  d.p = a.params;
  d.kind = a.kind;
  d.x = a.x;
  d.g = a.g;
  d.out = a.out;
  d.R = a.rows;
  d.K = a.cols;
  d.sums = static_cast<double*>(scratch);
  d.co = reinterpret_cast<float*>(static_cast<char*>(scratch) + static_cast<size_t>(a.rows) * kMaxBases * sizeof(double));
  s = memset_async(device, d.co, 0, static_cast<size_t>(a.rows) * kRowCo * sizeof(float));
  if (!s.ok) return s;
  const unsigned rgrid = static_cast<unsigned>(a.rows < 65535 ? a.rows : 65535);
  const unsigned fgrid = static_cast<unsigned>((a.rows + 127) / 128);
  auto sums = [&](int mode, int basis, int m) { row_sums<<<rgrid, kThreads, 0, st>>>(d, mode, basis, m); };
  auto fin = [&](int step, int basis) { finish_rows<<<fgrid, 128, 0, st>>>(d, step, basis, a.alpha_in, a.dalpha); };
  switch (a.kind) {
    case ScaleKind::MeanAbsSign:
    case ScaleKind::Ternary: sums(kAbs, 0, 1); fin(kSetAlpha, 0); break;
    case ScaleKind::Libra:
    case ScaleKind::Recu:
      sums(kVal, 0, 1); fin(kSetMean, 0);
      sums(kDev2, 0, 1); fin(kSetK, 0);
      sums(kStdAbs, 0, 1);
      if (a.kind == ScaleKind::Recu) recu_q<<<1, 1, 0, st>>>(d); else fin(kSetLibraS, 0);
      break;
    case ScaleKind::Bivit:
      sums(kVal, 0, 1); fin(kSetMean, 0);
      if (!a.alpha_in) sums(kAbs, 0, 1);
      fin(kSetBivitAlpha, 0);
      break;
    case ScaleKind::MultiBasis:
      for (int b = 0; b < a.params.bases; ++b) {
        if (!a.alpha_in) sums(kResAbs, b, 1);
        fin(kSetBasis, b);
      }
      break;
    case ScaleKind::RecuAct:
      if (a.params.training) {
        sums(kVal, 0, 1); fin(kSetMean, 0);
        sums(kDev2, 0, 1); fin(kSetK, 0);
      } else {
        fin(kSetUnit, 0);
      }
      break;
    default: return bad_args("scaleRows (CUDA): unknown kind");
  }
  const unsigned egrid = cap_grid(device, (a.rows * a.cols + kThreads * 4 - 1) / (kThreads * 4));
  if (!a.backward) {
    launch_stage(d, kStageFwd, egrid, st);
  } else {
    launch_stage(d, kStageGrad, egrid, st);
    const bool recu_act = a.kind == ScaleKind::RecuAct && a.params.training;
    const bool terms = (a.kind == ScaleKind::MeanAbsSign && a.params.full) || a.kind == ScaleKind::Libra ||
                       a.kind == ScaleKind::Recu || a.kind == ScaleKind::Bivit || a.kind == ScaleKind::MultiBasis ||
                       recu_act;
    if (terms) {
      const int m = a.kind == ScaleKind::MultiBasis ? a.params.bases
                    : (a.kind == ScaleKind::MeanAbsSign || a.kind == ScaleKind::RecuAct) ? 1 : 2;
      sums(kTerms, 0, m);
      fin(kSetGrad, 0);
      const bool has_fin = (a.kind == ScaleKind::MeanAbsSign && a.params.full) || a.kind == ScaleKind::Libra ||
                           a.kind == ScaleKind::Recu || a.kind == ScaleKind::Bivit || recu_act;
      if (has_fin) launch_stage(d, kStageFin, egrid, st);
    }
  }
  if (a.alpha_out) write_alpha<<<fgrid, 128, 0, st>>>(d, a.alpha_out);
  return detail::check_launch();
}

namespace {

__global__ void xnor_k_kernel(const XnorKArgs a) {
  const int64_t total = a.n * a.ho * a.wo;
  const double inv_c = 1.0 / static_cast<double>(a.c);
  const double inv_k = 1.0 / static_cast<double>(a.kh * a.kw);
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t s = t / (a.ho * a.wo), i = (t / a.wo) % a.ho, j = t % a.wo;
    const float* base = a.x + s * a.c * a.h * a.w;
    double acc = 0.0;
    for (int64_t u = 0; u < a.kh; ++u) {
      const int64_t y = i * a.sh - a.ph + u;
      if (y < 0 || y >= a.h) continue;
      for (int64_t v = 0; v < a.kw; ++v) {
        const int64_t xx = j * a.sw - a.pw + v;
        if (xx < 0 || xx >= a.w) continue;
        double m = 0.0;  // same order as the CPU: channels in increasing order
        for (int64_t c = 0; c < a.c; ++c) m += fabs(static_cast<double>(base[(c * a.h + y) * a.w + xx]));
        acc += m * inv_c;
      }
    }
    a.out[t] = static_cast<float>(acc * inv_k);
  }
}

__global__ void xnor_pp_ew(const XnorPPArgs a) {
  const int64_t n = a.n * a.c * a.h * a.w;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < n;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = (t / (a.h * a.w)) % a.c, i = (t / a.w) % a.h, j = t % a.w;
    const float gam = a.o[c] * a.fh[i] * a.fw[j];
    a.out[t] = (a.backward ? a.g[t] : a.y[t]) * gam;
  }
}

// which: 0 -> d_o (one block per c), 1 -> d_h (per h), 2 -> d_w (per w).
__global__ void __launch_bounds__(kThreads) xnor_pp_sum(const XnorPPArgs a, int which) {
  using BlockReduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const int64_t count = which == 0 ? a.c : which == 1 ? a.h : a.w;
  const int64_t per = a.n * a.c * a.h * a.w / count;
  for (int64_t q = blockIdx.x; q < count; q += gridDim.x) {
    double acc = 0.0;
    for (int64_t u = threadIdx.x; u < per; u += kThreads) {
      int64_t nn, c, i, j;
      if (which == 0) {
        c = q; j = u % a.w; i = (u / a.w) % a.h; nn = u / (a.w * a.h);
      } else if (which == 1) {
        i = q; j = u % a.w; c = (u / a.w) % a.c; nn = u / (a.w * a.c);
      } else {
        j = q; i = u % a.h; c = (u / a.h) % a.c; nn = u / (a.h * a.c);
      }
      const int64_t t = ((nn * a.c + c) * a.h + i) * a.w + j;
      const double gy = static_cast<double>(a.g[t]) * static_cast<double>(a.y[t]);
      const double other = which == 0 ? static_cast<double>(a.fh[i]) * a.fw[j]
                           : which == 1 ? static_cast<double>(a.o[c]) * a.fw[j]
                                        : static_cast<double>(a.o[c]) * a.fh[i];
      acc += gy * other;
    }
    const double s = BlockReduce(tmp).Sum(acc);
    if (threadIdx.x == 0) (which == 0 ? a.d_o : which == 1 ? a.d_h : a.d_w)[q] = static_cast<float>(s);
    __syncthreads();
  }
}

}  // namespace

Status xnor_k(int device, const XnorKArgs& a) {
  cudaStream_t st = nullptr;
  Status s = detail::enter(device, &st);
  if (!s.ok) return s;
  if (!a.x || !a.out || a.n < 1 || a.c < 1) return bad_args("xnorK (CUDA): bad arguments");
  (void)cudaGetLastError();
  xnor_k_kernel<<<cap_grid(device, (a.n * a.ho * a.wo + kThreads - 1) / kThreads), kThreads, 0, st>>>(a);
  return detail::check_launch();
}

size_t xnor_pp_scratch_bytes(const XnorPPArgs&) { return 0; }

Status xnor_pp(int device, const XnorPPArgs& a, void*) {
  cudaStream_t st = nullptr;
  Status s = detail::enter(device, &st);
  if (!s.ok) return s;
  if (!a.y || !a.out || !a.o || !a.fh || !a.fw || (a.backward && (!a.g || !a.d_o || !a.d_h || !a.d_w)))
    return bad_args("xnorPlusPlus (CUDA): bad arguments");
  (void)cudaGetLastError();
  const int64_t n = a.n * a.c * a.h * a.w;
  xnor_pp_ew<<<cap_grid(device, (n + kThreads - 1) / kThreads), kThreads, 0, st>>>(a);
  if (a.backward) {
    xnor_pp_sum<<<static_cast<unsigned>(a.c < 65535 ? a.c : 65535), kThreads, 0, st>>>(a, 0);
    xnor_pp_sum<<<static_cast<unsigned>(a.h < 65535 ? a.h : 65535), kThreads, 0, st>>>(a, 1);
    xnor_pp_sum<<<static_cast<unsigned>(a.w < 65535 ? a.w : 65535), kThreads, 0, st>>>(a, 2);
  }
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
