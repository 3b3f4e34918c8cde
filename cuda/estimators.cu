// Straight-through estimators on the device: one grid-stride elementwise kernel
// template, instantiated per estimator and direction from the same functors as the CPU
// (math/estimators.h with V = float), and a deterministic per-channel reduction of the
// parameter gradient (one block per channel, a fixed element-to-thread assignment and a
// fixed-shape block reduction, so the sum is bit-identical run to run).
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstdint>
#include <string>

// scalar.h first: for V = float the functors' unqualified vexp/vsin/... calls are not
// found by ADL, so the float overloads must be declared before the templates.
#include "../native/math/scalar.h"
#include "../native/math/estimators.h"
#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kItemsPerThread = 4;

struct KParams {
  EstParams prm;
  const float* x;
  const float* g;
  const float* param;  // per-channel parameter or null
  int64_t div;
  int64_t mod;
  float* out;
  float* da;  // per-element parameter gradient (scratch) or null
  int64_t n;
};

template <template <class> class Op, bool kFwd>
__global__ void __launch_bounds__(kThreads) est_main(const KParams p) {
  using F = Op<float>;
  const F f(p.prm);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < p.n; i += stride) {
    const float x = __ldg(p.x + i);
    if constexpr (F::kParam) {
      const float a = __ldg(p.param + (i / p.div) % p.mod);
      if (kFwd) {
        float o;
        f.forward(x, a, o);
        p.out[i] = o;
      } else {
        float dx, da;
        f.backward(x, a, __ldg(p.g + i), dx, da);
        p.out[i] = dx;
        if (p.da != nullptr) p.da[i] = da;
      }
    } else {
      float o;
      if (kFwd)
        f.forward(x, o);
      else
        f.backward(x, __ldg(p.g + i), o);
      p.out[i] = o;
    }
  }
}

// dparam[c] = sum of da over the elements of channel c (runs r = c, c + mod, ... of div
// elements). Element t of a channel is element (c + (t / div) mod) div + t % div of da,
// increasing in t, so a thread stops at the first index past n.
__global__ void __launch_bounds__(kThreads)
    est_channel_sum(const float* da, int64_t n, int64_t div, int64_t mod, float* dparam) {
  using BlockReduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  for (int64_t c = blockIdx.x; c < mod; c += gridDim.x) {
    double acc = 0.0;
    for (int64_t t = threadIdx.x;; t += kThreads) {
      const int64_t i = (c + (t / div) * mod) * div + t % div;
      if (i >= n) break;
      acc += static_cast<double>(da[i]);
    }
    const double s = BlockReduce(tmp).Sum(acc);
    if (threadIdx.x == 0) dparam[c] = static_cast<float>(s);
    __syncthreads();  // tmp is reused by the next channel
  }
}

using Launch = void (*)(unsigned grid, cudaStream_t stream, const KParams& p);

template <template <class> class Op, bool kFwd>
void launch_one(unsigned grid, cudaStream_t stream, const KParams& p) {
  est_main<Op, kFwd><<<grid, kThreads, 0, stream>>>(p);
}

#define BG_EST_FWD(Op) &launch_one<Op, true>,
#define BG_EST_BWD(Op) &launch_one<Op, false>,
const Launch kFwdLaunch[kEstCount] = {BG_FOR_EACH_ESTIMATOR(BG_EST_FWD)};
const Launch kBwdLaunch[kEstCount] = {BG_FOR_EACH_ESTIMATOR(BG_EST_BWD)};
#undef BG_EST_FWD
#undef BG_EST_BWD

int64_t grid_for(int device, int64_t n) {
  const int64_t per_block = static_cast<int64_t>(kThreads) * kItemsPerThread;
  const int64_t b = (n + per_block - 1) / per_block;
  int64_t cap = static_cast<int64_t>(detail::sm_count(device)) * 8;
  if (cap <= 0) cap = 1024;
  return b < cap ? b : cap;
}

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "estimator (CUDA): " + what;
  return s;
}

bool wants_dparam(const EstimatorArgs& a) {
  return a.backward && est_has_param(a.kind) && a.dparam != nullptr;
}

}  // namespace

size_t estimator_scratch_bytes(const EstimatorArgs& a) {
  return wants_dparam(a) && a.n > 0 ? static_cast<size_t>(a.n) * sizeof(float) : 0;
}

Status estimator(int device, const EstimatorArgs& a, void* scratch) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  const int kind = static_cast<int>(a.kind);
  if (kind < 0 || kind >= kEstCount) return bad_args("unknown estimator");
  if (a.n < 0) return bad_args("negative element count");
  const bool has_param = est_has_param(a.kind);
  const bool dp = wants_dparam(a);
  if (a.n > 0 && (a.x == nullptr || a.out == nullptr)) return bad_args("null input or output");
  if (a.n > 0 && a.backward && a.g == nullptr) return bad_args("null upstream gradient");
  if (has_param && (a.param.data == nullptr || a.param.div < 1 || a.param.mod < 1)) return bad_args("bad parameter");
  if (dp && a.n > 0 && scratch == nullptr) return bad_args("null scratch for the parameter gradient");

  (void)cudaGetLastError();  // so check_launch reports only what happens below
  if (a.n == 0) {
    if (dp) {
      // Empty input: every channel's gradient is 0.
      st = memset_async(device, a.dparam, 0, static_cast<size_t>(a.param.mod) * sizeof(float));
    }
    return st;
  }
  KParams p;
  p.prm = a.params;
  p.x = a.x;
  p.g = a.g;
  p.param = has_param ? a.param.data : nullptr;
  p.div = has_param ? a.param.div : 1;
  p.mod = has_param ? a.param.mod : 1;
  p.out = a.out;
  p.da = dp ? static_cast<float*>(scratch) : nullptr;
  p.n = a.n;
  const unsigned grid = static_cast<unsigned>(grid_for(device, a.n));
  (a.backward ? kBwdLaunch : kFwdLaunch)[kind](grid, stream, p);
  st = detail::check_launch();
  if (!st.ok || !dp) return st;
  const int64_t mod = a.param.mod;
  const unsigned rgrid = static_cast<unsigned>(mod < 65535 ? mod : 65535);
  est_channel_sum<<<rgrid, kThreads, 0, stream>>>(p.da, a.n, a.param.div, mod, a.dparam);
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
