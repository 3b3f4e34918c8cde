// CPU bceWithLogits: broadcast expansion, chunking over cores, ISA dispatch,
// deterministic reduction.
#pragma once
#include <cstdint>
#include "../ops/bce_logits_args.h"

namespace bg {
namespace cpu {

struct TargetCheck {
  bool ok = true;
  int64_t index = -1;  // first offending element
  float value = 0.0f;
};

TargetCheck bce_logits(const BceLogitsArgs& a);

}  // namespace cpu
}  // namespace bg
