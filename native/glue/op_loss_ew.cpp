// Elementwise losses (lossEw): argument decoding and the three ways to run one (CPU
// inline, CPU on a libuv worker, CUDA stream-ordered with completion through the
// thread-safe function). Same shape as op_bce_logits.cpp.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/loss_ew.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kInlineElements = 32768;

struct LossCall {
  LossEwArgs args;
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

float get_float(Napi::Env env, Napi::Object o, const char* key, float dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d > -3.4e38 && d < 3.4e38)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be finite");
  return static_cast<float>(d);
}

LossCall decode(Napi::Env env, Napi::Object spec) {
  LossCall call;
  LossEwArgs& a = call.args;
  a.kind = static_cast<LossKind>(get_int(env, spec, "kind", 0, kLossCount - 1));
  a.n = get_int(env, spec, "n", 0, INT64_C(1) << 53);
  const size_t nb = static_cast<size_t>(a.n) * 4;
  a.reduction = static_cast<Reduction>(get_int(env, spec, "reduction", 0, 2));
  a.divisor = static_cast<double>(get_int(env, spec, "divisor", 0, INT64_C(1) << 53));
  a.grad_scale = get_float(env, spec, "gradScale", 1.0f);
  a.check = static_cast<int>(get_int(env, spec, "check", 0, 2));
  a.params.alpha = get_float(env, spec, "alpha", 0.25f);
  a.params.gamma = get_float(env, spec, "gamma", 2.0f);
  if (!(a.params.gamma >= 0.0f)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "gamma must be >= 0");
  a.params.use_alpha = a.params.alpha >= 0.0f ? 1 : 0;
  a.params.margin = get_float(env, spec, "margin", a.kind == LossKind::MarginBce ? 0.0f : 1.0f);
  a.params.log_target = spec.Get("logTarget").ToBoolean().Value() ? 1 : 0;

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
  if (a.kind == LossKind::KlDiv) a.grad_target = static_cast<float*>(take("gradTarget", nb, true));
  if (a.reduction == Reduction::None) a.grad_out = static_cast<const float*>(take("gradOut", nb, true));
  Napi::Value wv = spec.Get("weight");
  if (!wv.IsUndefined() && !wv.IsNull()) {
    a.weight.div = get_int(env, spec, "weightDiv", 1, INT64_C(1) << 53);
    a.weight.mod = get_int(env, spec, "weightMod", 1, INT64_C(1) << 53);
    Operand op = resolve_operand(env, wv, "weight", static_cast<size_t>(a.weight.mod) * 4, false);
    a.weight.data = static_cast<const float*>(op.ptr);
    call.operands.push_back(std::move(op));
  }

  call.device = call.operands.front().device;
  for (const Operand& op : call.operands) {
    if (op.device != call.device)
      throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                       "all operands must be on one device (found " + device_name(call.device) + " and " +
                           device_name(op.device) + ")");
  }
  return call;
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

class LossWorker : public Napi::AsyncWorker {
 public:
  LossWorker(Napi::Env env, LossCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.lossEw"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = cpu::loss_ew(call_.args); }
  void OnOK() override {
    if (result_.ok)
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(check_error(Env(), call_.args.check, result_).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  LossCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;  // host arrays read by Execute
  cpu::LossCheckResult result_;
};

// Enqueues the kernels; returns the device flag that holds the range check.
int32_t* launch_cuda(Napi::Env env, LossCall& call) {
  const int dev = call.device;
  void* scratch = nullptr;
  void* flag = nullptr;
  const size_t sb = cuda::loss_ew_scratch_bytes(call.args.n);
  cuda::Status st = cuda::Status::Ok();
  if (sb > 0) st = cuda::malloc_async(dev, sb, &scratch);
  if (st.ok) st = cuda::malloc_async(dev, sizeof(int32_t), &flag);
  if (st.ok) st = cuda::memset_async(dev, flag, 0, sizeof(int32_t));
  if (st.ok) st = cuda::loss_ew(dev, call.args, scratch, static_cast<int32_t*>(flag));
  if (scratch) cuda::free_async(dev, scratch);  // stream-ordered: after the kernel
  if (!st.ok) {
    if (flag) cuda::free_async(dev, flag);
    throw_status(env, st, "lossEw");
  }
  return static_cast<int32_t*>(flag);
}

}  // namespace

Napi::Value LossEw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "lossEw(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  LossCall call = decode(env, spec);
  const int check = call.args.check;

  if (call.device == kCpu) {
    if (!async || call.args.n < kInlineElements) {
      cpu::LossCheckResult r = cpu::loss_ew(call.args);
      if (!async) {
        if (!r.ok) throw check_error(env, check, r);
        return env.Undefined();
      }
      auto d = Napi::Promise::Deferred::New(env);
      if (r.ok)
        d.Resolve(env.Undefined());
      else
        d.Reject(check_error(env, check, r).Value());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const char* k : {"x", "y", "loss", "grad", "gradTarget", "gradOut", "weight"}) {
      Napi::Value v = spec.Get(k);
      if (v.IsTypedArray()) refs.push_back(Napi::Persistent(v));
    }
    auto* w = new LossWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // CUDA: enqueue and return. Sync mode does not wait (results are stream-ordered) and
  // so cannot report range-check failures; async mode reads the flag back.
  const int dev = call.device;
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
    throw_status(env, st, "lossEw");
  }
  void* job = state(env).completion->prepare([deferred, host_flag, check](Napi::Env env) {
    const int32_t bad = *host_flag;
    cuda::free_pinned(host_flag);
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, "lossEw").Value());
    else if (check != kLossCheckNone && bad)
      deferred.Reject(device_check_error(env, check).Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, "lossEw");
  }
  return deferred.Promise();
}

}  // namespace glue
}  // namespace bg
