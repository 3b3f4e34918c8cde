#include "broadcast.h"

namespace bg {
namespace cpu {

const float* broadcast_block(const Broadcast& b, int64_t start, int64_t len, std::vector<float>& buf) {
  if (!b.data) return nullptr;
  const int64_t div = b.div > 0 ? b.div : 1;
  const int64_t mod = b.mod > 0 ? b.mod : 1;
  if (div == 1) {
    const int64_t off = start % mod;
    if (off + len <= mod) return b.data + off;  // no wrap inside the block
  }
  if (buf.size() < static_cast<size_t>(len)) buf.resize(static_cast<size_t>(len));
  float* out = buf.data();
  if (div == 1) {
    // A vector repeated along the block: copy it in wrapped segments.
    int64_t idx = start % mod;
    for (int64_t j = 0; j < len;) {
      const int64_t seg = mod - idx < len - j ? mod - idx : len - j;
      for (int64_t t = 0; t < seg; ++t) out[j + t] = b.data[idx + t];
      j += seg;
      idx = 0;
    }
    return out;
  }
  // Runs of div equal values, the run index wrapping at mod.
  int64_t rem = start % div;          // position inside the current run
  int64_t idx = (start / div) % mod;  // data index of the current run
  for (int64_t j = 0; j < len;) {
    const int64_t run = div - rem < len - j ? div - rem : len - j;
    const float v = b.data[idx];
    for (int64_t t = 0; t < run; ++t) out[j + t] = v;
    j += run;
    rem = 0;
    if (++idx == mod) idx = 0;
  }
  return out;
}

}  // namespace cpu
}  // namespace bg
