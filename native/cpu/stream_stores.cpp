#include "stream_stores.h"

#include <cstdint>
#include <cstdlib>

namespace bg {
namespace cpu {

namespace {

// Below 1 MiB an output stays in L2 whatever the setting: streaming would only slow the
// op that reads it next.
constexpr size_t kFloor = size_t{1} << 20;

int64_t threshold_from_env() {
  const int64_t dflt = INT64_C(32) << 20;
  const char* e = std::getenv("BITGRAD_STREAM_MIN_MB");
  if (!e || !*e) return dflt;
  char* end = nullptr;
  const long long v = std::strtoll(e, &end, 10);
  if (end == e || *end != '\0') return dflt;
  if (v < 0) return -1;
  return v > (INT64_C(1) << 40) ? INT64_MAX : static_cast<int64_t>(v) << 20;
}

}  // namespace

bool stream_output(size_t bytes) {
  static const int64_t threshold = threshold_from_env();
  return threshold >= 0 && bytes >= kFloor && static_cast<uint64_t>(bytes) >= static_cast<uint64_t>(threshold);
}

}  // namespace cpu
}  // namespace bg
