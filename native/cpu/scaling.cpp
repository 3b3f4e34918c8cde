// CPU drivers of the row-statistic binarizers. Each row (output channel) is cut into
// chunks of kChunk elements (the same for any thread count); statistics and gradient
// sums are per-chunk partials combined in chunk order, each chunk's summed by the active
// ISA's loop in fixed double lanes (scale_engine.h sc_reduce: the same bits on every
// ISA); the elementwise stages run the active ISA's loops (scale_block_*.cpp) on the
// same pieces. Rows that fit in L2 run row at a time (rows_fused).
#include "scaling.h"

#include <cmath>
#include <vector>

#include "../math/scalar.h"
// clang-format off
#include "../math/scaling.h"
// clang-format on
#include "scale_kernels.h"
#include "simd.h"
#include "stream_stores.h"
#include "threadpool.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kChunk = 16384;
constexpr int64_t kParallelMin = 65536;

const ScaleTable& table() {
  switch (isa_info().active) {
#if defined(__x86_64__)
    case Isa::Avx512: return scale_table_avx512;
    case Isa::Avx2: return scale_table_avx2;
#endif
    default: return scale_table_scalar;
  }
}

template <class Fn>
void for_items(int64_t count, int64_t work, const Fn& fn) {
  if (work >= kParallelMin && count > 1)
    parallel_for(static_cast<size_t>(count), [&](size_t k) { fn(static_cast<int64_t>(k)); });
  else
    for (int64_t k = 0; k < count; ++k) fn(k);
}

struct Rows {
  int64_t R, K, nch;
  bool serial;  // one row of a row-at-a-time task: no nested parallel_for
  int64_t n() const { return R * K; }
  // Calls fn(row, start, end) for every chunk (element offsets within the row).
  template <class Fn>
  void each(const Fn& fn) const {
    auto piece = [&](int64_t it) {
      const int64_t r = it / nch, c = it % nch;
      const int64_t s = c * kChunk, e = s + kChunk < K ? s + kChunk : K;
      fn(r, s, e);
    };
    if (serial)
      for (int64_t it = 0; it < R * nch; ++it) piece(it);
    else
      for_items(R * nch, n(), piece);
  }
};

// out[r * m + j] = row r's sum of pair j of `what` (scale_kernels.h): per-chunk sums
// (fixed double lanes, the active ISA's loop) added per row in chunk order from 0.0.
std::vector<double> sums(const ScaleArgs& a, const Rows& rw, const float* co, int what, int arg, int m) {
  const ScaleSumFn fn = table().sum[static_cast<int>(a.kind)];
  const bool pairs = what == kSumPairs;
  std::vector<double> part(static_cast<size_t>(rw.R * rw.nch * m), 0.0);
  rw.each([&](int64_t r, int64_t s, int64_t e) {
    const int64_t off = r * rw.K + s;
    fn(a.params, what, arg, co + r * kRowCo, a.x + off, pairs ? a.g + off : nullptr, pairs ? a.out + off : nullptr,
       static_cast<size_t>(e - s), part.data() + (r * rw.nch + s / kChunk) * m);
  });
  std::vector<double> out(static_cast<size_t>(rw.R * m), 0.0);
  for (int64_t r = 0; r < rw.R; ++r)
    for (int64_t c = 0; c < rw.nch; ++c)
      for (int j = 0; j < m; ++j) out[r * m + j] += part[(r * rw.nch + c) * m + j];
  return out;
}

// fresh: the stage writes lines this op has not written yet and nothing in the op reads
// them back, so they may stream when the tensor is large (a.params.stream, set by
// scale_rows); otherwise they stay in cache.
template <template <class> class Row>
void run_stage(const ScaleArgs& a, const Rows& rw, const float* co, int stage, bool fresh) {
  const ScaleFn fn = table().fn[static_cast<int>(a.kind)];
  ScaleParams prm = a.params;
  prm.stream = fresh ? a.params.stream : 0;
  rw.each([&](int64_t r, int64_t s, int64_t e) {
    const int64_t off = r * rw.K + s;
    fn(prm, stage, co + r * kRowCo, a.x + off, a.g ? a.g + off : nullptr, a.out + off, static_cast<size_t>(e - s));
  });
}

// Per-row statistics into co (see math/scaling.h for the layout).
void statistics(const ScaleArgs& a, const Rows& rw, float* co) {
  const int64_t R = rw.R, K = rw.K;
  const double invK = K > 0 ? 1.0 / static_cast<double>(K) : 0.0;
  auto abs_sum = [&]() { return sums(a, rw, co, kSumAbs, 0, 1); };
  auto mean = [&]() {
    std::vector<double> s = sums(a, rw, co, kSumVal, 0, 1);
    for (int64_t r = 0; r < R; ++r) co[r * kRowCo] = static_cast<float>(s[r] * invK);
  };
  // sum (x - mean)^2 per row, from its three exact-product sums.
  auto dev2 = [&]() {
    std::vector<double> t = sums(a, rw, co, kSumDev2, 0, 3);
    std::vector<double> ss(static_cast<size_t>(R));
    for (int64_t r = 0; r < R; ++r) ss[r] = (t[r * 3] + t[r * 3 + 1]) + t[r * 3 + 2];
    return ss;
  };
  switch (a.kind) {
    case ScaleKind::MeanAbsSign:
    case ScaleKind::Ternary: {
      const double f = (a.kind == ScaleKind::Ternary && a.params.levels == 3) ? 4.0 / 3.0 : 1.0;
      std::vector<double> s = abs_sum();
      for (int64_t r = 0; r < R; ++r) co[r * kRowCo] = static_cast<float>(f * s[r] * invK);
      break;
    }
    case ScaleKind::Libra:
    case ScaleKind::Recu: {
      const bool recu = a.kind == ScaleKind::Recu;
      mean();
      std::vector<double> ss = dev2();
      for (int64_t r = 0; r < R; ++r) {
        const double var = K > 1 ? ss[r] / static_cast<double>(K - 1) : 0.0;
        double k;
        if (recu) {
          k = 2.0 * std::sqrt(2.0) / std::sqrt(var + 1e-5);
        } else {
          const double sd = std::sqrt(var);
          k = sd > 0.0 ? 1.0 / sd : 0.0;  // constant row: w = 0, s = 1, gradient 0
        }
        co[r * kRowCo + 1] = static_cast<float>(k);
      }
      std::vector<double> sw = sums(a, rw, co, kSumStdAbs, 0, 1);
      if (recu) {
        double tot = 0.0;
        for (int64_t r = 0; r < R; ++r) tot += sw[r];
        const double q = rw.n() > 0 ? static_cast<double>(a.params.qfac) * tot / static_cast<double>(rw.n()) : 0.0;
        for (int64_t r = 0; r < R; ++r) co[r * kRowCo + 2] = static_cast<float>(q);
      } else {
        for (int64_t r = 0; r < R; ++r) {
          const double m = sw[r] * invK;
          double s = 1.0;
          if (m > 0.0) s = std::ldexp(1.0, static_cast<int>(std::nearbyint(std::log2(m))));
          else if (!(m == 0.0)) s = m;  // NaN
          co[r * kRowCo + 2] = static_cast<float>(s);
        }
      }
      break;
    }
    case ScaleKind::RecuAct: {
      if (!a.params.training) {
        for (int64_t r = 0; r < R; ++r) co[r * kRowCo + 1] = co[r * kRowCo + 2] = 1.0f;
        break;
      }
      mean();
      std::vector<double> ss = dev2();
      for (int64_t r = 0; r < R; ++r) {
        // One element: the unbiased variance is 0/0, NaN as in PyTorch (the facade rejects it).
        const double var = K > 1 ? ss[r] / static_cast<double>(K - 1) : std::nan("");
        const double sd = std::sqrt(var + 1e-5);
        co[r * kRowCo + 1] = static_cast<float>(1.0 / sd);
        co[r * kRowCo + 2] = static_cast<float>(sd);
      }
      break;
    }
    case ScaleKind::Bivit: {
      mean();
      if (a.alpha_in) {
        for (int64_t r = 0; r < R; ++r) co[r * kRowCo + 1] = a.alpha_in[r];
      } else {
        std::vector<double> s = abs_sum();
        for (int64_t r = 0; r < R; ++r) co[r * kRowCo + 1] = static_cast<float>(s[r] * invK);
      }
      break;
    }
    case ScaleKind::MultiBasis: {
      const int nb = a.params.bases;
      for (int b = 0; b < nb; ++b) {
        if (a.alpha_in) {
          for (int64_t r = 0; r < R; ++r) co[r * kRowCo + b] = a.alpha_in[b * R + r];
          continue;
        }
        // Greedy: alpha_b = mean |r_b| with the residual of the earlier (float) scales.
        std::vector<double> s = sums(a, rw, co, kSumResAbs, b, 1);
        for (int64_t r = 0; r < R; ++r) co[r * kRowCo + b] = static_cast<float>(s[r] * invK);
      }
      break;
    }
    default: break;
  }
}

template <template <class> class Row>
void run_kind(const ScaleArgs& a, const Rows& rw, float* co) {
  const int64_t R = rw.R, K = rw.K;
  if (!a.backward) {
    if (rw.n() > 0) run_stage<Row>(a, rw, co, kStageFwd, true);
    return;
  }
  // MeanAbsSign's sum only feeds the 'full' chain-rule term.
  const bool need_terms = Row<float>::kPairs > 0 && !(a.kind == ScaleKind::MeanAbsSign && !a.params.full) &&
                          !(a.kind == ScaleKind::RecuAct && !a.params.training) &&
                          !(a.kind == ScaleKind::MultiBasis && !a.dalpha);
  // With terms, the sums and the final stage read the local gradients back.
  if (rw.n() > 0) run_stage<Row>(a, rw, co, kStageGrad, !need_terms);
  if (!need_terms) return;
  const int m = a.kind == ScaleKind::MultiBasis ? 2 * a.params.bases : Row<float>::kPairs;
  std::vector<double> t = sums(a, rw, co, kSumPairs, 0, m);
  const double invK = K > 0 ? 1.0 / static_cast<double>(K) : 0.0;
  switch (a.kind) {
    case ScaleKind::MeanAbsSign:
      for (int64_t r = 0; r < R; ++r) co[r * kRowCo + 1] = static_cast<float>(t[r] * invK);
      break;
    case ScaleKind::Libra:
    case ScaleKind::Recu: {
      const double c2 = a.kind == ScaleKind::Recu ? 8.0 : 1.0;
      for (int64_t r = 0; r < R; ++r) {
        co[r * kRowCo + 3] = static_cast<float>(t[r * 2] * invK);
        co[r * kRowCo + 4] = K > 1 ? static_cast<float>(t[r * 2 + 1] / (c2 * static_cast<double>(K - 1))) : 0.0f;
      }
      break;
    }
    case ScaleKind::Bivit:
      for (int64_t r = 0; r < R; ++r) {
        co[r * kRowCo + 3] = static_cast<float>(t[r * 2] * invK);
        if (a.dalpha) a.dalpha[r] = static_cast<float>(t[r * 2 + 1]);
      }
      break;
    case ScaleKind::RecuAct:
      for (int64_t r = 0; r < R; ++r) {
        const double k = co[r * kRowCo + 1];
        co[r * kRowCo + 3] = K > 1 ? static_cast<float>(k * k * k * t[r] / static_cast<double>(K - 1)) : std::nanf("");
      }
      break;
    case ScaleKind::MultiBasis: {
      const int nb = a.params.bases;
      for (int64_t r = 0; r < R; ++r)
        for (int b = 0; b < nb; ++b)
          a.dalpha[b * R + r] = static_cast<float>(t[r * m + 2 * b] - t[r * m + 2 * b + 1]);
      break;
    }
    default: break;
  }
  // The final stage rewrites the local gradients in place: their lines are dirty in
  // cache, and a streaming store would write each line twice (the eviction, then the
  // store), so it stores normally.
  if (Row<float>::kFin && rw.n() > 0) run_stage<Row>(a, rw, co, kStageFin, false);
}

void run_rows(const ScaleArgs& a, const Rows& rw, float* co) {
  statistics(a, rw, co);
  switch (a.kind) {
    case ScaleKind::MeanAbsSign: run_kind<MasRow>(a, rw, co); break;
    case ScaleKind::Ternary: run_kind<TernaryRow>(a, rw, co); break;
    case ScaleKind::Libra:
    case ScaleKind::Recu: run_kind<StdRow>(a, rw, co); break;
    case ScaleKind::Bivit: run_kind<BivitRow>(a, rw, co); break;
    case ScaleKind::MultiBasis: run_kind<MultiRow>(a, rw, co); break;
    case ScaleKind::RecuAct: run_kind<RecuActRow>(a, rw, co); break;
    default: break;
  }
}

// Rows of at most this many elements run row at a time: x, g and out of one row
// (3 x 256 KiB) stay in a per-core L2 between its passes.
constexpr int64_t kFuseRowMax = 65536;

// Row at a time: each task runs every pass of its row back to back (statistics, the
// elementwise stage, the gradient sums, the final stage; MultiBasis' greedy scales one
// pass per basis), so only the first pass reads memory; pass by pass over the whole
// tensor would read it 2 to bases + 2 times. Each row is a one-row problem on the same
// chunks with the same per-chunk sums added in chunk order: bit-identical to the
// pass-by-pass path, for any thread count. (ReCU's clamp bound spans all rows: not here.)
void rows_fused(const ScaleArgs& a, const Rows& rw, float* co) {
  const int64_t R = rw.R, K = rw.K;
  const int nalpha = a.kind == ScaleKind::MultiBasis ? a.params.bases : 1;
  for_items(R, rw.n(), [&](int64_t r) {
    ScaleArgs v = a;
    v.rows = 1;
    v.x = a.x + r * K;
    v.g = a.g ? a.g + r * K : nullptr;
    v.out = a.out + r * K;
    v.alpha_out = nullptr;
    float ain[kMaxBases], da[kMaxBases];
    if (a.alpha_in) {
      for (int b = 0; b < nalpha; ++b) ain[b] = a.alpha_in[b * R + r];
      v.alpha_in = ain;
    }
    v.dalpha = a.dalpha ? da : nullptr;
    run_rows(v, Rows{1, K, rw.nch, true}, co + r * kRowCo);
    if (a.backward && a.dalpha)
      for (int b = 0; b < nalpha; ++b) a.dalpha[b * R + r] = da[b];
  });
}

}  // namespace

void scale_rows(const ScaleArgs& args) {
  const int kind = static_cast<int>(args.kind);
  if (kind < 0 || kind >= kScaleCount || args.rows < 0 || args.cols < 0) return;
  ScaleArgs a = args;
  a.params.stream = stream_output(static_cast<size_t>(a.rows * a.cols) * sizeof(float)) ? 1 : 0;
  Rows rw{a.rows, a.cols, a.cols > 0 ? (a.cols + kChunk - 1) / kChunk : 0, false};
  std::vector<float> co(static_cast<size_t>(a.rows * kRowCo), 0.0f);
  // Row at a time when there are rows enough to share out and each fits in L2.
  if (a.kind != ScaleKind::Recu && a.rows > 1 && a.cols <= kFuseRowMax)
    rows_fused(a, rw, co.data());
  else
    run_rows(a, rw, co.data());
  if (a.alpha_out) {
    const int64_t R = a.rows;
    switch (a.kind) {
      case ScaleKind::MeanAbsSign:
      case ScaleKind::Ternary:
        for (int64_t r = 0; r < R; ++r) a.alpha_out[r] = co[r * kRowCo];
        break;
      case ScaleKind::Libra:
      case ScaleKind::RecuAct:
        for (int64_t r = 0; r < R; ++r) a.alpha_out[r] = co[r * kRowCo + 2];
        break;
      case ScaleKind::Recu: a.alpha_out[0] = R > 0 ? co[2] : 0.0f; break;
      case ScaleKind::Bivit:
        for (int64_t r = 0; r < R; ++r) a.alpha_out[r] = co[r * kRowCo + 1];
        break;
      case ScaleKind::MultiBasis:
        for (int b = 0; b < a.params.bases; ++b)
          for (int64_t r = 0; r < R; ++r) a.alpha_out[b * R + r] = co[r * kRowCo + b];
        break;
      default: break;
    }
  }
}

void xnor_k(const XnorKArgs& a) {
  const int64_t plane = a.h * a.w;
  const double inv_c = a.c > 0 ? 1.0 / static_cast<double>(a.c) : 0.0;
  const double inv_k = 1.0 / static_cast<double>(a.kh * a.kw);
  for_items(a.n, a.n * a.c * plane, [&](int64_t s) {
    std::vector<double> A(static_cast<size_t>(plane), 0.0);
    const float* base = a.x + s * a.c * plane;
    for (int64_t c = 0; c < a.c; ++c)
      for (int64_t p = 0; p < plane; ++p) A[p] += std::fabs(static_cast<double>(base[c * plane + p]));
    for (int64_t p = 0; p < plane; ++p) A[p] *= inv_c;
    float* o = a.out + s * a.ho * a.wo;
    for (int64_t i = 0; i < a.ho; ++i)
      for (int64_t j = 0; j < a.wo; ++j) {
        double acc = 0.0;
        for (int64_t u = 0; u < a.kh; ++u) {
          const int64_t y = i * a.sh - a.ph + u;
          if (y < 0 || y >= a.h) continue;
          for (int64_t v = 0; v < a.kw; ++v) {
            const int64_t xx = j * a.sw - a.pw + v;
            if (xx >= 0 && xx < a.w) acc += A[y * a.w + xx];
          }
        }
        o[i * a.wo + j] = static_cast<float>(acc * inv_k);
      }
  });
}

void xnor_pp(const XnorPPArgs& a) {
  const int64_t H = a.h, W = a.w, planes = a.n * a.c, plane = H * W;
  const int64_t m = 1 + H + W;
  std::vector<double> part;
  if (a.backward) part.assign(static_cast<size_t>(planes * m), 0.0);
  for_items(planes, planes * plane, [&](int64_t pl) {
    const int64_t c = pl % a.c;
    const float oc = a.o[c];
    const float* y = a.y + pl * plane;
    float* out = a.out + pl * plane;
    if (!a.backward) {
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) out[i * W + j] = y[i * W + j] * (oc * a.fh[i] * a.fw[j]);
      return;
    }
    const float* g = a.g + pl * plane;
    double* p = part.data() + pl * m;
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        const double gy = static_cast<double>(g[i * W + j]) * static_cast<double>(y[i * W + j]);
        out[i * W + j] = g[i * W + j] * (oc * a.fh[i] * a.fw[j]);
        p[0] += gy * a.fh[i] * a.fw[j];
        p[1 + i] += gy * static_cast<double>(oc) * a.fw[j];
        p[1 + H + j] += gy * static_cast<double>(oc) * a.fh[i];
      }
  });
  if (!a.backward) return;
  std::vector<double> dO(static_cast<size_t>(a.c), 0.0), dH(static_cast<size_t>(H), 0.0), dW(static_cast<size_t>(W), 0.0);
  for (int64_t pl = 0; pl < planes; ++pl) {
    const double* p = part.data() + pl * m;
    dO[pl % a.c] += p[0];
    for (int64_t i = 0; i < H; ++i) dH[i] += p[1 + i];
    for (int64_t j = 0; j < W; ++j) dW[j] += p[1 + H + j];
  }
  for (int64_t c = 0; c < a.c; ++c) a.d_o[c] = static_cast<float>(dO[c]);
  for (int64_t i = 0; i < H; ++i) a.d_h[i] = static_cast<float>(dH[i]);
  for (int64_t j = 0; j < W; ++j) a.d_w[j] = static_cast<float>(dW[j]);
}

}  // namespace cpu
}  // namespace bg
