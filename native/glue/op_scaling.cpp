// Row-statistic binarizers (binarize.magnitudeAwareSign, xnor, dorefa, ternaryWeights,
// libraPB, recu, bivitWeights, multiBasis, recuActivation), the XNOR-Net activation scale K and the
// XNOR++ scale: argument decoding, the CPU work and the CUDA enqueue; op_runner runs
// them. lib/binarize/scaling.ts validates first; everything is checked again here.
#include <napi.h>

#include <functional>
#include <string>

#include "../../cuda/backend.h"
#include "../cpu/scaling.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kMaxDim = INT64_C(1) << 53;

int64_t mul(Napi::Env env, int64_t a, int64_t b) {
  if (a != 0 && b > kMaxDim / a) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "size overflow");
  return a * b;
}

// Runs `cpu` (inline or on a worker) or `gpu` on the operands' device; undefined or a promise.
Napi::Value dispatch(OpCall& call, int64_t work, const char* op, std::function<void()> cpu,
                     const std::function<cuda::Status(int)>& gpu) {
  const int device = call.ops.device();
  if (device == kCpu) {
    return run_cpu<bool>(
        call.env, call.async, work, "bitgrad.scaling", call.ops,
        [cpu] {
          cpu();
          return true;
        },
        [](Napi::Env env, const bool&) -> Napi::Value { return env.Undefined(); });
  }
  return run_cuda(
      call.env, device, call.async, op, DeviceReport{}, [device, &gpu](void*) { return gpu(device); },
      [](Napi::Env env, const void*) -> Napi::Value { return env.Undefined(); });
}

}  // namespace

Napi::Value ScaleRows(const Napi::CallbackInfo& info) {
  OpCall call(info, "scaleRows");
  Napi::Env env = call.env;
  Napi::Object spec = call.spec;
  Operands& ops = call.ops;
  ScaleArgs a;
  a.kind = static_cast<ScaleKind>(spec_int(env, spec, "kind", 0, kScaleCount - 1));
  a.backward = spec_bool(spec, "backward");
  a.rows = spec_int(env, spec, "rows", 1, kMaxDim);
  a.cols = spec_int(env, spec, "cols", 1, kMaxDim);
  const int64_t n = mul(env, a.rows, a.cols);
  ScaleParams& p = a.params;
  p.kind = static_cast<int>(a.kind);
  p.zero = spec_float_narrow(env, spec, "zero", p.zero);
  if (p.zero != 0.0f && p.zero != 1.0f) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "zero must be 0 or 1");
  p.inclusive = spec.Get("inclusive").IsUndefined() ? 1 : (spec_bool(spec, "inclusive") ? 1 : 0);
  p.clip = spec_float_narrow(env, spec, "clip", p.clip);
  p.full = spec_bool(spec, "full") ? 1 : 0;
  p.levels = static_cast<int>(spec_int_or(env, spec, "levels", 2, 3, p.levels));
  p.kt4 = spec_float_narrow(env, spec, "kt4", p.kt4);
  p.t2 = spec_float_narrow(env, spec, "t2", p.t2);
  p.qfac = spec_float_narrow(env, spec, "qfac", p.qfac);
  p.bases = static_cast<int>(spec_int_or(env, spec, "bases", 1, kMaxBases, p.bases));
  if (a.kind != ScaleKind::MultiBasis) p.bases = 1;
  p.training = spec.Get("training").IsUndefined() ? 1 : (spec_bool(spec, "training") ? 1 : 0);
  if (a.kind == ScaleKind::RecuAct && p.training && a.cols < 2)
    throw_validation(env, "BITGRAD_SHAPE_MISMATCH", "recuActivation: training needs at least 2 elements per sample");
  const size_t nb = static_cast<size_t>(n) * 4;
  const size_t ab = static_cast<size_t>(scale_alpha_count(a)) * 4;
  a.x = static_cast<const float*>(ops.take("x", nb, false));
  a.out = static_cast<float*>(ops.take("out", nb, false));
  if (a.backward) a.g = static_cast<const float*>(ops.take("g", nb, false));
  if (scale_has_dalpha(a.kind)) {
    a.alpha_in = static_cast<const float*>(ops.take("alphaIn", ab, true));
    if (a.backward) a.dalpha = static_cast<float*>(ops.take("dalpha", ab, true));
  }
  a.alpha_out = static_cast<float*>(ops.take("alphaOut", ab, true));
  return dispatch(
      call, n, "scaleRows", [a]() { cpu::scale_rows(a); },
      [a](int dev) {
        return with_scratch(dev, cuda::scale_rows_scratch_bytes(a), [&](void* s) { return cuda::scale_rows(dev, a, s); });
      });
}

Napi::Value XnorK(const Napi::CallbackInfo& info) {
  OpCall call(info, "xnorK");
  Napi::Env env = call.env;
  Napi::Object spec = call.spec;
  XnorKArgs a;
  a.n = spec_int(env, spec, "n", 1, kMaxDim);
  a.c = spec_int(env, spec, "c", 1, kMaxDim);
  a.h = spec_int(env, spec, "h", 1, kMaxDim);
  a.w = spec_int(env, spec, "w", 1, kMaxDim);
  a.kh = spec_int(env, spec, "kh", 1, 1 << 20);
  a.kw = spec_int(env, spec, "kw", 1, 1 << 20);
  a.sh = spec_int(env, spec, "sh", 1, 1 << 20);
  a.sw = spec_int(env, spec, "sw", 1, 1 << 20);
  a.ph = spec_int(env, spec, "ph", 0, 1 << 20);
  a.pw = spec_int(env, spec, "pw", 0, 1 << 20);
  const int64_t hp = a.h + 2 * a.ph - a.kh, wp = a.w + 2 * a.pw - a.kw;
  if (hp < 0 || wp < 0) throw_validation(env, "BITGRAD_SHAPE_MISMATCH", "the kernel is larger than the padded input");
  a.ho = hp / a.sh + 1;
  a.wo = wp / a.sw + 1;
  const int64_t nin = mul(env, mul(env, a.n, a.c), mul(env, a.h, a.w));
  const int64_t nout = mul(env, a.n, mul(env, a.ho, a.wo));
  a.x = static_cast<const float*>(call.ops.take("x", static_cast<size_t>(nin) * 4, false));
  a.out = static_cast<float*>(call.ops.take("out", static_cast<size_t>(nout) * 4, false));
  return dispatch(
      call, nin, "xnorK", [a]() { cpu::xnor_k(a); }, [a](int dev) { return cuda::xnor_k(dev, a); });
}

Napi::Value XnorPP(const Napi::CallbackInfo& info) {
  OpCall call(info, "xnorPP");
  Napi::Env env = call.env;
  Napi::Object spec = call.spec;
  Operands& ops = call.ops;
  XnorPPArgs a;
  a.backward = spec_bool(spec, "backward");
  a.n = spec_int(env, spec, "n", 1, kMaxDim);
  a.c = spec_int(env, spec, "c", 1, kMaxDim);
  a.h = spec_int(env, spec, "h", 1, kMaxDim);
  a.w = spec_int(env, spec, "w", 1, kMaxDim);
  const int64_t n = mul(env, mul(env, a.n, a.c), mul(env, a.h, a.w));
  const size_t nb = static_cast<size_t>(n) * 4;
  a.y = static_cast<const float*>(ops.take("y", nb, false));
  a.out = static_cast<float*>(ops.take("out", nb, false));
  a.o = static_cast<const float*>(ops.take("o", static_cast<size_t>(a.c) * 4, false));
  a.fh = static_cast<const float*>(ops.take("fh", static_cast<size_t>(a.h) * 4, false));
  a.fw = static_cast<const float*>(ops.take("fw", static_cast<size_t>(a.w) * 4, false));
  if (a.backward) {
    a.g = static_cast<const float*>(ops.take("g", nb, false));
    a.d_o = static_cast<float*>(ops.take("dO", static_cast<size_t>(a.c) * 4, false));
    a.d_h = static_cast<float*>(ops.take("dH", static_cast<size_t>(a.h) * 4, false));
    a.d_w = static_cast<float*>(ops.take("dW", static_cast<size_t>(a.w) * 4, false));
  }
  return dispatch(
      call, n, "xnorPlusPlus", [a]() { cpu::xnor_pp(a); },
      [a](int dev) {
        return with_scratch(dev, cuda::xnor_pp_scratch_bytes(a), [&](void* s) { return cuda::xnor_pp(dev, a, s); });
      });
}

}  // namespace glue
}  // namespace bg
