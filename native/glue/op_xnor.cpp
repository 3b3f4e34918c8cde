// xnorConv: argument decoding, the CPU work and the CUDA enqueue; op_runner runs them.
// GEMM is sent here as a 1x1 convolution. See lib/xnor/index.ts and
// native/ops/xnor_args.h.
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/xnor.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

// Below this many word-MACs (pixels * cout * words) async CPU calls run inline.
constexpr double kInlineWork = 1 << 18;
constexpr int64_t kMax = INT64_C(1) << 53;

int64_t mul(Napi::Env env, int64_t a, int64_t b) {
  if (a != 0 && b > kMax / a) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "xnorConv: sizes are too large");
  return a * b;
}

Operand buffer_operand(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes, bool read_only = false) {
  if (NativeBuffer::From(v) == nullptr)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(name) + " must be a native buffer");
  return resolve_operand(env, v, name, min_bytes, false, read_only);
}

XnorConvArgs decode(Napi::Env env, Napi::Object s, Operands& ops, double* work) {
  XnorConvArgs a;
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
  a.out_type = static_cast<int>(spec_int(env, s, "outType", 0, 2));
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
  a.x = static_cast<const uint64_t*>(ops.keep(buffer_operand(env, s.Get("x"), "x", xb, true), "x"));
  {
    // Read-only: the weights' version stays, so the CPU kernel's cached repack of them
    // (kept with the buffer) is reused while no op writes to them.
    Operand w = buffer_operand(env, s.Get("wt"), "w", wb, true);
    a.wcache = &w.keep->derived;
    a.wversion = w.keep->version.load(std::memory_order_relaxed);
    a.w = static_cast<const uint64_t*>(ops.keep(std::move(w), "wt"));
  }
  void* out = ops.keep(buffer_operand(env, s.Get("out"), "out", ob), "out");
  if (a.out_type == 0) a.out_i32 = static_cast<int32_t*>(out);
  if (a.out_type == 1) a.out_f32 = static_cast<float*>(out);
  if (a.out_type == 2) a.out_bits = static_cast<uint64_t*>(out);
  if (a.out_type != 0) {
    const size_t cb = static_cast<size_t>(a.cout) * 4;
    a.alpha = static_cast<const float*>(ops.take("alpha", cb, false));
    a.beta = static_cast<const float*>(ops.take("beta", cb, true));
    if (a.out_type == 1) a.residual = static_cast<const float*>(ops.take("residual", static_cast<size_t>(outs) * 4, true));
  }
  *work = static_cast<double>(outs) * static_cast<double>(a.kh * a.kw * (a.gwords > 0 ? a.gwords : 1));
  return a;
}

}  // namespace

Napi::Value XnorConv(const Napi::CallbackInfo& info) {
  OpCall call(info, "xnorConv");
  double work = 0;
  const XnorConvArgs a = decode(call.env, call.spec, call.ops, &work);
  const int device = call.ops.device();

  if (device == kCpu) {
    return run_cpu_inline_if<bool>(
        call.env, call.async, work < kInlineWork, "bitgrad.xnorConv", call.ops,
        [a] {
          cpu::xnor_conv(a);
          return true;
        },
        [](Napi::Env env, const bool&) -> Napi::Value { return env.Undefined(); });
  }

  return run_cuda(
      call.env, device, call.async, "xnorConv", DeviceReport{}, [device, a](void*) { return cuda::xnor_conv(device, a); },
      [](Napi::Env env, const void*) -> Napi::Value { return env.Undefined(); });
}

Napi::Value XnorKernelName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cpu::xnor_kernel_name());
}

}  // namespace glue
}  // namespace bg
