// Errors thrown from native code are instances of the TypeScript classes in
// lib/errors.ts (handed over at init), carrying a stable `code`.
#pragma once
#include <napi.h>
#include <functional>
#include <string>
#include "../../cuda/backend.h"

namespace bg {
namespace glue {

enum class ErrorKind { Base, Validation, Device, OutOfMemory };

using Decorate = std::function<void(Napi::Object)>;

Napi::Error make_error(Napi::Env env, ErrorKind kind, const std::string& code,
                       const std::string& message, const Decorate& decorate = nullptr);

[[noreturn]] void throw_error(Napi::Env env, ErrorKind kind, const std::string& code,
                              const std::string& message, const Decorate& decorate = nullptr);

[[noreturn]] inline void throw_validation(Napi::Env env, const std::string& code,
                                          const std::string& message) {
  throw_error(env, ErrorKind::Validation, code, message);
}

// A failed CUDA status as DeviceError / OutOfMemoryError (op names the call).
Napi::Error status_error(Napi::Env env, const cuda::Status& st, const std::string& op);
[[noreturn]] void throw_status(Napi::Env env, const cuda::Status& st, const std::string& op);

}  // namespace glue
}  // namespace bg
