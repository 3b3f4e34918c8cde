// Elementwise losses (lossEw): argument decoding, the CPU work, the CUDA enqueue and
// the verdicts on range checks; op_runner runs them.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/loss_ew.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

LossEwArgs decode(Napi::Env env, Napi::Object spec, Operands& ops) {
  LossEwArgs a;
  a.kind = static_cast<LossKind>(spec_int(env, spec, "kind", 0, kLossCount - 1));
  a.n = spec_int(env, spec, "n", 0, INT64_C(1) << 53);
  const size_t nb = static_cast<size_t>(a.n) * 4;
  a.reduction = static_cast<Reduction>(spec_int(env, spec, "reduction", 0, 2));
  a.divisor = static_cast<double>(spec_int(env, spec, "divisor", 0, INT64_C(1) << 53));
  a.grad_scale = spec_float(env, spec, "gradScale", 1.0f);
  a.check = static_cast<int>(spec_int(env, spec, "check", 0, 2));
  a.params.alpha = spec_float(env, spec, "alpha", 0.25f);
  a.params.gamma = spec_float(env, spec, "gamma", 2.0f);
  if (!(a.params.gamma >= 0.0f)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "gamma must be >= 0");
  a.params.use_alpha = a.params.alpha >= 0.0f ? 1 : 0;
  a.params.margin = spec_float(env, spec, "margin", a.kind == LossKind::MarginBce ? 0.0f : 1.0f);
  a.params.log_target = spec.Get("logTarget").ToBoolean().Value() ? 1 : 0;

  a.x = static_cast<const float*>(ops.take("x", nb, false));
  a.y = static_cast<const float*>(ops.take("y", nb, false));
  a.loss = static_cast<float*>(ops.take("loss", a.reduction == Reduction::None ? nb : 4, false));
  a.grad = static_cast<float*>(ops.take("grad", nb, true));
  if (a.kind == LossKind::KlDiv) a.grad_target = static_cast<float*>(ops.take("gradTarget", nb, true));
  if (a.reduction == Reduction::None) a.grad_out = static_cast<const float*>(ops.take("gradOut", nb, true));
  a.weight = ops.broadcast("weight", "weightDiv", "weightMod");
  return a;
}

const char* check_code(int check) {
  return check == kLossCheckInput01 ? "BITGRAD_INPUT_OUT_OF_RANGE" : "BITGRAD_TARGET_OUT_OF_RANGE";
}

std::string check_text(int check) {
  return check == kLossCheckInput01 ? "all elements of input should be between 0 and 1 and not NaN"
                                    : "targets must lie in [0, 1] and not be NaN";
}

Napi::Error check_error(Napi::Env env, int check, const cpu::LossCheckResult& c) {
  const double index = static_cast<double>(c.index);
  const double value = c.value;
  const std::string skip = check == kLossCheckInput01 ? "checkInput" : "checkTargets";
  return make_error(env, ErrorKind::Validation, check_code(check),
                    check_text(check) + "; element " + std::to_string(c.index) + " is " + std::to_string(c.value) +
                        " (pass " + skip + ": false to skip this check)",
                    [&](Napi::Object o) {
                      o.Set("index", index);
                      o.Set("value", value);
                    });
}

Napi::Error device_check_error(Napi::Env env, int check) {
  return make_error(env, ErrorKind::Validation, check_code(check), check_text(check));
}

}  // namespace

Napi::Value LossEw(const Napi::CallbackInfo& info) {
  OpCall call(info, "lossEw");
  const LossEwArgs a = decode(call.env, call.spec, call.ops);
  const int device = call.ops.device();
  const int check = a.check;

  if (device == kCpu) {
    return run_cpu<cpu::LossCheckResult>(
        call.env, call.async, a.n, "bitgrad.lossEw", call.ops, [a] { return cpu::loss_ew(a); },
        [check](Napi::Env env, const cpu::LossCheckResult& r) -> Napi::Value {
          return r.ok ? env.Undefined() : check_error(env, check, r).Value();
        });
  }

  // CUDA: sync mode does not wait, so it cannot report range-check failures.
  return run_cuda(
      call.env, device, call.async, "lossEw", DeviceReport{sizeof(int32_t), 0},
      [device, a](void* flag) {
        void* scratch = nullptr;
        cuda::Status st = cuda::Status::Ok();
        const size_t sb = cuda::loss_ew_scratch_bytes(a.n);
        if (sb > 0) st = cuda::malloc_async(device, sb, &scratch);
        if (st.ok) st = cuda::loss_ew(device, a, scratch, static_cast<int32_t*>(flag));
        if (scratch) cuda::free_async(device, scratch);  // stream-ordered: after the kernels
        return st;
      },
      [check](Napi::Env env, const void* flag) -> Napi::Value {
        if (check != kLossCheckNone && *static_cast<const int32_t*>(flag) != 0) return device_check_error(env, check).Value();
        return env.Undefined();
      });
}

}  // namespace glue
}  // namespace bg
