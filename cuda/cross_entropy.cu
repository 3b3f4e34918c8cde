// crossEntropy on the device (native/ops/class_loss_args.h), float32 / bfloat16 /
// float16 logits with float32 math and double row bookkeeping:
//   ce_prep   one block: checks index targets (first bad row through atomicMin), the
//             mean's denominator (sum of w[y] over non-ignored rows) in a fixed order.
//   ce_rows   one block per row: pass 1 an online softmax per thread (max, rescaled
//             exp-sum and, for smoothing / probability targets, the weighted sums),
//             combined by a CUB block reduction (fixed shape: deterministic); the row's
//             loss in double by thread 0; pass 2 writes the gradient (in the logits'
//             dtype; may be the logits). float4 loads for contiguous float32 rows.
//   ce_finish one block: adds the row losses in a fixed order (no atomics), divides for
//             the mean, and records the value of the first bad target.
// nllLoss and multiMarginLoss (float32) share ce_prep and ce_finish:
//   nll_rows  one thread per row: the gradient is zeroed stream-ordered first, then
//             each row writes its loss and its one gradient element.
//   mm_rows   one block per row: thread-strided hinge terms, the row's loss and the
//             target element's gradient (minus the sum of the others) from one CUB
//             block reduction (fixed shape: deterministic).
// Same math as the CPU path (native/cpu/class_loss.cpp); the nll / multi-margin terms
// come from native/math/class_loss.h, evaluated in double as on the CPU.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstdint>
#include <string>

#include "../native/math/class_loss.h"
#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

constexpr int kPrepThreads = 256;
constexpr int64_t kMaxGrid = 1 << 20;

template <class T>
__device__ __forceinline__ float to_f(T v);
template <>
__device__ __forceinline__ float to_f<float>(float v) { return v; }
template <>
__device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <>
__device__ __forceinline__ float to_f<__half>(__half v) { return __half2float(v); }

template <class T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ float from_f<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <>
__device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }

struct Params {
  const void* x;
  void* grad;
  const int32_t* target;
  const float* prob;
  const float* weight;
  const float* grad_out;  // per row (None) or null
  float* loss_rows_f;     // None: the loss output
  double* loss_rows_d;    // reductions: per-row losses (scratch)
  const double* dens;     // [0] denominator of the mean, [1] sum of class weights
  int64_t outer, C, inner, rows;
  int32_t ignore;
  float eps1, k;
  float grad_scale;
  int reduction;  // 0 none, 1 mean, 2 sum
  bool smooth;
  bool has_ignore;  // false for multiMarginLoss: every target must be a class index
  bool mean_rows;   // the mean divides by the row count (multiMarginLoss, probability targets)
  int p;            // multi-margin exponent
  double margin;    // multi-margin
  unsigned long long* bad;  // [0] first bad row, [1] its target
};

// Upstream factor of row r's gradient (dens[0] is ready: ce_prep runs first on the stream).
__device__ __forceinline__ double upstream(const Params& p, int64_t r) {
  if (p.reduction == 0) return (p.grad_out ? static_cast<double>(p.grad_out[r]) : 1.0) * p.grad_scale;
  if (p.reduction == 1) return static_cast<double>(p.grad_scale) / p.dens[0];
  return p.grad_scale;
}

// Online softmax statistics of one thread (or a combination of threads).
struct Stat {
  float m;
  float d;
  float a;
  float sx;
};

struct Combine {
  __device__ __forceinline__ Stat operator()(const Stat& p, const Stat& q) const {
    Stat r;
    const float ninf = -INFINITY;
    const bool pn = p.m != p.m, qn = q.m != q.m;
    r.m = (pn || qn) ? NAN : fmaxf(p.m, q.m);
    if (r.m == ninf || pn || qn) {
      r.d = p.d + q.d + ((pn || qn) ? NAN : 0.0f);
      r.a = p.a + q.a;
      r.sx = p.sx + q.sx;
      return r;
    }
    const float fp = p.m == ninf ? 0.0f : expf(p.m - r.m);
    const float fq = q.m == ninf ? 0.0f : expf(q.m - r.m);
    r.d = p.d * fp + q.d * fq;
    r.a = p.a + q.a;
    r.sx = (p.m == ninf ? 0.0f : p.sx + p.a * (p.m - r.m)) + (q.m == ninf ? 0.0f : q.sx + q.a * (q.m - r.m));
    return r;
  }
};

__device__ __forceinline__ void online(Stat& s, float x, float a, bool smooth) {
  if (x > s.m) {
    if (s.m != -INFINITY) {
      s.d *= expf(s.m - x);
      if (smooth) s.sx += s.a * (s.m - x);
    }
    s.m = x;
  }
  if (x != -INFINITY) s.d += expf(x - s.m);
  if (smooth) {
    s.a += a;
    if (s.m != -INFINITY) s.sx += a * (x - s.m);
  }
}

__global__ void __launch_bounds__(kPrepThreads) ce_prep(Params p) {
  double W = 0.0;
  if (p.target != nullptr) {
    for (int64_t r = threadIdx.x; r < p.rows; r += kPrepThreads) {
      const int32_t y = p.target[r];
      if (p.has_ignore && y == p.ignore) continue;
      if (y < 0 || y >= p.C) {
        if (p.bad != nullptr) atomicMin(p.bad, static_cast<unsigned long long>(r));
        continue;
      }
      W += p.weight ? static_cast<double>(p.weight[y]) : 1.0;
    }
  }
  double sw = 0.0;
  for (int64_t c = threadIdx.x; c < p.C; c += kPrepThreads) sw += p.weight ? static_cast<double>(p.weight[c]) : 1.0;
  using BR = cub::BlockReduce<double, kPrepThreads>;
  __shared__ typename BR::TempStorage t1;
  __shared__ typename BR::TempStorage t2;
  const double Wt = BR(t1).Sum(W);
  const double St = BR(t2).Sum(sw);
  if (threadIdx.x == 0) {
    double* dens = const_cast<double*>(p.dens);
    dens[0] = p.target != nullptr && !p.mean_rows ? Wt : static_cast<double>(p.rows);
    dens[1] = St;
  }
}

template <class T, int kThreads, bool kVec>
__global__ void __launch_bounds__(kThreads) ce_rows(Params p) {
  using BR = cub::BlockReduce<Stat, kThreads>;
  __shared__ typename BR::TempStorage tmp;
  __shared__ float sh[5];  // m, invd, sA, sk, seps1
  const T* X = static_cast<const T*>(p.x);
  T* G = static_cast<T*>(p.grad);
  const int64_t C = p.C, inner = p.inner;
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const int64_t n = r / inner, s = r % inner;
    const int64_t base = n * C * inner + s;
    const int32_t y = p.target ? p.target[r] : 0;
    const bool ign = p.target && (y == p.ignore || y < 0 || y >= C);
    if (ign) {
      // Ignored (or invalid: reported by ce_prep) rows: zero loss and gradient.
      if (G)
        for (int64_t c = threadIdx.x; c < C; c += kThreads) G[base + c * inner] = from_f<T>(0.0f);
      if (threadIdx.x == 0) {
        if (p.loss_rows_f) p.loss_rows_f[r] = 0.0f;
        if (p.loss_rows_d) p.loss_rows_d[r] = 0.0;
      }
      continue;
    }
    const float* W = p.weight;
    const float* Tp = p.prob ? p.prob + base : nullptr;
    Stat st{-INFINITY, 0.0f, 0.0f, 0.0f};
    auto a_of = [&](int64_t c) {
      float a = 1.0f;
      if (Tp) a = fmaf(__ldg(Tp + c * inner), p.eps1, p.k);
      if (W) a *= __ldg(W + c);
      return a;
    };
    if (kVec) {
      const float4* X4 = reinterpret_cast<const float4*>(reinterpret_cast<const float*>(X) + base);
      for (int64_t c4 = threadIdx.x; c4 < C / 4; c4 += kThreads) {
        const float4 v = X4[c4];  // plain loads: the gradient may overwrite X
        const int64_t c = c4 * 4;
        online(st, v.x, p.smooth ? a_of(c) : 0.0f, p.smooth);
        online(st, v.y, p.smooth ? a_of(c + 1) : 0.0f, p.smooth);
        online(st, v.z, p.smooth ? a_of(c + 2) : 0.0f, p.smooth);
        online(st, v.w, p.smooth ? a_of(c + 3) : 0.0f, p.smooth);
      }
    } else {
      for (int64_t c = threadIdx.x; c < C; c += kThreads)
        online(st, to_f<T>(X[base + c * inner]), p.smooth ? a_of(c) : 0.0f, p.smooth);
    }
    const Stat tot = BR(tmp).Reduce(st, Combine());
    if (threadIdx.x == 0) {
      const double logd = log(static_cast<double>(tot.d));
      const double sumw = p.dens[1];
      double loss, A;
      if (p.target) {
        const double wy = W ? static_cast<double>(W[y]) : 1.0;
        const double xy = to_f<T>(X[base + static_cast<int64_t>(y) * inner]);
        loss = static_cast<double>(p.eps1) * wy * (logd - (xy - tot.m));
        A = static_cast<double>(p.eps1) * wy;
        if (p.smooth) {
          loss += static_cast<double>(p.k) * (logd * sumw - tot.sx);
          A += static_cast<double>(p.k) * sumw;
        }
      } else {
        loss = logd * tot.a - tot.sx;
        A = tot.a;
      }
      if (p.loss_rows_f) p.loss_rows_f[r] = static_cast<float>(loss);
      if (p.loss_rows_d) p.loss_rows_d[r] = loss;
      double sc;
      if (p.reduction == 0)
        sc = (p.grad_out ? static_cast<double>(p.grad_out[r]) : 1.0) * p.grad_scale;
      else if (p.reduction == 1)
        sc = static_cast<double>(p.grad_scale) / p.dens[0];
      else
        sc = p.grad_scale;
      sh[0] = tot.m;
      sh[1] = static_cast<float>(1.0 / static_cast<double>(tot.d));
      sh[2] = static_cast<float>(sc * A);
      sh[3] = static_cast<float>(sc * p.k);
      sh[4] = static_cast<float>(sc * p.eps1);
    }
    __syncthreads();
    if (G) {
      const float m = sh[0], invd = sh[1], sA = sh[2], sk = sh[3], se = sh[4];
      const float wy = (p.target && W) ? __ldg(W + y) : 1.0f;
      auto gval = [&](float xv, int64_t c) {
        const float pr = expf(xv - m) * invd;
        float b = Tp ? fmaf(__ldg(Tp + c * inner), se, sk) : sk;
        if (W) b *= __ldg(W + c);
        float g = pr * sA - b;
        if (p.target && c == y) g -= se * wy;
        return g;
      };
      if (kVec) {
        const float4* X4 = reinterpret_cast<const float4*>(reinterpret_cast<const float*>(X) + base);
        float4* G4 = reinterpret_cast<float4*>(reinterpret_cast<float*>(G) + base);
        for (int64_t c4 = threadIdx.x; c4 < C / 4; c4 += kThreads) {
          const float4 v = X4[c4];  // plain load: G may alias X
          const int64_t c = c4 * 4;
          G4[c4] = make_float4(gval(v.x, c), gval(v.y, c + 1), gval(v.z, c + 2), gval(v.w, c + 3));
        }
      } else {
        for (int64_t c = threadIdx.x; c < C; c += kThreads) {
          const int64_t at = base + c * inner;
          G[at] = from_f<T>(gval(to_f<T>(X[at]), c));
        }
      }
    }
    __syncthreads();  // sh / tmp reused by the next row
  }
}

// nllLoss: row r reads (and writes the gradient of) x[(n C + y) inner + s] only.
__global__ void nll_rows(Params p) {
  const float* X = static_cast<const float*>(p.x);
  float* G = static_cast<float*>(p.grad);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < p.rows; r += stride) {
    const int32_t y = p.target[r];
    double l = 0.0;
    // Ignored and (reported) out-of-range rows: zero loss, zero gradient.
    if (y != p.ignore && y >= 0 && y < p.C) {
      const int64_t n = r / p.inner, s = r % p.inner;
      const int64_t at = (n * p.C + y) * p.inner + s;
      const double wy = p.weight ? static_cast<double>(__ldg(p.weight + y)) : 1.0;
      l = cls::nll_term<double>(wy, static_cast<double>(X[at]));
      if (G) G[at] = static_cast<float>(cls::nll_grad<double>(wy, upstream(p, r)));
    }
    if (p.loss_rows_f) p.loss_rows_f[r] = static_cast<float>(l);
    if (p.loss_rows_d) p.loss_rows_d[r] = l;
  }
}

// Row sums of multiMarginLoss: the hinge terms and their gradients (times the scale).
struct MmSum {
  double l;
  double g;
};
struct MmAdd {
  __device__ __forceinline__ MmSum operator()(const MmSum& a, const MmSum& b) const { return MmSum{a.l + b.l, a.g + b.g}; }
};

template <int kThreads>
__global__ void __launch_bounds__(kThreads) mm_rows(Params p) {
  using BR = cub::BlockReduce<MmSum, kThreads>;
  __shared__ typename BR::TempStorage tmp;
  const float* X = static_cast<const float*>(p.x);
  float* G = static_cast<float*>(p.grad);
  const int64_t C = p.C;
  const double invC = 1.0 / static_cast<double>(C);
  for (int64_t r = blockIdx.x; r < p.rows; r += gridDim.x) {
    const float* xr = X + r * C;
    float* gr = G ? G + r * C : nullptr;
    const int32_t y = p.target[r];
    if (y < 0 || y >= C) {  // reported by ce_prep
      if (gr)
        for (int64_t i = threadIdx.x; i < C; i += kThreads) gr[i] = 0.0f;
      if (threadIdx.x == 0) {
        if (p.loss_rows_f) p.loss_rows_f[r] = 0.0f;
        if (p.loss_rows_d) p.loss_rows_d[r] = 0.0;
      }
      continue;
    }
    const double wy = p.weight ? static_cast<double>(__ldg(p.weight + y)) : 1.0;
    const double xy = xr[y];
    const double sc = upstream(p, r) * wy * invC;
    MmSum acc{0.0, 0.0};
    for (int64_t i = threadIdx.x; i < C; i += kThreads) {
      if (i == y) continue;  // written by thread 0 after the reduction
      double dz;
      acc.l += cls::mm_term<double>(cls::mm_z<double>(p.margin, xy, static_cast<double>(xr[i])), p.p, &dz);
      double gi = 0.0;
      if (dz != 0.0) {  // inactive hinges stay exactly 0 even for a non-finite scale (as the CPU)
        gi = dz * sc;
        acc.g += gi;
      }
      if (gr) gr[i] = static_cast<float>(gi);
    }
    const MmSum tot = BR(tmp).Reduce(acc, MmAdd());
    if (threadIdx.x == 0) {
      if (gr) gr[y] = static_cast<float>(-tot.g);
      const double l = tot.l * (wy * invC);
      if (p.loss_rows_f) p.loss_rows_f[r] = static_cast<float>(l);
      if (p.loss_rows_d) p.loss_rows_d[r] = l;
    }
    __syncthreads();  // tmp is reused by the next row
  }
}

__global__ void __launch_bounds__(kPrepThreads) ce_finish(Params p, float* loss) {
  double s = 0.0;
  if (p.loss_rows_d != nullptr)
    for (int64_t r = threadIdx.x; r < p.rows; r += kPrepThreads) s += p.loss_rows_d[r];
  using BR = cub::BlockReduce<double, kPrepThreads>;
  __shared__ typename BR::TempStorage tmp;
  const double total = BR(tmp).Sum(s);
  if (threadIdx.x == 0) {
    if (loss != nullptr) *loss = static_cast<float>(p.reduction == 1 ? total / p.dens[0] : total);
    if (p.bad != nullptr && p.bad[0] != ~0ull) p.bad[1] = static_cast<unsigned long long>(static_cast<long long>(p.target[p.bad[0]]));
  }
}

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "classLoss (CUDA): " + what;
  return s;
}

template <class T>
void launch_rows(bool vec, bool wide, unsigned grid, cudaStream_t stream, const Params& p) {
  if (wide) {
    if (vec)
      ce_rows<T, 512, true><<<grid, 512, 0, stream>>>(p);
    else
      ce_rows<T, 512, false><<<grid, 512, 0, stream>>>(p);
  } else {
    ce_rows<T, 64, false><<<grid, 64, 0, stream>>>(p);
  }
}

}  // namespace

size_t class_loss_scratch_bytes(const ClassLossArgs& a) {
  const int64_t rows = a.outer * a.inner;
  return static_cast<size_t>(2 + (a.reduction == Reduction::None ? 0 : rows)) * sizeof(double);
}

Status class_loss(int device, const ClassLossArgs& a, void* scratch, int64_t* bad_device) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  if (a.kind != ClassLossKind::CrossEntropy && (a.dtype != LogitType::F32 || a.target == nullptr))
    return bad_args("nllLoss / multiMarginLoss take float32 input and class-index targets");
  if (a.kind == ClassLossKind::MultiMargin && a.inner != 1) return bad_args("multiMarginLoss takes [N, C] or [C]");
  if (scratch == nullptr) return bad_args("null scratch");
  const int64_t rows = a.outer * a.inner;
  Params p;
  p.x = a.x;
  p.grad = a.grad;
  p.target = a.target;
  p.prob = a.prob;
  p.weight = a.weight;
  p.grad_out = a.reduction == Reduction::None ? a.grad_out : nullptr;
  double* dens = static_cast<double*>(scratch);
  p.dens = dens;
  p.loss_rows_f = a.reduction == Reduction::None ? a.loss : nullptr;
  p.loss_rows_d = a.reduction == Reduction::None ? nullptr : dens + 2;
  p.outer = a.outer;
  p.C = a.classes;
  p.inner = a.inner;
  p.rows = rows;
  p.ignore = a.ignore_index;
  p.eps1 = 1.0f - a.label_smoothing;
  p.k = a.classes > 0 ? static_cast<float>(static_cast<double>(a.label_smoothing) / static_cast<double>(a.classes)) : 0.0f;
  p.grad_scale = a.grad_scale;
  p.reduction = static_cast<int>(a.reduction);
  p.smooth = a.label_smoothing != 0.0f || a.prob != nullptr;
  p.has_ignore = a.kind != ClassLossKind::MultiMargin;
  p.mean_rows = a.kind == ClassLossKind::MultiMargin;
  p.p = a.p;
  p.margin = a.margin;
  p.bad = reinterpret_cast<unsigned long long*>(bad_device);

  (void)cudaGetLastError();
  ce_prep<<<1, kPrepThreads, 0, stream>>>(p);
  st = detail::check_launch();
  if (!st.ok) return st;
  if (a.kind == ClassLossKind::Nll && rows > 0 && a.classes > 0) {
    if (a.grad != nullptr) {
      st = detail::from_cuda(cudaMemsetAsync(a.grad, 0, static_cast<size_t>(rows * a.classes) * sizeof(float), stream));
      if (!st.ok) return st;
    }
    constexpr int kNllThreads = 256;
    const int64_t blocks = (rows + kNllThreads - 1) / kNllThreads;
    nll_rows<<<static_cast<unsigned>(blocks < kMaxGrid ? blocks : kMaxGrid), kNllThreads, 0, stream>>>(p);
    st = detail::check_launch();
    if (!st.ok) return st;
  } else if (a.kind == ClassLossKind::MultiMargin && rows > 0 && a.classes > 0) {
    const unsigned grid = static_cast<unsigned>(rows < kMaxGrid ? rows : kMaxGrid);
    if (a.classes >= 1024)
      mm_rows<512><<<grid, 512, 0, stream>>>(p);
    else
      mm_rows<64><<<grid, 64, 0, stream>>>(p);
    st = detail::check_launch();
    if (!st.ok) return st;
  } else if (a.kind == ClassLossKind::CrossEntropy && rows > 0 && a.classes > 0) {
    const unsigned grid = static_cast<unsigned>(rows < kMaxGrid ? rows : kMaxGrid);
    const bool wide = a.classes >= 1024;
    const bool vec = a.dtype == LogitType::F32 && a.inner == 1 && a.classes % 4 == 0 &&
                     (reinterpret_cast<uintptr_t>(a.x) & 15u) == 0 &&
                     (a.grad == nullptr || (reinterpret_cast<uintptr_t>(a.grad) & 15u) == 0);
    switch (a.dtype) {
      case LogitType::F32: launch_rows<float>(vec, wide, grid, stream, p); break;
      case LogitType::BF16: launch_rows<__nv_bfloat16>(false, wide, grid, stream, p); break;
      case LogitType::F16: launch_rows<__half>(false, wide, grid, stream, p); break;
    }
    st = detail::check_launch();
    if (!st.ok) return st;
  }
  ce_finish<<<1, kPrepThreads, 0, stream>>>(p, a.reduction == Reduction::None ? nullptr : a.loss);
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
