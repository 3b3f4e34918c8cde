// Row-wise research losses (zLoss, comp-sum / GCE, RMT symmetric CE, KD, decoupled
// softmax, PLD, LDR-KL / ALDR-KL, CBC, pass@N): argument decoding and the three ways to
// run them (CPU inline, CPU on a libuv worker, CUDA stream-ordered with completion
// through the thread-safe function), as op_class_loss.cpp does for crossEntropy.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../../cuda/backend.h"
#include "../cpu/rowwise_losses.h"
#include "addon.h"
#include "buffer.h"
#include "errors.h"
#include "ops.h"

namespace bg {
namespace glue {

namespace {

constexpr int64_t kInlineElements = 32768;
const char* const kNames[] = {"zLoss", "generalizedCrossEntropy", "rmtSymmetricCrossEntropy", "kdLoss", "decoupledSoftmax",
                              "plackettLuceDistillation", "ldrKl", "AldrKl", "cbcLoss", "passAtNLoss"};

struct RowCall {
  RowLossArgs args;
  std::vector<Operand> operands;
  int device = kCpu;
  const char* name = "zLoss";
};

int64_t get_int(Napi::Env env, Napi::Object o, const char* key, int64_t lo, int64_t hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " out of range");
  return static_cast<int64_t>(d);
}

float get_float(Napi::Env env, Napi::Object o, const char* key, float dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  return v.As<Napi::Number>().FloatValue();
}

Operand resolve_int32(Napi::Env env, Napi::Value v, const char* name, size_t min_bytes) {
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_int32_array)
      throw_validation(env, "BITGRAD_INVALID_DTYPE", std::string(name) + " must be an Int32Array");
    Operand op;
    op.present = true;
    op.is_host_array = true;
    op.bytes = ta.ByteLength();
    op.ptr = op.bytes == 0 ? nullptr : static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    if (op.bytes < min_bytes) throw_validation(env, "BITGRAD_SHAPE_MISMATCH", std::string(name) + " is too short");
    return op;
  }
  return resolve_operand(env, v, name, min_bytes, false);
}

RowCall decode(Napi::Env env, Napi::Object spec) {
  RowCall call;
  RowLossArgs& a = call.args;
  a.kind = static_cast<RowLossKind>(get_int(env, spec, "kind", 0, kRowLossKinds - 1));
  call.name = kNames[static_cast<int>(a.kind)];
  a.rows = get_int(env, spec, "rows", 0, INT64_C(1) << 53);
  a.classes = get_int(env, spec, "classes", 0, INT32_MAX);
  if (static_cast<double>(a.rows) * static_cast<double>(a.classes) > 9007199254740992.0)
    throw_validation(env, "BITGRAD_INVALID_SHAPE", "input too large");
  if (a.rows > 0 && a.classes == 0) throw_validation(env, "BITGRAD_INVALID_SHAPE", "the class dimension is empty");
  const int64_t n = a.rows * a.classes;
  a.reduction = static_cast<Reduction>(get_int(env, spec, "reduction", 0, 2));
  a.p0 = get_float(env, spec, "p0", 0.0f);
  a.p1 = get_float(env, spec, "p1", 0.0f);
  a.p2 = get_float(env, spec, "p2", 0.0f);
  a.mode = static_cast<int>(get_int(env, spec, "mode", 0, 1));
  a.grad_scale = get_float(env, spec, "gradScale", 1.0f);

  auto keep = [&](Operand op) {
    void* p = op.ptr;
    if (op.present) call.operands.push_back(std::move(op));
    return p;
  };
  a.x = static_cast<const float*>(keep(resolve_operand(env, spec.Get("x"), "x", static_cast<size_t>(n) * 4, false)));
  const bool needs_t = a.kind == RowLossKind::RmtSce || a.kind == RowLossKind::Kd || a.kind == RowLossKind::DecoupledSoftmax ||
                       a.kind == RowLossKind::Pld || a.kind == RowLossKind::Cbc;
  const bool needs_y = a.kind == RowLossKind::ZLoss || a.kind == RowLossKind::CompSum || a.kind == RowLossKind::Pld ||
                       a.kind == RowLossKind::LdrKl || a.kind == RowLossKind::AldrKl || a.kind == RowLossKind::PassAtN;
  if (needs_t) a.t = static_cast<const float*>(keep(resolve_operand(env, spec.Get("t"), "t", static_cast<size_t>(n) * 4, false)));
  if (needs_y) a.target = static_cast<const int32_t*>(keep(resolve_int32(env, spec.Get("target"), "target", static_cast<size_t>(a.rows) * 4)));
  if (a.kind == RowLossKind::AldrKl) {
    a.n_state = get_int(env, spec, "nState", 0, INT32_MAX);
    a.state = static_cast<float*>(keep(resolve_operand(env, spec.Get("state"), "state", static_cast<size_t>(a.n_state) * 4, false)));
    a.index = static_cast<const int32_t*>(keep(resolve_int32(env, spec.Get("index"), "index", static_cast<size_t>(a.rows) * 4)));
    if (a.classes < 2 && a.rows > 0) throw_validation(env, "BITGRAD_INVALID_SHAPE", "AldrKl needs at least 2 classes");
  }
  a.loss = static_cast<float*>(keep(resolve_operand(env, spec.Get("loss"), "loss", a.reduction == Reduction::None ? static_cast<size_t>(a.rows) * 4 : 4, false)));
  a.grad = static_cast<float*>(keep(resolve_operand(env, spec.Get("grad"), "grad", static_cast<size_t>(n) * 4, true)));
  if (a.reduction == Reduction::None)
    a.grad_out = static_cast<const float*>(keep(resolve_operand(env, spec.Get("gradOut"), "gradOut", static_cast<size_t>(a.rows) * 4, true)));

  call.device = call.operands.front().device;
  for (const Operand& op : call.operands) {
    if (op.device != call.device)
      throw_validation(env, "BITGRAD_DEVICE_MISMATCH",
                       "all operands must be on one device (found " + device_name(call.device) + " and " +
                           device_name(op.device) + ")");
  }
  return call;
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

class RowWorker : public Napi::AsyncWorker {
 public:
  RowWorker(Napi::Env env, RowCall call, std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, "bitgrad.rowLoss"),
        deferred_(Napi::Promise::Deferred::New(env)),
        call_(std::move(call)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = cpu::rowwise_loss(call_.args); }
  void OnOK() override {
    if (result_.ok)
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(check_error(Env(), call_.name, result_, call_.args.classes, call_.args.n_state).Value());
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  RowCall call_;
  std::vector<Napi::Reference<Napi::Value>> refs_;
  RowCheck result_;
};

}  // namespace

Napi::Value RowLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsBoolean())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "rowLoss(spec, async)");
  Napi::Object spec = info[0].As<Napi::Object>();
  const bool async = info[1].As<Napi::Boolean>().Value();
  RowCall call = decode(env, spec);
  const int64_t elems = call.args.rows * call.args.classes;
  const int64_t classes = call.args.classes;
  const int64_t n_state = call.args.n_state;

  if (call.device == kCpu) {
    if (!async || elems < kInlineElements) {
      RowCheck r = cpu::rowwise_loss(call.args);
      if (!async) {
        if (!r.ok) throw check_error(env, call.name, r, classes, n_state);
        return env.Undefined();
      }
      auto d = Napi::Promise::Deferred::New(env);
      if (r.ok)
        d.Resolve(env.Undefined());
      else
        d.Reject(check_error(env, call.name, r, classes, n_state).Value());
      return d.Promise();
    }
    std::vector<Napi::Reference<Napi::Value>> refs;
    for (const char* k : {"x", "t", "target", "state", "index", "loss", "grad", "gradOut"}) {
      Napi::Value v = spec.Get(k);
      if (v.IsTypedArray()) refs.push_back(Napi::Persistent(v));
    }
    auto* w = new RowWorker(env, std::move(call), std::move(refs));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // CUDA: enqueue and return. bad[0] holds (what << 56 | row) of the first failed
  // check (all ones = none), bad[1] its value; only the async form reads it back.
  const int dev = call.device;
  const std::string name = call.name;
  void* scratch = nullptr;
  void* flag = nullptr;
  const size_t sb = cuda::rowwise_loss_scratch_bytes(call.args);
  cuda::Status st = sb ? cuda::malloc_async(dev, sb, &scratch) : cuda::Status::Ok();
  if (st.ok) st = cuda::malloc_async(dev, 2 * sizeof(int64_t), &flag);
  if (st.ok) st = cuda::memset_async(dev, flag, 0xff, 2 * sizeof(int64_t));
  if (st.ok) st = cuda::rowwise_loss(dev, call.args, scratch, static_cast<int64_t*>(flag));
  if (scratch) cuda::free_async(dev, scratch);
  if (!st.ok) {
    if (flag) cuda::free_async(dev, flag);
    throw_status(env, st, name);
  }
  if (!async) {
    cuda::free_async(dev, flag);
    return env.Undefined();
  }
  auto deferred = Napi::Promise::Deferred::New(env);
  int64_t* host_flag = nullptr;
  st = cuda::alloc_pinned(2 * sizeof(int64_t), reinterpret_cast<void**>(&host_flag));
  if (st.ok) {
    host_flag[0] = -1;
    host_flag[1] = 0;
    st = cuda::copy_d2h(dev, host_flag, flag, 2 * sizeof(int64_t));
  }
  cuda::free_async(dev, flag);
  if (!st.ok) {
    cuda::free_pinned(host_flag);
    throw_status(env, st, name);
  }
  void* job = state(env).completion->prepare([deferred, host_flag, name, classes, n_state](Napi::Env env) {
    RowCheck c;
    const uint64_t key = static_cast<uint64_t>(host_flag[0]);
    if (key != ~UINT64_C(0)) {
      c.ok = false;
      c.what = static_cast<int>(key >> 56);
      c.index = static_cast<int64_t>(key & ((UINT64_C(1) << 56) - 1));
      c.value = static_cast<double>(host_flag[1]);
    }
    cuda::free_pinned(host_flag);
    cuda::Status err = cuda::sticky_error();
    if (!err.ok)
      deferred.Reject(status_error(env, err, name).Value());
    else if (!c.ok)
      deferred.Reject(check_error(env, name.c_str(), c, classes, n_state).Value());
    else
      deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(dev, &Completion::post, job);
  if (!st.ok) {
    Completion::post(job);
    throw_status(env, st, name);
  }
  return deferred.Promise();
}

}  // namespace glue
}  // namespace bg
