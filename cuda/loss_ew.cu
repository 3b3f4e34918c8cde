// Elementwise losses on the device: one grid-stride kernel template, instantiated per
// loss from the same functors as the CPU (math/loss_ew.h with V = float): loss, dL/dx,
// dL/dy (klDiv), the range check and, for mean/sum, per-block loss partials in double
// that one block then adds in a fixed order (deterministic: the grid of a reduction
// depends only on n, no atomics in the summation).
#include <cuda_runtime.h>

#include <cub/block/block_reduce.cuh>

#include <cstdint>
#include <string>

// scalar.h first: for V = float the functors' unqualified vexp/vlog/... calls are not
// found by ADL, so the float overloads must be declared before the templates.
#include "../native/math/scalar.h"
#include "../native/math/loss_ew.h"
#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kItemsPerThread = 4;
constexpr int64_t kMaxReduceBlocks = 1024;

struct KParams {
  LossParams prm;
  const float* x;
  const float* y;
  const float* w;  // weight or null
  int64_t wdiv;
  int64_t wmod;
  int wcontig;      // weight read as w[i]
  const float* go;  // per-element upstream gradient (None) or null
  float scale;      // multiplies every gradient
  float* loss;      // per-element loss (None) or null
  float* grad;      // or null
  float* grad_t;    // or null
  double* partials; // one per block (reductions) or null
  int32_t* bad;     // range-check flag or null
  int check;
  int64_t n;
};

__device__ __forceinline__ bool out01(float v) { return !(v >= 0.0f && v <= 1.0f); }

template <template <class> class Op, bool kReduce>
__global__ void __launch_bounds__(kThreads) loss_main(const KParams p) {
  using F = Op<float>;
  const F f(p.prm);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  double acc = 0.0;
  bool bad = false;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; i < p.n; i += stride) {
    const float x = __ldg(p.x + i);
    const float y = __ldg(p.y + i);
    if (p.check == kLossCheckInput01)
      bad |= out01(x);
    else if (p.check == kLossCheckTarget01)
      bad |= out01(y);
    float l, dx, dy;
    f.apply(x, y, l, dx, dy);
    if (p.w != nullptr) {
      const float w = __ldg(p.w + (p.wcontig ? i : (i / p.wdiv) % p.wmod));
      l *= w;
      dx *= w;
      dy *= w;
    }
    const float g = (!kReduce && p.go != nullptr) ? __ldg(p.go + i) * p.scale : p.scale;
    if (p.grad != nullptr) p.grad[i] = dx * g;
    if (F::kTargetGrad && p.grad_t != nullptr) p.grad_t[i] = dy * g;
    if (kReduce)
      acc += static_cast<double>(l);
    else if (p.loss != nullptr)
      p.loss[i] = l;
  }
  // Any offending thread stores 1: a benign race, every writer writes the same value.
  if (bad) *p.bad = 1;
  if (kReduce && p.partials != nullptr) {  // uniform across the block
    using BlockReduce = cub::BlockReduce<double, kThreads>;
    __shared__ typename BlockReduce::TempStorage tmp;
    const double s = BlockReduce(tmp).Sum(acc);
    if (threadIdx.x == 0) p.partials[blockIdx.x] = s;
  }
}

// One block: adds the partials in a fixed order, writes loss[0] (divided for mean).
__global__ void __launch_bounds__(kThreads)
    loss_finish(const double* partials, int nparts, double divisor, bool mean, float* loss) {
  double s = 0.0;
  for (int i = threadIdx.x; i < nparts; i += kThreads) s += partials[i];
  using BlockReduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename BlockReduce::TempStorage tmp;
  const double total = BlockReduce(tmp).Sum(s);
  if (threadIdx.x == 0) *loss = mean ? static_cast<float>(total / divisor) : static_cast<float>(total);
}

// n == 0 with a reduction: sum 0, mean 0 / divisor (NaN when the divisor is 0, as PyTorch).
__global__ void loss_empty(bool mean, double divisor, float* loss) {
  *loss = mean ? static_cast<float>(0.0 / divisor) : 0.0f;
}

int64_t reduce_blocks(int64_t n) {
  if (n <= 0) return 0;
  const int64_t per_block = static_cast<int64_t>(kThreads) * kItemsPerThread;
  const int64_t b = (n + per_block - 1) / per_block;
  return b < kMaxReduceBlocks ? b : kMaxReduceBlocks;
}

int64_t elementwise_blocks(int device, int64_t n) {
  if (n <= 0) return 0;
  const int64_t per_block = static_cast<int64_t>(kThreads) * kItemsPerThread;
  const int64_t b = (n + per_block - 1) / per_block;
  int64_t cap = static_cast<int64_t>(detail::sm_count(device)) * 8;
  if (cap <= 0) cap = kMaxReduceBlocks;
  return b < cap ? b : cap;
}

using Launch = void (*)(bool reduce, unsigned grid, cudaStream_t stream, const KParams& p);

template <template <class> class Op>
void launch_one(bool reduce, unsigned grid, cudaStream_t stream, const KParams& p) {
  if (reduce)
    loss_main<Op, true><<<grid, kThreads, 0, stream>>>(p);
  else
    loss_main<Op, false><<<grid, kThreads, 0, stream>>>(p);
}

#define BG_LOSS_LAUNCH(Op) &launch_one<Op>,
const Launch kLaunch[kLossCount] = {BG_FOR_EACH_LOSS(BG_LOSS_LAUNCH)};
#undef BG_LOSS_LAUNCH

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "loss_ew (CUDA): " + what;
  return s;
}

}  // namespace

size_t loss_ew_scratch_bytes(int64_t n) { return static_cast<size_t>(reduce_blocks(n)) * sizeof(double); }

Status loss_ew(int device, const LossEwArgs& a, void* scratch, int32_t* bad_flag_device) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  const int kind = static_cast<int>(a.kind);
  if (kind < 0 || kind >= kLossCount) return bad_args("unknown loss");
  const int64_t n = a.n;
  const bool reduce = a.reduction != Reduction::None;
  const bool mean = a.reduction == Reduction::Mean;
  if (n < 0) return bad_args("negative element count");
  if (a.check != kLossCheckNone && n > 0 && bad_flag_device == nullptr) return bad_args("range check needs a device flag");
  if (n > 0 && (a.x == nullptr || a.y == nullptr)) return bad_args("null input or target");

  (void)cudaGetLastError();  // so check_launch reports only what happens below

  if (n == 0) {
    if (reduce && a.loss != nullptr) {
      loss_empty<<<1, 1, 0, stream>>>(mean, a.divisor, a.loss);
      return detail::check_launch();
    }
    return Status::Ok();
  }
  const int64_t nparts = reduce_blocks(n);
  const bool partials = reduce && a.loss != nullptr;
  if (partials && scratch == nullptr) return bad_args("null scratch for a reduction");

  KParams p;
  p.prm = a.params;
  p.x = a.x;
  p.y = a.y;
  p.w = a.weight.data;
  p.wdiv = a.weight.div < 1 ? 1 : a.weight.div;
  p.wmod = a.weight.mod < 1 ? 1 : a.weight.mod;
  p.wcontig = (p.wdiv == 1 && p.wmod >= n) ? 1 : 0;
  p.go = reduce ? nullptr : a.grad_out;
  if (a.reduction == Reduction::Mean)
    p.scale = static_cast<float>(static_cast<double>(a.grad_scale) / a.divisor);
  else if (a.reduction == Reduction::Sum)
    p.scale = a.grad_scale;
  else
    p.scale = 1.0f;
  p.loss = reduce ? nullptr : a.loss;
  p.grad = a.grad;
  p.grad_t = a.grad_target;
  p.partials = partials ? static_cast<double*>(scratch) : nullptr;
  p.bad = a.check != kLossCheckNone ? bad_flag_device : nullptr;
  p.check = p.bad != nullptr ? a.check : kLossCheckNone;
  p.n = n;

  const int64_t grid = reduce ? nparts : elementwise_blocks(device, n);
  kLaunch[kind](reduce, static_cast<unsigned>(grid), stream, p);
  st = detail::check_launch();
  if (!st.ok || !partials) return st;
  loss_finish<<<1, kThreads, 0, stream>>>(p.partials, static_cast<int>(nparts), a.divisor, mean, a.loss);
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
