// Straight-through estimators (binarize.*.forward / backward): argument decoding and
// the three ways to run (CPU inline, CPU on a libuv worker, CUDA stream-ordered with
// completion through the thread-safe function). The TypeScript facade
// (lib/binarize/estimators.ts) validates first; everything is checked again here.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/estimators.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kInlineElements = 32768;

struct EstCall {
  EstimatorArgs args;
  std::vector<Operand> operands;  // keeps buffers alive
  int device = kCpu;
};

int64_t int_field(Napi::Env env, Napi::Object o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " out of range");
  return static_cast<int64_t>(d);
}

// Optional finite float hyper-parameter (absent: keep the default).
void float_field(Napi::Env env, Napi::Object o, const char* key, float* dst) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return;
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be finite");
  *dst = static_cast<float>(d);
}

EstCall decode(Napi::Env env, Napi::Object spec) {
  EstCall call;
  EstimatorArgs& a = call.args;
  a.kind = static_cast<EstKind>(int_field(env, spec, "kind", 0, kEstCount - 1));
  a.backward = spec.Get("backward").ToBoolean().Value();
  a.n = int_field(env, spec, "n", 0, INT64_C(1) << 53);
  const size_t nb = static_cast<size_t>(a.n) * 4;
  EstParams& p = a.params;
  float_field(env, spec, "zero", &p.zero);
  if (p.zero != 0.0f && p.zero != 1.0f) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "zero must be 0 or 1");
  p.inclusive = spec.Get("inclusive").IsUndefined() ? 1 : (spec.Get("inclusive").ToBoolean().Value() ? 1 : 0);
  float_field(env, spec, "clip", &p.clip);
  float_field(env, spec, "beta", &p.beta);
  float_field(env, spec, "invO", &p.inv_o);
  float_field(env, spec, "expo", &p.expo);
  float_field(env, spec, "slope0", &p.slope0);
  float_field(env, spec, "t", &p.t);
  float_field(env, spec, "delta", &p.delta);
  float_field(env, spec, "omega", &p.omega);
  float_field(env, spec, "kt4", &p.kt4);
  float_field(env, spec, "t2", &p.t2);
  float_field(env, spec, "fdaScale", &p.fda_scale);
  float_field(env, spec, "fdaM", &p.fda_m);
  float_field(env, spec, "fdaTerms", &p.fda_terms);
  float_field(env, spec, "lsqGs", &p.lsq_gs);
  if (a.kind == EstKind::Elastic && spec.Get("lsqGs").IsUndefined())
    p.lsq_gs = a.n > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.n))) : 1.0f;
  if (!spec.Get("lsqMode").IsUndefined()) p.lsq_mode = static_cast<int>(int_field(env, spec, "lsqMode", 0, 2));

  auto take = [&](const char* name, size_t bytes, bool optional) -> void* {
    Operand op = resolve_operand(env, spec.Get(name), name, bytes, optional);
    void* ptr = op.ptr;
    if (op.present) call.operands.push_back(std::move(op));
    return ptr;
  };
  a.x = static_cast<const float*>(take("x", nb, false));
  a.out = static_cast<float*>(take("out", nb, false));
  if (a.backward) a.g = static_cast<const float*>(take("g", nb, false));
  if (est_has_param(a.kind)) {
    a.param.div = int_field(env, spec, "paramDiv", 1, INT64_C(1) << 53);
    a.param.mod = int_field(env, spec, "paramMod", 1, INT64_C(1) << 53);
    const size_t pb = static_cast<size_t>(a.param.mod) * 4;
    a.param.data = static_cast<const float*>(take("param", pb, false));
    if (a.backward) a.dparam = static_cast<float*>(take("dparam", pb, true));
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

class EstWorker : public Napi::AsyncWorker {
 public:
  EstWorker(Napi::Env env, EstCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.estimator"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { cpu::estimator(call_.args); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  EstCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;  // host arrays read by Execute
};

void launch_cuda(Napi::Env env, EstCall& call) {
  const int dev = call.device;
  void* scratch = nullptr;
  const size_t sb = cuda::estimator_scratch_bytes(call.args);
  cuda::Status st = cuda::Status::Ok();
  if (sb > 0) st = cuda::malloc_async(dev, sb, &scratch);
  if (st.ok) st = cuda::estimator(dev, call.args, scratch);
  if (scratch) cuda::free_async(dev, scratch);  // stream-ordered: after the kernels
  if (!st.ok) throw_status(env, st, "estimator");
}

}  // namespace

Napi::Value Estimator(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "estimator(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  EstCall call = decode(env, spec);

  if (call.device == kCpu) {
    if (!async || call.args.n < kInlineElements) {
      cpu::estimator(call.args);
      if (!async) return env.Undefined();
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const char* k : {"x", "g", "out", "param", "dparam"}) {
      Napi::Value v = spec.Get(k);
      if (v.IsTypedArray()) refs.push_back(Napi::Persistent(v));
    }
    auto* w = new EstWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  const int dev = call.device;
  launch_cuda(env, call);
  if (!async) return env.Undefined();
  auto deferred = Napi::Promise::Deferred::New(env);
  void* job = state(env).completion->prepare([deferred](Napi::Env env) {
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, "estimator").Value());
    else
      deferred.Resolve(env.Undefined());
  });
  cuda::Status st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, "estimator");
  }
  return deferred.Promise();
}

}  // namespace glue
}  // namespace bg
