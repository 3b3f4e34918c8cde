// Per-ISA inner loops of the straight-through estimators (plain interface; each ISA
// lives in its own translation unit, est_block_*.cpp, built with that ISA's flags).
#pragma once
#include <cstddef>

#include "../ops/estimator_args.h"

namespace bg {
namespace cpu {

// One contiguous block. a: the per-element parameter (expanded), or null with the
// value a1 for every element (a run of one channel: no expanded copy to write and read
// back). Forward: out = binarized x. Backward: out = dL/dx and, when da is not null,
// da = per-element dL/dparam; else, when dsum is not null, *dsum = the sum of dL/dparam
// over the block in double, element i into lane i % 16 and the lanes combined by
// lane_tree16 (lane_tree.h), the same bits for every ISA (a float is exact in double and
// the order of the additions is fixed).
struct EwBlock {
  const float* x;
  const float* a;
  const float* g;
  float* out;
  float* da;
  double* dsum;
  float a1;
  size_t n;
  // Store `out` with non-temporal (streaming) stores: set for outputs too large to stay
  // in cache (stream_stores.h); the values are the same either way.
  bool stream;
};

using EwFn = void (*)(const EstParams& p, const EwBlock& b);

// The only symbols the ISA translation units export.
struct EstTable {
  EwFn fwd[kEstCount];
  EwFn bwd[kEstCount];
};

extern const EstTable est_table_scalar;
extern const EstTable est_table_avx2;
extern const EstTable est_table_avx512;

}  // namespace cpu
}  // namespace bg
