// Run-time choice of the CPU instruction set. BITGRAD_SIMD=scalar|avx2|avx512 forces
// a path (for tests and benchmarks); a forced path the CPU lacks falls back to the best
// one it has, and the reason is kept for the backend report.
#pragma once
#include <string>

namespace bg {
namespace cpu {

enum class Isa { Scalar = 0, Avx2 = 1, Avx512 = 2 };

struct IsaInfo {
  Isa active;
  Isa best_supported;
  std::string reason;  // why `active` was chosen
};

const IsaInfo& isa_info();
const char* isa_name(Isa isa);
// Test hook: re-read BITGRAD_SIMD (tests switch paths inside one process).
void set_isa_override(const std::string& name);

}  // namespace cpu
}  // namespace bg
