// packBits / unpackBits: argument decoding and the ways to run them (CPU inline, CPU
// on a libuv worker, CUDA stream-ordered with the NaN check read back through the
// completion thread-safe function). See lib/binarize/pack.ts.
#include <napi.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/pack.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

// Below this many input floats async CPU calls run inline: a worker hop costs more.
constexpr int64_t kInlineFloats = 32768;
constexpr int64_t kMaxIndex = INT64_C(1) << 53;
constexpr uint64_t kNoNan = ~uint64_t{0};

int64_t get_count(Napi::Env env, Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0.0 && d <= static_cast<double>(kMaxIndex)) || d != std::floor(d))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be an integer in [0, 2^53]");
  return static_cast<int64_t>(d);
}

// a * b, or a validation error past 2^53.
int64_t mul(Napi::Env env, int64_t a, int64_t b, const char* what) {
  if (a != 0 && b > kMaxIndex / a) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(what) + " is too large");
  return a * b;
}

// A live NativeBuffer (never a host array) resolved as an operand.
Operand buffer_operand(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes) {
  if (NativeBuffer::From(v) == nullptr)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(name) + " must be a native buffer");
  return resolve_operand(env, v, name, min_bytes, false);
}

struct PackCall {
  PackArgs args;
  Operand x;
  Operand out;
  Operand thresh;  // fused binarize + pack only
  int device = kCpu;
};

PackCall decode_pack(Napi::Env env, Napi::Object spec) {
  PackCall call;
  PackArgs& a = call.args;
  a.outer = get_count(env, spec, "outer");
  a.inner = get_count(env, spec, "inner");
  a.k = get_count(env, spec, "k");
  a.words = get_count(env, spec, "words");
  a.outer_stride = get_count(env, spec, "outerStride");
  a.inner_stride = get_count(env, spec, "innerStride");
  a.k_stride = get_count(env, spec, "kStride");
  if (a.words < (a.k + 63) / 64)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "words must be at least ceil(k / 64)");
  const int64_t rows = mul(env, a.outer, a.inner, "outer * inner");
  const int64_t out_words = mul(env, rows, a.words, "the output");
  int64_t x_floats = 0;
  if (rows > 0 && a.k > 0) {
    x_floats = mul(env, a.outer - 1, a.outer_stride, "the input extent") +
               mul(env, a.inner - 1, a.inner_stride, "the input extent") +
               mul(env, a.k - 1, a.k_stride, "the input extent") + 1;
    if (x_floats > kMaxIndex) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "the input extent is too large");
  }
  call.x = resolve_operand(env, spec.Get("x"), "x", static_cast<size_t>(x_floats) * 4, false);
  call.out = buffer_operand(env, spec.Get("out"), "out", static_cast<size_t>(mul(env, out_words, 8, "the output")));
  if (call.x.device != call.out.device)
    throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                     "x is on " + device_name(call.x.device) + " but out on " + device_name(call.out.device));
  call.device = call.out.device;
  // Optional per-channel threshold (fused binarize + pack): k floats, or one.
  Napi::Value tv = spec.Get("thresh");
  if (!tv.IsUndefined() && !tv.IsNull()) {
    a.thresh_stride = get_count(env, spec, "threshStride");
    if (a.thresh_stride > 1)
      throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "threshStride must be 0 or 1");
    const int64_t tn = a.thresh_stride == 1 ? a.k : 1;
    call.thresh = resolve_operand(env, tv, "thresh", static_cast<size_t>(tn) * 4, false);
    if (call.thresh.device != call.device)
      throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                       "thresh is on " + device_name(call.thresh.device) + " but out on " + device_name(call.device));
    a.thresh = static_cast<const float*>(call.thresh.ptr);
  }
  a.x = static_cast<const float*>(call.x.ptr);
  a.out = static_cast<uint64_t*>(call.out.ptr);
  return call;
}

Napi::Error nan_error(Napi::Env env, int64_t index) {
  const double idx = static_cast<double>(index);
  return make_error(env, ErrorKind::Validation, "BITGRAD_NAN_IN_PACK",
                    "cannot pack NaN: element " + std::to_string(index) +
                        " is NaN (a bit holds only +1 or -1)",
                    [&](Napi::Object o) { o.Set("index", idx); });
}

class PackWorker : public Napi::AsyncWorker {
 public:
  PackWorker(Napi::Env env, PackCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.packBits"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = cpu::pack(call_.args); }
  void OnOK() override {
    if (result_.ok)
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(nan_error(Env(), result_.index).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  PackCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;  // host array read by Execute
  cpu::PackCheck result_;
};

// Enqueues the kernel; returns the device word that receives the lowest NaN offset.
uint64_t* launch_cuda(Napi::Env env, PackCall& call) {
  const int dev = call.device;
  void* flag = nullptr;
  cuda::Status st = cuda::malloc_async(dev, sizeof(uint64_t), &flag);
  if (st.ok) st = cuda::memset_async(dev, flag, 0xff, sizeof(uint64_t));
  if (st.ok) st = cuda::pack_bits(dev, call.args, static_cast<uint64_t*>(flag));
  if (!st.ok) {
    if (flag) cuda::free_async(dev, flag);
    throw_status(env, st, "pack");
  }
  return static_cast<uint64_t*>(flag);
}

}  // namespace

Napi::Value PackBits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "packBits(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  PackCall call = decode_pack(env, spec);

  if (call.device == kCpu) {
    const int64_t floats = call.args.outer * call.args.inner * call.args.k;
    if (!async || floats < kInlineFloats) {
      cpu::PackCheck r = cpu::pack(call.args);
      if (!async) {
        if (!r.ok) throw nan_error(env, r.index);
        return env.Undefined();
      }
      auto d = Napi::Promise::Deferred::New(env);
      if (r.ok)
        d.Resolve(env.Undefined());
      else
        d.Reject(nan_error(env, r.index).Value());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    Napi::Value xv = spec.Get("x");
    if (xv.IsTypedArray()) refs.push_back(Napi::Persistent(xv));
    Napi::Value tv = spec.Get("thresh");
    if (tv.IsTypedArray()) refs.push_back(Napi::Persistent(tv));
    auto* w = new PackWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // CUDA: the NaN offset is read back through pinned memory. Async mode resolves from
  // the completion callback; sync mode waits for the stream (a NaN must not pass).
  const int dev = call.device;
  uint64_t* flag = launch_cuda(env, call);
  uint64_t* host_flag = nullptr;
  cuda::Status st = cuda::alloc_pinned(sizeof(uint64_t), reinterpret_cast<void**>(&host_flag));
  if (st.ok) {
    *host_flag = kNoNan;
    st = cuda::copy_d2h(dev, host_flag, flag, sizeof(uint64_t));
  }
  cuda::free_async(dev, flag);
  if (st.ok && !async) st = cuda::synchronize(dev);
  if (!st.ok) {
    cuda::free_pinned(host_flag);
    throw_status(env, st, "pack");
  }
  if (!async) {
    const uint64_t off = *host_flag;
    cuda::free_pinned(host_flag);
    if (off != kNoNan) throw nan_error(env, static_cast<int64_t>(off));
    return env.Undefined();
  }
  auto deferred = Napi::Promise::Deferred::New(env);
  void* job = state(env).completion->prepare([deferred, host_flag](Napi::Env env) {
    const uint64_t off = *host_flag;
    cuda::free_pinned(host_flag);
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, "pack").Value());
    else if (off != kNoNan)
      deferred.Reject(nan_error(env, static_cast<int64_t>(off)).Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, "pack");
  }
  return deferred.Promise();
}

Napi::Value UnpackBits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "unpackBits(spec)");
  Napi::Object spec = info[0].As<Napi::Object>();
  UnpackArgs a;
  a.rows = get_count(env, spec, "rows");
  a.k = get_count(env, spec, "k");
  a.words = get_count(env, spec, "words");
  if (a.words < (a.k + 63) / 64)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "words must be at least ceil(k / 64)");
  const int64_t in_words = mul(env, a.rows, a.words, "the input");
  const int64_t out_floats = mul(env, a.rows, a.k, "the output");
  Operand bits = buffer_operand(env, spec.Get("bits"), "bits", static_cast<size_t>(mul(env, in_words, 8, "the input")));
  Operand out = buffer_operand(env, spec.Get("out"), "out", static_cast<size_t>(mul(env, out_floats, 4, "the output")));
  if (bits.device != out.device)
    throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                     "bits are on " + device_name(bits.device) + " but out on " + device_name(out.device));
  a.bits = static_cast<const uint64_t*>(bits.ptr);
  a.out = static_cast<float*>(out.ptr);
  if (bits.device == kCpu) {
    cpu::unpack(a);
    return env.Undefined();
  }
  cuda::Status st = cuda::unpack_bits(bits.device, a);
  if (!st.ok) throw_status(env, st, "unpack");
  return env.Undefined();
}

}  // namespace glue
}  // namespace bg
