// What every op's glue shares: reading the spec object that lib/ builds, collecting the
// operands (kept alive for the call, all on one device), and the three ways to run an op:
// CPU inline, CPU on a libuv worker (large async calls), CUDA stream-ordered with
// completion through the thread-safe function. An op supplies only its decoding, its CPU
// work, its CUDA enqueue and the JS-thread verdict on the outcome.
#pragma once
#include <napi.h>

#include <cstdint>
#include <functional>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "../../cuda/backend.h"
#include "../ops/bce_logits_args.h"
#include "buffer.h"
#include "errors.h"

namespace bg {
namespace glue {

// Below this many elements an async CPU op runs inline: a worker hop costs more.
constexpr int64_t kInlineElements = 32768;

// ---- the spec object ------------------------------------------------------------------

// spec[key] as an integer in [lo, hi]; ValidationError otherwise ("<key> <range_text>"
// when out of range).
int64_t spec_int(Napi::Env env, Napi::Object spec, const char* key, int64_t lo, int64_t hi,
                 const char* range_text = "out of range");
// spec[key] as an integer in [lo, hi], `dflt` when undefined.
int64_t spec_int_or(Napi::Env env, Napi::Object spec, const char* key, int64_t lo, int64_t hi, int64_t dflt);
// spec[key] as a finite float, `dflt` when undefined.
float spec_float(Napi::Env env, Napi::Object spec, const char* key, float dflt);
// spec[key] as a number, unchecked (NaN and infinities pass), `dflt` when undefined.
double spec_number(Napi::Env env, Napi::Object spec, const char* key, double dflt);
// spec[key] as a finite double, `dflt` when undefined.
double spec_double(Napi::Env env, Napi::Object spec, const char* key, double dflt);
// spec[key] as any finite number (std::isfinite) narrowed to float, so past the float
// range it becomes an infinity; `dflt` when undefined.
float spec_float_narrow(Napi::Env env, Napi::Object spec, const char* key, float dflt);
// Truthiness of spec[key].
bool spec_bool(Napi::Object spec, const char* key);

// The operands of one call. Buffers are kept alive by shared ownership; host arrays by
// persistent references made when an async CPU call hands the work to a worker.
class Operands {
 public:
  Operands(Napi::Env env, Napi::Object spec) : env_(env), spec_(spec) {}

  // spec[name]: a Float32Array or a buffer of at least min_bytes; null if optional and absent.
  void* take(const char* name, size_t min_bytes, bool optional);
  // spec[name]: an Int32Array or a buffer of at least min_bytes; null if optional and absent.
  void* take_int32(const char* name, size_t min_bytes, bool optional);
  // An operand resolved by the op itself (other element types); spec[name] is what it
  // was resolved from.
  void* keep(Operand op, const char* name);
  // A broadcast operand: spec[name] with spec[div_key] and spec[mod_key] (float32).
  Broadcast broadcast(const char* name, const char* div_key, const char* mod_key);
  // The one device every operand is on; ValidationError BITGRAD_DEVICE_MISMATCH otherwise.
  int device() const;
  // References to the host arrays among the operands (for work leaving the JS thread).
  std::vector<Napi::Reference<Napi::Value>> host_refs() const;

  std::vector<Operand> held;  // moved into whatever runs the op

 private:
  Napi::Env env_;
  Napi::Object spec_;
  std::vector<std::string> host_names_;
};

// One op call from JS: `name(spec, async)` (or `name(spec)` when !takes_async, async
// false), checked, with the operands collected from spec.
struct OpCall {
  OpCall(const Napi::CallbackInfo& info, const char* name, bool takes_async = true);

  Napi::Env env;
  Napi::Object spec;
  bool async;
  Operands ops;
};

// ---- running ----------------------------------------------------------------------------

// The JS-thread verdict on an outcome: undefined when the op succeeded, else an error value.
template <class R>
using Verdict = std::function<Napi::Value(Napi::Env, const R&)>;

namespace detail {

template <class R>
class CpuWorker : public Napi::AsyncWorker {
 public:
  CpuWorker(Napi::Env env, const char* name, std::function<R()> work, Verdict<R> verdict, std::vector<Operand> held,
            std::vector<Napi::Reference<Napi::Value>> refs)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        verdict_(std::move(verdict)),
        held_(std::move(held)),
        refs_(std::move(refs)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = work_(); }
  void OnOK() override {
    Napi::Value e = verdict_(Env(), result_);
    if (e.IsUndefined())
      deferred_.Resolve(Env().Undefined());
    else
      deferred_.Reject(e);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<R()> work_;
  Verdict<R> verdict_;
  std::vector<Operand> held_;                       // buffers the work reads and writes
  std::vector<Napi::Reference<Napi::Value>> refs_;  // host arrays the work reads and writes
  R result_{};
};

}  // namespace detail

// Runs CPU work: inline when sync (throwing the verdict's error) or `small`; otherwise on
// a libuv worker, the operands held until it ends. Returns undefined or a promise.
template <class R>
Napi::Value run_cpu_inline_if(Napi::Env env, bool async, bool small, const char* name, Operands& ops,
                              std::function<R()> work, Verdict<R> verdict) {
  if (!async || small) {
    R r{};
    try {
      r = work();
    } catch (const std::bad_alloc&) {
      // Kernels size scratch vectors by their input; a std::bad_alloc unwinding into
      // Node-API would terminate the process.
      Napi::Error oom = make_error(env, ErrorKind::OutOfMemory, "BITGRAD_OUT_OF_MEMORY",
                                   std::string(name) + ": out of host memory for scratch");
      if (!async) throw oom;
      auto d = Napi::Promise::Deferred::New(env);
      d.Reject(oom.Value());
      return d.Promise();
    }
    Napi::Value e = verdict(env, r);
    if (!async) {
      if (!e.IsUndefined()) throw Napi::Error(env, e);
      return env.Undefined();
    }
    auto d = Napi::Promise::Deferred::New(env);
    if (e.IsUndefined())
      d.Resolve(env.Undefined());
    else
      d.Reject(e);
    return d.Promise();
  }
  auto* w = new detail::CpuWorker<R>(env, name, std::move(work), std::move(verdict), std::move(ops.held), ops.host_refs());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// run_cpu_inline_if with small = fewer than kInlineElements elements.
template <class R>
Napi::Value run_cpu(Napi::Env env, bool async, int64_t elements, const char* name, Operands& ops,
                    std::function<R()> work, Verdict<R> verdict) {
  return run_cpu_inline_if<R>(env, async, elements < kInlineElements, name, ops, std::move(work), std::move(verdict));
}

// Bytes of device memory in which kernels report bad input, set to `fill` before the
// launch and read back by the async form (bytes == 0: no report). sync_waits: the sync
// form too reads it back, waiting for the device, and throws the verdict's error.
struct DeviceReport {
  size_t bytes = 0;
  int fill = 0;
  bool sync_waits = false;
};

// Runs fn with `bytes` of device scratch (none, null, when 0), allocated and freed
// stream-ordered around the work fn enqueues.
cuda::Status with_scratch(int device, size_t bytes, const std::function<cuda::Status(void* scratch)>& fn);

// Enqueues CUDA work on `device` (enqueue gets the device report, or null). Sync:
// returns undefined at once; results are stream-ordered and the report is not read
// (unless report.sync_waits: then it waits and throws the verdict's error).
// Async: a promise settled on the JS thread once the stream reaches this point:
// rejected with the sticky CUDA error if one happened, else with the verdict on the
// report copied back to the host.
Napi::Value run_cuda(Napi::Env env, int device, bool async, const std::string& name, DeviceReport report,
                     const std::function<cuda::Status(void* report_device)>& enqueue,
                     const Verdict<const void*>& verdict);

}  // namespace glue
}  // namespace bg
