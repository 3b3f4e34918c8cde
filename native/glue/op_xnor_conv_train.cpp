// xnorConvBackward: argument decoding, the CPU work and the CUDA enqueue of the binary
// convolution's backward products (native/ops/xnor_conv_train_args.h); op_runner runs
// it. See lib/xnor/conv-train.ts.
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/xnor_conv_train.h"
#include "conv_geometry.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

void bad(Napi::Env env, const std::string& m) {
  throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorConvBackward: " + m);
}

int64_t mul(Napi::Env env, int64_t a, int64_t b) { return checked_mul(env, "xnorConvBackward", a, b); }

Operand buffer_operand(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes) {
  return bit_operand(env, "xnorConvBackward", v, name, min_bytes);
}

bool present(Napi::Object s, const char* key) { return !s.Get(key).IsUndefined() && !s.Get(key).IsNull(); }

XnorConvBwdArgs decode(Napi::Env env, Napi::Object s, Operands& ops, double* work) {
  XnorConvBwdArgs a;
  decode_conv_geometry(env, s, "xnorConvBackward", &a);
  const bool want_gx = present(s, "gx");
  const bool want_gw = present(s, "gw");
  if (!want_gx && !want_gw) bad(env, "no output");
  const int64_t taps = mul(env, a.kh, a.kw);
  const int64_t pixels = mul(env, mul(env, a.n, a.ho), a.wo);
  const int64_t inpix = mul(env, mul(env, a.n, a.h), a.wd);
  a.g = static_cast<const float*>(ops.take("g", static_cast<size_t>(mul(env, mul(env, pixels, a.cout), 4)), false));
  *work = 0;
  if (want_gx) {
    a.alpha = static_cast<const float*>(ops.take("alpha", static_cast<size_t>(a.cout) * 4, true));
    const size_t wb = static_cast<size_t>(mul(env, mul(env, mul(env, a.cout, taps), a.gwords), 8));
    a.w = static_cast<const uint64_t*>(ops.keep(buffer_operand(env, s.Get("wt"), "w", wb), "wt"));
    a.gx = static_cast<float*>(ops.take("gx", static_cast<size_t>(mul(env, mul(env, inpix, a.c), 4)), false));
    *work += static_cast<double>(inpix) * static_cast<double>(a.c) * static_cast<double>(a.cout / a.groups) *
             static_cast<double>(taps);
  }
  if (want_gw) {
    const size_t xb = static_cast<size_t>(mul(env, mul(env, inpix, a.xwords), 8));
    a.x = static_cast<const uint64_t*>(ops.keep(buffer_operand(env, s.Get("x"), "x", xb), "x"));
    a.gw = static_cast<float*>(ops.take("gw", static_cast<size_t>(mul(env, mul(env, mul(env, a.cout, taps), a.cg), 4)), false));
    *work += static_cast<double>(pixels) * static_cast<double>(a.cout) * static_cast<double>(taps) * static_cast<double>(a.cg);
  }
  return a;
}

}  // namespace

Napi::Value XnorConvBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorConvBackward(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  Operands ops(env, spec);
  double work = 0;
  const XnorConvBwdArgs a = decode(env, spec, ops, &work);
  const int device = ops.device();

  if (device == kCpu) {
    // Element-updates / 16 (one SIMD add each) stand for the work.
    const double w16 = work / 16.0;
    const int64_t elements = w16 > 9e15 ? INT64_C(9000000000000000) : static_cast<int64_t>(w16);
    return run_cpu<bool>(
        env, async, elements, "bitgrad.xnorConvBackward", ops,
        [a] {
          cpu::xnor_conv_backward(a);
          return true;
        },
        [](Napi::Env env, const bool&) -> Napi::Value { return env.Undefined(); });
  }

  return run_cuda(
      env, device, async, "xnorConvBackward", DeviceReport{},
      [device, a](void*) { return cuda::xnor_conv_backward(device, a); },
      [](Napi::Env env, const void*) -> Napi::Value { return env.Undefined(); });
}

}  // namespace glue
}  // namespace bg
