// Research losses (researchLoss): argument decoding, the CPU work, the CUDA enqueue and
// the range-check verdicts; op_runner runs them. See lib/losses/research.ts.
#include <napi.h>

#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/research_losses.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

ResearchArgs decode(Napi::Env env, Napi::Object spec, Operands& ops) {
  ResearchArgs a;
  constexpr int64_t kMax = INT64_C(1) << 53;
  a.kind = static_cast<ResearchKind>(spec_int(env, spec, "kind", 0, kResearchCount - 1));
  a.rows = spec_int(env, spec, "rows", 0, kMax);
  a.cols = spec_int(env, spec, "cols", 0, kMax);
  a.h = spec_int_or(env, spec, "h", 0, kMax, 0);
  a.w = spec_int_or(env, spec, "w", 0, kMax, 0);
  if (a.cols > 0 && a.rows > kMax / a.cols) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "too many elements");
  if (a.kind == ResearchKind::Basnet && a.h * a.w != a.cols)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "h * w must equal cols");
  a.reduction = static_cast<Reduction>(spec_int(env, spec, "reduction", 0, 2));
  a.grad_scale = spec_float(env, spec, "gradScale", 1.0f);
  a.check = static_cast<int>(spec_int_or(env, spec, "check", 0, 1, 0));
  ResearchParams& q = a.params;
  q.a = spec_float(env, spec, "a", q.a);
  q.b = spec_float(env, spec, "b", q.b);
  q.c = spec_float(env, spec, "c", q.c);
  q.smooth_nr = spec_float(env, spec, "smoothNr", q.smooth_nr);
  q.smooth_dr = spec_float(env, spec, "smoothDr", q.smooth_dr);
  q.squared = spec.Get("squared").ToBoolean().Value() ? 1 : 0;
  q.iou_eps = spec_float(env, spec, "iouEps", 0.0f);
  q.L = spec_float(env, spec, "L", q.L);
  q.beta = spec_float(env, spec, "beta", q.beta);
  q.metric = static_cast<int>(spec_int_or(env, spec, "metric", 0, 3, 0));
  q.any_eps = spec_float(env, spec, "anyEps", 0.0f);
  q.tau = spec_float(env, spec, "tau", 1.0f);
  if (!(q.tau > 0.0f)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "tau must be > 0");
  q.top_k = static_cast<int>(spec_int_or(env, spec, "topK", 0, 1 << 20, 3));
  q.detach = spec.Get("detach").ToBoolean().Value() ? 1 : 0;

  const size_t nb = static_cast<size_t>(a.rows * a.cols) * 4;
  const bool batch_level = a.kind == ResearchKind::AnyLoss || a.kind == ResearchKind::TriBce;
  if (batch_level && a.reduction != Reduction::Sum) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "batch-level loss");
  a.x = static_cast<const float*>(ops.take("x", nb, false));
  a.y = static_cast<const float*>(ops.take("y", nb, false));
  if (a.kind == ResearchKind::TriBce) a.x2 = static_cast<const float*>(ops.take("x2", nb, false));
  const size_t lb = a.reduction == Reduction::None ? static_cast<size_t>(a.rows) * 4 : 4;
  a.loss = static_cast<float*>(ops.take("loss", lb, false));
  a.grad = static_cast<float*>(ops.take("grad", nb, true));
  if (a.kind == ResearchKind::TriBce) a.grad2 = static_cast<float*>(ops.take("grad2", nb, true));
  if (a.reduction == Reduction::None) a.grad_out = static_cast<const float*>(ops.take("gradOut", static_cast<size_t>(a.rows) * 4, true));

  return a;
}

const char* const kRangeText = "all elements of input should be between 0 and 1 and not NaN";

Napi::Error check_error(Napi::Env env, const cpu::ResearchCheckResult& c) {
  const double index = static_cast<double>(c.index);
  const double value = c.value;
  return make_error(env, ErrorKind::Validation, "BITGRAD_INPUT_OUT_OF_RANGE",
                    std::string(kRangeText) + "; element " + std::to_string(c.index) + " is " + std::to_string(c.value) +
                        " (pass checkInput: false to skip this check)",
                    [&](Napi::Object o) {
                      o.Set("index", index);
                      o.Set("value", value);
                    });
}

}  // namespace

Napi::Value ResearchLoss(const Napi::CallbackInfo& info) {
  OpCall call(info, "researchLoss");
  const ResearchArgs a = decode(call.env, call.spec, call.ops);
  const int device = call.ops.device();
  const int check = a.check;

  if (device == kCpu) {
    return run_cpu<cpu::ResearchCheckResult>(
        call.env, call.async, a.rows * a.cols, "bitgrad.researchLoss", call.ops, [a] { return cpu::research_loss(a); },
        [](Napi::Env env, const cpu::ResearchCheckResult& r) -> Napi::Value {
          return r.ok ? env.Undefined() : check_error(env, r).Value();
        });
  }

  return run_cuda(
      call.env, device, call.async, "researchLoss", DeviceReport{sizeof(int32_t), 0},
      [device, a](void* flag) {
        void* scratch = nullptr;
        cuda::Status st = cuda::Status::Ok();
        const size_t sb = cuda::research_scratch_bytes(a);
        if (sb > 0) st = cuda::malloc_async(device, sb, &scratch);
        if (st.ok) st = cuda::research_loss(device, a, scratch, static_cast<int32_t*>(flag));
        if (scratch) cuda::free_async(device, scratch);  // stream-ordered: after the kernels
        return st;
      },
      [check](Napi::Env env, const void* flag) -> Napi::Value {
        if (check != kResearchCheckNone && *static_cast<const int32_t*>(flag) != 0)
          return make_error(env, ErrorKind::Validation, "BITGRAD_INPUT_OUT_OF_RANGE", kRangeText).Value();
        return env.Undefined();
      });
}

}  // namespace glue
}  // namespace bg
