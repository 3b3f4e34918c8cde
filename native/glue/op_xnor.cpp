// xnorConv: argument decoding, the CPU work and the CUDA enqueue; op_runner runs them.
// GEMM is sent here as a 1x1 convolution. See lib/xnor/index.ts and
// native/ops/xnor_args.h.
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/xnor.h"
#include "conv_geometry.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

// Below this many word-MACs (pixels * cout * words) async CPU calls run inline.
constexpr double kInlineWork = 1 << 18;
int64_t mul(Napi::Env env, int64_t a, int64_t b) { return checked_mul(env, "xnorConv", a, b); }

Operand buffer_operand(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes, bool read_only = false) {
  return bit_operand(env, "xnorConv", v, name, min_bytes, read_only);
}

XnorConvArgs decode(Napi::Env env, Napi::Object s, Operands& ops, double* work) {
  XnorConvArgs a;
  decode_conv_geometry(env, s, "xnorConv", &a);
  a.out_type = static_cast<int>(spec_int(env, s, "outType", 0, 2));
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
