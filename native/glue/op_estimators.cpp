// Straight-through estimators (binarize.*.forward / backward): argument decoding, the
// CPU work and the CUDA enqueue; op_runner runs them. The TypeScript facade
// (lib/binarize/estimators.ts) validates first; everything is checked again here.
#include <napi.h>

#include <cmath>
#include <string>

#include "../../cuda/backend.h"
#include "../cpu/estimators.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

EstimatorArgs decode(Napi::Env env, Napi::Object spec, Operands& ops) {
  EstimatorArgs a;
  a.kind = static_cast<EstKind>(spec_int(env, spec, "kind", 0, kEstCount - 1));
  a.backward = spec_bool(spec, "backward");
  a.n = spec_int(env, spec, "n", 0, INT64_C(1) << 53);
  const size_t nb = static_cast<size_t>(a.n) * 4;
  EstParams& p = a.params;
  // Optional finite hyper-parameters (absent: keep the default).
  auto param = [&](const char* key, float* dst) { *dst = spec_float_narrow(env, spec, key, *dst); };
  param("zero", &p.zero);
  if (p.zero != 0.0f && p.zero != 1.0f) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "zero must be 0 or 1");
  p.inclusive = spec.Get("inclusive").IsUndefined() ? 1 : (spec_bool(spec, "inclusive") ? 1 : 0);
  param("clip", &p.clip);
  param("beta", &p.beta);
  param("invO", &p.inv_o);
  param("expo", &p.expo);
  param("slope0", &p.slope0);
  param("t", &p.t);
  param("delta", &p.delta);
  param("omega", &p.omega);
  param("kt4", &p.kt4);
  param("t2", &p.t2);
  param("fdaScale", &p.fda_scale);
  param("fdaM", &p.fda_m);
  param("fdaTerms", &p.fda_terms);
  param("lsqGs", &p.lsq_gs);
  if (a.kind == EstKind::Elastic && spec.Get("lsqGs").IsUndefined())
    p.lsq_gs = a.n > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(a.n))) : 1.0f;
  p.lsq_mode = static_cast<int>(spec_int_or(env, spec, "lsqMode", 0, 2, p.lsq_mode));

  a.x = static_cast<const float*>(ops.take("x", nb, false));
  a.out = static_cast<float*>(ops.take("out", nb, false));
  if (a.backward) a.g = static_cast<const float*>(ops.take("g", nb, false));
  if (est_has_param(a.kind)) {
    a.param.div = spec_int(env, spec, "paramDiv", 1, INT64_C(1) << 53);
    a.param.mod = spec_int(env, spec, "paramMod", 1, INT64_C(1) << 53);
    const size_t pb = static_cast<size_t>(a.param.mod) * 4;
    a.param.data = static_cast<const float*>(ops.take("param", pb, false));
    if (a.backward) a.dparam = static_cast<float*>(ops.take("dparam", pb, true));
  }
  return a;
}

}  // namespace

Napi::Value Estimator(const Napi::CallbackInfo& info) {
  OpCall call(info, "estimator");
  const EstimatorArgs a = decode(call.env, call.spec, call.ops);
  const int device = call.ops.device();

  if (device == kCpu) {
    return run_cpu<bool>(
        call.env, call.async, a.n, "bitgrad.estimator", call.ops,
        [a] {
          cpu::estimator(a);
          return true;
        },
        [](Napi::Env env, const bool&) -> Napi::Value { return env.Undefined(); });
  }

  return run_cuda(
      call.env, device, call.async, "estimator", DeviceReport{},
      [device, a](void*) {
        return with_scratch(device, cuda::estimator_scratch_bytes(a), [&](void* s) { return cuda::estimator(device, a, s); });
      },
      [](Napi::Env env, const void*) -> Napi::Value { return env.Undefined(); });
}

}  // namespace glue
}  // namespace bg
