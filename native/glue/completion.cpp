#include "completion.h"

namespace bg {
namespace glue {

// The token travels to the foreign thread; it owns the job and a thread count on the
// tsfn (Acquire at prepare, Release after posting), so the tsfn outlives every
// pending callback even if the environment is torn down first.
struct Completion::Token {
  std::function<void(Napi::Env)> run;
  Tsfn tsfn;
  Completion* owner;
};

Completion::Completion(Napi::Env env) : env_(env) {
  tsfn_ = Tsfn::New(env, "bitgrad-completion", 0, 1, this);
  tsfn_.Unref(env);
}

Completion::~Completion() { tsfn_.Release(); }

void* Completion::prepare(std::function<void(Napi::Env)> fn) {
  Token* t = new Token{std::move(fn), tsfn_, this};
  t->tsfn.Acquire();
  if (pending_++ == 0) tsfn_.Ref(env_);
  return t;
}

void Completion::post(void* job) {
  Token* t = static_cast<Token*>(job);
  Tsfn tsfn = t->tsfn;
  // If the environment is closing the job is leaked on purpose: destroying it here
  // would release JS references from a thread that is not the JS thread.
  tsfn.NonBlockingCall(t);
  tsfn.Release();
}

void Completion::call_js(Napi::Env env, Napi::Function, Completion* ctx, Token* token) {
  if (env == nullptr || token == nullptr) {
    delete token;
    return;
  }
  Completion* owner = token->owner;
  try {
    token->run(env);
  } catch (const Napi::Error& e) {
    // A job rejects its own promise; anything escaping is reported, not swallowed.
    e.ThrowAsJavaScriptException();
  }
  delete token;
  if (owner == ctx && ctx != nullptr && --ctx->pending_ == 0) ctx->tsfn_.Unref(env);
}

}  // namespace glue
}  // namespace bg
