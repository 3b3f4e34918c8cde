// CPU straight-through estimators: fixed-size blocks over the cores, the active ISA's
// loop, and a deterministic per-channel reduction of parameter gradients.
#pragma once
#include "../ops/estimator_args.h"

namespace bg {
namespace cpu {

void estimator(const EstimatorArgs& a);

}  // namespace cpu
}  // namespace bg
