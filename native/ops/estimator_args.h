// Plain description of one straight-through-estimator call (forward or backward),
// shared by the CPU and CUDA backends. The per-element math is in math/estimators.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "bce_logits_args.h"  // Broadcast

namespace bg {

// Order matters: it indexes the per-ISA tables and must match BG_FOR_EACH_ESTIMATOR
// and lib/binarize/estimators.ts.
enum class EstKind : int {
  Ste = 0,
  ApproxSign = 1,
  SwishSign = 2,
  Reste = 3,
  Biper = 4,
  Ede = 5,
  Rsign = 6,
  Fda = 7,
  Elastic = 8,
  Count = 9,
};
constexpr int kEstCount = static_cast<int>(EstKind::Count);

// X(Functor template) for every estimator, in EstKind order.
#define BG_FOR_EACH_ESTIMATOR(X) \
  X(SteOp)                       \
  X(ApproxSignOp)                \
  X(SwishSignOp)                 \
  X(ResteOp)                     \
  X(BiperOp)                     \
  X(EdeOp)                       \
  X(RsignOp)                     \
  X(FdaOp)                       \
  X(ElasticOp)

// Hyper-parameters of every estimator (each reads the ones it needs). Derived values
// (powers, products) are computed by the host in double and passed ready to use.
struct EstParams {
  float zero = 1.0f;      // forward value at x == 0: 1 ('plusOne') or 0 ('zero')
  int inclusive = 1;      // gradient windows pass |x| == bound
  float clip = 1.0f;      // ste, fda window half-width
  float beta = 5.0f;      // swishSign
  float inv_o = 1.0f;     // reste: 1/o
  float expo = 0.0f;      // reste: (1 - o)/o
  float slope0 = 1.0f;    // reste: delta^((1 - o)/o), the secant slope near 0
  float t = 1.5f;         // reste threshold
  float delta = 0.1f;     // reste near-zero half-width
  float omega = 20.0f;    // biper omega0; fda omega
  float kt4 = 4.0f;       // ede: 4 k t
  float t2 = 2.0f;        // ede: 2 t
  float fda_scale = 0.0f; // fda: 4 omega / pi
  float fda_m = 20.0f;    // fda: 2 (n + 1) (numerator frequency factor)
  float fda_terms = 10.0f;// fda: n + 1 (the limit at x = 0)
  int lsq_mode = 0;       // elastic: 0 signed binary, 1 signed ternary, 2 unsigned binary
  float lsq_gs = 1.0f;    // elastic: gradient scale 1 / sqrt(N Qp)
};

struct EstimatorArgs {
  EstKind kind = EstKind::Ste;
  bool backward = false;
  EstParams params;
  const float* x = nullptr;  // input, n
  const float* g = nullptr;  // upstream gradient, n (backward)
  Broadcast param;           // per-channel parameter (rsign alpha), element i reads data[(i / div) % mod]
  float* out = nullptr;      // forward output or dL/dx, n
  float* dparam = nullptr;   // backward: dL/dparam, param.mod floats, or null
  int64_t n = 0;
};

// Does the estimator read a per-channel parameter?
inline bool est_has_param(EstKind k) { return k == EstKind::Rsign || k == EstKind::Elastic; }

}  // namespace bg
