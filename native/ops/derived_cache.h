// A slot in which a kernel keeps a form derived from a buffer's contents (the XNOR
// conv's repacked weights), tagged by the version of the contents it came from. The
// glue bumps a buffer's version whenever native code may write to it, so a stale form
// is never used.
#pragma once
#include <memory>
#include <mutex>

namespace bg {

struct DerivedCache {
  std::mutex mu;                 // guards value
  std::shared_ptr<void> value;   // the kernel's own type; it checks the version itself
};

}  // namespace bg
