// Run-time instruction-set choice for the CPU backend.
//
// Detection uses __builtin_cpu_supports. In GCC's libgcc (verified for the GCC 12 we
// build with) a feature is reported only when the OS also saves its register state: AVX/AVX2/FMA need
// XCR0 to enable XMM|YMM, the AVX-512 features additionally opmask|ZMM_Hi256|Hi16_ZMM
// (checked with xgetbv). So "supported" here means "usable".
#include "simd.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

#include "dispatch.h"
#include "kernels.h"

namespace bg {
namespace cpu {

namespace {

struct State {
  IsaInfo info;
  BceBlockFn bce;
  const State* replaced = nullptr;  // keeps older states reachable (never freed)
};

// Each returns "" when the path is usable, else the first missing feature.
const char* avx2_missing() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2")) return "avx2";
  if (!__builtin_cpu_supports("fma")) return "fma";
  return "";
#else
  return "avx2";
#endif
}

const char* avx512_missing() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) return "avx512f";
  if (!__builtin_cpu_supports("avx512dq")) return "avx512dq";
  if (!__builtin_cpu_supports("avx512bw")) return "avx512bw";
  if (!__builtin_cpu_supports("avx512vl")) return "avx512vl";
  return avx2_missing();  // the AVX-512 TU is also built with -mfma -mavx2
#else
  return "avx512f";
#endif
}

bool supported(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return avx512_missing()[0] == '\0';
    case Isa::Avx2: return avx2_missing()[0] == '\0';
    default: return true;
  }
}

Isa best_isa() {
  if (supported(Isa::Avx512)) return Isa::Avx512;
  if (supported(Isa::Avx2)) return Isa::Avx2;
  return Isa::Scalar;
}

BceBlockFn bce_fn_for(Isa isa) {
#if defined(__x86_64__)
  if (isa == Isa::Avx512) return &bce_block_avx512;
  if (isa == Isa::Avx2) return &bce_block_avx2;
#endif
  (void)isa;
  return &bce_block_scalar;
}

std::string lower(const std::string& s) {
  std::string r = s;
  for (char& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

// `source` names where the request came from, for the reason string.
State* evaluate(const std::string& request, const std::string& source) {
  State* s = new State();
  const Isa best = best_isa();
  s->info.best_supported = best;
  const std::string req = lower(request);
  if (req.empty() || req == "auto") {
    s->info.active = best;
    s->info.reason = "auto: best supported";
  } else {
    Isa want = Isa::Scalar;
    bool known = true;
    if (req == "scalar")
      want = Isa::Scalar;
    else if (req == "avx2")
      want = Isa::Avx2;
    else if (req == "avx512")
      want = Isa::Avx512;
    else
      known = false;
    if (!known) {
      s->info.active = best;
      s->info.reason = source + "=" + request + " is not one of scalar|avx2|avx512; auto: best supported";
    } else if (supported(want)) {
      s->info.active = want;
      s->info.reason = source + "=" + req;
    } else {
      s->info.active = best;
      const char* missing = want == Isa::Avx512 ? avx512_missing() : avx2_missing();
      s->info.reason = source + "=" + req + " requested but the CPU lacks " + missing + "; using " +
                       isa_name(best);
    }
  }
  s->bce = bce_fn_for(s->info.active);
  return s;
}

// Replaced states are never freed (set_isa_override is a test hook, called a few
// times), so references returned by isa_info() stay valid; they stay linked from the
// current one, so leak checkers see them as reachable.
std::atomic<State*> g_state{nullptr};
std::mutex g_mu;

State* from_env() {
  const char* e = std::getenv("BITGRAD_SIMD");
  return evaluate(e ? std::string(e) : std::string(), "BITGRAD_SIMD");
}

const State& state() {
  State* s = g_state.load(std::memory_order_acquire);
  if (s) return *s;
  std::lock_guard<std::mutex> lock(g_mu);
  s = g_state.load(std::memory_order_acquire);
  if (!s) {
    s = from_env();
    g_state.store(s, std::memory_order_release);
  }
  return *s;
}

}  // namespace

const IsaInfo& isa_info() { return state().info; }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "scalar";
  }
}

void set_isa_override(const std::string& name) {
  std::lock_guard<std::mutex> lock(g_mu);
  State* s = evaluate(name, "override");
  s->replaced = g_state.load(std::memory_order_acquire);
  g_state.store(s, std::memory_order_release);
}

BceBlockFn bce_block_fn() { return state().bce; }

const PackKernels& pack_kernels() {
  struct Tables {
    PackKernels t[3];
    Tables() {
      pack_kernels_scalar(&t[0]);
      t[1] = t[0];
      t[2] = t[0];
#if defined(__x86_64__)
      // The fillers are compiled with ISA flags: call only those the CPU can run.
      if (supported(Isa::Avx2)) pack_kernels_avx2(&t[1]);
      if (supported(Isa::Avx512)) pack_kernels_avx512(&t[2]);
#endif
    }
  };
  static const Tables tables;
  return tables.t[static_cast<int>(state().info.active)];
}

}  // namespace cpu
}  // namespace bg
