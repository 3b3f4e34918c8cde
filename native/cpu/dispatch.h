// The inner-loop function of the active instruction set (see simd.h for how it is
// chosen). Cheap to call per op: one atomic load.
#pragma once
#include "kernels.h"
#include "pack_kernels.h"

namespace bg {
namespace cpu {

BceBlockFn bce_block_fn();
// Bit-packing loops of the active instruction set (one table per ISA, never freed).
const PackKernels& pack_kernels();

}  // namespace cpu
}  // namespace bg
