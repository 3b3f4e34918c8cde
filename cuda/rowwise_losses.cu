// Row-wise research losses on the device (native/ops/rowwise_args.h), float32 math
// from native/math/rowwise_losses.h (the CPU path evaluates the same templates in
// double):
//   rw_check  grid-stride: targets in [0, C), ALDR sample indices in [0, n_state),
//             DEXML mask values in {0, 1}; the first failure by atomicMin on
//             (what << 56 | row). Rows with a bad target / index are skipped below.
//   rw_rows   one warp per row (8 rows per 256-thread block): lane-strided passes over
//             the row, cub::WarpReduce / cub::WarpScan combines (fixed shape, so
//             deterministic), the row's loss by lane 0, then the gradient pass.
//             PLD sorts by rank counting (O(C^2 / 32) per row) into scratch and runs
//             the reverse cumulative logsumexp as chunked warp scans.
//   rw_cbc_flags / rw_count  CBC's 'mean': per-row mask flags, then the mask counts.
//   rw_finish one block: adds the row losses in a fixed order (no atomics) and divides
//             for the mean, and records the value of the first failed check.
#include <cuda_runtime.h>

#include <cub/warp/warp_reduce.cuh>
#include <cub/warp/warp_scan.cuh>

#include <cstdint>
#include <string>

#include "../native/math/rowwise_losses.h"
#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

using namespace bg::rw;

constexpr int kWarps = 8;
constexpr int kThreads = 32 * kWarps;
constexpr int kFinishThreads = 256;
constexpr int64_t kMaxGrid = 1 << 20;
constexpr unsigned kFull = 0xffffffffu;

struct Params {
  RowLossArgs a;
  double* rows_a;        // per-row loss (or CBC positive term), reductions only
  double* rows_b;        // CBC negative term, reductions only
  int32_t* flags;        // CBC mask flags (bit 0 positive, bit 1 negative), mean only
  double* counts;        // CBC [npos, nneg], mean only
  int32_t* perm;         // PLD [rows, C]
  float* R;              // PLD [rows, C]
  unsigned long long* bad;
};

struct LseOp {
  // A lane whose elements are all NaN / -inf keeps m = -inf with d = NaN, and lse_combine
  // returns the other side for m = -inf: without these tests a NaN logit would vanish
  // (the CPU's sequential lse_add gives NaN).
  __device__ __forceinline__ Lse<float> operator()(const Lse<float>& p, const Lse<float>& q) const {
    if (p.d != p.d) return p;
    if (q.d != q.d) return q;
    return lse_combine(p, q);
  }
};
struct LaeOp {
  __device__ __forceinline__ float operator()(float p, float q) const { return logaddexp(p, q); }
};
struct ArgMax {
  float v;
  int i;
};
struct ArgMaxOp {
  __device__ __forceinline__ ArgMax operator()(const ArgMax& p, const ArgMax& q) const {
    if (p.v > q.v || (p.v == q.v && p.i < q.i)) return p;
    return q;
  }
};
struct MinOp {
  __device__ __forceinline__ float operator()(float p, float q) const { return p < q ? p : q; }
};

using WR = cub::WarpReduce<float>;
using WRL = cub::WarpReduce<Lse<float>>;
using WRA = cub::WarpReduce<ArgMax>;
using WS = cub::WarpScan<float>;

struct Smem {
  union {
    WR::TempStorage f;
    WRL::TempStorage l;
    WRA::TempStorage am;
    WS::TempStorage s;
  } w[kWarps];
};

// Every helper returns the combined value on every lane.
__device__ __forceinline__ float wsum(Smem& sm, int w, float v) {
  float r = WR(sm.w[w].f).Sum(v);
  __syncwarp();
  return __shfl_sync(kFull, r, 0);
}
// Double sum over the warp, fixed tree, the result broadcast from lane 0.
__device__ __forceinline__ double wsum_d(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(kFull, v, o);
  return __shfl_sync(kFull, v, 0);
}
__device__ __forceinline__ float wmin(Smem& sm, int w, float v) {
  float r = WR(sm.w[w].f).Reduce(v, MinOp());
  __syncwarp();
  return __shfl_sync(kFull, r, 0);
}
__device__ __forceinline__ float wlse(Smem& sm, int w, Lse<float> s) {
  Lse<float> r = WRL(sm.w[w].l).Reduce(s, LseOp());
  __syncwarp();
  r.m = __shfl_sync(kFull, r.m, 0);
  r.d = __shfl_sync(kFull, r.d, 0);
  return lse_value(r);
}
__device__ __forceinline__ ArgMax wargmax(Smem& sm, int w, ArgMax v) {
  ArgMax r = WRA(sm.w[w].am).Reduce(v, ArgMaxOp());
  __syncwarp();
  r.v = __shfl_sync(kFull, r.v, 0);
  r.i = __shfl_sync(kFull, r.i, 0);
  return r;
}
// logsumexp of scale * x[k] over the row (k in [0, C)), lane-strided.
__device__ __forceinline__ float row_lse(Smem& sm, int w, int lane, const float* x, int64_t C, float scale) {
  Lse<float> s = lse_init<float>();
  for (int64_t k = lane; k < C; k += 32) lse_add(s, x[k] * scale);
  return wlse(sm, w, s);
}

__device__ __forceinline__ bool needs_target(RowLossKind k) {
  return k == RowLossKind::ZLoss || k == RowLossKind::CompSum || k == RowLossKind::Pld || k == RowLossKind::LdrKl ||
         k == RowLossKind::AldrKl || k == RowLossKind::PassAtN;
}

__global__ void rw_check(Params p) {
  const RowLossArgs& a = p.a;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (needs_target(a.kind))
    for (int64_t r = i0; r < a.rows; r += stride) {
      const int32_t y = a.target[r];
      if (y < 0 || y >= a.classes) atomicMin(p.bad, static_cast<unsigned long long>(r));
    }
  if (a.kind == RowLossKind::AldrKl)
    for (int64_t r = i0; r < a.rows; r += stride) {
      const int32_t i = a.index[r];
      if (i < 0 || i >= a.n_state) atomicMin(p.bad, (1ull << 56) | static_cast<unsigned long long>(r));
    }
  if (a.kind == RowLossKind::DecoupledSoftmax)
    for (int64_t i = i0; i < a.rows * a.classes; i += stride) {
      const float v = a.t[i];
      if (!(v == 0.0f || v == 1.0f)) atomicMin(p.bad, (2ull << 56) | static_cast<unsigned long long>(i / a.classes));
    }
}

struct CbcT {
  int label;
  float wpos, wneg;
  bool pos, neg;
};
__device__ __forceinline__ CbcT cbc_teacher(Smem& sm, int w, int lane, const RowLossArgs& a, const float* t) {
  const int64_t C = a.classes;
  const float lt = row_lse(sm, w, lane, t, C, 1.0f);
  ArgMax am{-INFINITY, 0x7fffffff};
  float mn = INFINITY;
  for (int64_t k = lane; k < C; k += 32) {
    am = ArgMaxOp()(am, ArgMax{t[k], static_cast<int>(k)});
    mn = fminf(mn, t[k]);
  }
  am = wargmax(sm, w, am);
  mn = wmin(sm, w, mn);
  CbcT r;
  r.label = am.i;
  r.wpos = expf(am.v - lt);
  r.wneg = expf(mn - lt);
  r.pos = r.wpos >= a.p0;
  r.neg = r.wneg < a.p1;
  return r;
}

__global__ void rw_cbc_flags(Params p) {
  __shared__ Smem sm;
  const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const RowLossArgs& a = p.a;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + w; r < a.rows; r += static_cast<int64_t>(gridDim.x) * kWarps) {
    const CbcT tc = cbc_teacher(sm, w, lane, a, a.t + r * a.classes);
    if (lane == 0) p.flags[r] = (tc.pos ? 1 : 0) | (tc.neg ? 2 : 0);
  }
}

// Fixed-order sums of per-thread partials (deterministic).
__device__ double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int s = kFinishThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  const double r = sh[0];
  __syncthreads();
  return r;
}

__global__ void rw_count(Params p) {
  __shared__ double sh[kFinishThreads];
  double np = 0.0, nn = 0.0;
  for (int64_t r = threadIdx.x; r < p.a.rows; r += kFinishThreads) {
    np += (p.flags[r] & 1) ? 1.0 : 0.0;
    nn += (p.flags[r] & 2) ? 1.0 : 0.0;
  }
  np = block_sum(np, sh);
  nn = block_sum(nn, sh);
  if (threadIdx.x == 0) {
    p.counts[0] = np;
    p.counts[1] = nn;
  }
}

__device__ __forceinline__ float grad_scale_of(const Params& p, int64_t r) {
  const RowLossArgs& a = p.a;
  if (a.reduction == Reduction::None) return (a.grad_out ? a.grad_out[r] : 1.0f) * a.grad_scale;
  if (a.reduction == Reduction::Mean) return static_cast<float>(static_cast<double>(a.grad_scale) / static_cast<double>(a.rows));
  return a.grad_scale;
}

// One row of every loss but CBC; returns the loss (valid on lane 0).
__device__ float row_loss(Params& p, Smem& sm, int w, int lane, int64_t r, float s) {
  const RowLossArgs& a = p.a;
  const int64_t C = a.classes;
  const float K = static_cast<float>(C);
  const float* x = a.x + r * C;
  const float* t = a.t ? a.t + r * C : nullptr;
  float* g = a.grad ? a.grad + r * C : nullptr;
  const int y = a.target ? a.target[r] : 0;
  switch (a.kind) {
    case RowLossKind::ZLoss: {
      // Moments in double: a float mean of an all-equal row often misses the value by an
      // ulp, and dividing that residue by sigma (~1e-12) gives z of order 1 where the CPU
      // has z = 0; near-constant rows lose most digits of sigma the same way.
      const double Kd = static_cast<double>(C);
      double sum = 0.0;
      for (int64_t k = lane; k < C; k += 32) sum += x[k];
      const double mu = wsum_d(sum) / Kd;
      double ss = 0.0;
      for (int64_t k = lane; k < C; k += 32) {
        const double d = x[k] - mu;
        ss += d * d;
      }
      const double sigma = sqrt(wsum_d(ss) / Kd) + 1e-12;
      const float zc = static_cast<float>((x[y] - mu) / sigma);
      float loss, coef;
      zloss_finish<float>(zc, a.p0, a.p1, &loss, &coef);
      if (g) {
        const float cs = static_cast<float>(s * coef / sigma);
        for (int64_t k = lane; k < C; k += 32)
          g[k] = zloss_grad<float>(cs, zc, static_cast<float>((x[k] - mu) / sigma), k == y, 1.0f / K);
      }
      return loss;
    }
    case RowLossKind::CompSum:
    case RowLossKind::PassAtN: {
      const float lse = row_lse(sm, w, lane, x, C, 1.0f);
      if (a.kind == RowLossKind::CompSum) {
        const float l = lse - x[y];
        if (g)
          for (int64_t k = lane; k < C; k += 32) g[k] = s * compsum_grad<float>(x[k], lse, l, a.p0, k == y);
        return compsum_loss<float>(l, a.p0);
      }
      float loss, F;
      passn_finish<float>(x[y] - lse, a.p0, &loss, &F);
      if (g)
        for (int64_t k = lane; k < C; k += 32) g[k] = s * F * (expf(x[k] - lse) - (k == y ? 1.0f : 0.0f));
      return loss;
    }
    case RowLossKind::RmtSce: {
      const float lx = row_lse(sm, w, lane, x, C, 1.0f);
      const float lt = row_lse(sm, w, lane, t, C, 1.0f);
      float A = 0.0f, S = 0.0f;
      for (int64_t k = lane; k < C; k += 32) {
        A += rmt_terms(x[k] - lx, t[k] - lt);
        S += expf(x[k] - lx) * (t[k] - lt);
      }
      A = wsum(sm, w, A);
      S = wsum(sm, w, S);
      if (g)
        for (int64_t k = lane; k < C; k += 32) g[k] = s * rmt_grad<float>(x[k] - lx, t[k] - lt, S);
      return -0.5f * A;
    }
    case RowLossKind::Kd: {
      const float T = a.p0, iT = 1.0f / T;
      const float ls = row_lse(sm, w, lane, x, C, iT);
      const float lt = row_lse(sm, w, lane, t, C, iT);
      float A = 0.0f;
      for (int64_t k = lane; k < C; k += 32) A += kd_term<float>(x[k] * iT - ls, t[k] * iT - lt);
      A = wsum(sm, w, A);
      if (g)
        for (int64_t k = lane; k < C; k += 32) g[k] = s * kd_grad<float>(x[k] * iT - ls, t[k] * iT - lt, T);
      return T * T * A;
    }
    case RowLossKind::DecoupledSoftmax: {
      Lse<float> st = lse_init<float>();
      float np = 0.0f;
      for (int64_t k = lane; k < C; k += 32) {
        if (t[k] != 0.0f)
          np += 1.0f;
        else
          lse_add(st, x[k]);
      }
      const float ln = wlse(sm, w, st);
      np = wsum(sm, w, np);
      if (np == 0.0f) {
        if (g)
          for (int64_t k = lane; k < C; k += 32) g[k] = 0.0f;
        return 0.0f;
      }
      float Ls = 0.0f, G = 0.0f;
      for (int64_t k = lane; k < C; k += 32) {
        if (t[k] == 0.0f) continue;
        Ls += dexml_term<float>(ln, x[k]);
        G += dexml_weight<float>(ln, x[k]);
      }
      Ls = wsum(sm, w, Ls);
      G = wsum(sm, w, G);
      const float inv = 1.0f / np;
      if (g)
        for (int64_t k = lane; k < C; k += 32)
          g[k] = t[k] != 0.0f ? -s * dexml_weight<float>(ln, x[k]) * inv : s * expf(x[k] - ln) * G * inv;
      return Ls * inv;
    }
    case RowLossKind::Pld: {
      const float iT = 1.0f / a.p0;
      const float lt = row_lse(sm, w, lane, t, C, iT);
      int32_t* pi = p.perm + r * C;
      float* R = p.R + r * C;
      // rank: y first, then descending teacher logit, ties by class index. NaN compares
      // false both ways, which would give two classes one rank and leave a slot of pi
      // unwritten (then used as an index): it ranks as -inf here (the row is NaN anyway).
      for (int64_t j = lane; j < C; j += 32) {
        int64_t rank = 0;
        if (j != y) {
          rank = 1;
          const float tj = t[j] == t[j] ? t[j] : -INFINITY;
          for (int64_t i = 0; i < C; ++i) {
            const float ti = t[i] == t[i] ? t[i] : -INFINITY;
            if (i != y && (ti > tj || (ti == tj && i < j))) ++rank;
          }
        }
        pi[rank] = static_cast<int32_t>(j);
      }
      __syncwarp();
      // reverse cumulative logsumexp, 32 positions at a time from the end
      float carry = -INFINITY;
      for (int64_t end = C; end > 0; end -= 32) {
        const int64_t pos = end - 1 - lane;  // lane 0 holds the last position of the chunk
        const float v = pos >= 0 ? x[pi[pos]] : -INFINITY;
        float incl;
        WS(sm.w[w].s).InclusiveScan(v, incl, LaeOp());
        __syncwarp();
        incl = logaddexp(incl, carry);
        if (pos >= 0) R[pos] = incl;
        carry = __shfl_sync(kFull, incl, 31);
      }
      __syncwarp();
      float Ls = 0.0f;
      for (int64_t k = lane; k < C; k += 32) {
        const int j = pi[k];
        Ls += expf(t[j] * iT - lt) * (R[k] - x[j]);
      }
      Ls = wsum(sm, w, Ls);
      if (g) {
        float carryW = -INFINITY;
        for (int64_t b = 0; b < C; b += 32) {
          const int64_t k = b + lane;
          const int j = k < C ? pi[k] : 0;
          const float la = k < C ? t[j] * iT - lt : -INFINITY;
          const float v = k < C ? la - R[k] : -INFINITY;
          float incl;
          WS(sm.w[w].s).InclusiveScan(v, incl, LaeOp());
          __syncwarp();
          incl = logaddexp(incl, carryW);
          if (k < C) g[j] = s * (expf(x[j] + incl) - expf(la));
          carryW = __shfl_sync(kFull, incl, 31);
        }
      }
      return Ls;
    }
    case RowLossKind::LdrKl:
    case RowLossKind::AldrKl: {
      const int mode = a.mode;
      float S, logS;
      if (mode == 0) {
        Lse<float> st = lse_init<float>();
        for (int64_t k = lane; k < C; k += 32) lse_add(st, log_softplus<float>(x[k]));
        logS = wlse(sm, w, st);
        S = expf(logS);
      } else {
        float ab = 0.0f;
        for (int64_t k = lane; k < C; k += 32) ab += fabsf(x[k]);
        S = wsum(sm, w, ab);
        logS = logf(S);
      }
      const float fy = ldr_score<float>(x[y], mode, logS, S, K);
      const float margin = a.p0;
      float lambda = a.p1, penalty = 0.0f;
      if (a.kind == RowLossKind::AldrKl) {
        float* slot = a.state + a.index[r];
        const float lam_old = *slot;
        Lse<float> st = lse_init<float>();
        for (int64_t k = lane; k < C; k += 32) lse_add(st, ldr_score<float>(x[k], mode, logS, S, K) / lam_old);
        const float l0 = wlse(sm, w, st);
        const float norm = 1.0f + K * 1e-5f;
        float kl = 0.0f;
        for (int64_t k = lane; k < C; k += 32) {
          const float q = (expf(ldr_score<float>(x[k], mode, logS, S, K) / lam_old - l0) + 1e-5f) / norm;
          kl += q * logf(K * q);
        }
        kl = wsum(sm, w, kl);
        lambda = aldr_lambda<float>(kl, a.p1, a.p2, K);
        penalty = aldr_penalty<float>(lambda, a.p1, a.p2, K);
        __syncwarp();
        if (lane == 0) *slot = lambda;
      }
      Lse<float> st = lse_init<float>();
      for (int64_t k = lane; k < C; k += 32) {
        const float fk = ldr_score<float>(x[k], mode, logS, S, K);
        lse_add(st, (((k != y) ? margin : 0.0f) + fk - fy) / lambda);
      }
      const float l = wlse(sm, w, st);
      if (g) {
        float G = 0.0f;
        for (int64_t k = lane; k < C; k += 32) {
          const float fk = ldr_score<float>(x[k], mode, logS, S, K);
          G += expf((((k != y) ? margin : 0.0f) + fk - fy) / lambda - l) * fk;
        }
        G = wsum(sm, w, G) - fy;
        for (int64_t k = lane; k < C; k += 32) {
          const float fk = ldr_score<float>(x[k], mode, logS, S, K);
          const float gk = expf((((k != y) ? margin : 0.0f) + fk - fy) / lambda - l) - (k == y ? 1.0f : 0.0f);
          g[k] = s * ldr_grad<float>(x[k], mode, logS, S, K, gk, G);
        }
      }
      return lambda * (l - logf(K)) - penalty;
    }
    default:
      return 0.0f;
  }
}

// CBC row: returns {positive, negative} terms on lane 0; gradient sp * d(pos) + sn * d(neg).
__device__ float2 cbc_row(Params& p, Smem& sm, int w, int lane, int64_t r, float sp, float sn) {
  const RowLossArgs& a = p.a;
  const int64_t C = a.classes;
  const float* x = a.x + r * C;
  const float* t = a.t + r * C;
  float* g = a.grad ? a.grad + r * C : nullptr;
  const CbcT tc = cbc_teacher(sm, w, lane, a, t);
  float2 out = make_float2(0.0f, 0.0f);
  if (!tc.pos && !tc.neg) {
    if (g)
      for (int64_t k = lane; k < C; k += 32) g[k] = 0.0f;
    return out;
  }
  const float lx = row_lse(sm, w, lane, x, C, 1.0f);
  ArgMax am{-INFINITY, 0x7fffffff};
  for (int64_t k = lane; k < C; k += 32) am = ArgMaxOp()(am, ArgMax{x[k], static_cast<int>(k)});
  am = wargmax(sm, w, am);
  Lse<float> rest = lse_init<float>();
  for (int64_t k = lane; k < C; k += 32)
    if (k != am.i) lse_add(rest, x[k]);
  const float log1m_am = wlse(sm, w, rest) - lx;
  const int yl = tc.label;
  if (tc.pos) out.x = -tc.wpos * (x[yl] - lx);
  float Rs = 0.0f;
  if (tc.neg) {
    float Ln = 0.0f;
    for (int64_t k = lane; k < C; k += 32) {
      if (k == yl) continue;
      const float lp = x[k] - lx;
      const float l1m = k == am.i ? log1m_am : NAN;
      Ln += cbc_neg_log1m<float>(lp, l1m);
      if (!cbc_clamped<float>(lp, l1m)) Rs += expf(lp - (k == am.i ? log1m_am : log1pf(-expf(lp))));
    }
    out.y = tc.wneg * wsum(sm, w, Ln);
    Rs = wsum(sm, w, Rs);
  }
  if (g) {
    for (int64_t k = lane; k < C; k += 32) {
      const float lp = x[k] - lx;
      const float pk = expf(lp);
      float v = 0.0f;
      if (tc.pos) v += sp * tc.wpos * (pk - (k == yl ? 1.0f : 0.0f));
      if (tc.neg) {
        float rr = 0.0f;
        const float l1m = k == am.i ? log1m_am : NAN;
        if (k != yl && !cbc_clamped<float>(lp, l1m)) rr = expf(lp - (k == am.i ? log1m_am : log1pf(-pk)));
        v += sn * tc.wneg * (rr - pk * Rs);
      }
      g[k] = v;
    }
  }
  return out;
}

__global__ void __launch_bounds__(kThreads) rw_rows(Params p) {
  __shared__ Smem sm;
  const int w = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const RowLossArgs& a = p.a;
  const int64_t C = a.classes;
  const bool has_y = needs_target(a.kind);
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + w; r < a.rows; r += static_cast<int64_t>(gridDim.x) * kWarps) {
    bool skip = has_y && (a.target[r] < 0 || a.target[r] >= C);
    if (a.kind == RowLossKind::AldrKl) skip = skip || a.index[r] < 0 || a.index[r] >= a.n_state;
    if (skip) {  // the check reports it; write zeros, never read out of bounds
      if (a.grad)
        for (int64_t k = lane; k < C; k += 32) a.grad[r * C + k] = 0.0f;
      if (lane == 0) {
        if (a.reduction == Reduction::None)
          a.loss[r] = NAN;
        else
          p.rows_a[r] = NAN;
      }
      continue;
    }
    float s = grad_scale_of(p, r);
    if (a.kind == RowLossKind::Cbc) {
      float sp = s, sn = s;
      if (a.reduction == Reduction::Mean) {
        sp = p.counts[0] > 0 ? static_cast<float>(a.grad_scale / p.counts[0]) : 0.0f;
        sn = p.counts[1] > 0 ? static_cast<float>(a.grad_scale / p.counts[1]) : 0.0f;
      }
      const float2 v = cbc_row(p, sm, w, lane, r, sp, sn);
      if (lane == 0) {
        if (a.reduction == Reduction::None) {
          a.loss[r] = v.x + v.y;
        } else {
          p.rows_a[r] = v.x;
          p.rows_b[r] = v.y;
        }
      }
      continue;
    }
    const float l = row_loss(p, sm, w, lane, r, s);
    if (lane == 0) {
      if (a.reduction == Reduction::None)
        a.loss[r] = l;
      else
        p.rows_a[r] = l;
    }
  }
}

__global__ void rw_finish(Params p) {
  __shared__ double sh[kFinishThreads];
  const RowLossArgs& a = p.a;
  if (a.reduction != Reduction::None) {
    double sa = 0.0, sb = 0.0;
    for (int64_t r = threadIdx.x; r < a.rows; r += kFinishThreads) {
      sa += p.rows_a[r];
      if (a.kind == RowLossKind::Cbc) sb += p.rows_b[r];
    }
    sa = block_sum(sa, sh);
    sb = block_sum(sb, sh);
    if (threadIdx.x == 0) {
      double v;
      if (a.kind == RowLossKind::Cbc && a.reduction == Reduction::Mean)
        v = (p.counts[0] > 0 ? sa / p.counts[0] : 0.0) + (p.counts[1] > 0 ? sb / p.counts[1] : 0.0);
      else if (a.reduction == Reduction::Mean)
        v = sa / static_cast<double>(a.rows);
      else
        v = sa + sb;
      a.loss[0] = static_cast<float>(v);
    }
  }
  if (threadIdx.x == 0 && p.bad != nullptr && p.bad[0] != ~0ull) {
    const unsigned long long key = p.bad[0];
    const int what = static_cast<int>(key >> 56);
    const int64_t r = static_cast<int64_t>(key & ((1ull << 56) - 1));
    long long value = 0;
    if (what == 0) {
      value = a.target[r];
    } else if (what == 1) {
      value = a.index[r];
    } else {
      for (int64_t k = 0; k < a.classes; ++k) {
        const float v = a.t[r * a.classes + k];
        if (!(v == 0.0f || v == 1.0f)) {
          value = k;
          break;
        }
      }
    }
    p.bad[1] = static_cast<unsigned long long>(value);
  }
}

struct Layout {
  size_t rows_a = 0, rows_b = 0, flags = 0, counts = 0, perm = 0, R = 0, total = 0;
};
Layout layout(const RowLossArgs& a) {
  Layout L;
  size_t off = 0;
  auto take = [&](size_t bytes) {
    const size_t o = off;
    off += (bytes + 255) & ~static_cast<size_t>(255);
    return o;
  };
  const size_t rows = static_cast<size_t>(a.rows);
  L.counts = take(2 * sizeof(double));
  L.rows_a = take(rows * sizeof(double));
  L.rows_b = take(a.kind == RowLossKind::Cbc ? rows * sizeof(double) : 0);
  L.flags = take(a.kind == RowLossKind::Cbc ? rows * sizeof(int32_t) : 0);
  const size_t n = rows * static_cast<size_t>(a.classes);
  L.perm = take(a.kind == RowLossKind::Pld ? n * sizeof(int32_t) : 0);
  L.R = take(a.kind == RowLossKind::Pld ? n * sizeof(float) : 0);
  L.total = off;
  return L;
}

}  // namespace

size_t rowwise_loss_scratch_bytes(const RowLossArgs& a) { return layout(a).total; }

Status rowwise_loss(int device, const RowLossArgs& a, void* scratch, int64_t* bad_device) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  if (scratch == nullptr) {
    Status s;
    s.ok = false;
    s.code = "BITGRAD_INVALID_ARGUMENT";
    s.message = "rowwise loss (CUDA): null scratch";
    return s;
  }
  const Layout L = layout(a);
  char* base = static_cast<char*>(scratch);
  Params p;
  p.a = a;
  p.counts = reinterpret_cast<double*>(base + L.counts);
  p.rows_a = reinterpret_cast<double*>(base + L.rows_a);
  p.rows_b = reinterpret_cast<double*>(base + L.rows_b);
  p.flags = reinterpret_cast<int32_t*>(base + L.flags);
  p.perm = reinterpret_cast<int32_t*>(base + L.perm);
  p.R = reinterpret_cast<float*>(base + L.R);
  p.bad = reinterpret_cast<unsigned long long*>(bad_device);
  if (a.reduction != Reduction::None) p.a.grad_out = nullptr;

  (void)cudaGetLastError();
  const int64_t n = a.rows * a.classes;
  if (n > 0) {
    const int64_t cg = (n + 255) / 256;
    rw_check<<<static_cast<unsigned>(cg < 4096 ? cg : 4096), 256, 0, stream>>>(p);
    st = detail::check_launch();
    if (!st.ok) return st;
    const int64_t blocks = (a.rows + kWarps - 1) / kWarps;
    const unsigned grid = static_cast<unsigned>(blocks < kMaxGrid ? blocks : kMaxGrid);
    if (a.kind == RowLossKind::Cbc && a.reduction == Reduction::Mean) {
      rw_cbc_flags<<<grid, kThreads, 0, stream>>>(p);
      rw_count<<<1, kFinishThreads, 0, stream>>>(p);
      st = detail::check_launch();
      if (!st.ok) return st;
    } else if (a.kind == RowLossKind::Cbc) {
      cudaError_t e = cudaMemsetAsync(p.counts, 0, 2 * sizeof(double), stream);
      if (e != cudaSuccess) return detail::from_cuda(e);
    }
    rw_rows<<<grid, kThreads, 0, stream>>>(p);
    st = detail::check_launch();
    if (!st.ok) return st;
  } else if (a.kind == RowLossKind::Cbc) {
    cudaError_t e = cudaMemsetAsync(p.counts, 0, 2 * sizeof(double), stream);
    if (e != cudaSuccess) return detail::from_cuda(e);
  }
  rw_finish<<<1, kFinishThreads, 0, stream>>>(p);
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
