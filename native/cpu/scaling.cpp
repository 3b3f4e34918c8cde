// CPU drivers of the row-statistic binarizers. Each row (output channel) is cut into
// chunks of kChunk elements (the same for any thread count); statistics and gradient
// sums are per-chunk partials in double combined in chunk order; the elementwise stages
// run the active ISA's loops (scale_block_*.cpp) on the same pieces.
#include "scaling.h"

#include <cmath>
#include <vector>

#include "../math/scalar.h"
// clang-format off
#include "../math/scaling.h"
// clang-format on
#include "scale_kernels.h"
#include "simd.h"
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
  int64_t n() const { return R * K; }
  // Calls fn(row, start, end) for every chunk (element offsets within the row).
  template <class Fn>
  void each(const Fn& fn) const {
    for_items(R * nch, n(), [&](int64_t it) {
      const int64_t r = it / nch, c = it % nch;
      const int64_t s = c * kChunk, e = s + kChunk < K ? s + kChunk : K;
      fn(r, s, e);
    });
  }
  // out[r * m + j] = sum over the row of term_j, term(r, i, t) filling t[0..m) (m <= M).
  // Each chunk's partials accumulate in locals (registers), in element order from 0.0,
  // and are stored once per chunk: the same additions in the same order as summing into
  // the partial array directly, without a store-to-load round trip per element.
  template <int M = 1, class Fn>
  std::vector<double> sums(int m, const Fn& term) const {
    std::vector<double> part(static_cast<size_t>(R * nch * m), 0.0);
    each([&](int64_t r, int64_t s, int64_t e) {
      double* p = part.data() + ((r * nch) + s / kChunk) * m;
      double acc[M];
      double t[M];
      for (int j = 0; j < M; ++j) acc[j] = t[j] = 0.0;
      for (int64_t i = s; i < e; ++i) {
        term(r, i, t);
        for (int j = 0; j < M; ++j) acc[j] += t[j];  // t[j] stays 0.0 for j >= m
      }
      for (int j = 0; j < m; ++j) p[j] = acc[j];
    });
    std::vector<double> out(static_cast<size_t>(R * m), 0.0);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < nch; ++c)
        for (int j = 0; j < m; ++j) out[r * m + j] += part[(r * nch + c) * m + j];
    return out;
  }
};

template <template <class> class Row>
void run_stage(const ScaleArgs& a, const Rows& rw, const std::vector<float>& co, int stage) {
  const ScaleFn fn = table().fn[static_cast<int>(a.kind)];
  rw.each([&](int64_t r, int64_t s, int64_t e) {
    const int64_t off = r * rw.K + s;
    fn(a.params, stage, co.data() + r * kRowCo, a.x + off, a.g ? a.g + off : nullptr, a.out + off,
       static_cast<size_t>(e - s));
  });
}

template <template <class> class Row>
std::vector<double> term_sums(const ScaleArgs& a, const Rows& rw, const std::vector<float>& co) {
  const int m = Row<float>::kTerms == kMaxBases ? a.params.bases : Row<float>::kTerms;
  constexpr int M = Row<float>::kTerms > 0 ? Row<float>::kTerms : 1;
  return rw.template sums<M>(m, [&](int64_t r, int64_t i, double* t) {
    const Row<float> f(a.params, co.data() + r * kRowCo);
    const int64_t k = r * rw.K + i;
    f.terms(a.x[k], a.g[k], a.out[k], t);
  });
}

// Per-row statistics into co (see math/scaling.h for the layout).
void statistics(const ScaleArgs& a, const Rows& rw, std::vector<float>& co) {
  const int64_t R = rw.R, K = rw.K;
  const double invK = K > 0 ? 1.0 / static_cast<double>(K) : 0.0;
  const float* x = a.x;
  auto abs_sum = [&]() {
    return rw.sums(1, [&](int64_t r, int64_t i, double* t) { t[0] = std::fabs(static_cast<double>(x[r * K + i])); });
  };
  auto mean = [&]() {
    std::vector<double> s = rw.sums(1, [&](int64_t r, int64_t i, double* t) { t[0] = x[r * K + i]; });
    for (int64_t r = 0; r < R; ++r) co[r * kRowCo] = static_cast<float>(s[r] * invK);
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
      std::vector<double> ss = rw.sums(1, [&](int64_t r, int64_t i, double* t) {
        const double d = static_cast<double>(x[r * K + i]) - static_cast<double>(co[r * kRowCo]);
        t[0] = d * d;
      });
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
      std::vector<double> sw = rw.sums(1, [&](int64_t r, int64_t i, double* t) {
        const float w = (x[r * K + i] - co[r * kRowCo]) * co[r * kRowCo + 1];
        t[0] = std::fabs(static_cast<double>(w));
      });
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
      std::vector<double> ss = rw.sums(1, [&](int64_t r, int64_t i, double* t) {
        const double d = static_cast<double>(x[r * K + i]) - static_cast<double>(co[r * kRowCo]);
        t[0] = d * d;
      });
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
        std::vector<double> s = rw.sums(1, [&](int64_t r, int64_t i, double* t) {
          const float* c = co.data() + r * kRowCo;
          float res = x[r * K + i];
          for (int j = 0; j < b; ++j) res = res - c[j] * est_sign(res, a.params.zero);
          t[0] = std::fabs(static_cast<double>(res));
        });
        for (int64_t r = 0; r < R; ++r) co[r * kRowCo + b] = static_cast<float>(s[r] * invK);
      }
      break;
    }
    default: break;
  }
}

template <template <class> class Row>
void run_kind(const ScaleArgs& a, const Rows& rw, std::vector<float>& co) {
  const int64_t R = rw.R, K = rw.K;
  if (!a.backward) {
    if (rw.n() > 0) run_stage<Row>(a, rw, co, kStageFwd);
    return;
  }
  if (rw.n() > 0) run_stage<Row>(a, rw, co, kStageGrad);
  const bool need_terms = ((a.kind == ScaleKind::MeanAbsSign && a.params.full) || Row<float>::kTerms > 0) &&
                          !(a.kind == ScaleKind::RecuAct && !a.params.training);
  if (!need_terms) return;
  std::vector<double> t = term_sums<Row>(a, rw, co);
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
      if (a.dalpha)
        for (int64_t r = 0; r < R; ++r)
          for (int b = 0; b < nb; ++b) a.dalpha[b * R + r] = static_cast<float>(t[r * nb + b]);
      break;
    }
    default: break;
  }
  if (Row<float>::kFin && rw.n() > 0) run_stage<Row>(a, rw, co, kStageFin);
}

// Rows of at most this many elements take the row-at-a-time MultiBasis path: x, g and
// out of one row (3 x 256 KiB) stay in a per-core L2 between its passes.
constexpr int64_t kFuseRowMax = 65536;

// MultiBasis row at a time. The greedy scales need one pass per basis over the row
// (alpha_b = mean|r_b| depends on alpha_b-1 through every element), so pass by pass over
// the whole tensor reads it from memory bases + 1 (forward) or bases + 2 (backward)
// times. Here one task runs all passes of its row back to back (statistics, the
// elementwise stage, the dalpha sums), so only the first touches memory. Per-chunk
// partials from 0.0 in element order, added in chunk order, and the same elementwise
// pieces: bit-identical to the pass-by-pass path, for any thread count.
void multi_rows_fused(const ScaleArgs& a, const Rows& rw, std::vector<float>& co) {
  const int64_t R = rw.R, K = rw.K;
  const int nb = a.params.bases;
  const double invK = K > 0 ? 1.0 / static_cast<double>(K) : 0.0;
  const ScaleFn fn = table().fn[static_cast<int>(a.kind)];
  for_items(R, rw.n(), [&](int64_t r) {
    float* c = co.data() + r * kRowCo;
    const int64_t base = r * K;
    const float* x = a.x + base;
    auto chunks = [&](const auto& piece) {
      for (int64_t s = 0; s < K; s += kChunk) piece(s, s + kChunk < K ? s + kChunk : K);
    };
    for (int b = 0; b < nb; ++b) {
      if (a.alpha_in) {
        c[b] = a.alpha_in[b * R + r];
        continue;
      }
      double tot = 0.0;
      chunks([&](int64_t s, int64_t e) {
        double acc = 0.0;
        for (int64_t i = s; i < e; ++i) {
          float res = x[i];
          for (int j = 0; j < b; ++j) res = res - c[j] * est_sign(res, a.params.zero);
          acc += std::fabs(static_cast<double>(res));
        }
        tot += acc;
      });
      c[b] = static_cast<float>(tot * invK);
    }
    const int stage = a.backward ? kStageGrad : kStageFwd;
    chunks([&](int64_t s, int64_t e) {
      fn(a.params, stage, c, x + s, a.g ? a.g + base + s : nullptr, a.out + base + s, static_cast<size_t>(e - s));
    });
    if (!a.backward || !a.dalpha) return;
    double tot[kMaxBases] = {0.0, 0.0, 0.0, 0.0};
    const MultiRow<float> f(a.params, c);
    chunks([&](int64_t s, int64_t e) {
      double acc[kMaxBases] = {0.0, 0.0, 0.0, 0.0};
      double t[kMaxBases] = {0.0, 0.0, 0.0, 0.0};
      for (int64_t i = s; i < e; ++i) {
        f.terms(x[i], a.g[base + i], a.out[base + i], t);
        for (int j = 0; j < kMaxBases; ++j) acc[j] += t[j];
      }
      for (int j = 0; j < nb; ++j) tot[j] += acc[j];
    });
    for (int j = 0; j < nb; ++j) a.dalpha[j * R + r] = static_cast<float>(tot[j]);
  });
}

}  // namespace

void scale_rows(const ScaleArgs& a) {
  const int kind = static_cast<int>(a.kind);
  if (kind < 0 || kind >= kScaleCount || a.rows < 0 || a.cols < 0) return;
  Rows rw{a.rows, a.cols, a.cols > 0 ? (a.cols + kChunk - 1) / kChunk : 0};
  std::vector<float> co(static_cast<size_t>(a.rows * kRowCo), 0.0f);
  // Row at a time when there are rows enough to share out and each fits in L2.
  const bool fused = a.kind == ScaleKind::MultiBasis && a.rows > 1 && a.cols <= kFuseRowMax;
  if (fused)
    multi_rows_fused(a, rw, co);
  else
    statistics(a, rw, co);
  switch (fused ? ScaleKind::Count : a.kind) {
    case ScaleKind::MeanAbsSign: run_kind<MasRow>(a, rw, co); break;
    case ScaleKind::Ternary: run_kind<TernaryRow>(a, rw, co); break;
    case ScaleKind::Libra:
    case ScaleKind::Recu: run_kind<StdRow>(a, rw, co); break;
    case ScaleKind::Bivit: run_kind<BivitRow>(a, rw, co); break;
    case ScaleKind::MultiBasis: run_kind<MultiRow>(a, rw, co); break;
    case ScaleKind::RecuAct: run_kind<RecuActRow>(a, rw, co); break;
    default: break;
  }
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
