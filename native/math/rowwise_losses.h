// Per-row / per-element math of the row-wise (class-dimension) research losses
// (lib/losses/rowwise.ts; spec: shared/specs/losses.md Part 1b). Written once as
// __host__ __device__ templates over the scalar type: the CPU evaluates them in double
// (one thread per row, native/cpu/rowwise_losses.cpp), CUDA in float (one warp per row,
// cuda/rowwise_losses.cu). Each backend computes the row reductions (max / exp-sums /
// sums) its own way and calls these functions to finish a row and to write the
// gradient of each element, so the formulas exist once.
#pragma once
#include <cmath>
#include "../common/hd.h"

namespace bg {
namespace rw {

BG_HD BG_INLINE float rexp(float x) { return expf(x); }
BG_HD BG_INLINE double rexp(double x) { return ::exp(x); }
BG_HD BG_INLINE float rlog(float x) { return logf(x); }
BG_HD BG_INLINE double rlog(double x) { return ::log(x); }
BG_HD BG_INLINE float rlog1p(float x) { return log1pf(x); }
BG_HD BG_INLINE double rlog1p(double x) { return ::log1p(x); }
BG_HD BG_INLINE float rexpm1(float x) { return expm1f(x); }
BG_HD BG_INLINE double rexpm1(double x) { return ::expm1(x); }
BG_HD BG_INLINE float rabs(float x) { return fabsf(x); }
BG_HD BG_INLINE double rabs(double x) { return ::fabs(x); }
BG_HD BG_INLINE float rsqrt_(float x) { return sqrtf(x); }
BG_HD BG_INLINE double rsqrt_(double x) { return ::sqrt(x); }

template <class T>
BG_HD BG_INLINE T rmax(T a, T b) { return a > b ? a : b; }

// softplus(x) = max(x, 0) + log1p(exp(-|x|)); never exp of a positive argument.
template <class T>
BG_HD BG_INLINE T softplus(T x) { return rmax(x, T(0)) + rlog1p(rexp(-rabs(x))); }
template <class T>
BG_HD BG_INLINE T sigmoid(T x) {
  const T e = rexp(-rabs(x));
  return x >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}
// log(sigmoid(x)) = -softplus(-x)
template <class T>
BG_HD BG_INLINE T log_sigmoid(T x) { return -softplus(-x); }
// log(softplus(x)), finite for every finite x (softplus(x) ~ e^x underflows below ~-745).
template <class T>
BG_HD BG_INLINE T log_softplus(T x) {
  if (x < T(-15)) return x - T(0.5) * rexp(x);  // log(e^x - e^2x/2 + ...) = x - e^x/2 + O(e^2x)
  return rlog(softplus(x));
}
// log(exp(a) + exp(b)); -inf + -inf = -inf.
template <class T>
BG_HD BG_INLINE T logaddexp(T a, T b) {
  const T m = rmax(a, b);
  if (m == -T(INFINITY)) return m;
  return m + rlog1p(rexp(-rabs(a - b)));
}

// Online logsumexp state (Milakov & Gimelshein): m = running max, d = sum exp(v - m).
template <class T>
struct Lse {
  T m;
  T d;
};
template <class T>
BG_HD BG_INLINE Lse<T> lse_init() { return Lse<T>{-T(INFINITY), T(0)}; }
template <class T>
BG_HD BG_INLINE void lse_add(Lse<T>& s, T v) {
  if (v > s.m) {
    s.d = s.d * rexp(s.m - v) + T(1);
    s.m = v;
  } else if (v != -T(INFINITY)) {
    s.d += rexp(v - s.m);
  }
}
template <class T>
BG_HD BG_INLINE Lse<T> lse_combine(Lse<T> a, Lse<T> b) {
  if (a.m == -T(INFINITY)) return b;
  if (b.m == -T(INFINITY)) return a;
  const T m = rmax(a.m, b.m);
  return Lse<T>{m, a.d * rexp(a.m - m) + b.d * rexp(b.m - m)};
}
template <class T>
BG_HD BG_INLINE T lse_value(Lse<T> s) {
  if (s.d > T(0)) return s.m + rlog(s.d);
  return s.d == T(0) ? -T(INFINITY) : s.d;  // NaN propagates
}

// ---- zLoss (de Brebisson & Vincent) ------------------------------------------------
// mu, sigma = population mean / std of the row (+1e-12, as the authors' code), z = (o - mu)/sigma.
// L = softplus(a (b - z_c)) / a; dL/do_k = coef (1[k==c] - (1 + z_c z_k)/D) / sigma with
// coef = -sigmoid(a (b - z_c)).
template <class T>
BG_HD BG_INLINE void zloss_finish(T zc, T a, T b, T* loss, T* coef) {
  const T u = a * (b - zc);
  *loss = softplus(u) / a;
  *coef = -sigmoid(u);
}
template <class T>
BG_HD BG_INLINE T zloss_grad(T coef_over_sigma, T zc, T zk, bool is_c, T inv_d) {
  return coef_over_sigma * ((is_c ? T(1) : T(0)) - (T(1) + zc * zk) * inv_d);
}

// ---- comp-sum family (Mao, Mohri, Zhong), tau >= 0 -----------------------------------
// l = lse - x_y = log(1 + u) = -log p_y. L = expm1((1 - tau) l) / (1 - tau) (l for tau = 1).
// dL/dx = exp((1 - tau) l) (softmax(x) - onehot(y)), written as exp of a sum so that
// huge losses (tau < 1, extreme logits) give +-Infinity but never 0 * Infinity.
template <class T>
BG_HD BG_INLINE T compsum_loss(T l, T tau) {
  const T k = T(1) - tau;
  if (k == T(0)) return l;
  return rexpm1(k * l) / k;
}
template <class T>
BG_HD BG_INLINE T compsum_grad(T xk, T lse, T l, T tau, bool is_y) {
  const T k = T(1) - tau;
  if (is_y) return -rexp(k * l) * (-rexpm1(xk - lse));  // -(1+u)^(1-tau) (1 - p_y)
  return rexp(k * l + (xk - lse));
}

// ---- symmetric CE as in Robust Mean Teacher -----------------------------------------
// p = softmax(x), q = softmax(t); L = -1/2 sum q log p - 1/2 sum p log q;
// dL/dx = 1/2 (p - q) - 1/2 p (log q - S), S = sum p log q. lx = x - lse_x, lt = t - lse_t.
template <class T>
BG_HD BG_INLINE T rmt_terms(T lx, T lt) {  // q log p + p log q of one element
  return rexp(lt) * lx + rexp(lx) * lt;
}
template <class T>
BG_HD BG_INLINE T rmt_grad(T lx, T lt, T S) {
  const T p = rexp(lx);
  return T(0.5) * (p - rexp(lt)) - T(0.5) * p * (lt - S);
}

// ---- knowledge distillation (Hinton): T^2 KL(softmax(t/T) || softmax(s/T)) ------------
// ls = s/T - lse(s/T), lt = t/T - lse(t/T). Term q (lt - ls) (0 where q == 0); dL/ds = T (p - q).
template <class T>
BG_HD BG_INLINE T kd_term(T ls, T lt) {
  const T q = rexp(lt);
  return q == T(0) ? T(0) : q * (lt - ls);
}
template <class T>
BG_HD BG_INLINE T kd_grad(T ls, T lt, T temp) { return temp * (rexp(ls) - rexp(lt)); }

// ---- decoupled softmax (DEXML) ----------------------------------------------------------
// Per positive p: softplus(lse_neg - s_p) (= -log(e^{s_p} / (e^{s_p} + sum_neg))) and its
// gradient weight sigmoid(lse_neg - s_p).
template <class T>
BG_HD BG_INLINE T dexml_term(T lse_neg, T sp) { return softplus(lse_neg - sp); }
template <class T>
BG_HD BG_INLINE T dexml_weight(T lse_neg, T sp) {
  return lse_neg == -T(INFINITY) ? T(0) : sigmoid(lse_neg - sp);
}

// ---- LDR-KL / ALDR-KL (Zhu, Ying, Yang) ---------------------------------------------------
// Scores f = K s / S with s = softplus(z) (mode 0) or s = z, S = sum |z| (mode 1, the L1 form).
// log-space for softplus: f_k = K exp(log_softplus(z_k) - log S).
// d_k = c 1[k != y] + f_k - f_y; L = lambda (lse(d / lambda) - log K).
// dL/df = softmax(d / lambda) - onehot(y) =: g; with G = sum_k g_k f_k:
//   softplus: dL/dz_j = sigmoid(z_j) (K / S) (g_j - G / K) = exp(logsig(z_j) - log S) (K g_j - G)
//   L1:       dL/dz_j = (K / S) (g_j - sign(z_j) G / K) = (K g_j - sign(z_j) G) / S
template <class T>
BG_HD BG_INLINE T ldr_score(T z, int mode, T logS, T S, T K) {
  return mode == 0 ? K * rexp(log_softplus(z) - logS) : K * z / S;
}
template <class T>
BG_HD BG_INLINE T ldr_grad(T z, int mode, T logS, T S, T K, T g, T G) {
  if (mode == 0) return rexp(log_sigmoid(z) - logS) * (K * g - G);
  const T sg = z > T(0) ? T(1) : (z < T(0) ? T(-1) : T(0));
  return (K * g - sg * G) / S;
}
// ALDR-KL: new lambda from KL(p || uniform), p = renormalised softmax(f / lambda_old) + 1e-5.
// kl_sum is sum_k p'_k log(K p'_k) over the renormalised p'.
template <class T>
BG_HD BG_INLINE T aldr_lambda(T kl, T lambda0, T alpha, T K) {
  return lambda0 * (T(1) - kl / (alpha * rlog(K)));
}
template <class T>
BG_HD BG_INLINE T aldr_penalty(T lambda, T lambda0, T alpha, T K) {
  const T dl = lambda - lambda0;
  return alpha * rlog(K) / (T(2) * lambda0) * dl * dl;
}

// ---- CBC (TraCoCo) ---------------------------------------------------------------------
// -log(clamp(1 - p_c, 1e-6, 1)) for p_c = exp(lp) (lp = log p_c); log1m = log(1 - p_c) when the
// caller has it more accurately (the student's arg-max class), else NaN to use log1p(-p).
// Gradient of the term w.r.t. x_j: p_c (1[j==c] - p_j) / (1 - p_c), zero when clamped.
template <class T>
BG_HD BG_INLINE T cbc_neg_log1m(T lp, T log1m) {
  const T l = log1m == log1m ? log1m : rlog1p(-rexp(lp));
  return l < rlog(T(1e-6)) ? -rlog(T(1e-6)) : -l;
}
template <class T>
BG_HD BG_INLINE bool cbc_clamped(T lp, T log1m) {
  const T l = log1m == log1m ? log1m : rlog1p(-rexp(lp));
  return l < rlog(T(1e-6));
}

// ---- pass@N confidence limiting (Direct Coverage Optimisation) ----------------------------
// L = -log(1 - (1 - p)^N) from lp = log p; F = N (1-p)^(N-1) p / (1 - (1-p)^N) in [0, 1];
// dL/dx = F (softmax(x) - onehot(y)).
template <class T>
BG_HD BG_INLINE void passn_finish(T lp, T N, T* loss, T* F) {
  if (N == T(1)) {
    *loss = -lp;
    *F = T(1);
    return;
  }
  // log(1 - p), accurate on both ends
  const T l1p = lp < T(-0.6931471805599453) ? rlog1p(-rexp(lp)) : rlog(-rexpm1(lp));
  T logcov;
  if (lp < T(-30)) {
    logcov = rlog(N) + lp + rlog1p(-(N - T(1)) * T(0.5) * rexp(lp));  // 1-(1-p)^N ~ Np(1 - (N-1)p/2)
  } else {
    logcov = rlog(-rexpm1(N * l1p));
  }
  *loss = -logcov;
  const T logF = rlog(N) + (N - T(1)) * l1p + lp - logcov;
  *F = l1p == -T(INFINITY) ? T(0) : rexp(logF);
}

}  // namespace rw
}  // namespace bg
