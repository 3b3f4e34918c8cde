// CPU driver of the row-wise research losses. Each row is finished in double by the
// shared formulas of native/math/rowwise_losses.h (a few reads of the row, which stays
// in L1/L2); rows are cut into fixed chunks independent of the thread count and the
// per-chunk double sums are added in chunk order, so results are bit-identical for any
// thread count. On the AVX2 / AVX-512 paths the exp-heavy passes of kdLoss,
// rmtSymmetricCrossEntropy, comp-sum / GCE, LDR-KL / ALDR-KL, decoupledSoftmax, cbcLoss
// and plackettLuceDistillation and the moment passes of zLoss run as float vectors
// (rw_kernels.h, fixed lane and block order); rows the float passes cannot represent
// faithfully (a non-finite max or sum, an all-equal zLoss row, LDR scores that underflow
// float, a Plackett-Luce row whose logits span more than float's exp range) keep the
// float64 code, which is also the scalar path. passAtNLoss reuses compSum's vector
// softmax passes. plackettLuceDistillation's sort and its suffix / prefix sums stay
// scalar (they are sequential); its vector path turns the reverse cumulative logsumexp
// into one exp per element plus a double suffix sum.
#include "rowwise_losses.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "../math/rowwise_losses.h"
#include "rw_kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace bg {
namespace cpu {

namespace {

using namespace bg::rw;

constexpr int64_t kChunkElems = 32768;
constexpr int64_t kParallelMin = 32768;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Sums {
  double a = 0.0;  // loss (or the positive CBC term)
  double b = 0.0;  // the negative CBC term
};

template <class Body>
Sums run_chunks(int64_t rows, int64_t C, const Body& body) {
  Sums total;
  if (rows <= 0) return total;
  const int64_t per = std::max<int64_t>(1, kChunkElems / std::max<int64_t>(1, C));
  const int64_t chunks = (rows + per - 1) / per;
  std::vector<Sums> sums(static_cast<size_t>(chunks));
  auto run = [&](size_t k) {
    const int64_t b = static_cast<int64_t>(k) * per;
    const int64_t e = std::min(rows, b + per);
    Sums s;
    for (int64_t r = b; r < e; ++r) {
      const Sums v = body(r);
      s.a += v.a;
      s.b += v.b;
    }
    sums[k] = s;
  };
  if (chunks > 1 && rows * C >= kParallelMin)
    parallel_for(static_cast<size_t>(chunks), run);
  else
    for (int64_t k = 0; k < chunks; ++k) run(static_cast<size_t>(k));
  for (const Sums& s : sums) {
    total.a += s.a;
    total.b += s.b;
  }
  return total;
}

double row_lse(const float* x, int64_t C, double scale = 1.0) {
  Lse<double> s = lse_init<double>();
  for (int64_t k = 0; k < C; ++k) lse_add(s, static_cast<double>(x[k]) * scale);
  return lse_value(s);
}

struct Ctx {
  const RowLossArgs* a;
  int64_t C;
  double K;
  double row_scale;  // gradient scale for mean / sum
  const RwTable* vt;  // vector row kernels of the active ISA; null on the scalar path
};

const RwTable* rw_table() {
  switch (isa_info().active) {
#if defined(__x86_64__)
    case Isa::Avx512: return &rw_table_avx512;
    case Isa::Avx2: return &rw_table_avx2;
#endif
    default: return nullptr;
  }
}

// Vector logsumexp statistics; false when the row's max is not finite (the caller then
// uses the float64 code, which has the documented inf / NaN semantics).
bool vlse(const Ctx& c, const float* x, float scale, RwLse* st) {
  c.vt->lse(x, c.C, scale, st);
  return std::isfinite(st->xm);
}

double grad_scale_of(const Ctx& c, int64_t r) {
  const RowLossArgs& a = *c.a;
  if (a.reduction != Reduction::None) return c.row_scale;
  return static_cast<double>(a.grad_out ? a.grad_out[r] : 1.0f) * a.grad_scale;
}

// ---- one row of each loss: returns the row's loss, writes g (when non-null) times s ----

// Vector zLoss row; false (nothing written) when the row needs the float64 code.
bool zloss_row_vec(const Ctx& c, const float* x, int32_t y, float* g, double s, double* loss) {
  const int64_t C = c.C;
  RwMoments mo;
  c.vt->moments(x, C, &mo);
  // All-equal rows have std exactly 0 in float64 (the authors' +1e-12 then sets the
  // scale); float lane sums could leave a tiny residue instead.
  if (!std::isfinite(mo.sum) || !(mo.mn < mo.mx)) return false;
  const float muf = static_cast<float>(mo.sum / c.K);
  double s1, s2;
  c.vt->dev2(x, C, muf, &s1, &s2);
  if (!std::isfinite(s2)) return false;
  // Corrected two-pass: the float mean's error is removed through s1.
  const double mu = static_cast<double>(muf) + s1 / c.K;
  const double ss = std::max(0.0, s2 - s1 * s1 / c.K);
  const double sigma = std::sqrt(ss / c.K) + 1e-12;
  const double zc = (x[y] - mu) / sigma;
  double coef;
  zloss_finish<double>(zc, c.a->p0, c.a->p1, loss, &coef);
  if (g) {
    // g_k = cs (1[k==y] - (1 + zc z_k) / K), z_k = (x_k - mu) / sigma, as c1 (x_k - muf) + c0.
    const double cs = s * coef / sigma;
    const double inv_d = 1.0 / c.K;
    const double c1 = -cs * zc * inv_d / sigma;
    const double c0 = c1 * (static_cast<double>(muf) - mu) - cs * inv_d;
    RwAffineIn in{x, g, C, muf, static_cast<float>(c1), static_cast<float>(c0)};
    c.vt->affine(in);
    g[y] = static_cast<float>(zloss_grad<double>(cs, zc, zc, true, inv_d));
  }
  return true;
}

double zloss_row(const Ctx& c, const float* x, int32_t y, float* g, double s) {
  const int64_t C = c.C;
  double vloss;
  if (c.vt && zloss_row_vec(c, x, y, g, s, &vloss)) return vloss;
  double sum = 0.0;
  for (int64_t k = 0; k < C; ++k) sum += x[k];
  const double mu = sum / c.K;
  double ss = 0.0;
  for (int64_t k = 0; k < C; ++k) {
    const double d = x[k] - mu;
    ss += d * d;
  }
  const double sigma = std::sqrt(ss / c.K) + 1e-12;
  const double zc = (x[y] - mu) / sigma;
  double loss, coef;
  zloss_finish<double>(zc, c.a->p0, c.a->p1, &loss, &coef);
  if (g) {
    const double cs = s * coef / sigma;
    const double inv_d = 1.0 / c.K;
    for (int64_t k = 0; k < C; ++k) g[k] = static_cast<float>(zloss_grad<double>(cs, zc, (x[k] - mu) / sigma, k == y, inv_d));
  }
  return loss;
}

double compsum_row(const Ctx& c, const float* x, int32_t y, float* g, double s) {
  RwLse st;
  if (c.vt && vlse(c, x, 1.0f, &st)) {
    const double logd = std::log(st.d);
    const double lse = static_cast<double>(st.xm) + logd;
    const double l = lse - x[y];
    const double tau = c.a->p0;
    if (g) {
      const float xy = x[y];  // g may alias nothing here, but read before writing anyway
      RwExpIn in{x, g, c.C, st.xm, static_cast<float>((1.0 - tau) * l - logd), static_cast<float>(s)};
      c.vt->exp_grad(in);
      g[y] = static_cast<float>(s * compsum_grad<double>(xy, lse, l, tau, true));
    }
    return compsum_loss<double>(l, tau);
  }
  const double lse = row_lse(x, c.C);
  const double l = lse - x[y];
  const double tau = c.a->p0;
  if (g)
    for (int64_t k = 0; k < c.C; ++k) g[k] = static_cast<float>(s * compsum_grad<double>(x[k], lse, l, tau, k == y));
  return compsum_loss<double>(l, tau);
}

double rmt_row(const Ctx& c, const float* x, const float* t, float* g, double s) {
  RwLse sx, stt;
  if (c.vt && vlse(c, x, 1.0f, &sx) && vlse(c, t, 1.0f, &stt)) {
    RwRmtIn in{x, t, g, c.C, sx.xm, static_cast<float>(std::log(sx.d)), stt.xm, static_cast<float>(std::log(stt.d)),
               static_cast<float>(s), 0.0f};
    double A, S;
    c.vt->rmt_sums(in, &A, &S);
    if (g) {
      in.S = static_cast<float>(S);
      c.vt->rmt_grad(in);
    }
    return -0.5 * A;
  }
  const double lx = row_lse(x, c.C);
  const double lt = row_lse(t, c.C);
  double A = 0.0, S = 0.0;
  for (int64_t k = 0; k < c.C; ++k) {
    const double a = x[k] - lx, b = t[k] - lt;
    A += rmt_terms(a, b);
    S += std::exp(a) * b;
  }
  if (g)
    for (int64_t k = 0; k < c.C; ++k) g[k] = static_cast<float>(s * rmt_grad<double>(x[k] - lx, t[k] - lt, S));
  return -0.5 * A;
}

double kd_row(const Ctx& c, const float* x, const float* t, float* g, double s) {
  const double T = c.a->p0, iT = 1.0 / T;
  RwLse sx, stt;
  if (c.vt && vlse(c, x, static_cast<float>(iT), &sx) && vlse(c, t, static_cast<float>(iT), &stt)) {
    RwKdIn in{x, t, g, c.C, static_cast<float>(iT), sx.xm, static_cast<float>(std::log(sx.d)), stt.xm,
              static_cast<float>(std::log(stt.d)), static_cast<float>(s * T)};
    return T * T * c.vt->kd(in);
  }
  const double ls = row_lse(x, c.C, iT);
  const double lt = row_lse(t, c.C, iT);
  double A = 0.0;
  for (int64_t k = 0; k < c.C; ++k) A += kd_term<double>(x[k] * iT - ls, t[k] * iT - lt);
  if (g)
    for (int64_t k = 0; k < c.C; ++k) g[k] = static_cast<float>(s * kd_grad<double>(x[k] * iT - ls, t[k] * iT - lt, T));
  return T * T * A;
}

// Vector DEXML row; false (nothing written) when the row needs the float64 code.
bool dexml_row_vec(const Ctx& c, const float* x, const float* m, float* g, double s, double* loss) {
  RwLse st;
  double npos;
  c.vt->dex_lse(x, m, c.C, &st, &npos);
  if (npos == 0.0) {
    if (g) std::memset(g, 0, static_cast<size_t>(c.C) * sizeof(float));
    *loss = 0.0;
    return true;
  }
  // No negatives (xm = -inf) or a non-finite one: float64 has the edge semantics.
  if (!std::isfinite(st.xm)) return false;
  RwDexIn in{x, m, g, c.C, st.xm, static_cast<float>(std::log(st.d)), 0.0f, 0.0f};
  double L, G;
  c.vt->dex_pos(in, &L, &G);
  if (!std::isfinite(L) || !std::isfinite(G)) return false;
  const double inv = 1.0 / npos;
  if (g) {
    in.A = static_cast<float>(-s * inv);
    in.B = static_cast<float>(s * G * inv);
    c.vt->dex_grad(in);
  }
  *loss = L * inv;
  return true;
}

double dexml_row(const Ctx& c, const float* x, const float* m, float* g, double s) {
  double vloss;
  if (c.vt && dexml_row_vec(c, x, m, g, s, &vloss)) return vloss;
  Lse<double> st = lse_init<double>();
  int64_t npos = 0;
  for (int64_t k = 0; k < c.C; ++k) {
    if (m[k] != 0.0f)
      ++npos;
    else
      lse_add(st, static_cast<double>(x[k]));
  }
  if (npos == 0) {
    if (g) std::memset(g, 0, static_cast<size_t>(c.C) * sizeof(float));
    return 0.0;
  }
  const double ln = lse_value(st);
  double L = 0.0, G = 0.0;
  for (int64_t k = 0; k < c.C; ++k) {
    if (m[k] == 0.0f) continue;
    L += dexml_term<double>(ln, x[k]);
    G += dexml_weight<double>(ln, x[k]);
  }
  const double inv = 1.0 / static_cast<double>(npos);
  if (g) {
    for (int64_t k = 0; k < c.C; ++k)
      g[k] = static_cast<float>(m[k] != 0.0f ? -s * dexml_weight<double>(ln, x[k]) * inv : s * std::exp(x[k] - ln) * G * inv);
  }
  return L * inv;
}

struct PldScratch {
  std::vector<int32_t> perm;
  std::vector<double> R;
  std::vector<uint64_t> keys;
  std::vector<float> xs, ts, e, alpha, sf;
};
PldScratch& pld_scratch() {
  thread_local PldScratch s;
  return s;
}

// Sort key of a finite-or-infinite teacher logit: descending value, then ascending index
// (std::stable_sort's order under t[i] > t[j]); -0 and +0 compare equal there, so they
// are made the same key.
uint64_t pld_key(float v, int64_t k) {
  uint32_t u;
  const float z = v + 0.0f;
  std::memcpy(&u, &z, sizeof u);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // ascending as unsigned
  return (static_cast<uint64_t>(~u) << 32) | static_cast<uint32_t>(k);
}

// Stable LSD radix sort of n keys by their upper 32 bits (keys enter in ascending index,
// so this is the order of the full 64-bit keys) in 8-bit digits; a digit all keys share
// is skipped. tmp holds n keys.
void pld_radix_sort(uint64_t* keys, uint64_t* tmp, int64_t n) {
  uint32_t cnt[4][256] = {};
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t k = static_cast<uint32_t>(keys[i] >> 32);
    for (int d = 0; d < 4; ++d) ++cnt[d][(k >> (8 * d)) & 0xff];
  }
  uint64_t *src = keys, *dst = tmp;
  for (int d = 0; d < 4; ++d) {
    uint32_t* c = cnt[d];
    if (n == 0 || c[(static_cast<uint32_t>(src[0] >> 32) >> (8 * d)) & 0xff] == static_cast<uint32_t>(n)) continue;
    uint32_t sum = 0;
    for (int b = 0; b < 256; ++b) {
      const uint32_t v = c[b];
      c[b] = sum;
      sum += v;
    }
    for (int64_t i = 0; i < n; ++i) dst[c[(static_cast<uint32_t>(src[i] >> 32) >> (8 * d)) & 0xff]++] = src[i];
    std::swap(src, dst);
  }
  if (src != keys) std::memcpy(keys, src, static_cast<size_t>(n) * sizeof(uint64_t));
}

// Vector Plackett-Luce row; false (nothing written) when the row needs the float64 code.
// With M = max x, e_k = exp(x_pi(k) - M) and S_k = sum_{i >= k} e_i: R_k = M + log S_k,
// and exp(x_j + logW_k) = e_k sum_{i <= k} alpha_i / S_i, so the two scans are plain
// double sums. Needs every e_k to be a normal float (M - min x < 80).
bool pld_row_vec(const Ctx& c, const float* x, const float* t, int32_t y, float* g, double s, double* loss) {
  const int64_t C = c.C;
  const RwTable& vt = *c.vt;
  const double iT = 1.0 / c.a->p0;
  RwLse stt;
  vt.lse(t, C, static_cast<float>(iT), &stt);
  if (!std::isfinite(stt.xm)) return false;
  const float M = vt.max(x, C);
  const float mn = vt.min(x, C);
  if (!std::isfinite(M) || !std::isfinite(mn) || !(static_cast<double>(M) - mn < 80.0)) return false;
  PldScratch& sc = pld_scratch();
  const size_t n = static_cast<size_t>(C);
  for (auto* v : {&sc.xs, &sc.ts, &sc.e, &sc.alpha, &sc.sf})
    if (v->size() < n) v->resize(n);
  if (sc.perm.size() < n) sc.perm.resize(n);
  if (sc.R.size() < n) sc.R.resize(n);
  if (sc.keys.size() < 2 * n) sc.keys.resize(2 * n);
  uint64_t* keys = sc.keys.data();
  int64_t m = 0;
  for (int64_t k = 0; k < C; ++k)
    if (k != y) keys[m++] = pld_key(t[k], k);
  pld_radix_sort(keys, sc.keys.data() + n, m);
  int32_t* pi = sc.perm.data();
  float *xs = sc.xs.data(), *ts = sc.ts.data(), *e = sc.e.data(), *alpha = sc.alpha.data(), *sf = sc.sf.data();
  double* S = sc.R.data();
  pi[0] = y;
  for (int64_t k = 0; k < m; ++k) pi[k + 1] = static_cast<int32_t>(static_cast<uint32_t>(keys[k]));
  for (int64_t k = 0; k < C; ++k) {
    xs[k] = x[pi[k]];
    ts[k] = t[pi[k]];
  }
  vt.exp_map(xs, e, C, M, 1.0f, 0.0f);
  // alpha = exp(t iT - lt), lt = tm iT + log d.
  vt.exp_map(ts, alpha, C, stt.xm, static_cast<float>(iT), static_cast<float>(-std::log(stt.d)));
  double acc = 0.0;
  for (int64_t k = C - 1; k >= 0; --k) {
    acc += e[k];
    S[k] = acc;
    sf[k] = static_cast<float>(acc);
  }
  const double L = vt.pld_loss(xs, alpha, sf, C, M);
  if (!std::isfinite(L)) return false;  // a NaN logit
  if (g) {
    double P = 0.0;
    for (int64_t k = 0; k < C; ++k) {
      const double a = alpha[k];
      P += a / S[k];
      g[pi[k]] = static_cast<float>(s * (static_cast<double>(e[k]) * P - a));
    }
  }
  *loss = L;
  return true;
}

double pld_row(const Ctx& c, const float* x, const float* t, int32_t y, float* g, double s) {
  double vloss;
  if (c.vt && pld_row_vec(c, x, t, y, g, s, &vloss)) return vloss;
  const int64_t C = c.C;
  const double iT = 1.0 / c.a->p0;
  const double lt = row_lse(t, C, iT);
  PldScratch& sc = pld_scratch();
  sc.perm.resize(static_cast<size_t>(C));
  sc.R.resize(static_cast<size_t>(C));
  int32_t* pi = sc.perm.data();
  pi[0] = y;
  int64_t n = 1;
  for (int64_t k = 0; k < C; ++k)
    if (k != y) pi[n++] = static_cast<int32_t>(k);
  std::stable_sort(pi + 1, pi + C, [t](int32_t i, int32_t j) { return t[i] > t[j]; });
  double* R = sc.R.data();
  double acc = -kInf;
  for (int64_t k = C - 1; k >= 0; --k) {
    acc = logaddexp<double>(acc, x[pi[k]]);
    R[k] = acc;
  }
  double L = 0.0;
  double logW = -kInf;
  for (int64_t k = 0; k < C; ++k) {
    const int32_t j = pi[k];
    const double la = t[j] * iT - lt;
    const double alpha = std::exp(la);
    L += alpha * (R[k] - x[j]);
    if (g) {
      logW = logaddexp<double>(logW, la - R[k]);
      g[j] = static_cast<float>(s * (std::exp(x[j] + logW) - alpha));
    }
  }
  return L;
}

std::vector<float>& ldr_scratch() {
  thread_local std::vector<float> s;
  return s;
}

// Vector LDR-KL / ALDR-KL row; false (nothing final written, *lambda_io untouched) when
// the row needs the float64 code. Scores s_k (softplus(z_k), kept in g or a scratch row;
// z_k itself for the L1 form) give f_k = fs s_k. The target's element is left out of the
// vector ranges [0, y) and (y, C) and added in double: its d is exactly 0, and folding it
// into the vectors with the margin and subtracting it again would cancel.
bool ldr_row_vec(const Ctx& c, const float* x, int32_t y, float* g, double s, float* lambda_io, double* loss_out) {
  const RowLossArgs& a = *c.a;
  const int64_t C = c.C;
  const double K = c.K;
  const int mode = a.mode;
  const RwTable& vt = *c.vt;
  const float* sc;
  double S;
  if (mode == 0) {
    float* buf = g;
    if (!buf) {
      std::vector<float>& v = ldr_scratch();
      if (v.size() < static_cast<size_t>(C)) v.resize(static_cast<size_t>(C));
      buf = v.data();
    }
    S = vt.softplus(x, buf, C);
    sc = buf;
  } else {
    S = vt.abssum(x, C);
    sc = x;
  }
  // Below ~1e-30 every score is a float underflow away from 0: log space (float64) needed.
  if (!std::isfinite(S) || !(S > 1e-30)) return false;
  const double logS = std::log(S);
  const double fs = K / S;
  const double sy = sc[y];
  const double fy = fs * sy;
  const int64_t nr = C - y - 1;
  const double smax_ny = std::max<double>(vt.max(sc, y), vt.max(sc + y + 1, nr));  // max over k != y
  const double margin = a.p0;
  double lambda = a.p1;
  double penalty = 0.0;
  if (lambda_io) {
    const double lam_old = *lambda_io;
    if (!(lam_old > 0.0)) return false;
    const double smax = std::max(smax_ny, sy);
    const double al = fs / lam_old;
    // lse(f / lam_old) = al smax + log A0, A0 = sum exp(al (s - smax)).
    RwLdrIn in{x, sc, nullptr, C, static_cast<float>(al), static_cast<float>(smax), 0.0f, 0.0f, 0.0f, mode};
    double A0;
    vt.ldr_expsum(in, &A0, nullptr);
    in.c = static_cast<float>(-std::log(A0));  // f / lam_old - lse = al (s - smax) - log A0
    const double norm = 1.0 + K * 1e-5;
    const double kl = vt.ldr_klsum(in, static_cast<float>(1.0 / norm), 1e-5f, static_cast<float>(K));
    const double lambda0 = a.p1, alpha = a.p2;
    lambda = aldr_lambda<double>(kl, lambda0, alpha, K);
    penalty = aldr_penalty<double>(lambda, lambda0, alpha, K);
  }
  // The max of d / lambda over the row is monotone in s only for lambda > 0.
  if (!(lambda > 0.0) || !std::isfinite(lambda)) return false;
  const double vtop = (margin + fs * smax_ny - fy) / lambda;  // d / lambda of the largest k != y
  const double vmax = std::max(0.0, vtop);
  const double al = fs / lambda;
  // k != y: d_k / lambda - vmax = al (s_k - smax_ny) + (vtop - vmax).
  const float sref = std::isfinite(smax_ny) ? static_cast<float>(smax_ny) : 0.0f;  // C == 1: empty ranges
  RwLdrIn lo{x, sc, g, y, static_cast<float>(al), sref, static_cast<float>(vtop - vmax), 0.0f, 0.0f, mode};
  RwLdrIn hi{x + y + 1, sc + y + 1, g ? g + y + 1 : nullptr, nr, lo.a, lo.sref, lo.c, 0.0f, 0.0f, mode};
  double Dl, Fl, Dr, Fr;
  vt.ldr_expsum(lo, &Dl, &Fl);
  vt.ldr_expsum(hi, &Dr, &Fr);
  const double ey = std::exp(-vmax);
  const double D = Dl + ey + Dr;
  const double l = vmax + std::log(D);
  *loss_out = lambda * (l - std::log(K)) - penalty;
  if (g) {
    const double G = fs * (Fl + ey * sy + Fr) / D - fy;
    lo.A = hi.A = static_cast<float>(s * K / (S * D));
    lo.B = hi.B = static_cast<float>(-s * G / S);
    vt.ldr_grad(lo);
    vt.ldr_grad(hi);
    g[y] = static_cast<float>(s * ldr_grad<double>(x[y], mode, logS, S, K, ey / D - 1.0, G));
  }
  if (lambda_io) *lambda_io = static_cast<float>(lambda);
  return true;
}

// LDR-KL / ALDR-KL. lambda_io: ALDR's stored lambda (read, replaced by the new one).
double ldr_row(const Ctx& c, const float* x, int32_t y, float* g, double s, float* lambda_io) {
  const RowLossArgs& a = *c.a;
  const int64_t C = c.C;
  const double K = c.K;
  const int mode = a.mode;
  double vloss;
  if (c.vt && ldr_row_vec(c, x, y, g, s, lambda_io, &vloss)) return vloss;
  double S, logS;
  if (mode == 0) {
    Lse<double> st = lse_init<double>();
    for (int64_t k = 0; k < C; ++k) lse_add(st, log_softplus<double>(x[k]));
    logS = lse_value(st);
    S = std::exp(logS);
  } else {
    S = 0.0;
    for (int64_t k = 0; k < C; ++k) S += std::fabs(static_cast<double>(x[k]));
    logS = std::log(S);
  }
  auto f = [&](int64_t k) { return ldr_score<double>(x[k], mode, logS, S, K); };
  const double fy = f(y);
  const double margin = a.p0;
  double lambda = a.p1;
  double penalty = 0.0;
  if (lambda_io) {
    const double lam_old = *lambda_io;
    Lse<double> st = lse_init<double>();
    for (int64_t k = 0; k < C; ++k) lse_add(st, f(k) / lam_old);
    const double l0 = lse_value(st);
    const double norm = 1.0 + K * 1e-5;
    double kl = 0.0;
    for (int64_t k = 0; k < C; ++k) {
      const double p = (std::exp(f(k) / lam_old - l0) + 1e-5) / norm;
      kl += p * std::log(K * p);
    }
    const double lambda0 = a.p1, alpha = a.p2;
    lambda = aldr_lambda<double>(kl, lambda0, alpha, K);
    penalty = aldr_penalty<double>(lambda, lambda0, alpha, K);
    *lambda_io = static_cast<float>(lambda);
  }
  auto d = [&](int64_t k, double fk) { return ((k != y) ? margin : 0.0) + fk - fy; };
  Lse<double> st = lse_init<double>();
  for (int64_t k = 0; k < C; ++k) lse_add(st, d(k, f(k)) / lambda);
  const double l = lse_value(st);
  const double loss = lambda * (l - std::log(K)) - penalty;
  if (g) {
    double G = -fy;
    for (int64_t k = 0; k < C; ++k) {
      const double fk = f(k);
      G += std::exp(d(k, fk) / lambda - l) * fk;
    }
    for (int64_t k = 0; k < C; ++k) {
      const double gk = std::exp(d(k, f(k)) / lambda - l) - (k == y ? 1.0 : 0.0);
      g[k] = static_cast<float>(s * ldr_grad<double>(x[k], mode, logS, S, K, gk, G));
    }
  }
  return loss;
}

// CBC: teacher statistics of a row (pseudo-label, w+, w-).
struct CbcTeacher {
  int32_t label;
  double wpos, wneg;
  bool pos, neg;
};
CbcTeacher cbc_teacher(const RowLossArgs& a, const float* t, int64_t C) {
  CbcTeacher r;
  const double lt = row_lse(t, C);
  int32_t am = 0;
  float mn = t[0];
  for (int64_t k = 1; k < C; ++k) {
    if (t[k] > t[am]) am = static_cast<int32_t>(k);
    mn = std::min(mn, t[k]);
  }
  r.label = am;
  r.wpos = std::exp(t[am] - lt);
  r.wneg = std::exp(mn - lt);
  r.pos = r.wpos >= static_cast<double>(a.p0);
  r.neg = r.wneg < static_cast<double>(a.p1);
  return r;
}

// Vector teacher statistics; false when the row's max or min is not finite.
bool cbc_teacher_vec(const RwTable& vt, const RowLossArgs& a, const float* t, int64_t C, CbcTeacher* r) {
  RwLse st;
  vt.lse(t, C, 1.0f, &st);
  const float mn = vt.min(t, C);
  if (!std::isfinite(st.xm) || !std::isfinite(mn)) return false;
  int32_t am = 0;
  while (t[am] != st.xm) ++am;  // the first arg-max, as the float64 scan
  const double lt = static_cast<double>(st.xm) + std::log(st.d);
  r->label = am;
  r->wpos = std::exp(t[am] - lt);
  r->wneg = std::exp(mn - lt);
  r->pos = r->wpos >= static_cast<double>(a.p0);
  r->neg = r->wneg < static_cast<double>(a.p1);
  return true;
}

// Vector CBC row; false (nothing written) when the row needs the float64 code. Every class
// but the arg-max has p <= 1/2, so -log(1 - p) and p / (1 - p) are well conditioned in
// float and never clamped; the arg-max (log(1 - p) from the other classes' exp-sum) and
// the label are finished in double.
bool cbc_row_vec(const Ctx& c, const CbcTeacher& tc, const float* x, float* g, double sp, double sn, Sums* out) {
  const int64_t C = c.C;
  const RwTable& vt = *c.vt;
  RwLse st;
  vt.lse(x, C, 1.0f, &st);
  if (!std::isfinite(st.xm)) return false;
  int32_t am = 0;
  while (x[am] != st.xm) ++am;
  const int32_t yl = tc.label;
  const double logd = std::log(st.d);
  const double lx = static_cast<double>(st.xm) + logd;
  const double rest = vt.expsum(x, am, st.xm) + vt.expsum(x + am + 1, C - am - 1, st.xm);
  const double log1m_am = std::log(rest) - logd;
  const float xyl = x[yl], xam = x[am];  // read before g (which may alias x) is written
  const double lp_am = xam - lx;
  const bool am_clamped = cbc_clamped<double>(lp_am, log1m_am);
  const double r_am = am_clamped ? 0.0 : std::exp(lp_am - log1m_am);
  RwCbcIn in{nullptr, nullptr, 0, st.xm, static_cast<float>(logd), 0.0f, 0.0f, 0.0f};
  double R = 0.0;
  Sums o;
  if (tc.pos) o.a = -tc.wpos * (xyl - lx);
  if (tc.neg) {
    // Ranges without the label and the arg-max, in index order.
    const int32_t i0 = std::min(yl, am), i1 = std::max(yl, am);
    const int64_t lo[3] = {0, i0 + 1, i1 + 1};
    const int64_t hi[3] = {i0, i1, C};
    double L = 0.0;
    for (int r = 0; r < 3; ++r) {
      if (hi[r] <= lo[r]) continue;
      in.x = x + lo[r];
      in.n = hi[r] - lo[r];
      double l, rr;
      vt.cbc_neg(in, &l, &rr);
      L += l;
      R += rr;
    }
    if (am != yl) {
      L += cbc_neg_log1m<double>(lp_am, log1m_am);
      R += r_am;
    }
    if (!std::isfinite(L) || !std::isfinite(R)) return false;
    o.b = tc.wneg * L;
  }
  if (!std::isfinite(o.a)) return false;
  if (g) {
    const double A = tc.pos ? sp * tc.wpos : 0.0;
    const double B = tc.neg ? sn * tc.wneg : 0.0;
    in.x = x;
    in.g = g;
    in.n = C;
    in.A = static_cast<float>(A);
    in.B = static_cast<float>(B);
    in.R = static_cast<float>(R);
    vt.cbc_grad(in);
    const double p_am = std::exp(lp_am);
    g[am] = static_cast<float>(A * (p_am - (am == yl ? 1.0 : 0.0)) + B * ((am == yl ? 0.0 : r_am) - p_am * R));
    if (am != yl) {
      const double p = std::exp(xyl - lx);
      g[yl] = static_cast<float>(A * (p - 1.0) - B * p * R);
    }
  }
  *out = o;
  return true;
}

// Returns {positive term, negative term}; the gradient is sp * d(pos) + sn * d(neg).
Sums cbc_row(const Ctx& c, const CbcTeacher& tc, const float* x, float* g, double sp, double sn) {
  const int64_t C = c.C;
  Sums out;
  if (!tc.pos && !tc.neg) {
    if (g) std::memset(g, 0, static_cast<size_t>(C) * sizeof(float));
    return out;
  }
  if (c.vt && cbc_row_vec(c, tc, x, g, sp, sn, &out)) return out;
  const double lx = row_lse(x, C);
  const int32_t yl = tc.label;
  int32_t am = 0;
  for (int64_t k = 1; k < C; ++k)
    if (x[k] > x[am]) am = static_cast<int32_t>(k);
  Lse<double> rest = lse_init<double>();
  for (int64_t k = 0; k < C; ++k)
    if (k != am) lse_add(rest, static_cast<double>(x[k]));
  const double log1m_am = lse_value(rest) - lx;  // log(1 - p_am), exact for the largest p
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double R = 0.0;
  if (tc.pos) out.a = -tc.wpos * (x[yl] - lx);
  if (tc.neg) {
    double L = 0.0;
    for (int64_t k = 0; k < C; ++k) {
      if (k == yl) continue;
      const double lp = x[k] - lx;
      const double l1m = k == am ? log1m_am : nan;
      L += cbc_neg_log1m<double>(lp, l1m);
      if (!cbc_clamped<double>(lp, l1m)) R += std::exp(lp - (k == am ? log1m_am : std::log1p(-std::exp(lp))));
    }
    out.b = tc.wneg * L;
  }
  if (g) {
    for (int64_t k = 0; k < C; ++k) {
      const double lp = x[k] - lx;
      const double p = std::exp(lp);
      double v = 0.0;
      if (tc.pos) v += sp * tc.wpos * (p - (k == yl ? 1.0 : 0.0));
      if (tc.neg) {
        double r = 0.0;
        const double l1m = k == am ? log1m_am : nan;
        if (k != yl && !cbc_clamped<double>(lp, l1m)) r = std::exp(lp - (k == am ? log1m_am : std::log1p(-p)));
        v += sn * tc.wneg * (r - p * R);
      }
      g[k] = static_cast<float>(v);
    }
  }
  return out;
}

double passn_row(const Ctx& c, const float* x, int32_t y, float* g, double s) {
  RwLse st;
  if (c.vt && vlse(c, x, 1.0f, &st)) {
    // The softmax pass is compSum's: g_k = s F p_k from the vector lse, target in double.
    const double logd = std::log(st.d);
    const double lse = static_cast<double>(st.xm) + logd;
    const float xy = x[y];
    double loss, F;
    passn_finish<double>(xy - lse, c.a->p0, &loss, &F);
    if (g) {
      RwExpIn in{x, g, c.C, st.xm, static_cast<float>(-logd), static_cast<float>(s * F)};
      c.vt->exp_grad(in);
      g[y] = static_cast<float>(s * F * (std::exp(xy - lse) - 1.0));
    }
    return loss;
  }
  const double lse = row_lse(x, c.C);
  double loss, F;
  passn_finish<double>(x[y] - lse, c.a->p0, &loss, &F);
  if (g)
    for (int64_t k = 0; k < c.C; ++k) g[k] = static_cast<float>(s * F * (std::exp(x[k] - lse) - (k == y ? 1.0 : 0.0)));
  return loss;
}

bool needs_target(RowLossKind k) {
  return k == RowLossKind::ZLoss || k == RowLossKind::CompSum || k == RowLossKind::Pld || k == RowLossKind::LdrKl ||
         k == RowLossKind::AldrKl || k == RowLossKind::PassAtN;
}

}  // namespace

RowCheck rowwise_loss(const RowLossArgs& a) {
  RowCheck chk;
  const int64_t rows = a.rows;
  const int64_t C = a.classes;
  if (needs_target(a.kind)) {
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t y = a.target[r];
      if (y < 0 || y >= C) {
        chk.ok = false;
        chk.what = 0;
        chk.index = r;
        chk.value = y;
        return chk;
      }
    }
  }
  if (a.kind == RowLossKind::AldrKl) {
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t i = a.index[r];
      if (i < 0 || i >= a.n_state) {
        chk.ok = false;
        chk.what = 1;
        chk.index = r;
        chk.value = i;
        return chk;
      }
    }
  }
  if (a.kind == RowLossKind::DecoupledSoftmax) {
    for (int64_t i = 0; i < rows * C; ++i) {
      const float v = a.t[i];
      if (!(v == 0.0f || v == 1.0f)) {
        chk.ok = false;
        chk.what = 2;
        chk.index = i / C;
        chk.value = static_cast<double>(i % C);
        return chk;
      }
    }
  }

  Ctx c{&a, C, static_cast<double>(C), 0.0, rw_table()};
  const double nrows = static_cast<double>(rows);
  c.row_scale = a.reduction == Reduction::Mean ? static_cast<double>(a.grad_scale) / nrows : a.grad_scale;

  if (a.kind == RowLossKind::Cbc) {
    // Teacher statistics once per row, over the pool (the mean's masks need them all
    // before any row is finished).
    std::vector<CbcTeacher> tcs(static_cast<size_t>(rows));
    run_chunks(rows, C, [&](int64_t r) {
      const float* t = a.t + r * C;
      CbcTeacher& tc = tcs[static_cast<size_t>(r)];
      if (!(c.vt && cbc_teacher_vec(*c.vt, a, t, C, &tc))) tc = cbc_teacher(a, t, C);
      return Sums{};
    });
    // Mean: positive and negative terms each averaged over their own mask.
    double sp = c.row_scale, sn = c.row_scale;
    double npos = 0.0, nneg = 0.0;
    if (a.reduction == Reduction::Mean) {
      for (const CbcTeacher& tc : tcs) {
        npos += tc.pos ? 1.0 : 0.0;
        nneg += tc.neg ? 1.0 : 0.0;
      }
      sp = npos > 0 ? a.grad_scale / npos : 0.0;
      sn = nneg > 0 ? a.grad_scale / nneg : 0.0;
    }
    const Sums tot = run_chunks(rows, C, [&](int64_t r) {
      float* g = a.grad ? a.grad + r * C : nullptr;
      double s1 = sp, s2 = sn;
      if (a.reduction == Reduction::None) s1 = s2 = grad_scale_of(c, r);
      const Sums v = cbc_row(c, tcs[static_cast<size_t>(r)], a.x + r * C, g, s1, s2);
      if (a.reduction == Reduction::None) a.loss[r] = static_cast<float>(v.a + v.b);
      return v;
    });
    if (a.reduction == Reduction::Mean)
      a.loss[0] = static_cast<float>((npos > 0 ? tot.a / npos : 0.0) + (nneg > 0 ? tot.b / nneg : 0.0));
    else if (a.reduction == Reduction::Sum)
      a.loss[0] = static_cast<float>(tot.a + tot.b);
    return chk;
  }

  const Sums tot = run_chunks(rows, C, [&](int64_t r) {
    const float* x = a.x + r * C;
    const float* t = a.t ? a.t + r * C : nullptr;
    const int32_t y = a.target ? a.target[r] : 0;
    float* g = a.grad ? a.grad + r * C : nullptr;
    const double s = grad_scale_of(c, r);
    double l = 0.0;
    switch (a.kind) {
      case RowLossKind::ZLoss: l = zloss_row(c, x, y, g, s); break;
      case RowLossKind::CompSum: l = compsum_row(c, x, y, g, s); break;
      case RowLossKind::RmtSce: l = rmt_row(c, x, t, g, s); break;
      case RowLossKind::Kd: l = kd_row(c, x, t, g, s); break;
      case RowLossKind::DecoupledSoftmax: l = dexml_row(c, x, t, g, s); break;
      case RowLossKind::Pld: l = pld_row(c, x, t, y, g, s); break;
      case RowLossKind::LdrKl: l = ldr_row(c, x, y, g, s, nullptr); break;
      case RowLossKind::AldrKl: l = ldr_row(c, x, y, g, s, a.state + a.index[r]); break;
      case RowLossKind::PassAtN: l = passn_row(c, x, y, g, s); break;
      default: break;
    }
    if (a.reduction == Reduction::None) a.loss[r] = static_cast<float>(l);
    Sums v;
    v.a = l;
    return v;
  });
  if (a.reduction == Reduction::Mean)
    a.loss[0] = static_cast<float>(tot.a / nrows);
  else if (a.reduction == Reduction::Sum)
    a.loss[0] = static_cast<float>(tot.a);
  return chk;
}

}  // namespace cpu
}  // namespace bg
