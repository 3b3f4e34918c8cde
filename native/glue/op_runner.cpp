#include "op_runner.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "addon.h"

namespace bg {
namespace glue {

int64_t spec_int(Napi::Env env, Napi::Object spec, const char* key, int64_t lo, int64_t hi, const char* range_text) {
  Napi::Value v = spec.Get(key);
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " " + range_text);
  return static_cast<int64_t>(d);
}

int64_t spec_int_or(Napi::Env env, Napi::Object spec, const char* key, int64_t lo, int64_t hi, int64_t dflt) {
  return spec.Get(key).IsUndefined() ? dflt : spec_int(env, spec, key, lo, hi);
}

double spec_number(Napi::Env env, Napi::Object spec, const char* key, double dflt) {
  Napi::Value v = spec.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

double spec_double(Napi::Env env, Napi::Object spec, const char* key, double dflt) {
  const double d = spec_number(env, spec, key, dflt);  // dflt: finite (callers' defaults)
  if (!(d > -1.7e308 && d < 1.7e308)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be finite");
  return d;
}

float spec_float(Napi::Env env, Napi::Object spec, const char* key, float dflt) {
  const double d = spec_double(env, spec, key, dflt);
  if (!(d > -3.4e38 && d < 3.4e38)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be a finite float");
  return static_cast<float>(d);
}

float spec_float_narrow(Napi::Env env, Napi::Object spec, const char* key, float dflt) {
  const double d = spec_number(env, spec, key, dflt);
  if (!std::isfinite(d)) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(key) + " must be finite");
  return static_cast<float>(d);
}

bool spec_bool(Napi::Object spec, const char* key) { return spec.Get(key).ToBoolean().Value(); }

void* Operands::take(const char* name, size_t min_bytes, bool optional) {
  return keep(resolve_operand(env_, spec_.Get(name), name, min_bytes, optional), name);
}

void* Operands::take_int32(const char* name, size_t min_bytes, bool optional) {
  Napi::Value v = spec_.Get(name);
  if (!v.IsTypedArray()) return take(name, min_bytes, optional);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array)
    throw_validation(env_, "BITGRAD_INVALID_DTYPE", std::string(name) + " must be an Int32Array");
  Operand op;
  op.present = true;
  op.is_host_array = true;
  op.bytes = ta.ByteLength();
  op.ptr = op.bytes == 0 ? nullptr : static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (op.bytes < min_bytes) throw_validation(env_, "BITGRAD_SHAPE_MISMATCH", std::string(name) + " is too short");
  return keep(std::move(op), name);
}

void* Operands::keep(Operand op, const char* name) {
  void* p = op.ptr;
  if (op.present && op.is_host_array) host_names_.push_back(name);
  if (op.present) held.push_back(std::move(op));
  return p;
}

Broadcast Operands::broadcast(const char* name, const char* div_key, const char* mod_key) {
  Broadcast b;
  Napi::Value v = spec_.Get(name);
  if (v.IsUndefined() || v.IsNull()) return b;
  b.div = spec_int(env_, spec_, div_key, 1, INT64_C(1) << 53);
  b.mod = spec_int(env_, spec_, mod_key, 1, INT64_C(1) << 53);
  b.data = static_cast<const float*>(take(name, static_cast<size_t>(b.mod) * 4, false));
  return b;
}

int Operands::device() const {
  if (held.empty()) return kCpu;
  const int d = held.front().device;
  for (const Operand& op : held) {
    if (op.device != d)
      throw_validation(env_, "BITGRAD_DEVICE_MISMATCH",
                       "all operands must be on one device (found " + device_name(d) + " and " + device_name(op.device) + ")");
  }
  return d;
}

std::vector<Napi::Reference<Napi::Value>> Operands::host_refs() const {
  std::vector<Napi::Reference<Napi::Value>> refs;
  for (const std::string& k : host_names_) refs.push_back(Napi::Persistent(spec_.Get(k)));
  return refs;
}

namespace {

// info[0] as the spec object after checking the arguments against `name(spec, async)`.
Napi::Object checked_spec(const Napi::CallbackInfo& info, const char* name, bool takes_async) {
  const bool ok = takes_async ? info.Length() >= 2 && info[0].IsObject() && info[1].IsBoolean()
                              : info.Length() >= 1 && info[0].IsObject();
  if (!ok)
    throw_validation(info.Env(), "BITGRAD_INVALID_ARGUMENT",
                     std::string(name) + (takes_async ? "(spec, async)" : "(spec)"));
  return info[0].As<Napi::Object>();
}

}  // namespace

OpCall::OpCall(const Napi::CallbackInfo& info, const char* name, bool takes_async)
    : env(info.Env()),
      spec(checked_spec(info, name, takes_async)),
      async(takes_async && info[1].As<Napi::Boolean>().Value()),
      ops(env, spec) {}

cuda::Status with_scratch(int device, size_t bytes, const std::function<cuda::Status(void* scratch)>& fn) {
  void* scratch = nullptr;
  cuda::Status st = cuda::Status::Ok();
  if (bytes > 0) st = cuda::malloc_async(device, bytes, &scratch);
  if (st.ok) st = fn(scratch);
  if (scratch) cuda::free_async(device, scratch);  // stream-ordered: after the work
  return st;
}

Napi::Value run_cuda(Napi::Env env, int device, bool async, const std::string& name, DeviceReport report,
                     const std::function<cuda::Status(void* report_device)>& enqueue,
                     const Verdict<const void*>& verdict) {
  void* dev_report = nullptr;
  cuda::Status st;
  if (report.bytes > 0) {
    st = cuda::malloc_async(device, report.bytes, &dev_report);
    if (st.ok) st = cuda::memset_async(device, dev_report, report.fill, report.bytes);
  }
  if (st.ok) st = enqueue(dev_report);
  if (!st.ok) {
    if (dev_report) cuda::free_async(device, dev_report);
    throw_status(env, st, name);
  }
  if (!async && !report.sync_waits) {
    if (dev_report) cuda::free_async(device, dev_report);
    return env.Undefined();
  }
  void* host_report = nullptr;
  if (report.bytes > 0) {
    st = cuda::alloc_pinned(report.bytes, &host_report);
    if (st.ok) {
      std::memset(host_report, report.fill, report.bytes);
      st = cuda::copy_d2h(device, host_report, dev_report, report.bytes);
    }
    cuda::free_async(device, dev_report);  // stream-ordered: after the copy
  }
  if (st.ok && !async) st = cuda::synchronize(device);
  if (!st.ok) {
    cuda::free_pinned(host_report);
    throw_status(env, st, name);
  }
  if (!async) {  // sync_waits: the report is on the host now
    Napi::Value e = verdict(env, host_report);
    cuda::free_pinned(host_report);
    if (!e.IsUndefined()) throw Napi::Error(env, e);
    return env.Undefined();
  }
  auto deferred = Napi::Promise::Deferred::New(env);
  // Set when neither a host callback nor a drain of the stream tells that the report landed.
  auto lost = std::make_shared<cuda::Status>();
  void* job = state(env).completion->prepare([deferred, host_report, name, verdict, lost](Napi::Env env) {
    cuda::Status err = lost->ok ? cuda::sticky_error() : *lost;
    Napi::Value e = err.ok ? verdict(env, host_report) : status_error(env, err, name).Value();
    if (lost->ok) cuda::free_pinned(host_report);  // else the copy may still be writing it
    if (e.IsUndefined())
      deferred.Resolve(env.Undefined());
    else
      deferred.Reject(e);
  });
  st = cuda::on_complete(device, &Completion::post, job);
  if (!st.ok) {
    // No callback will come: drain the stream so the job can read the report, and let the
    // job settle the promise returned below (throwing instead would leave that promise to
    // reject unhandled, which ends the process).
    if (!cuda::synchronize(device).ok) *lost = st;
    Completion::post(job);
  }
  return deferred.Promise();
}

}  // namespace glue
}  // namespace bg
