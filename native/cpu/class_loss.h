// CPU crossEntropy / nllLoss / multiMarginLoss (float32): target check, the mean's
// denominator, rows cut into fixed chunks over the thread pool, deterministic sums.
#pragma once
#include "../ops/class_loss_args.h"

namespace bg {
namespace cpu {

ClassTargetCheck class_loss(const ClassLossArgs& a);

}  // namespace cpu
}  // namespace bg
