// The inner-loop function of the active instruction set (see simd.h for how it is
// chosen). Cheap to call per op: one atomic load.
#pragma once
#include "kernels.h"

namespace bg {
namespace cpu {

BceBlockFn bce_block_fn();

}  // namespace cpu
}  // namespace bg
