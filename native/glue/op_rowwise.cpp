// Row-wise research losses (zLoss, comp-sum / GCE, RMT symmetric CE, KD, decoupled
// softmax, PLD, LDR-KL / ALDR-KL, CBC, pass@N): argument decoding, the CPU work, the CUDA
// enqueue and the verdicts on bad targets / indices / masks; op_runner runs them.
#include <napi.h>

#include <string>

#include "../../cuda/backend.h"
#include "../cpu/rowwise_losses.h"
#include "op_runner.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

const char* const kNames[] = {"zLoss", "generalizedCrossEntropy", "rmtSymmetricCrossEntropy", "kdLoss", "decoupledSoftmax",
                              "plackettLuceDistillation", "ldrKl", "AldrKl", "cbcLoss", "passAtNLoss"};

// spec[key] as a float, `dflt` when undefined; unchecked: lib/ sends finite numbers, and
// one beyond the float range becomes +-Infinity rather than an error.
float spec_param(Napi::Env env, Napi::Object spec, const char* key, float dflt) {
  return static_cast<float>(spec_number(env, spec, key, dflt));
}

RowLossArgs decode(Napi::Env env, Napi::Object spec, Operands& ops) {
  RowLossArgs a;
  a.kind = static_cast<RowLossKind>(spec_int(env, spec, "kind", 0, kRowLossKinds - 1));
  a.rows = spec_int(env, spec, "rows", 0, INT64_C(1) << 53);
  a.classes = spec_int(env, spec, "classes", 0, INT32_MAX);
  if (static_cast<double>(a.rows) * static_cast<double>(a.classes) > 9007199254740992.0)
    throw_validation(env, "BITGRAD_INVALID_SHAPE", "input too large");
  if (a.rows > 0 && a.classes == 0) throw_validation(env, "BITGRAD_INVALID_SHAPE", "the class dimension is empty");
  const size_t nb = static_cast<size_t>(a.rows * a.classes) * 4;
  const size_t rb = static_cast<size_t>(a.rows) * 4;
  a.reduction = static_cast<Reduction>(spec_int(env, spec, "reduction", 0, 2));
  a.p0 = spec_param(env, spec, "p0", 0.0f);
  a.p1 = spec_param(env, spec, "p1", 0.0f);
  a.p2 = spec_param(env, spec, "p2", 0.0f);
  a.mode = static_cast<int>(spec_int(env, spec, "mode", 0, 1));
  a.grad_scale = spec_param(env, spec, "gradScale", 1.0f);

  a.x = static_cast<const float*>(ops.take("x", nb, false));
  const bool needs_t = a.kind == RowLossKind::RmtSce || a.kind == RowLossKind::Kd || a.kind == RowLossKind::DecoupledSoftmax ||
                       a.kind == RowLossKind::Pld || a.kind == RowLossKind::Cbc;
  const bool needs_y = a.kind == RowLossKind::ZLoss || a.kind == RowLossKind::CompSum || a.kind == RowLossKind::Pld ||
                       a.kind == RowLossKind::LdrKl || a.kind == RowLossKind::AldrKl || a.kind == RowLossKind::PassAtN;
  if (needs_t) a.t = static_cast<const float*>(ops.take("t", nb, false));
  if (needs_y) a.target = static_cast<const int32_t*>(ops.take_int32("target", rb, false));
  if (a.kind == RowLossKind::AldrKl) {
    a.n_state = spec_int(env, spec, "nState", 0, INT32_MAX);
    a.state = static_cast<float*>(ops.take("state", static_cast<size_t>(a.n_state) * 4, false));
    a.index = static_cast<const int32_t*>(ops.take_int32("index", rb, false));
    if (a.classes < 2 && a.rows > 0) throw_validation(env, "BITGRAD_INVALID_SHAPE", "AldrKl needs at least 2 classes");
  }
  a.loss = static_cast<float*>(ops.take("loss", a.reduction == Reduction::None ? rb : 4, false));
  a.grad = static_cast<float*>(ops.take("grad", nb, true));
  if (a.reduction == Reduction::None) a.grad_out = static_cast<const float*>(ops.take("gradOut", rb, true));
  return a;
}

Napi::Error check_error(Napi::Env env, const char* name, const RowCheck& c, int64_t classes, int64_t n_state) {
  const double index = static_cast<double>(c.index);
  const double value = c.value;
  std::string msg;
  if (c.what == 0)
    msg = std::string(name) + ": target " + std::to_string(static_cast<int64_t>(c.value)) + " at row " + std::to_string(c.index) +
          " is not a class index in [0, " + std::to_string(classes) + ")";
  else if (c.what == 1)
    msg = std::string(name) + ": sample index " + std::to_string(static_cast<int64_t>(c.value)) + " at row " + std::to_string(c.index) +
          " is outside [0, " + std::to_string(n_state) + ")";
  else
    msg = std::string(name) + ": positives mask at row " + std::to_string(c.index) + ", class " +
          std::to_string(static_cast<int64_t>(c.value)) + " is neither 0 nor 1";
  return make_error(env, ErrorKind::Validation, "BITGRAD_TARGET_OUT_OF_RANGE", msg, [&](Napi::Object o) {
    o.Set("index", index);
    o.Set("value", value);
  });
}

}  // namespace

Napi::Value RowLoss(const Napi::CallbackInfo& info) {
  OpCall call(info, "rowLoss");
  const RowLossArgs a = decode(call.env, call.spec, call.ops);
  const int device = call.ops.device();
  const char* const name = kNames[static_cast<int>(a.kind)];
  const int64_t classes = a.classes;
  const int64_t n_state = a.n_state;

  if (device == kCpu) {
    return run_cpu<RowCheck>(
        call.env, call.async, a.rows * a.classes, "bitgrad.rowLoss", call.ops, [a] { return cpu::rowwise_loss(a); },
        [name, classes, n_state](Napi::Env env, const RowCheck& r) -> Napi::Value {
          return r.ok ? env.Undefined() : check_error(env, name, r, classes, n_state).Value();
        });
  }

  // CUDA: report[0] holds (what << 56 | row) of the first failed check (all ones = none),
  // report[1] its value; only the async form reads it back.
  return run_cuda(
      call.env, device, call.async, name, DeviceReport{2 * sizeof(int64_t), 0xff},
      [device, a](void* report) {
        void* scratch = nullptr;
        const size_t sb = cuda::rowwise_loss_scratch_bytes(a);
        cuda::Status st = sb ? cuda::malloc_async(device, sb, &scratch) : cuda::Status::Ok();
        if (st.ok) st = cuda::rowwise_loss(device, a, scratch, static_cast<int64_t*>(report));
        if (scratch) cuda::free_async(device, scratch);  // stream-ordered: after the kernels
        return st;
      },
      [name, classes, n_state](Napi::Env env, const void* report) -> Napi::Value {
        const int64_t* r = static_cast<const int64_t*>(report);
        const uint64_t key = static_cast<uint64_t>(r[0]);
        if (key == ~UINT64_C(0)) return env.Undefined();
        RowCheck c;
        c.ok = false;
        c.what = static_cast<int>(key >> 56);
        c.index = static_cast<int64_t>(key & ((UINT64_C(1) << 56) - 1));
        c.value = static_cast<double>(r[1]);
        return check_error(env, name, c, classes, n_state).Value();
      });
}

}  // namespace glue
}  // namespace bg
