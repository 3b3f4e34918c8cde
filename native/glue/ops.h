// Op entry points exported by addon.cpp.
#pragma once
#include <napi.h>

namespace bg {
namespace glue {

// (spec, async) -> undefined | Promise<void>; see lib/losses/bce-with-logits.ts.
Napi::Value BceWithLogits(const Napi::CallbackInfo& info);

}  // namespace glue
}  // namespace bg
