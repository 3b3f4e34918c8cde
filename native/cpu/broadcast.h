// Reading a broadcast operand (element i reads data[(i / div) % mod]) one block at a time,
// for the CPU drivers whose per-ISA block kernels take contiguous operands.
#pragma once
#include <cstdint>
#include <vector>

#include "../ops/bce_logits_args.h"

namespace bg {
namespace cpu {

// Elements [start, start + len) of `b`, contiguous: straight into its data when the block
// does not wrap, else expanded into `buf` (grown to len). Null when the operand is absent.
const float* broadcast_block(const Broadcast& b, int64_t start, int64_t len, std::vector<float>& buf);

}  // namespace cpu
}  // namespace bg
