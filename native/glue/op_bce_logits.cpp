// bceWithLogits: argument decoding and the three ways to run it (CPU inline, CPU on
// a libuv worker, CUDA stream-ordered with completion through the thread-safe function).
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/bce_logits.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

// Below this many elements async CPU calls run inline: a worker hop costs more.
constexpr int64_t kInlineElements = 32768;

struct BceCall {
  BceLogitsArgs args;
  std::vector<Operand> operands;  // keeps buffers alive
  int device = kCpu;
};

int64_t get_int(Napi::Env env, Napi::Object o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " out of range");
  return static_cast<int64_t>(d);
}

Broadcast get_broadcast(Napi::Env env, Napi::Object spec, const char* name, const char* div_key,
                        const char* mod_key, BceCall& call) {
  Broadcast b;
  Napi::Value v = spec.Get(name);
  if (v.IsUndefined() || v.IsNull()) return b;
  b.div = get_int(env, spec, div_key, 1, INT64_C(1) << 53);
  b.mod = get_int(env, spec, mod_key, 1, INT64_C(1) << 53);
  Operand op = resolve_operand(env, v, name, static_cast<size_t>(b.mod) * 4, false);
  b.data = static_cast<const float*>(op.ptr);
  call.operands.push_back(std::move(op));
  return b;
}

BceCall decode(Napi::Env env, Napi::Object spec) {
  BceCall call;
  BceLogitsArgs& a = call.args;
  a.n = get_int(env, spec, "n", 0, INT64_C(1) << 53);
  const size_t nb = static_cast<size_t>(a.n) * 4;
  const int64_t red = get_int(env, spec, "reduction", 0, 2);
  a.reduction = static_cast<Reduction>(red);
  Napi::Value gs = spec.Get("gradScale");
  a.grad_scale = gs.IsNumber() ? gs.As<Napi::Number>().FloatValue() : 1.0f;
  a.check_targets = spec.Get("checkTargets").ToBoolean().Value();

  auto take = [&](const char* name, size_t bytes, bool optional) -> void* {
    Operand op = resolve_operand(env, spec.Get(name), name, bytes, optional);
    void* p = op.ptr;
    if (op.present) call.operands.push_back(std::move(op));
    return p;
  };
  a.x = static_cast<const float*>(take("x", nb, false));
  a.y = static_cast<const float*>(take("y", nb, false));
  a.loss = static_cast<float*>(take("loss", a.reduction == Reduction::None ? nb : 4, false));
  a.grad = static_cast<float*>(take("grad", nb, true));
  if (a.reduction == Reduction::None) a.grad_out = static_cast<const float*>(take("gradOut", nb, true));
  a.weight = get_broadcast(env, spec, "weight", "weightDiv", "weightMod", call);
  a.pos_weight = get_broadcast(env, spec, "posWeight", "posWeightDiv", "posWeightMod", call);

  call.device = call.operands.front().device;
  for (const Operand& op : call.operands) {
    if (op.device != call.device)
      throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                       "all operands must be on one device (found " + device_name(call.device) + " and " +
                           device_name(op.device) + ")");
  }
  return call;
}

Napi::Error target_error(Napi::Env env, const cpu::TargetCheck& c) {
  const double index = static_cast<double>(c.index);
  const double value = c.value;
  return make_error(env, ErrorKind::Validation, "BITGRAD_TARGET_OUT_OF_RANGE",
                    "targets must lie in [0, 1] and not be NaN; element " + std::to_string(c.index) +
                        " is " + std::to_string(c.value) + " (pass checkTargets: false to skip this check)",
                    [&](Napi::Object o) {
                      o.Set("index", index);
                      o.Set("value", value);
                    });
}

Napi::Error device_target_error(Napi::Env env) {
  return make_error(env, ErrorKind::Validation, "BITGRAD_TARGET_OUT_OF_RANGE",
                    "targets must lie in [0, 1] and not be NaN (pass checkTargets: false to skip this check)");
}

class BceWorker : public Napi::AsyncWorker {
 public:
  BceWorker(Napi::Env env, BceCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.bceWithLogits"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = cpu::bce_logits(call_.args); }
  void OnOK() override {
    if (result_.ok)
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(target_error(Env(), result_).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  BceCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;  // host arrays read by Execute
  cpu::TargetCheck result_;
};

struct DeviceScratch {
  void* scratch = nullptr;
  int32_t* flag = nullptr;
};

// Enqueues the kernel; returns the device flag that holds the target check.
int32_t* launch_cuda(Napi::Env env, BceCall& call) {
  const int dev = call.device;
  void* scratch = nullptr;
  void* flag = nullptr;
  const size_t sb = cuda::bce_logits_scratch_bytes(call.args.n);
  cuda::Status st = cuda::malloc_async(dev, sb, &scratch);
  if (st.ok) st = cuda::malloc_async(dev, sizeof(int32_t), &flag);
  if (st.ok) st = cuda::memset_async(dev, flag, 0, sizeof(int32_t));
  if (st.ok) st = cuda::bce_logits(dev, call.args, scratch, static_cast<int32_t*>(flag));
  if (scratch) cuda::free_async(dev, scratch);  // stream-ordered: after the kernel
  if (!st.ok) {
    if (flag) cuda::free_async(dev, flag);
    throw_status(env, st, "bceWithLogits");
  }
  return static_cast<int32_t*>(flag);
}

}  // namespace

Napi::Value BceWithLogits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "bceWithLogits(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  BceCall call = decode(env, spec);

  if (call.device == kCpu) {
    if (!async || call.args.n < kInlineElements) {
      cpu::TargetCheck r = cpu::bce_logits(call.args);
      if (!async) {
        if (!r.ok) throw target_error(env, r);
        return env.Undefined();
      }
      auto d = Napi::Promise::Deferred::New(env);
      if (r.ok)
        d.Resolve(env.Undefined());
      else
        d.Reject(target_error(env, r).Value());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const char* k : {"x", "y", "loss", "grad", "gradOut", "weight", "posWeight"}) {
      Napi::Value v = spec.Get(k);
      if (v.IsTypedArray()) refs.push_back(Napi::Persistent(v));
    }
    auto* w = new BceWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // CUDA: enqueue and return. Sync mode does not wait (results are stream-ordered)
  // and so cannot report bad targets; async mode reads the flag back.
  const int dev = call.device;
  const bool check = call.args.check_targets;
  int32_t* flag = launch_cuda(env, call);
  if (!async) {
    cuda::free_async(dev, flag);
    return env.Undefined();
  }
  auto deferred = Napi::Promise::Deferred::New(env);
  int32_t* host_flag = nullptr;
  cuda::Status st = cuda::alloc_pinned(sizeof(int32_t), reinterpret_cast<void**>(&host_flag));
  if (st.ok) {
    *host_flag = 0;
    st = cuda::copy_d2h(dev, host_flag, flag, sizeof(int32_t));
  }
  cuda::free_async(dev, flag);
  if (!st.ok) {
    cuda::free_pinned(host_flag);
    throw_status(env, st, "bceWithLogits");
  }
  void* job = state(env).completion->prepare([deferred, host_flag, check](Napi::Env env) {
    const int32_t bad = *host_flag;
    cuda::free_pinned(host_flag);
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, "bceWithLogits").Value());
    else if (check && bad)
      deferred.Reject(device_target_error(env).Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, "bceWithLogits");
  }
  return deferred.Promise();
}

}  // namespace glue
}  // namespace bg
