// Per-environment state of the addon (one per main thread or worker_thread).
#pragma once
#include <napi.h>
#include <memory>
#include "completion.h"

namespace bg {
namespace glue {

class Bitgrad : public Napi::Addon<Bitgrad> {
 public:
  Bitgrad(Napi::Env env, Napi::Object exports);

  // Error classes handed over by lib/ at init, so `instanceof` works for errors thrown here.
  Napi::FunctionReference base_error, validation_error, device_error, oom_error;
  bool errors_ready = false;
  Napi::FunctionReference buffer_ctor;
  std::unique_ptr<Completion> completion;

 private:
  Napi::Value InitErrors(const Napi::CallbackInfo& info);
  Napi::Value BuildInfo(const Napi::CallbackInfo& info);
  Napi::Value Probe(const Napi::CallbackInfo& info);
  Napi::Value CpuInfo(const Napi::CallbackInfo& info);
  Napi::Value SetSimd(const Napi::CallbackInfo& info);
  Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
};

Bitgrad& state(Napi::Env env);

}  // namespace glue
}  // namespace bg
