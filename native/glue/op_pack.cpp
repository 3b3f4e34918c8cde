// packBits / unpackBits: argument decoding, the CPU work and the CUDA enqueue with the
// NaN check read back; op_runner runs them. See lib/binarize/pack.ts.
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/pack.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kMaxIndex = INT64_C(1) << 53;
constexpr uint64_t kNoNan = ~uint64_t{0};

int64_t count(Napi::Env env, Napi::Object spec, const char* key) {
  return spec_int(env, spec, key, 0, kMaxIndex, "must be an integer in [0, 2^53]");
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

// "<what> on <device a> but out on <device b>" unless a == b.
void same_device(Napi::Env env, const char* what, int a, int b) {
  if (a != b)
    throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                     std::string(what) + " on " + device_name(a) + " but out on " + device_name(b));
}

PackArgs decode_pack(Napi::Env env, Napi::Object spec, Operands& ops) {
  PackArgs a;
  a.outer = count(env, spec, "outer");
  a.inner = count(env, spec, "inner");
  a.k = count(env, spec, "k");
  a.words = count(env, spec, "words");
  a.outer_stride = count(env, spec, "outerStride");
  a.inner_stride = count(env, spec, "innerStride");
  a.k_stride = count(env, spec, "kStride");
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
  Operand x = resolve_operand(env, spec.Get("x"), "x", static_cast<size_t>(x_floats) * 4, false);
  Operand out = buffer_operand(env, spec.Get("out"), "out", static_cast<size_t>(mul(env, out_words, 8, "the output")));
  same_device(env, "x is", x.device, out.device);
  const int device = out.device;
  a.x = static_cast<const float*>(ops.keep(std::move(x), "x"));
  a.out = static_cast<uint64_t*>(ops.keep(std::move(out), "out"));
  // Optional per-channel threshold (fused binarize + pack): k floats, or one.
  Napi::Value tv = spec.Get("thresh");
  if (!tv.IsUndefined() && !tv.IsNull()) {
    a.thresh_stride = count(env, spec, "threshStride");
    if (a.thresh_stride > 1)
      throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "threshStride must be 0 or 1");
    const int64_t tn = a.thresh_stride == 1 ? a.k : 1;
    Operand thresh = resolve_operand(env, tv, "thresh", static_cast<size_t>(tn) * 4, false);
    same_device(env, "thresh is", thresh.device, device);
    a.thresh = static_cast<const float*>(ops.keep(std::move(thresh), "thresh"));
  }
  return a;
}

Napi::Value nan_error(Napi::Env env, int64_t index) {
  const double idx = static_cast<double>(index);
  return make_error(env, ErrorKind::Validation, "BITGRAD_NAN_IN_PACK",
                    "cannot pack NaN: element " + std::to_string(index) +
                        " is NaN (a bit holds only +1 or -1)",
                    [&](Napi::Object o) { o.Set("index", idx); })
      .Value();
}

}  // namespace

Napi::Value PackBits(const Napi::CallbackInfo& info) {
  OpCall call(info, "packBits");
  const PackArgs a = decode_pack(call.env, call.spec, call.ops);
  const int device = call.ops.device();

  if (device == kCpu) {
    const int64_t floats = a.outer * a.inner * a.k;
    return run_cpu<cpu::PackCheck>(call.env, call.async, floats, "bitgrad.packBits", call.ops,
                                   [a] { return cpu::pack(a); },
                                   [](Napi::Env env, const cpu::PackCheck& r) -> Napi::Value {
                                     return r.ok ? env.Undefined() : nan_error(env, r.index);
                                   });
  }

  // CUDA: the lowest NaN offset is read back (all ones: none). Async mode settles from
  // the completion callback; sync mode waits for the stream (a NaN must not pass).
  return run_cuda(
      call.env, device, call.async, "pack", DeviceReport{sizeof(uint64_t), 0xff, true},
      [device, a](void* flag) { return cuda::pack_bits(device, a, static_cast<uint64_t*>(flag)); },
      [](Napi::Env env, const void* flag) -> Napi::Value {
        const uint64_t off = *static_cast<const uint64_t*>(flag);
        return off == kNoNan ? env.Undefined() : nan_error(env, static_cast<int64_t>(off));
      });
}

Napi::Value UnpackBits(const Napi::CallbackInfo& info) {
  OpCall call(info, "unpackBits", false);
  Napi::Env env = call.env;
  Napi::Object spec = call.spec;
  UnpackArgs a;
  a.rows = count(env, spec, "rows");
  a.k = count(env, spec, "k");
  a.words = count(env, spec, "words");
  if (a.words < (a.k + 63) / 64)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "words must be at least ceil(k / 64)");
  const int64_t in_words = mul(env, a.rows, a.words, "the input");
  const int64_t out_floats = mul(env, a.rows, a.k, "the output");
  Operand bits = buffer_operand(env, spec.Get("bits"), "bits", static_cast<size_t>(mul(env, in_words, 8, "the input")));
  Operand out = buffer_operand(env, spec.Get("out"), "out", static_cast<size_t>(mul(env, out_floats, 4, "the output")));
  same_device(env, "bits are", bits.device, out.device);
  const int device = bits.device;
  a.bits = static_cast<const uint64_t*>(call.ops.keep(std::move(bits), "bits"));
  a.out = static_cast<float*>(call.ops.keep(std::move(out), "out"));
  if (device == kCpu) {
    cpu::unpack(a);
    return env.Undefined();
  }
  cuda::Status st = cuda::unpack_bits(device, a);
  if (!st.ok) throw_status(env, st, "unpack");
  return env.Undefined();
}

}  // namespace glue
}  // namespace bg
