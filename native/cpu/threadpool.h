// A small process-wide pool for splitting one op over the cores. Work is cut into
// fixed-size chunks independent of the thread count, so reductions combine in a
// fixed order and results are bit-identical however many threads run.
#pragma once
#include <cstddef>
#include <functional>

namespace bg {
namespace cpu {

// Number of threads ops may use (BITGRAD_NUM_THREADS, else hardware concurrency).
int num_threads();
void set_num_threads(int n);

// Calls fn(chunk) for chunk in [0, chunks), spread over the pool; returns when all
// are done. Safe to call from several threads at once (a busy pool runs the caller's
// chunks inline), never from inside fn.
void parallel_for(size_t chunks, const std::function<void(size_t)>& fn);

}  // namespace cpu
}  // namespace bg
