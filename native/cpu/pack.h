// CPU bit packing: chunking over cores, ISA dispatch, first-NaN search.
// The entry takes a float pointer and strides (native/ops/pack_args.h), so fused ops
// (binarize + pack) can reuse it on any tensor layout.
#pragma once
#include <cstdint>
#include "../ops/pack_args.h"

namespace bg {
namespace cpu {

struct PackCheck {
  bool ok = true;
  int64_t index = -1;  // offset (in floats, from a.x) of the NaN with the lowest offset
};

// Packs a.outer * a.inner rows. Every output word is written (padding bits zero).
// Returns ok = false with the lowest-offset NaN when the input holds one (the output
// is then unspecified).
PackCheck pack(const PackArgs& a);

void unpack(const UnpackArgs& a);

}  // namespace cpu
}  // namespace bg
