#include "completion.h"

#include <mutex>

namespace bg {
namespace glue {

// Node deletes the thread-safe function when the environment is torn down (worker
// terminate, env cleanup), whatever thread counts are still out, and documents that no
// other thread may touch it once its finalizer ran. A GPU callback can fire after that,
// so every foreign-thread call goes through this gate, under its lock.
struct Completion::Gate {
  std::mutex mu;                            // held by post() across its tsfn calls, and by finalize()
  napi_threadsafe_function tsfn = nullptr;  // null once Node finalized it
  Completion* owner = nullptr;              // null once the Completion is gone (JS thread only)
};

// The token travels to the foreign thread; it owns the job and, when `counted`, a
// thread count on the tsfn (acquired by prepare, released by post).
struct Completion::Token {
  std::function<void(Napi::Env)> run;
  std::shared_ptr<Gate> gate;
  bool counted = false;
};

Completion::Completion(Napi::Env env) : gate_(std::make_shared<Gate>()), env_(env) {
  auto* hold = new std::shared_ptr<Gate>(gate_);  // released by finalize()
  napi_threadsafe_function tsfn = nullptr;
  const napi_status s =
      napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, "bitgrad-completion"), 0, 1,
                                      hold, &Completion::finalize, nullptr, &Completion::call_js, &tsfn);
  if (s != napi_ok) {
    delete hold;  // a failed creation never calls the finalizer
    NAPI_THROW_IF_FAILED_VOID(env, s);
  }
  napi_unref_threadsafe_function(env, tsfn);
  gate_->tsfn = tsfn;
  gate_->owner = this;
}

Completion::~Completion() {
  // JS thread, where finalize() also runs: reading tsfn needs no lock here. Once Node
  // finalized it (the usual order at teardown) there is nothing left to release.
  gate_->owner = nullptr;
  if (gate_->tsfn != nullptr) napi_release_threadsafe_function(gate_->tsfn, napi_tsfn_release);
}

void* Completion::prepare(std::function<void(Napi::Env)> fn) {
  Token* t = new Token{std::move(fn), gate_, false};
  napi_threadsafe_function tsfn = gate_->tsfn;
  if (tsfn != nullptr && napi_acquire_threadsafe_function(tsfn) == napi_ok) {
    t->counted = true;
    if (pending_++ == 0) napi_ref_threadsafe_function(env_, tsfn);
  }
  return t;
}

void Completion::post(void* job) {
  Token* t = static_cast<Token*>(job);
  // Copied first: once queued, the token may be run and deleted on the JS thread.
  const std::shared_ptr<Gate> gate = t->gate;
  const bool counted = t->counted;
  std::lock_guard<std::mutex> lock(gate->mu);
  // Environment gone (or closing at prepare): the job is leaked on purpose, since
  // destroying it here would release JS references from a thread that is not the JS thread.
  if (!counted || gate->tsfn == nullptr) return;
  napi_threadsafe_function tsfn = gate->tsfn;
  const napi_status s = napi_call_threadsafe_function(tsfn, t, napi_tsfn_nonblocking);
  // napi_closing: Node already dropped this thread's count (and the job); a release
  // would take someone else's.
  if (s != napi_closing) napi_release_threadsafe_function(tsfn, napi_tsfn_release);
}

void Completion::finalize(napi_env, void* data, void*) {
  auto* hold = static_cast<std::shared_ptr<Gate>*>(data);
  {
    std::lock_guard<std::mutex> lock((*hold)->mu);
    (*hold)->tsfn = nullptr;
  }
  delete hold;
}

void Completion::call_js(napi_env env, napi_value, void*, void* data) {
  Token* token = static_cast<Token*>(data);
  if (token == nullptr) return;
  if (env == nullptr) {  // teardown drains the queue on the JS thread: drop the job
    delete token;
    return;
  }
  Completion* owner = token->gate->owner;
  try {
    token->run(Napi::Env(env));
  } catch (const Napi::Error& e) {
    // A job rejects its own promise; anything escaping is reported, not swallowed.
    e.ThrowAsJavaScriptException();
  } catch (...) {
    // Nothing may unwind into Node (std::terminate).
    try {
      Napi::Error::New(env, "bitgrad: internal error while settling a GPU completion").ThrowAsJavaScriptException();
    } catch (...) {
    }
  }
  delete token;
  if (owner != nullptr && --owner->pending_ == 0 && owner->gate_->tsfn != nullptr)
    napi_unref_threadsafe_function(env, owner->gate_->tsfn);
}

}  // namespace glue
}  // namespace bg
