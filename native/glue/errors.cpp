#include "errors.h"
#include "addon.h"

namespace bg {
namespace glue {

Napi::Error make_error(Napi::Env env, ErrorKind kind, const std::string& code,
                       const std::string& message, const Decorate& decorate) {
  Bitgrad& s = state(env);
  Napi::Object obj;
  if (s.errors_ready) {
    Napi::FunctionReference* cls = &s.base_error;
    switch (kind) {
      case ErrorKind::Validation: cls = &s.validation_error; break;
      case ErrorKind::Device: cls = &s.device_error; break;
      case ErrorKind::OutOfMemory: cls = &s.oom_error; break;
      default: break;
    }
    obj = cls->New({Napi::String::New(env, message), Napi::String::New(env, code)});
  } else {
    // Only reachable if the binding is used without lib/'s init: still coded.
    obj = Napi::Error::New(env, message).Value();
    obj.Set("code", code);
  }
  if (decorate) decorate(obj);
  return Napi::Error(env, obj);
}

void throw_error(Napi::Env env, ErrorKind kind, const std::string& code,
                 const std::string& message, const Decorate& decorate) {
  throw make_error(env, kind, code, message, decorate);
}

Napi::Error status_error(Napi::Env env, const cuda::Status& st, const std::string& op) {
  if (st.oom) {
    const double requested = static_cast<double>(st.requested);
    const double available = static_cast<double>(st.available);
    return make_error(env, ErrorKind::OutOfMemory, "BITGRAD_OUT_OF_MEMORY",
                      op + ": out of device memory (requested " + std::to_string(st.requested) +
                          " bytes, " + std::to_string(st.available) + " available)",
                      [&](Napi::Object o) {
                        o.Set("requestedBytes", requested);
                        o.Set("availableBytes", available);
                        o.Set("cudaError", st.code);
                      });
  }
  const bool sticky = st.sticky;
  const std::string cuda_code = st.code;
  return make_error(env, ErrorKind::Device, st.code.rfind("BITGRAD_", 0) == 0 ? st.code : "BITGRAD_CUDA_ERROR",
                    op + ": " + st.code + ": " + st.message +
                        (sticky ? " (sticky: the CUDA context is unusable; restart the process)" : ""),
                    [&](Napi::Object o) {
                      o.Set("cudaError", cuda_code);
                      o.Set("sticky", sticky);
                    });
}

void throw_status(Napi::Env env, const cuda::Status& st, const std::string& op) {
  throw status_error(env, st, op);
}

}  // namespace glue
}  // namespace bg
