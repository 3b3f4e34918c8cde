// Op entry points exported by addon.cpp.
#pragma once
#include <napi.h>

namespace bg {
namespace glue {

// (spec, async) -> undefined | Promise<void>; see lib/losses/bce-with-logits.ts.
Napi::Value BceWithLogits(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/binarize/pack.ts.
Napi::Value PackBits(const Napi::CallbackInfo& info);
// (spec) -> undefined; see lib/binarize/pack.ts.
Napi::Value UnpackBits(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/binarize/estimators.ts.
Napi::Value Estimator(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/binarize/scaling.ts.
Napi::Value ScaleRows(const Napi::CallbackInfo& info);
Napi::Value XnorK(const Napi::CallbackInfo& info);
Napi::Value XnorPP(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/losses/elementwise.ts.
Napi::Value LossEw(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/losses/cross-entropy.ts.
Napi::Value ClassLoss(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/losses/rowwise.ts.
Napi::Value RowLoss(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; () -> kernel name; see lib/xnor/index.ts.
Napi::Value XnorConv(const Napi::CallbackInfo& info);
Napi::Value XnorKernelName(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/xnor/index.ts (linearBackward).
Napi::Value XnorLinearBackward(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/xnor/conv-train.ts.
Napi::Value XnorConvBackward(const Napi::CallbackInfo& info);
// (spec, async) -> undefined | Promise<void>; see lib/losses/research.ts.
Napi::Value ResearchLoss(const Napi::CallbackInfo& info);

}  // namespace glue
}  // namespace bg
