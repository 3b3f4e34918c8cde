// crossEntropy / nllLoss / multiMarginLoss: argument decoding, the CPU work, the CUDA
// enqueue and the verdicts on bad targets; op_runner runs them.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/class_loss.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

const char* const kKindNames[] = {"crossEntropy", "nllLoss", "multiMarginLoss"};

struct ClassCall {
  ClassLossArgs args;
  int device = kCpu;
  const char* name = "crossEntropy";
};

ClassCall decode(Napi::Env env, Napi::Object spec, Operands& ops) {
  ClassCall call;
  ClassLossArgs& a = call.args;
  a.kind = static_cast<ClassLossKind>(spec_int(env, spec, "kind", 0, 2));
  call.name = kKindNames[static_cast<int>(a.kind)];
  a.dtype = static_cast<LogitType>(spec_int(env, spec, "dtype", 0, 2));
  a.outer = spec_int(env, spec, "outer", 0, INT64_C(1) << 53);
  a.classes = spec_int(env, spec, "classes", 0, INT32_MAX);
  a.inner = spec_int(env, spec, "inner", 1, INT64_C(1) << 53);
  const double total = static_cast<double>(a.outer) * static_cast<double>(a.classes) * static_cast<double>(a.inner);
  if (total > 9007199254740992.0) throw_validation(env, "BITGRAD_INVALID_SHAPE", "input too large");
  const int64_t rows = a.outer * a.inner;
  const int64_t n = rows * a.classes;
  const size_t es = a.dtype == LogitType::F32 ? 4 : 2;
  a.reduction = static_cast<Reduction>(spec_int(env, spec, "reduction", 0, 2));
  a.ignore_index = static_cast<int32_t>(spec_int(env, spec, "ignoreIndex", INT32_MIN, INT32_MAX));
  a.label_smoothing = spec_float(env, spec, "labelSmoothing", 0.0f);
  if (!(a.label_smoothing >= 0.0f && a.label_smoothing <= 1.0f))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "labelSmoothing must be in [0, 1]");
  a.p = static_cast<int>(spec_int(env, spec, "p", 1, 2));
  a.margin = spec_float(env, spec, "margin", 1.0f);
  a.grad_scale = spec_float(env, spec, "gradScale", 1.0f);

  a.x = ops.keep(resolve_operand(env, spec.Get("x"), "x", static_cast<size_t>(n) * es, false), "x");
  Napi::Value tv = spec.Get("target");
  Napi::Value pv = spec.Get("prob");
  if (!tv.IsUndefined()) {
    a.target = static_cast<const int32_t*>(ops.take_int32("target", static_cast<size_t>(rows) * 4, false));
  } else {
    if (a.kind != ClassLossKind::CrossEntropy)
      throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "class-index targets are required");
    a.prob = static_cast<const float*>(ops.keep(resolve_operand(env, pv, "prob", static_cast<size_t>(n) * 4, false), "prob"));
  }
  Napi::Value wv = spec.Get("weight");
  if (!wv.IsUndefined())
    a.weight = static_cast<const float*>(ops.keep(resolve_operand(env, wv, "weight", static_cast<size_t>(a.classes) * 4, false), "weight"));
  a.loss = static_cast<float*>(ops.keep(resolve_operand(env, spec.Get("loss"), "loss", a.reduction == Reduction::None ? static_cast<size_t>(rows) * 4 : 4, false), "loss"));
  a.grad = ops.keep(resolve_operand(env, spec.Get("grad"), "grad", static_cast<size_t>(n) * es, true), "grad");
  if (a.reduction == Reduction::None)
    a.grad_out = static_cast<const float*>(ops.keep(resolve_operand(env, spec.Get("gradOut"), "gradOut", static_cast<size_t>(rows) * 4, true), "gradOut"));

  call.device = ops.device();
  if (call.device == kCpu && a.dtype != LogitType::F32)
    throw_validation(env, "BITGRAD_INVALID_DTYPE", "bfloat16 / float16 logits are supported on CUDA only");
  if (a.kind != ClassLossKind::CrossEntropy && a.dtype != LogitType::F32)
    throw_validation(env, "BITGRAD_INVALID_DTYPE", std::string(call.name) + " takes float32 input");
  if (a.kind == ClassLossKind::MultiMargin && a.inner != 1)
    throw_validation(env, "BITGRAD_INVALID_SHAPE", "multiMarginLoss takes [N, C] or [C]");
  return call;
}

Napi::Error target_error(Napi::Env env, const char* name, const ClassTargetCheck& c, int64_t classes) {
  const double index = static_cast<double>(c.index);
  const double value = c.value;
  return make_error(env, ErrorKind::Validation, "BITGRAD_TARGET_OUT_OF_RANGE",
                    std::string(name) + ": target " + std::to_string(c.value) + " at row " + std::to_string(c.index) +
                        " is not a class index in [0, " + std::to_string(classes) + ") nor ignoreIndex",
                    [&](Napi::Object o) {
                      o.Set("index", index);
                      o.Set("value", value);
                    });
}

}  // namespace

Napi::Value ClassLoss(const Napi::CallbackInfo& info) {
  OpCall call(info, "classLoss");
  const ClassCall cls = decode(call.env, call.spec, call.ops);
  const ClassLossArgs a = cls.args;
  const std::string name = cls.name;
  const int64_t classes = a.classes;

  if (cls.device == kCpu) {
    return run_cpu<ClassTargetCheck>(
        call.env, call.async, a.outer * a.inner * a.classes, "bitgrad.classLoss", call.ops, [a] { return cpu::class_loss(a); },
        [name, classes](Napi::Env env, const ClassTargetCheck& r) -> Napi::Value {
          return r.ok ? env.Undefined() : target_error(env, name.c_str(), r, classes).Value();
        });
  }

  // CUDA: the device writes the first bad target row (or all ones) and its value into a
  // two-int64 report; only the async form reads it back.
  const int dev = cls.device;
  return run_cuda(
      call.env, dev, call.async, name, DeviceReport{2 * sizeof(int64_t), 0xff},
      [dev, a](void* report) {
        void* scratch = nullptr;
        cuda::Status st = cuda::malloc_async(dev, cuda::class_loss_scratch_bytes(a), &scratch);
        if (st.ok) st = cuda::class_loss(dev, a, scratch, static_cast<int64_t*>(report));
        if (scratch) cuda::free_async(dev, scratch);  // stream-ordered: after the kernels
        return st;
      },
      [name, classes](Napi::Env env, const void* report) -> Napi::Value {
        const int64_t* r = static_cast<const int64_t*>(report);
        const uint64_t row = static_cast<uint64_t>(r[0]);
        if (row == ~UINT64_C(0)) return env.Undefined();
        ClassTargetCheck c;
        c.ok = false;
        c.index = static_cast<int64_t>(row);
        c.value = static_cast<int32_t>(r[1]);
        return target_error(env, name.c_str(), c, classes).Value();
      });
}

}  // namespace glue
}  // namespace bg
