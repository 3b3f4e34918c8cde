// CPU driver of the elementwise losses: fixed blocks of kBlock elements (independent of
// the thread count, so the loss sum is combined in the same order whatever runs it), a
// broadcast weight expanded per block into thread-local scratch, the active ISA's block
// function from loss_table_*, and per-block double sums added in block order.
#include "loss_ew.h"

#include <vector>

#include "loss_kernels.h"
#include "broadcast.h"
#include "simd.h"
#include "threadpool.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kBlock = 16384;
constexpr int64_t kParallelMin = 65536;

const LossTable& table() {
  switch (isa_info().active) {
#if defined(__x86_64__)
    case Isa::Avx512: return loss_table_avx512;
    case Isa::Avx2: return loss_table_avx2;
#endif
    default: return loss_table_scalar;
  }
}

std::vector<float>& weight_scratch() {
  thread_local std::vector<float> s;  // heap-backed
  return s;
}

bool in01(float v) { return v >= 0.0f && v <= 1.0f; }

}  // namespace

LossCheckResult loss_ew(const LossEwArgs& a) {
  LossCheckResult result;
  const int kind = static_cast<int>(a.kind);
  if (kind < 0 || kind >= kLossCount) return result;
  const int64_t n = a.n > 0 ? a.n : 0;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const LossBlockFn fn = table().fn[kind];
  const bool none = a.reduction == Reduction::None;

  float grad_scale = 1.0f;
  if (a.reduction == Reduction::Mean)
    grad_scale = static_cast<float>(static_cast<double>(a.grad_scale) / a.divisor);
  else if (a.reduction == Reduction::Sum)
    grad_scale = a.grad_scale;
  const float* go = none ? a.grad_out : nullptr;

  std::vector<double> sums(static_cast<size_t>(blocks), 0.0);
  std::vector<char> bad(static_cast<size_t>(blocks), 0);

  auto run_block = [&](size_t k) {
    const int64_t start = static_cast<int64_t>(k) * kBlock;
    const int64_t len = n - start < kBlock ? n - start : kBlock;
    LossBlock b;
    b.x = a.x + start;
    b.y = a.y + start;
    b.w = broadcast_block(a.weight, start, len, weight_scratch());
    b.go = go ? go + start : nullptr;
    b.loss_none = none ? a.loss + start : nullptr;
    b.grad = a.grad ? a.grad + start : nullptr;
    b.grad_t = a.grad_target ? a.grad_target + start : nullptr;
    b.n = static_cast<size_t>(len);
    b.grad_scale = grad_scale;
    bool block_bad = false;
    sums[k] = fn(a.params, b, a.check, &block_bad);
    if (block_bad) bad[k] = 1;
  };

  if (n >= kParallelMin && blocks > 1) {
    parallel_for(static_cast<size_t>(blocks), run_block);
  } else {
    for (int64_t k = 0; k < blocks; ++k) run_block(static_cast<size_t>(k));
  }

  if (a.check != kLossCheckNone) {
    const float* v = a.check == kLossCheckInput01 ? a.x : a.y;
    for (int64_t k = 0; k < blocks; ++k) {
      if (!bad[static_cast<size_t>(k)]) continue;
      const int64_t start = k * kBlock;
      const int64_t end = n - start < kBlock ? n : start + kBlock;
      for (int64_t i = start; i < end; ++i) {
        if (!in01(v[i])) {
          result.ok = false;
          result.index = i;
          result.value = v[i];
          return result;
        }
      }
    }
  }

  if (!none) {
    double total = 0.0;
    for (int64_t k = 0; k < blocks; ++k) total += sums[static_cast<size_t>(k)];
    if (a.reduction == Reduction::Mean)
      a.loss[0] = static_cast<float>(total / a.divisor);  // 0 / 0: NaN, like PyTorch
    else
      a.loss[0] = static_cast<float>(total);
  }
  return result;
}

}  // namespace cpu
}  // namespace bg
