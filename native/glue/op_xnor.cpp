// xnorConv: argument decoding and the ways to run it (CPU inline, CPU on a libuv
// worker, CUDA stream-ordered with completion through the thread-safe function).
// GEMM is sent here as a 1x1 convolution. See lib/xnor/index.ts and
// native/ops/xnor_args.h.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/xnor.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

// Below this many word-MACs (pixels * cout * words) async CPU calls run inline.
constexpr double kInlineWork = 1 << 18;
constexpr int64_t kMax = INT64_C(1) << 53;

int64_t get_i(Napi::Env env, Napi::Object o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::floor(d))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " out of range");
  return static_cast<int64_t>(d);
}

int64_t mul(Napi::Env env, int64_t a, int64_t b) {
  if (a != 0 && b > kMax / a) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorConv: sizes are too large");
  return a * b;
}

struct XnorCall {
  XnorConvArgs args;
  std::vector<Operand> operands;
  int device = kCpu;
  double work = 0;
};

Operand buffer_operand(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes) {
  if (NativeBuffer::From(v) == nullptr)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(name) + " must be a native buffer");
  return resolve_operand(env, v, name, min_bytes, false);
}

XnorCall decode(Napi::Env env, Napi::Object s) {
  XnorCall call;
  XnorConvArgs& a = call.args;
  const int64_t big = INT64_C(1) << 31;
  a.n = get_i(env, s, "n", 0, big);
  a.h = get_i(env, s, "h", 0, big);
  a.wd = get_i(env, s, "w", 0, big);
  a.c = get_i(env, s, "c", 0, big);
  a.xwords = get_i(env, s, "xwords", 0, big);
  a.cout = get_i(env, s, "cout", 0, big);
  a.kh = get_i(env, s, "kh", 1, big);
  a.kw = get_i(env, s, "kw", 1, big);
  a.cg = get_i(env, s, "cg", 0, big);
  a.gwords = get_i(env, s, "gwords", 0, big);
  a.groups = get_i(env, s, "groups", 1, big);
  a.sh = get_i(env, s, "sh", 1, big);
  a.sw = get_i(env, s, "sw", 1, big);
  a.ph = get_i(env, s, "ph", 0, big);
  a.pw = get_i(env, s, "pw", 0, big);
  a.dh = get_i(env, s, "dh", 1, big);
  a.dw = get_i(env, s, "dw", 1, big);
  a.ho = get_i(env, s, "ho", 0, big);
  a.wo = get_i(env, s, "wo", 0, big);
  a.pad_mode = static_cast<int>(get_i(env, s, "padMode", 0, 1));
  a.out_type = static_cast<int>(get_i(env, s, "outType", 0, 2));
  auto bad = [&](const char* m) { throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string("xnorConv: ") + m); };
  if (a.xwords < (a.c + 63) / 64) bad("xwords < ceil(c / 64)");
  if (a.cg * a.groups != a.c) bad("cg * groups != c");
  if (a.gwords != (a.cg + 63) / 64) bad("gwords != ceil(cg / 64)");
  if (a.cout % a.groups != 0) bad("groups must divide cout");
  const int64_t eh = a.h + 2 * a.ph - a.dh * (a.kh - 1) - 1;
  const int64_t ew = a.wd + 2 * a.pw - a.dw * (a.kw - 1) - 1;
  if ((eh < 0 ? 0 : eh / a.sh + 1) != a.ho || (ew < 0 ? 0 : ew / a.sw + 1) != a.wo) bad("ho / wo do not match");
  const int64_t pixels = mul(env, mul(env, a.n, a.ho), a.wo);
  const int64_t outs = mul(env, pixels, a.cout);
  const size_t xb = static_cast<size_t>(mul(env, mul(env, mul(env, mul(env, a.n, a.h), a.wd), a.xwords), 8));
  const size_t wb = static_cast<size_t>(mul(env, mul(env, mul(env, mul(env, a.cout, a.kh), a.kw), a.gwords), 8));
  size_t ob = 0;
  if (a.out_type == 2)
    ob = static_cast<size_t>(mul(env, mul(env, pixels, (a.cout + 63) / 64), 8));
  else
    ob = static_cast<size_t>(mul(env, outs, 4));
  auto keep = [&](Operand op) -> void* {
    void* p = op.ptr;
    if (op.present) call.operands.push_back(std::move(op));
    return p;
  };
  a.x = static_cast<const uint64_t*>(keep(buffer_operand(env, s.Get("x"), "x", xb)));
  a.w = static_cast<const uint64_t*>(keep(buffer_operand(env, s.Get("wt"), "w", wb)));
  void* out = keep(buffer_operand(env, s.Get("out"), "out", ob));
  if (a.out_type == 0) a.out_i32 = static_cast<int32_t*>(out);
  if (a.out_type == 1) a.out_f32 = static_cast<float*>(out);
  if (a.out_type == 2) a.out_bits = static_cast<uint64_t*>(out);
  if (a.out_type != 0) {
    const size_t cb = static_cast<size_t>(a.cout) * 4;
    a.alpha = static_cast<const float*>(keep(resolve_operand(env, s.Get("alpha"), "alpha", cb, false)));
    a.beta = static_cast<const float*>(keep(resolve_operand(env, s.Get("beta"), "beta", cb, true)));
    if (a.out_type == 1)
      a.residual = static_cast<const float*>(
          keep(resolve_operand(env, s.Get("residual"), "residual", static_cast<size_t>(outs) * 4, true)));
  }
  call.device = call.operands.front().device;
  for (const Operand& op : call.operands)
    if (op.device != call.device)
      throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                       "all operands must be on one device (found " + device_name(call.device) + " and " +
                           device_name(op.device) + ")");
  call.work = static_cast<double>(outs) * static_cast<double>(a.kh * a.kw * (a.gwords > 0 ? a.gwords : 1));
  return call;
}

class XnorWorker : public Napi::AsyncWorker {
 public:
  XnorWorker(Napi::Env env, XnorCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.xnorConv"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { cpu::xnor_conv(call_.args); }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  XnorCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;  // host arrays read by Execute
};

}  // namespace

Napi::Value XnorConv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorConv(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  XnorCall call = decode(env, spec);

  if (call.device == kCpu) {
    if (!async || call.work < kInlineWork) {
      cpu::xnor_conv(call.args);
      if (!async) return env.Undefined();
      auto d = Napi::Promise::Deferred::New(env);
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const char* k : {"alpha", "beta", "residual"}) {
      Napi::Value v = spec.Get(k);
      if (v.IsTypedArray()) refs.push_back(Napi::Persistent(v));
    }
    auto* w = new XnorWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  const int dev = call.device;
  cuda::Status st = cuda::xnor_conv(dev, call.args);
  if (!st.ok) throw_status(env, st, "xnorConv");
  if (!async) return env.Undefined();
  auto deferred = Napi::Promise::Deferred::New(env);
  void* job = state(env).completion->prepare([deferred](Napi::Env env) {
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, "xnorConv").Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, "xnorConv");
  }
  return deferred.Promise();
}

Napi::Value XnorKernelName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cpu::xnor_kernel_name());
}

}  // namespace glue
}  // namespace bg
