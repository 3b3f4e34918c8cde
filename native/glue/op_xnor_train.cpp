// xnorLinearBackward: argument decoding, the CPU work and the CUDA enqueue of the binary
// dense layer's backward products (native/ops/xnor_train_args.h); op_runner runs it.
// See lib/xnor/index.ts (linearBackward).
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/xnor_train.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kMax = INT64_C(1) << 53;

int64_t mul(Napi::Env env, int64_t a, int64_t b) {
  if (a != 0 && b > kMax / a) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorLinearBackward: sizes are too large");
  return a * b;
}

XnorLinearBwdArgs decode(Napi::Env env, Napi::Object spec, Operands& ops) {
  XnorLinearBwdArgs a;
  const int64_t big = INT64_C(1) << 31;
  a.m = spec_int(env, spec, "m", 0, big);
  a.n = spec_int(env, spec, "n", 0, big);
  a.k = spec_int(env, spec, "k", 0, big);
  a.words = spec_int(env, spec, "words", 0, big);
  if (a.words != (a.k + 63) / 64)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorLinearBackward: words != ceil(k / 64)");
  const bool want_gx = !spec.Get("gx").IsUndefined() && !spec.Get("gx").IsNull();
  const bool want_gw = !spec.Get("gw").IsUndefined() && !spec.Get("gw").IsNull();
  if (!want_gx && !want_gw) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorLinearBackward: no output");
  a.g = static_cast<const float*>(ops.take("g", static_cast<size_t>(mul(env, mul(env, a.m, a.n), 4)), false));
  a.alpha = static_cast<const float*>(ops.take("alpha", static_cast<size_t>(a.n) * 4, true));
  if (want_gx) {
    a.w = static_cast<const uint64_t*>(ops.take("w", static_cast<size_t>(mul(env, mul(env, a.n, a.words), 8)), false));
    a.gx = static_cast<float*>(ops.take("gx", static_cast<size_t>(mul(env, mul(env, a.m, a.k), 4)), false));
  }
  if (want_gw) {
    a.x = static_cast<const uint64_t*>(ops.take("x", static_cast<size_t>(mul(env, mul(env, a.m, a.words), 8)), false));
    a.gw = static_cast<float*>(ops.take("gw", static_cast<size_t>(mul(env, mul(env, a.n, a.k), 4)), false));
  }
  return a;
}

}  // namespace

Napi::Value XnorLinearBackward(const Napi::CallbackInfo& info) {
  OpCall call(info, "xnorLinearBackward");
  const XnorLinearBwdArgs a = decode(call.env, call.spec, call.ops);
  const int device = call.ops.device();

  if (device == kCpu) {
    // Element-updates / 16 (one SIMD add each) stand for the work.
    const double work = static_cast<double>(a.m) * static_cast<double>(a.n) * static_cast<double>(a.k) / 16.0;
    const int64_t elements = work > 9e15 ? INT64_C(9000000000000000) : static_cast<int64_t>(work);
    return run_cpu<bool>(
        call.env, call.async, elements, "bitgrad.xnorLinearBackward", call.ops,
        [a] {
          cpu::xnor_linear_backward(a);
          return true;
        },
        [](Napi::Env env, const bool&) -> Napi::Value { return env.Undefined(); });
  }

  return run_cuda(
      call.env, device, call.async, "xnorLinearBackward", DeviceReport{},
      [device, a](void*) { return cuda::xnor_linear_backward(device, a); },
      [](Napi::Env env, const void*) -> Napi::Value { return env.Undefined(); });
}

}  // namespace glue
}  // namespace bg
