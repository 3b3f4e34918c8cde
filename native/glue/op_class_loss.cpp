// crossEntropy / nllLoss / multiMarginLoss: argument decoding and the three ways to
// run them (CPU inline, CPU on a libuv worker, CUDA stream-ordered with completion
// through the thread-safe function), as op_bce_logits.cpp does for bceWithLogits.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/class_loss.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kInlineElements = 32768;
const char* const kKindNames[] = {"crossEntropy", "nllLoss", "multiMarginLoss"};

struct ClassCall {
  ClassLossArgs args;
  std::vector<Operand> operands;  // keeps buffers alive
  int device = kCpu;
  const char* name = "crossEntropy";
};

int64_t get_int(Napi::Env env, Napi::Object o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " out of range");
  return static_cast<int64_t>(d);
}

float get_float(Napi::Env env, Napi::Object o, const char* key, float dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  return v.As<Napi::Number>().FloatValue();
}

// Int32Array (host) or a buffer.
Operand resolve_int32(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes) {
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_int32_array)
      throw_validation(env, "BITGRAD_INVALID_DTYPE", std::string(name) + " must be an Int32Array");
    Operand op;
    op.present = true;
    op.is_host_array = true;
    op.bytes = ta.ByteLength();
    op.ptr = op.bytes == 0 ? nullptr : static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    if (op.bytes < min_bytes) throw_validation(env, "BITGRAD_SHAPE_MISMATCH", std::string(name) + " is too short");
    return op;
  }
  return resolve_operand(env, v, name, min_bytes, false);
}

ClassCall decode(Napi::Env env, Napi::Object spec) {
  ClassCall call;
  ClassLossArgs& a = call.args;
  a.kind = static_cast<ClassLossKind>(get_int(env, spec, "kind", 0, 2));
  call.name = kKindNames[static_cast<int>(a.kind)];
  a.dtype = static_cast<LogitType>(get_int(env, spec, "dtype", 0, 2));
  a.outer = get_int(env, spec, "outer", 0, INT64_C(1) << 53);
  a.classes = get_int(env, spec, "classes", 0, INT32_MAX);
  a.inner = get_int(env, spec, "inner", 1, INT64_C(1) << 53);
  const double total = static_cast<double>(a.outer) * static_cast<double>(a.classes) * static_cast<double>(a.inner);
  if (total > 9007199254740992.0) throw_validation(env, "BITGRAD_INVALID_SHAPE", "input too large");
  const int64_t rows = a.outer * a.inner;
  const int64_t n = rows * a.classes;
  const size_t es = a.dtype == LogitType::F32 ? 4 : 2;
  a.reduction = static_cast<Reduction>(get_int(env, spec, "reduction", 0, 2));
  a.ignore_index = static_cast<int32_t>(get_int(env, spec, "ignoreIndex", INT32_MIN, INT32_MAX));
  a.label_smoothing = get_float(env, spec, "labelSmoothing", 0.0f);
  if (!(a.label_smoothing >= 0.0f && a.label_smoothing <= 1.0f))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "labelSmoothing must be in [0, 1]");
  a.p = static_cast<int>(get_int(env, spec, "p", 1, 2));
  a.margin = get_float(env, spec, "margin", 1.0f);
  a.grad_scale = get_float(env, spec, "gradScale", 1.0f);

  auto keep = [&](Operand op) {
    void* p = op.ptr;
    if (op.present) call.operands.push_back(std::move(op));
    return p;
  };
  a.x = keep(resolve_operand(env, spec.Get("x"), "x", static_cast<size_t>(n) * es, false));
  Napi::Value tv = spec.Get("target");
  Napi::Value pv = spec.Get("prob");
  if (!tv.IsUndefined()) {
    a.target = static_cast<const int32_t*>(keep(resolve_int32(env, tv, "target", static_cast<size_t>(rows) * 4)));
  } else {
    if (a.kind != ClassLossKind::CrossEntropy)
      throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "class-index targets are required");
    a.prob = static_cast<const float*>(keep(resolve_operand(env, pv, "prob", static_cast<size_t>(n) * 4, false)));
  }
  Napi::Value wv = spec.Get("weight");
  if (!wv.IsUndefined())
    a.weight = static_cast<const float*>(keep(resolve_operand(env, wv, "weight", static_cast<size_t>(a.classes) * 4, false)));
  a.loss = static_cast<float*>(keep(resolve_operand(env, spec.Get("loss"), "loss", a.reduction == Reduction::None ? static_cast<size_t>(rows) * 4 : 4, false)));
  a.grad = keep(resolve_operand(env, spec.Get("grad"), "grad", static_cast<size_t>(n) * es, true));
  if (a.reduction == Reduction::None)
    a.grad_out = static_cast<const float*>(keep(resolve_operand(env, spec.Get("gradOut"), "gradOut", static_cast<size_t>(rows) * 4, true)));

  call.device = call.operands.front().device;
  for (const Operand& op : call.operands) {
    if (op.device != call.device)
      throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                       "all operands must be on one device (found " + device_name(call.device) + " and " +
                           device_name(op.device) + ")");
  }
  if (call.device == kCpu && a.dtype != LogitType::F32)
    throw_validation(env, "BITGRAD_INVALID_DTYPE", "bfloat16 / float16 logits are supported on CUDA only");
  if (call.device != kCpu && a.kind != ClassLossKind::CrossEntropy)
    throw_validation(env, "BITGRAD_NOT_SUPPORTED", std::string(call.name) + " runs on the CPU only; copy the tensors with .to('cpu')");
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

class ClassWorker : public Napi::AsyncWorker {
 public:
  ClassWorker(Napi::Env env, ClassCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.classLoss"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = cpu::class_loss(call_.args); }
  void OnOK() override {
    if (result_.ok)
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(target_error(Env(), call_.name, result_, call_.args.classes).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  ClassCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;
  ClassTargetCheck result_;
};

}  // namespace

Napi::Value ClassLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "classLoss(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  ClassCall call = decode(env, spec);
  const int64_t elems = call.args.outer * call.args.inner * call.args.classes;

  if (call.device == kCpu) {
    if (!async || elems < kInlineElements) {
      ClassTargetCheck r = cpu::class_loss(call.args);
      if (!async) {
        if (!r.ok) throw target_error(env, call.name, r, call.args.classes);
        return env.Undefined();
      }
      auto d = Napi::Promise::Deferred::New(env);
      if (r.ok)
        d.Resolve(env.Undefined());
      else
        d.Reject(target_error(env, call.name, r, call.args.classes).Value());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const char* k : {"x", "target", "prob", "weight", "loss", "grad", "gradOut"}) {
      Napi::Value v = spec.Get(k);
      if (v.IsTypedArray()) refs.push_back(Napi::Persistent(v));
    }
    auto* w = new ClassWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // CUDA: enqueue and return. The device writes the first bad target row (or -1) into
  // a flag; only the async form reads it back.
  const int dev = call.device;
  const std::string name = call.name;
  const int64_t classes = call.args.classes;
  void* scratch = nullptr;
  void* flag = nullptr;
  const size_t sb = cuda::class_loss_scratch_bytes(call.args);
  cuda::Status st = cuda::malloc_async(dev, sb, &scratch);
  if (st.ok) st = cuda::malloc_async(dev, 2 * sizeof(int64_t), &flag);
  if (st.ok) st = cuda::memset_async(dev, flag, 0xff, 2 * sizeof(int64_t));
  if (st.ok) st = cuda::class_loss(dev, call.args, scratch, static_cast<int64_t*>(flag));
  if (scratch) cuda::free_async(dev, scratch);
  if (!st.ok) {
    if (flag) cuda::free_async(dev, flag);
    throw_status(env, st, name);
  }
  if (!async) {
    cuda::free_async(dev, flag);
    return env.Undefined();
  }
  auto deferred = Napi::Promise::Deferred::New(env);
  int64_t* host_flag = nullptr;
  st = cuda::alloc_pinned(2 * sizeof(int64_t), reinterpret_cast<void**>(&host_flag));
  if (st.ok) {
    host_flag[0] = -1;
    host_flag[1] = 0;
    st = cuda::copy_d2h(dev, host_flag, flag, 2 * sizeof(int64_t));
  }
  cuda::free_async(dev, flag);
  if (!st.ok) {
    cuda::free_pinned(host_flag);
    throw_status(env, st, name);
  }
  void* job = state(env).completion->prepare([deferred, host_flag, name, classes](Napi::Env env) {
    ClassTargetCheck c;
    // flag[0]: smallest bad row (all ones = none, as unsigned); flag[1]: its value.
    const uint64_t row = static_cast<uint64_t>(host_flag[0]);
    if (row != ~UINT64_C(0)) {
      c.ok = false;
      c.index = static_cast<int64_t>(row);
      c.value = static_cast<int32_t>(host_flag[1]);
    }
    cuda::free_pinned(host_flag);
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, name).Value());
    else if (!c.ok)
      deferred.Reject(target_error(env, name.c_str(), c, classes).Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, name);
  }
  return deferred.Promise();
}

}  // namespace glue
}  // namespace bg
