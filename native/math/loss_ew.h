// Elementwise losses: value and gradient per element, written once against the
// primitive names of math/scalar.h so the same code runs for float (CPU scalar path,
// CUDA) and the SIMD vector types. The engine (cpu/loss_ew_engine.h, cuda/loss_ew.cu)
// applies the rescaling weight, the upstream gradient and the reduction.
//
// Each loss is a class template over the value type V with its hyper-parameters as
// members, built from LossParams, and
//   apply(x, y, loss, dx, dy)   loss, dloss/dx and (kTargetGrad only) dloss/dy
// Class templates (not member templates) so that an ISA translation unit, where V lives
// in an anonymous namespace, never emits an externally visible function.
#pragma once
#include "../common/hd.h"
#include "../ops/loss_ew_args.h"
#include "scalar.h"  // float overloads must be visible where the templates are defined
#include "bce_logits.h"

namespace bg {

// PyTorch binary_cross_entropy on probabilities x (aten/src/ATen/native/Loss.cpp):
//   loss = (y - 1) max(log1p(-x), -100) - y max(log x, -100)
//   dloss/dx = (x - y) / max(x (1 - x), EPSILON), EPSILON = 1e-12f (a float32 constant,
//   9.99999996e-13): PyTorch's backward formula, not the derivative of the clamped form.
template <class V>
struct BceProbOp {
  static constexpr bool kTargetGrad = false;
  BG_HD explicit BceProbOp(const LossParams&) {}
  BG_HD BG_INLINE void apply(V x, V y, V& loss, V& dx, V& dy) const {
    const V one(1.0f);
    const V zero(0.0f);
    const V lo(-100.0f);
    const V lx = vmax(vlog(x), lo);
    const V l1x = vmax(vlog1p(zero - x), lo);
    loss = (y - one) * l1x - y * lx;
    dx = (x - y) / vmax(x * (one - x), V(1e-12f));
    dy = zero;
  }
};

// torchvision sigmoid_focal_loss: ce = BCEWithLogits(x, y), q = 1 - p_t =
// p (1 - y) + (1 - p) y with p = sigmoid(x) (each sigmoid taken in its stable form, so
// q is exact for hard labels), loss = alpha_t ce q^gamma,
// dloss/dx = alpha_t [(p - y) q^gamma - gamma ce q^gamma (p (1 - p) / q) (2y - 1)].
// q^(gamma-1) p(1-p) is evaluated as q^gamma (p(1-p)/q), which is bounded by q^gamma for
// any y in [0, 1] (q >= min(p, 1-p)), so gamma < 1 stays finite; q == 0 gives 0.
template <class V>
struct FocalOp {
  static constexpr bool kTargetGrad = false;
  V alpha, gamma;
  bool use_alpha;
  int gmode;  // 0: gamma == 0, 1: gamma == 1, 2: gamma == 2, 3: general
  BG_HD explicit FocalOp(const LossParams& p)
      : alpha(p.alpha), gamma(p.gamma), use_alpha(p.use_alpha != 0),
        gmode(p.gamma == 0.0f ? 0 : p.gamma == 1.0f ? 1 : p.gamma == 2.0f ? 2 : 3) {}
  BG_HD BG_INLINE void apply(V x, V y, V& loss, V& dx, V& dy) const {
    const V one(1.0f);
    const V zero(0.0f);
    const V e = vexp(zero - vabs(x));
    const V r = vrecip(one + e);
    const V er = e * r;
    const auto pos = vge(x, zero);
    const V p = vselect(pos, r, er);   // sigmoid(x)
    const V pm = vselect(pos, er, r);  // sigmoid(-x) = 1 - p
    const V ce = vmax(zero - x, zero) + vlog1p_unit(e) + (one - y) * x;
    const V q = p * (one - y) + pm * y;
    V mod;
    if (gmode == 0)
      mod = one;
    else if (gmode == 1)
      mod = q;
    else if (gmode == 2)
      mod = q * q;
    else
      mod = vselect(vlt(zero, q), vexp(gamma * vlog(q)), zero);
    // mod * p (1 - p) / q = p (1 - p) q^(gamma - 1): no division for gamma 1 or 2 (both
    // sides are 0 where q = 0).
    V t2;
    if (gmode == 0)
      t2 = zero;
    else if (gmode == 1)
      t2 = gamma * ce * (p * pm) * (y + y - one);
    else if (gmode == 2)
      t2 = gamma * ce * (p * pm * q) * (y + y - one);
    else
      t2 = gamma * ce * mod * vselect(vlt(zero, q), (p * pm) / q, zero) * (y + y - one);
    loss = ce * mod;
    dx = (p - y) * mod - t2;
    if (use_alpha) {
      const V at = alpha * y + (one - alpha) * (one - y);
      loss = loss * at;
      dx = dx * at;
    }
    dy = zero;
  }
};

// PyTorch soft_margin_loss: loss = softplus(-y x), dloss/dx = -y sigmoid(-y x), in the
// stable softplus / sigmoid forms (PyTorch's log1p(exp(-y x)) overflows to inf for
// y x < -88; this returns the exact value).
template <class V>
struct SoftMarginOp {
  static constexpr bool kTargetGrad = false;
  BG_HD explicit SoftMarginOp(const LossParams&) {}
  BG_HD BG_INLINE void apply(V x, V y, V& loss, V& dx, V& dy) const {
    const V one(1.0f);
    const V zero(0.0f);
    const V z = zero - y * x;
    const V e = vexp(zero - vabs(z));
    const V r = vrecip(one + e);
    const V sig = vselect(vge(z, zero), r, e * r);  // sigmoid(z)
    loss = vmax(z, zero) + vlog1p_unit(e);
    dx = zero - y * sig;
    dy = zero;
  }
};

// PyTorch hinge_embedding_loss, literally: where(y != 1, max(0, margin - x), 0) +
// where(y != -1, x, 0), so a target outside {-1, 1} gets both terms. Gradient as
// PyTorch's autograd: 1 where y != -1, plus -1 where y != 1 and margin - x >= 0
// (clamp_min passes the gradient at the boundary).
template <class V>
struct HingeEmbeddingOp {
  static constexpr bool kTargetGrad = false;
  V margin;
  BG_HD explicit HingeEmbeddingOp(const LossParams& p) : margin(p.margin) {}
  BG_HD BG_INLINE void apply(V x, V y, V& loss, V& dx, V& dy) const {
    const V one(1.0f);
    const V mone(-1.0f);
    const V zero(0.0f);
    const V mx = margin - x;
    const auto is_pos = veq(y, one);
    const auto is_neg = veq(y, mone);
    loss = vselect(is_pos, zero, vmax(mx, zero)) + vselect(is_neg, zero, x);
    dx = vselect(is_pos, zero, vselect(vge(mx, zero), mone, zero)) + vselect(is_neg, zero, one);
    dy = zero;
  }
};

// PyTorch kl_div on log-probabilities x:
//   log_target = 0: loss = xlogy(t, t) - t x, dx = -t, dt = log t + 1 - x
//                   (NaN at t == 0, as PyTorch 1.13's composite autograd gives)
//   log_target = 1: loss = exp(t) (t - x), dx = -exp(t), dt = exp(t) (t - x + 1)
template <class V>
struct KlDivOp {
  static constexpr bool kTargetGrad = true;
  bool log_target;
  BG_HD explicit KlDivOp(const LossParams& p) : log_target(p.log_target != 0) {}
  BG_HD BG_INLINE void apply(V x, V t, V& loss, V& dx, V& dy) const {
    const V one(1.0f);
    const V zero(0.0f);
    if (log_target) {
      const V et = vexp(t);
      const V d = t - x;
      loss = et * d;
      dx = zero - et;
      dy = et * (d + one);
    } else {
      const V lt = vlog(t);
      const auto t0 = veq(t, zero);
      loss = vselect(t0, zero, t * lt) - t * x;
      dx = zero - t;
      dy = vselect(t0, V(__builtin_nanf("")), lt + one - x);
    }
  }
};

// GridFormer margin BCE (list17/GridFormer, src/conv_onet/training.py):
// z' = x - margin (2y - 1), loss = BCEWithLogits(z', y), dloss/dx = sigmoid(z') - y.
template <class V>
struct MarginBceOp {
  static constexpr bool kTargetGrad = false;
  V margin;
  BG_HD explicit MarginBceOp(const LossParams& p) : margin(p.margin) {}
  BG_HD BG_INLINE void apply(V x, V y, V& loss, V& dx, V& dy) const {
    const V one(1.0f);
    const V z = x - margin * (y + y - one);
    bce_logits_elem(z, y, one, one, loss, dx);
    dy = V(0.0f);
  }
};

}  // namespace bg
