// Row-statistic binarizers (binarize.magnitudeAwareSign, xnor, dorefa, ternaryWeights,
// libraPB, recu, bivitWeights, multiBasis), the XNOR-Net activation scale K and the
// XNOR++ scale: argument decoding and the three ways to run (CPU inline, CPU on a libuv
// worker, CUDA stream-ordered). lib/binarize/scaling.ts validates first; everything is
// checked again here.
#include <napi.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/scaling.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kInlineElements = 32768;
constexpr int64_t kMaxDim = INT64_C(1) << 53;

int64_t int_field(Napi::Env env, Napi::Object o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " out of range");
  return static_cast<int64_t>(d);
}

void float_field(Napi::Env env, Napi::Object o, const char* key, float* dst) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return;
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be finite");
  *dst = static_cast<float>(d);
}

int64_t mul(Napi::Env env, int64_t a, int64_t b) {
  if (a != 0 && b > kMaxDim / a) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "size overflow");
  return a * b;
}

// Operands of one call: all on one device, kept alive until the work is done.
struct Call {
  std::vector<Operand> operands;
  std::vector<Napi::Reference<Napi::Value>> refs;
  int device = kCpu;
  void* take(Napi::Env env, Napi::Object spec, const char* name, size_t bytes, bool optional) {
    Operand op = resolve_operand(env, spec.Get(name), name, bytes, optional);
    void* ptr = op.ptr;
    if (op.present) {
      if (spec.Get(name).IsTypedArray()) refs.push_back(Napi::Persistent(spec.Get(name)));
      operands.push_back(std::move(op));
    }
    return ptr;
  }
  void check_device(Napi::Env env) {
    device = operands.front().device;
    for (const Operand& op : operands)
      if (op.device != device)
        throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                         "all operands must be on one device (found " + device_name(device) + " and " +
                             device_name(op.device) + ")");
  }
};

class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, Call call, std::function<void()> fn)
      : Napi::AsyncWorker(env, "bitgrad.scaling"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        fn_(std::move(fn)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { fn_(); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Call call_;
  std::function<void()> fn_;
};

// Runs `cpu` (inline or on a worker) or `gpu` (enqueued, completion through the
// thread-safe function) and returns undefined or a promise.
Napi::Value dispatch(Napi::Env env, Call& call, bool async, int64_t work, const char* op, std::function<void()> cpu,
                     const std::function<cuda::Status(int)>& gpu) {
  if (call.device == kCpu) {
    if (!async || work < kInlineElements) {
      cpu();
      if (!async) return env.Undefined();
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    auto* w = new Worker(env, std::move(call), std::move(cpu));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }
  const int dev = call.device;
  cuda::Status st = gpu(dev);
  if (!st.ok) throw_status(env, st, op);
  if (!async) return env.Undefined();
  auto deferred = Napi::Promise::Deferred::New(env);
  const std::string name(op);
  void* job = state(env).completion->prepare([deferred, name](Napi::Env env) {
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, name).Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, op);
  }
  return deferred.Promise();
}

// Runs fn with device scratch of `bytes` (stream-ordered alloc and free).
cuda::Status with_scratch(int dev, size_t bytes, const std::function<cuda::Status(void*)>& fn) {
  void* scratch = nullptr;
  cuda::Status st = cuda::Status::Ok();
  if (bytes > 0) st = cuda::malloc_async(dev, bytes, &scratch);
  if (st.ok) st = fn(scratch);
  if (scratch) cuda::free_async(dev, scratch);
  return st;
}

void check_args(Napi::Env env, const Napi::CallbackInfo& info, const char* usage) {
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", usage);
}

}  // namespace

Napi::Value ScaleRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_args(env, info, "scaleRows(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  ScaleArgs a;
  a.kind = static_cast<ScaleKind>(int_field(env, spec, "kind", 0, kScaleCount - 1));
  a.backward = spec.Get("backward").ToBoolean().Value();
  a.rows = int_field(env, spec, "rows", 1, kMaxDim);
  a.cols = int_field(env, spec, "cols", 1, kMaxDim);
  const int64_t n = mul(env, a.rows, a.cols);
  ScaleParams& p = a.params;
  p.kind = static_cast<int>(a.kind);
  float_field(env, spec, "zero", &p.zero);
  if (p.zero != 0.0f && p.zero != 1.0f) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "zero must be 0 or 1");
  p.inclusive = spec.Get("inclusive").IsUndefined() ? 1 : (spec.Get("inclusive").ToBoolean().Value() ? 1 : 0);
  float_field(env, spec, "clip", &p.clip);
  p.full = spec.Get("full").ToBoolean().Value() ? 1 : 0;
  if (!spec.Get("levels").IsUndefined()) p.levels = static_cast<int>(int_field(env, spec, "levels", 2, 3));
  float_field(env, spec, "kt4", &p.kt4);
  float_field(env, spec, "t2", &p.t2);
  float_field(env, spec, "qfac", &p.qfac);
  if (!spec.Get("bases").IsUndefined()) p.bases = static_cast<int>(int_field(env, spec, "bases", 1, kMaxBases));
  if (a.kind != ScaleKind::MultiBasis) p.bases = 1;
  const size_t nb = static_cast<size_t>(n) * 4;
  const size_t ab = static_cast<size_t>(scale_alpha_count(a)) * 4;
  Call call;
  a.x = static_cast<const float*>(call.take(env, spec, "x", nb, false));
  a.out = static_cast<float*>(call.take(env, spec, "out", nb, false));
  if (a.backward) a.g = static_cast<const float*>(call.take(env, spec, "g", nb, false));
  if (scale_has_dalpha(a.kind)) {
    a.alpha_in = static_cast<const float*>(call.take(env, spec, "alphaIn", ab, true));
    if (a.backward) a.dalpha = static_cast<float*>(call.take(env, spec, "dalpha", ab, true));
  }
  a.alpha_out = static_cast<float*>(call.take(env, spec, "alphaOut", ab, true));
  call.check_device(env);
  return dispatch(
      env, call, async, n, "scaleRows", [a]() { cpu::scale_rows(a); },
      [a](int dev) {
        return with_scratch(dev, cuda::scale_rows_scratch_bytes(a), [&](void* s) { return cuda::scale_rows(dev, a, s); });
      });
}

Napi::Value XnorK(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_args(env, info, "xnorK(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  XnorKArgs a;
  a.n = int_field(env, spec, "n", 1, kMaxDim);
  a.c = int_field(env, spec, "c", 1, kMaxDim);
  a.h = int_field(env, spec, "h", 1, kMaxDim);
  a.w = int_field(env, spec, "w", 1, kMaxDim);
  a.kh = int_field(env, spec, "kh", 1, 1 << 20);
  a.kw = int_field(env, spec, "kw", 1, 1 << 20);
  a.sh = int_field(env, spec, "sh", 1, 1 << 20);
  a.sw = int_field(env, spec, "sw", 1, 1 << 20);
  a.ph = int_field(env, spec, "ph", 0, 1 << 20);
  a.pw = int_field(env, spec, "pw", 0, 1 << 20);
  const int64_t hp = a.h + 2 * a.ph - a.kh, wp = a.w + 2 * a.pw - a.kw;
  if (hp < 0 || wp < 0) throw_validation(env, "BITGRAD_SHAPE_MISMATCH", "the kernel is larger than the padded input");
  a.ho = hp / a.sh + 1;
  a.wo = wp / a.sw + 1;
  const int64_t nin = mul(env, mul(env, a.n, a.c), mul(env, a.h, a.w));
  const int64_t nout = mul(env, a.n, mul(env, a.ho, a.wo));
  Call call;
  a.x = static_cast<const float*>(call.take(env, spec, "x", static_cast<size_t>(nin) * 4, false));
  a.out = static_cast<float*>(call.take(env, spec, "out", static_cast<size_t>(nout) * 4, false));
  call.check_device(env);
  return dispatch(
      env, call, async, nin, "xnorK", [a]() { cpu::xnor_k(a); }, [a](int dev) { return cuda::xnor_k(dev, a); });
}

Napi::Value XnorPP(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  check_args(env, info, "xnorPP(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  XnorPPArgs a;
  a.backward = spec.Get("backward").ToBoolean().Value();
  a.n = int_field(env, spec, "n", 1, kMaxDim);
  a.c = int_field(env, spec, "c", 1, kMaxDim);
  a.h = int_field(env, spec, "h", 1, kMaxDim);
  a.w = int_field(env, spec, "w", 1, kMaxDim);
  const int64_t n = mul(env, mul(env, a.n, a.c), mul(env, a.h, a.w));
  const size_t nb = static_cast<size_t>(n) * 4;
  Call call;
  a.y = static_cast<const float*>(call.take(env, spec, "y", nb, false));
  a.out = static_cast<float*>(call.take(env, spec, "out", nb, false));
  a.o = static_cast<const float*>(call.take(env, spec, "o", static_cast<size_t>(a.c) * 4, false));
  a.fh = static_cast<const float*>(call.take(env, spec, "fh", static_cast<size_t>(a.h) * 4, false));
  a.fw = static_cast<const float*>(call.take(env, spec, "fw", static_cast<size_t>(a.w) * 4, false));
  if (a.backward) {
    a.g = static_cast<const float*>(call.take(env, spec, "g", nb, false));
    a.d_o = static_cast<float*>(call.take(env, spec, "dO", static_cast<size_t>(a.c) * 4, false));
    a.d_h = static_cast<float*>(call.take(env, spec, "dH", static_cast<size_t>(a.h) * 4, false));
    a.d_w = static_cast<float*>(call.take(env, spec, "dW", static_cast<size_t>(a.w) * 4, false));
  }
  call.check_device(env);
  return dispatch(
      env, call, async, n, "xnorPlusPlus", [a]() { cpu::xnor_pp(a); },
      [a](int dev) {
        return with_scratch(dev, cuda::xnor_pp_scratch_bytes(a), [&](void* s) { return cuda::xnor_pp(dev, a, s); });
      });
}

}  // namespace glue
}  // namespace bg
