// Research losses on the CPU (lib/losses/research.ts): scalar double-precision C++,
// split over the thread pool by rows / fixed-size chunks (deterministic).
#pragma once
#include <cstdint>

#include "../ops/research_args.h"

namespace bg {
namespace cpu {

struct ResearchCheckResult {
  bool ok = true;
  int64_t index = -1;  // first offending element
  double value = 0.0;
};

ResearchCheckResult research_loss(const ResearchArgs& a);

}  // namespace cpu
}  // namespace bg
