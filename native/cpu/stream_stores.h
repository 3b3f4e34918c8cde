// When elementwise kernels write their output with non-temporal (streaming) stores.
// A normal store first reads the destination line into cache (read for ownership), so
// an op that reads two arrays and writes one moves four arrays' bytes; a streaming store
// skips that read and does not evict the inputs, at the price of leaving the output out
// of cache. That pays only for outputs too large to be read back from cache by the next
// op, hence a size threshold.
#pragma once
#include <cstddef>

namespace bg {
namespace cpu {

// True for outputs of at least BITGRAD_STREAM_MIN_MB MiB (default 32, about the last-
// level cache of the machines we measure; read once; 0 streams every output of at least
// 1 MiB; a negative value never streams).
bool stream_output(size_t bytes);

}  // namespace cpu
}  // namespace bg
