// Research losses (researchLoss): argument decoding and the three ways to run one (CPU
// inline, CPU on a libuv worker, CUDA stream-ordered with completion through the
// thread-safe function). Same shape as op_loss_ew.cpp; see lib/losses/research.ts.
#include <napi.h>

#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/research_losses.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kInlineElements = 32768;

struct ResearchCall {
  ResearchArgs args;
  std::vector<Operand> operands;
  int device = kCpu;
};

int64_t get_int(Napi::Env env, Napi::Object o, const char* key, int64_t lo, int64_t hi, int64_t dflt, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return dflt;
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

ResearchCall decode(Napi::Env env, Napi::Object spec) {
  ResearchCall call;
  ResearchArgs& a = call.args;
  constexpr int64_t kMax = INT64_C(1) << 53;
  a.kind = static_cast<ResearchKind>(get_int(env, spec, "kind", 0, kResearchCount - 1, 0, true));
  a.rows = get_int(env, spec, "rows", 0, kMax, 0, true);
  a.cols = get_int(env, spec, "cols", 0, kMax, 0, true);
  a.h = get_int(env, spec, "h", 0, kMax, 0, false);
  a.w = get_int(env, spec, "w", 0, kMax, 0, false);
  if (a.cols > 0 && a.rows > kMax / a.cols) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "too many elements");
  if (a.kind == ResearchKind::Basnet && a.h * a.w != a.cols)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "h * w must equal cols");
  a.reduction = static_cast<Reduction>(get_int(env, spec, "reduction", 0, 2, 1, true));
  a.grad_scale = get_float(env, spec, "gradScale", 1.0f);
  a.check = static_cast<int>(get_int(env, spec, "check", 0, 1, 0, false));
  ResearchParams& q = a.params;
  q.a = get_float(env, spec, "a", q.a);
  q.b = get_float(env, spec, "b", q.b);
  q.c = get_float(env, spec, "c", q.c);
  q.smooth_nr = get_float(env, spec, "smoothNr", q.smooth_nr);
  q.smooth_dr = get_float(env, spec, "smoothDr", q.smooth_dr);
  q.squared = spec.Get("squared").ToBoolean().Value() ? 1 : 0;
  q.iou_eps = get_float(env, spec, "iouEps", 0.0f);
  q.L = get_float(env, spec, "L", q.L);
  q.beta = get_float(env, spec, "beta", q.beta);
  q.metric = static_cast<int>(get_int(env, spec, "metric", 0, 3, 0, false));
  q.any_eps = get_float(env, spec, "anyEps", 0.0f);
  q.tau = get_float(env, spec, "tau", 1.0f);
  if (!(q.tau > 0.0f)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "tau must be > 0");
  q.top_k = static_cast<int>(get_int(env, spec, "topK", 0, 1 << 20, 3, false));
  q.detach = spec.Get("detach").ToBoolean().Value() ? 1 : 0;

  const size_t nb = static_cast<size_t>(a.rows * a.cols) * 4;
  const bool batch_level = a.kind == ResearchKind::AnyLoss || a.kind == ResearchKind::TriBce;
  if (batch_level && a.reduction != Reduction::Sum) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "batch-level loss");
  auto take = [&](const char* name, size_t bytes, bool optional) -> void* {
    Operand op = resolve_operand(env, spec.Get(name), name, bytes, optional);
    void* p = op.ptr;
    if (op.present) call.operands.push_back(std::move(op));
    return p;
  };
  a.x = static_cast<const float*>(take("x", nb, false));
  a.y = static_cast<const float*>(take("y", nb, false));
  if (a.kind == ResearchKind::TriBce) a.x2 = static_cast<const float*>(take("x2", nb, false));
  const size_t lb = a.reduction == Reduction::None ? static_cast<size_t>(a.rows) * 4 : 4;
  a.loss = static_cast<float*>(take("loss", lb, false));
  a.grad = static_cast<float*>(take("grad", nb, true));
  if (a.kind == ResearchKind::TriBce) a.grad2 = static_cast<float*>(take("grad2", nb, true));
  if (a.reduction == Reduction::None) a.grad_out = static_cast<const float*>(take("gradOut", static_cast<size_t>(a.rows) * 4, true));

  call.device = call.operands.front().device;
  for (const Operand& op : call.operands) {
    if (op.device != call.device)
      throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                       "all operands must be on one device (found " + device_name(call.device) + " and " +
                           device_name(op.device) + ")");
  }
  return call;
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

class ResearchWorker : public Napi::AsyncWorker {
 public:
  ResearchWorker(Napi::Env env, ResearchCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.researchLoss"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = cpu::research_loss(call_.args); }
  void OnOK() override {
    if (result_.ok)
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(check_error(Env(), result_).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  ResearchCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;
  cpu::ResearchCheckResult result_;
};

int32_t* launch_cuda(Napi::Env env, ResearchCall& call) {
  const int dev = call.device;
  void* scratch = nullptr;
  void* flag = nullptr;
  const size_t sb = cuda::research_scratch_bytes(call.args);
  cuda::Status st = cuda::Status::Ok();
  if (sb > 0) st = cuda::malloc_async(dev, sb, &scratch);
  if (st.ok) st = cuda::malloc_async(dev, sizeof(int32_t), &flag);
  if (st.ok) st = cuda::memset_async(dev, flag, 0, sizeof(int32_t));
  if (st.ok) st = cuda::research_loss(dev, call.args, scratch, static_cast<int32_t*>(flag));
  if (scratch) cuda::free_async(dev, scratch);
  if (!st.ok) {
    if (flag) cuda::free_async(dev, flag);
    throw_status(env, st, "researchLoss");
  }
  return static_cast<int32_t*>(flag);
}

}  // namespace

Napi::Value ResearchLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "researchLoss(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  ResearchCall call = decode(env, spec);
  const int check = call.args.check;

  if (call.device == kCpu) {
    if (!async || call.args.rows * call.args.cols < kInlineElements) {
      cpu::ResearchCheckResult r = cpu::research_loss(call.args);
      if (!async) {
        if (!r.ok) throw check_error(env, r);
        return env.Undefined();
      }
      auto d = Napi::Promise::Deferred::New(env);
      if (r.ok)
        d.Resolve(env.Undefined());
      else
        d.Reject(check_error(env, r).Value());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const char* k : {"x", "x2", "y", "loss", "grad", "grad2", "gradOut"}) {
      Napi::Value v = spec.Get(k);
      if (v.IsTypedArray()) refs.push_back(Napi::Persistent(v));
    }
    auto* w = new ResearchWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

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
    throw_status(env, st, "researchLoss");
  }
  void* job = state(env).completion->prepare([deferred, host_flag, check](Napi::Env env) {
    const int32_t bad = *host_flag;
    cuda::free_pinned(host_flag);
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, "researchLoss").Value());
    else if (check != kResearchCheckNone && bad)
      deferred.Reject(make_error(env, ErrorKind::Validation, "BITGRAD_INPUT_OUT_OF_RANGE", kRangeText).Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, "researchLoss");
  }
  return deferred.Promise();
}

}  // namespace glue
}  // namespace bg
