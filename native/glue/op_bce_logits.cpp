// bceWithLogits: argument decoding, and the op's CPU work, CUDA enqueue and verdicts;
// op_runner runs it (CPU inline or on a worker, CUDA with completion).
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/bce_logits.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

BceLogitsArgs decode(Napi::Env env, Napi::Object spec, Operands& ops) {
  BceLogitsArgs a;
  a.n = spec_int(env, spec, "n", 0, INT64_C(1) << 53);
  const size_t nb = static_cast<size_t>(a.n) * 4;
  a.reduction = static_cast<Reduction>(spec_int(env, spec, "reduction", 0, 2));
  a.grad_scale = spec_float(env, spec, "gradScale", 1.0f);
  a.check_targets = spec_bool(spec, "checkTargets");
  a.x = static_cast<const float*>(ops.take("x", nb, false));
  a.y = static_cast<const float*>(ops.take("y", nb, false));
  a.loss = static_cast<float*>(ops.take("loss", a.reduction == Reduction::None ? nb : 4, false));
  a.grad = static_cast<float*>(ops.take("grad", nb, true));
  if (a.reduction == Reduction::None) a.grad_out = static_cast<const float*>(ops.take("gradOut", nb, true));
  a.weight = ops.broadcast("weight", "weightDiv", "weightMod");
  a.pos_weight = ops.broadcast("posWeight", "posWeightDiv", "posWeightMod");
  return a;
}

const char* kTargetText = "targets must lie in [0, 1] and not be NaN";

Napi::Value cpu_verdict(Napi::Env env, const cpu::TargetCheck& c) {
  if (c.ok) return env.Undefined();
  const double index = static_cast<double>(c.index);
  const double value = c.value;
  return make_error(env, ErrorKind::Validation, "BITGRAD_TARGET_OUT_OF_RANGE",
                    std::string(kTargetText) + "; element " + std::to_string(c.index) + " is " + std::to_string(c.value) +
                        " (pass checkTargets: false to skip this check)",
                    [&](Napi::Object o) {
                      o.Set("index", index);
                      o.Set("value", value);
                    })
      .Value();
}

}  // namespace

Napi::Value BceWithLogits(const Napi::CallbackInfo& info) {
  OpCall call(info, "bceWithLogits");
  const BceLogitsArgs a = decode(call.env, call.spec, call.ops);
  const int device = call.ops.device();

  if (device == kCpu)
    return run_cpu<cpu::TargetCheck>(call.env, call.async, a.n, "bitgrad.bceWithLogits", call.ops, [a] { return cpu::bce_logits(a); },
                                     cpu_verdict);

  // CUDA: sync mode does not wait, so it cannot report bad targets (documented).
  const bool check = a.check_targets;
  return run_cuda(
      call.env, device, call.async, "bceWithLogits", DeviceReport{sizeof(int32_t), 0},
      [device, a](void* flag) {
        void* scratch = nullptr;
        cuda::Status st = cuda::malloc_async(device, cuda::bce_logits_scratch_bytes(a.n), &scratch);
        if (st.ok) st = cuda::bce_logits(device, a, scratch, static_cast<int32_t*>(flag));
        if (scratch) cuda::free_async(device, scratch);  // stream-ordered: after the kernel
        return st;
      },
      [check](Napi::Env env, const void* flag) -> Napi::Value {
        if (check && *static_cast<const int32_t*>(flag) != 0)
          return make_error(env, ErrorKind::Validation, "BITGRAD_TARGET_OUT_OF_RANGE",
                            std::string(kTargetText) + " (pass checkTargets: false to skip this check)")
              .Value();
        return env.Undefined();
      });
}

}  // namespace glue
}  // namespace bg
