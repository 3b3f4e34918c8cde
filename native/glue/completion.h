// Hands "work finished" events from foreign threads (CUDA host callbacks) to the
// JavaScript thread through one thread-safe function per environment. The event loop
// is kept alive only while events are pending; no libuv pool thread ever waits on a GPU.
#pragma once
#include <napi.h>
#include <functional>
#include <memory>

namespace bg {
namespace glue {

class Completion {
 public:
  explicit Completion(Napi::Env env);
  ~Completion();

  // JS thread: wraps fn (to run later on the JS thread) into an opaque job handle
  // that a foreign thread must post exactly once.
  void* prepare(std::function<void(Napi::Env)> fn);
  // Any thread: queues the job to run on the JS thread. If the environment is gone,
  // the job is dropped.
  static void post(void* job);

 private:
  struct Gate;
  struct Token;
  static void call_js(napi_env env, napi_value, void* context, void* data);
  static void finalize(napi_env env, void* data, void* hint);
  // Shared with every token: Node deletes the thread-safe function at environment
  // teardown even while tokens still hold thread counts on it (Node < 24.14), so
  // foreign threads must learn under a lock that it is gone.
  std::shared_ptr<Gate> gate_;
  Napi::Env env_;
  size_t pending_ = 0;  // JS thread only
};

}  // namespace glue
}  // namespace bg
