// xnorConvBackward: argument decoding, the CPU work and the CUDA enqueue of the binary
// convolution's backward products (native/ops/xnor_conv_train_args.h); op_runner runs
// it. See lib/xnor/conv-train.ts.
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/xnor_conv_train.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kMax = INT64_C(1) << 53;

void bad(Napi::Env env, const std::string& m) {
  throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorConvBackward: " + m);
}

int64_t mul(Napi::Env env, int64_t a, int64_t b) {
  if (a != 0 && b > kMax / a) bad(env, "sizes are too large");
  return a * b;
}

Operand buffer_operand(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes) {
  if (NativeBuffer::From(v) == nullptr) bad(env, std::string(name) + " must be a native buffer");
  return resolve_operand(env, v, name, min_bytes, false);
}

bool present(Napi::Object s, const char* key) { return !s.Get(key).IsUndefined() && !s.Get(key).IsNull(); }

XnorConvBwdArgs decode(Napi::Env env, Napi::Object s, Operands& ops, double* work) {
  XnorConvBwdArgs a;
  const int64_t big = INT64_C(1) << 31;
  a.n = spec_int(env, s, "n", 0, big);
  a.h = spec_int(env, s, "h", 0, big);
  a.wd = spec_int(env, s, "w", 0, big);
  a.c = spec_int(env, s, "c", 0, big);
  a.xwords = spec_int(env, s, "xwords", 0, big);
  a.cout = spec_int(env, s, "cout", 0, big);
  a.kh = spec_int(env, s, "kh", 1, big);
  a.kw = spec_int(env, s, "kw", 1, big);
  a.cg = spec_int(env, s, "cg", 0, big);
  a.gwords = spec_int(env, s, "gwords", 0, big);
  a.groups = spec_int(env, s, "groups", 1, big);
  a.sh = spec_int(env, s, "sh", 1, big);
  a.sw = spec_int(env, s, "sw", 1, big);
  a.ph = spec_int(env, s, "ph", 0, big);
  a.pw = spec_int(env, s, "pw", 0, big);
  a.dh = spec_int(env, s, "dh", 1, big);
  a.dw = spec_int(env, s, "dw", 1, big);
  a.ho = spec_int(env, s, "ho", 0, big);
  a.wo = spec_int(env, s, "wo", 0, big);
  a.pad_mode = static_cast<int>(spec_int(env, s, "padMode", 0, 1));
  if (a.xwords < (a.c + 63) / 64) bad(env, "xwords < ceil(c / 64)");
  if (a.cg * a.groups != a.c) bad(env, "cg * groups != c");
  if (a.gwords != (a.cg + 63) / 64) bad(env, "gwords != ceil(cg / 64)");
  if (a.cout % a.groups != 0) bad(env, "groups must divide cout");
  const int64_t eh = a.h + 2 * a.ph - a.dh * (a.kh - 1) - 1;
  const int64_t ew = a.wd + 2 * a.pw - a.dw * (a.kw - 1) - 1;
  if ((eh < 0 ? 0 : eh / a.sh + 1) != a.ho || (ew < 0 ? 0 : ew / a.sw + 1) != a.wo) bad(env, "ho / wo do not match");
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
