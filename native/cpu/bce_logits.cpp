// CPU bceWithLogits: fixed blocks of kBlock elements (independent of the thread count,
// so the loss sum is combined in the same order whatever runs it), broadcast operands
// expanded per block into thread-local scratch, the active ISA's block function, and
// per-block double sums added in block order.
#include "bce_logits.h"

#include <vector>

#include "broadcast.h"
#include "dispatch.h"
#include "kernels.h"
#include "threadpool.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kBlock = 16384;
// Below this many elements the op runs on the calling thread only.
constexpr int64_t kParallelMin = 65536;

struct Scratch {
  std::vector<float> w;
  std::vector<float> p;
};

Scratch& scratch() {
  thread_local Scratch s;  // heap-backed: keeps the static TLS block of the addon small
  return s;
}

}  // namespace

TargetCheck bce_logits(const BceLogitsArgs& a) {
  TargetCheck result;
  const int64_t n = a.n > 0 ? a.n : 0;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const BceBlockFn fn = bce_block_fn();
  const bool none = a.reduction == Reduction::None;

  float grad_scale = 1.0f;
  if (a.reduction == Reduction::Mean)
    grad_scale = static_cast<float>(static_cast<double>(a.grad_scale) / static_cast<double>(n));
  else if (a.reduction == Reduction::Sum)
    grad_scale = a.grad_scale;
  const float* go = none ? a.grad_out : nullptr;

  std::vector<double> sums(static_cast<size_t>(blocks), 0.0);
  std::vector<char> bad(static_cast<size_t>(blocks), 0);

  auto run_block = [&](size_t k) {
    const int64_t start = static_cast<int64_t>(k) * kBlock;
    const int64_t len = n - start < kBlock ? n - start : kBlock;
    Scratch& s = scratch();
    BceBlock b;
    b.x = a.x + start;
    b.y = a.y + start;
    b.w = broadcast_block(a.weight, start, len, s.w);
    b.p = broadcast_block(a.pos_weight, start, len, s.p);
    b.go = go ? go + start : nullptr;
    b.loss_none = none ? a.loss + start : nullptr;
    b.grad = a.grad ? a.grad + start : nullptr;
    b.n = static_cast<size_t>(len);
    b.grad_scale = grad_scale;
    bool block_bad = false;
    sums[k] = fn(b, a.check_targets, &block_bad);
    if (block_bad) bad[k] = 1;
  };

  if (n >= kParallelMin && blocks > 1) {
    parallel_for(static_cast<size_t>(blocks), run_block);
  } else {
    for (int64_t k = 0; k < blocks; ++k) run_block(static_cast<size_t>(k));
  }

  if (a.check_targets) {
    for (int64_t k = 0; k < blocks; ++k) {
      if (!bad[static_cast<size_t>(k)]) continue;
      const int64_t start = k * kBlock;
      const int64_t end = n - start < kBlock ? n : start + kBlock;
      for (int64_t i = start; i < end; ++i) {
        const float y = a.y[i];
        if (!(y >= 0.0f && y <= 1.0f)) {
          result.ok = false;
          result.index = i;
          result.value = y;
          return result;
        }
      }
    }
  }

  if (!none) {
    double total = 0.0;
    for (int64_t k = 0; k < blocks; ++k) total += sums[static_cast<size_t>(k)];
    if (a.reduction == Reduction::Mean)
      a.loss[0] = static_cast<float>(total / static_cast<double>(n));  // n == 0: NaN, like PyTorch
    else
      a.loss[0] = static_cast<float>(total);
  }
  return result;
}

}  // namespace cpu
}  // namespace bg
