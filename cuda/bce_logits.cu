// bceWithLogits on the device: one grid-stride elementwise kernel (loss, gradient,
// target check) and, for mean/sum, a deterministic two-pass reduction of the loss
// (per-block partials in double, then one block adds them in a fixed order).
// The per-element math is bg::bce_logits_elem<float>, shared with the CPU backend.
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstdint>
#include <string>

// scalar.h first: for V = float, bce_logits_elem's unqualified vexp/vabs/... calls
// are not found by ADL, so the float overloads must be declared before the template.
#include "../native/math/scalar.h"
#include "../native/math/bce_logits.h"
#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kItemsPerThread = 4;  // elements per thread before the grid is capped
constexpr int64_t kMaxReduceBlocks = 1024;

// How a broadcast operand is read (chosen on the host, uniform across the grid).
enum BcMode : int {
  kUniform = 0,  // absent (1.0f) or a single value: loaded once per thread
  kContig = 1,   // data[i]
  kInner = 2,    // data[i % mod]            (div == 1)
  kGeneral = 3,  // data[(i / div) % mod]
};

struct BcDev {
  const float* data;
  int64_t div;
  int64_t mod;
  int mode;
};

struct Params {
  const float* x;
  const float* y;
  BcDev w;
  BcDev p;
  const float* go;  // per-element upstream gradient (reduction None), or null
  float scale;      // multiplies every gradient
  float* loss;      // per-element loss (None), or null
  float* grad;      // or null
  double* partials; // one per block (Mean/Sum), or null
  int32_t* bad;     // target check flag, or null (no check)
  int64_t n;
};

__device__ __forceinline__ float bc_uniform(const BcDev& b) {
  return (b.mode == kUniform && b.data != nullptr) ? __ldg(b.data) : 1.0f;
}

__device__ __forceinline__ float bc_at(const BcDev& b, float u, int64_t i) {
  switch (b.mode) {
    case kContig:
      return __ldg(b.data + i);
    case kInner:
      return __ldg(b.data + i % b.mod);
    case kGeneral:
      return __ldg(b.data + (i / b.div) % b.mod);
    default:
      return u;
  }
}

// Four consecutive elements starting at i0 (a multiple of 4). kContig data is 16-byte
// aligned whenever the vector path is taken (checked on the host).
__device__ __forceinline__ float4 bc_at4(const BcDev& b, float u, int64_t i0) {
  if (b.mode == kUniform) return make_float4(u, u, u, u);
  if (b.mode == kContig) return __ldg(reinterpret_cast<const float4*>(b.data + i0));
  return make_float4(bc_at(b, u, i0), bc_at(b, u, i0 + 1), bc_at(b, u, i0 + 2),
                     bc_at(b, u, i0 + 3));
}

__device__ __forceinline__ bool bad_target(float y) { return !(y >= 0.0f && y <= 1.0f); }

// One element: loss into *l, gradient (dloss * go * scale) into *g.
__device__ __forceinline__ void elem(float x, float y, float w, float p, float go, float scale,
                                     float* l, float* g) {
  float loss, dloss;
  bg::bce_logits_elem<float>(x, y, w, p, loss, dloss);
  *l = loss;
  *g = dloss * go * scale;
}

// kReduce: Mean/Sum (per-block loss partials); otherwise None (per-element loss).
// kVec: float4 path over groups of 4 (every contiguous operand 16-byte aligned).
template <bool kReduce, bool kVec>
__global__ void __launch_bounds__(kThreads) bce_main(const Params a) {
  const float wu = bc_uniform(a.w);
  const float pu = bc_uniform(a.p);
  const int64_t n = a.n;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const bool check = a.bad != nullptr;
  const bool want_grad = a.grad != nullptr;
  const bool want_loss = a.loss != nullptr;  // None only; reductions use partials

  double acc = 0.0;
  bool bad = false;
  int64_t first_scalar = 0;  // where the scalar loop starts

  if (kVec) {
    const int64_t n4 = n / 4;
    for (int64_t g = tid; g < n4; g += stride) {
      const int64_t i0 = g * 4;
      const float4 xv = __ldg(reinterpret_cast<const float4*>(a.x + i0));
      const float4 yv = __ldg(reinterpret_cast<const float4*>(a.y + i0));
      const float4 wv = bc_at4(a.w, wu, i0);
      const float4 pv = bc_at4(a.p, pu, i0);
      float4 gov = make_float4(1.0f, 1.0f, 1.0f, 1.0f);
      if (!kReduce && a.go != nullptr) gov = __ldg(reinterpret_cast<const float4*>(a.go + i0));
      float4 lv, dv;
      elem(xv.x, yv.x, wv.x, pv.x, gov.x, a.scale, &lv.x, &dv.x);
      elem(xv.y, yv.y, wv.y, pv.y, gov.y, a.scale, &lv.y, &dv.y);
      elem(xv.z, yv.z, wv.z, pv.z, gov.z, a.scale, &lv.z, &dv.z);
      elem(xv.w, yv.w, wv.w, pv.w, gov.w, a.scale, &lv.w, &dv.w);
      if (check) {
        bad |= bad_target(yv.x) | bad_target(yv.y) | bad_target(yv.z) | bad_target(yv.w);
      }
      if (kReduce) {
        acc += static_cast<double>((lv.x + lv.y) + (lv.z + lv.w));
      } else if (want_loss) {
        *reinterpret_cast<float4*>(a.loss + i0) = lv;
      }
      if (want_grad) *reinterpret_cast<float4*>(a.grad + i0) = dv;
    }
    first_scalar = n4 * 4;  // the tail (< 4 elements)
  }

  for (int64_t i = first_scalar + tid; i < n; i += stride) {
    const float x = __ldg(a.x + i);
    const float y = __ldg(a.y + i);
    const float w = bc_at(a.w, wu, i);
    const float p = bc_at(a.p, pu, i);
    const float go = (!kReduce && a.go != nullptr) ? __ldg(a.go + i) : 1.0f;
    float l, d;
    elem(x, y, w, p, go, a.scale, &l, &d);
    if (check) bad |= bad_target(y);
    if (kReduce) {
      acc += static_cast<double>(l);
    } else if (want_loss) {
      a.loss[i] = l;
    }
    if (want_grad) a.grad[i] = d;
  }

  // Any offending thread stores 1: a benign race, every writer writes the same value.
  if (bad) *a.bad = 1;

  if (kReduce && a.partials != nullptr) {  // uniform across the block
    using BlockReduce = cub::BlockReduce<double, kThreads>;
    __shared__ typename BlockReduce::TempStorage tmp;
    const double s = BlockReduce(tmp).Sum(acc);
    if (threadIdx.x == 0) a.partials[blockIdx.x] = s;
  }
}

// One block: adds the partials in a fixed order (deterministic), writes loss[0].
__global__ void __launch_bounds__(kThreads)
    bce_finish(const double* partials, int nparts, int64_t n, bool mean, float* loss) {
  double s = 0.0;
  for (int i = threadIdx.x; i < nparts; i += kThreads) s += partials[i];
  using BlockReduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const double total = BlockReduce(tmp).Sum(s);
  if (threadIdx.x == 0) {
    *loss = mean ? static_cast<float>(total / static_cast<double>(n)) : static_cast<float>(total);
  }
}

// n == 0 with a reduction: mean of nothing is NaN (PyTorch), sum of nothing is 0.
__global__ void bce_empty(bool mean, float* loss) {
  *loss = mean ? __int_as_float(0x7fc00000) : 0.0f;
}

// Blocks for a reduction: depends only on n, so the summation order (and the result)
// is the same on every GPU.
int64_t reduce_blocks(int64_t n) {
  if (n <= 0) return 0;
  const int64_t per_block = static_cast<int64_t>(kThreads) * kItemsPerThread;
  const int64_t b = (n + per_block - 1) / per_block;
  return b < kMaxReduceBlocks ? b : kMaxReduceBlocks;
}

// Blocks for reduction None (no summation, so it may depend on the device).
int64_t elementwise_blocks(int device, int64_t n) {
  if (n <= 0) return 0;
  const int64_t per_block = static_cast<int64_t>(kThreads) * kItemsPerThread;
  const int64_t b = (n + per_block - 1) / per_block;
  int64_t cap = static_cast<int64_t>(detail::sm_count(device)) * 8;
  if (cap <= 0) cap = kMaxReduceBlocks;
  return b < cap ? b : cap;
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

BcDev make_bc(const Broadcast& b, int64_t n) {
  BcDev d;
  d.data = b.data;
  d.div = b.div < 1 ? 1 : b.div;
  d.mod = b.mod < 1 ? 1 : b.mod;
  if (b.data == nullptr || d.mod == 1 || d.div >= n) {
    d.mode = kUniform;  // absent, or (i / div) % mod == 0 for every i < n
  } else if (d.div == 1 && d.mod >= n) {
    d.mode = kContig;
  } else if (d.div == 1) {
    d.mode = kInner;
  } else {
    d.mode = kGeneral;
  }
  return d;
}

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "bce_logits (CUDA): " + what;
  return s;
}

template <bool kReduce>
void launch_main(bool vec, int64_t blocks, cudaStream_t stream, const Params& p) {
  const unsigned grid = static_cast<unsigned>(blocks);
  if (vec) {
    bce_main<kReduce, true><<<grid, kThreads, 0, stream>>>(p);
  } else {
    bce_main<kReduce, false><<<grid, kThreads, 0, stream>>>(p);
  }
}

}  // namespace

size_t bce_logits_scratch_bytes(int64_t n) {
  return static_cast<size_t>(reduce_blocks(n)) * sizeof(double);
}

Status bce_logits(int device, const BceLogitsArgs& a, void* scratch, int32_t* bad_flag_device) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;

  const int64_t n = a.n;
  const bool reduce = a.reduction != Reduction::None;
  const bool mean = a.reduction == Reduction::Mean;
  if (n < 0) return bad_args("negative element count");
  if (a.check_targets && n > 0 && bad_flag_device == nullptr) {
    return bad_args("check_targets needs a device flag");
  }
  if (n > 0 && (a.x == nullptr || a.y == nullptr)) return bad_args("null logits or targets");

  (void)cudaGetLastError();  // so check_launch reports only what happens below

  if (n == 0) {
    if (reduce && a.loss != nullptr) {
      bce_empty<<<1, 1, 0, stream>>>(mean, a.loss);
      return detail::check_launch();
    }
    return Status::Ok();
  }

  const int64_t nparts = reduce_blocks(n);
  const bool partials = reduce && a.loss != nullptr;
  if (partials) {
    if (scratch == nullptr) return bad_args("null scratch for a reduction");
    if ((reinterpret_cast<uintptr_t>(scratch) & (alignof(double) - 1)) != 0) {
      return bad_args("scratch is not 8-byte aligned");
    }
  }

  Params p;
  p.x = a.x;
  p.y = a.y;
  p.w = make_bc(a.weight, n);
  p.p = make_bc(a.pos_weight, n);
  p.go = reduce ? nullptr : a.grad_out;
  if (a.reduction == Reduction::Mean) {
    p.scale = static_cast<float>(static_cast<double>(a.grad_scale) / static_cast<double>(n));
  } else if (a.reduction == Reduction::Sum) {
    p.scale = a.grad_scale;
  } else {
    p.scale = 1.0f;
  }
  p.loss = reduce ? nullptr : a.loss;
  p.grad = a.grad;
  p.partials = partials ? static_cast<double*>(scratch) : nullptr;
  p.bad = a.check_targets ? bad_flag_device : nullptr;
  p.n = n;

  // float4 path: every operand read or written contiguously must be 16-byte aligned.
  bool vec = aligned16(p.x) && aligned16(p.y);
  if (p.w.mode == kContig) vec = vec && aligned16(p.w.data);
  if (p.p.mode == kContig) vec = vec && aligned16(p.p.data);
  if (p.go) vec = vec && aligned16(p.go);
  if (p.loss) vec = vec && aligned16(p.loss);
  if (p.grad) vec = vec && aligned16(p.grad);

  if (reduce) {
    launch_main<true>(vec, nparts, stream, p);
    st = detail::check_launch();
    if (!st.ok) return st;
    if (partials) {
      bce_finish<<<1, kThreads, 0, stream>>>(p.partials, static_cast<int>(nparts), n, mean,
                                             a.loss);
      st = detail::check_launch();
    }
    return st;
  }
  launch_main<false>(vec, elementwise_blocks(device, n), stream, p);
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
