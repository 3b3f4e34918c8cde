// CPU elementwise losses: broadcast expansion, chunking over cores, ISA dispatch,
// deterministic reduction.
#pragma once
#include <cstdint>

#include "../ops/loss_ew_args.h"

namespace bg {
namespace cpu {

struct LossCheckResult {
  bool ok = true;
  int64_t index = -1;  // first offending element
  float value = 0.0f;
};

LossCheckResult loss_ew(const LossEwArgs& a);

}  // namespace cpu
}  // namespace bg
