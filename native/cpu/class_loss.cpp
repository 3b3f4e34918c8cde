// CPU driver of the class-dimension losses.
//
// crossEntropy: per row, pass 1 (the active ISA's online-softmax statistics, one read
// of the row) gives m, d = sum exp(x - m) and the smoothing sums; the row's loss is
// finished here in double; pass 2 writes the gradient. Rows of up to kCeFuseMaxC
// logits take one exp per logit: pass 1 also writes e = exp(x - M_b) (M_b the running
// max at its block) into the gradient buffer, and pass 2 rescales it in L2 by
// exp(M_b - m) sA / d per block. Longer rows recompute the exp in pass 2 (a second
// read of x instead of a round trip of e through memory). Rows [N, C, d] with d > 1 are gathered 16 at a time into a
// thread-local tile, so every layout runs the same row kernels. Rows are cut into
// fixed chunks (independent of the thread count); per-chunk double sums are added in
// chunk order, so results are bit-identical however many threads run. Nothing of the
// size of the input is allocated besides the gradient (which may be the input).
#include "class_loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "../math/class_loss.h"
#include "ce_kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace bg {
namespace cpu {

namespace {

// Elements per chunk of work (rows are never split).
constexpr int64_t kChunkElems = 65536;
// Below this many elements the op runs on the calling thread only.
constexpr int64_t kParallelMin = 65536;
constexpr int64_t kTile = 16;

const CeTable& ce_table() {
  switch (isa_info().active) {
#if defined(__x86_64__)
    case Isa::Avx512: return ce_table_avx512;
    case Isa::Avx2: return ce_table_avx2;
#endif
    default: return ce_table_scalar;
  }
}

struct Tile {
  std::vector<float> x, t, g;
};

Tile& tile_scratch() {
  thread_local Tile s;  // heap-backed
  return s;
}

// Checks index targets; fills *wsum with sum of w[y] over non-ignored rows (double, in
// row order).
ClassTargetCheck check_targets(const ClassLossArgs& a, int64_t rows, bool has_ignore, double* wsum) {
  ClassTargetCheck r;
  double W = 0.0;
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t y = a.target[i];
    if (has_ignore && y == a.ignore_index) continue;
    if (y < 0 || y >= a.classes) {
      r.ok = false;
      r.index = i;
      r.value = y;
      return r;
    }
    W += a.weight ? static_cast<double>(a.weight[y]) : 1.0;
  }
  *wsum = W;
  return r;
}

// Runs body(row_begin, row_end) -> double over fixed chunks; returns the ordered sum.
template <class Body>
double run_chunks(int64_t units, int64_t unit_elems, const Body& body) {
  if (units <= 0) return 0.0;
  const int64_t per = std::max<int64_t>(1, kChunkElems / std::max<int64_t>(1, unit_elems));
  const int64_t chunks = (units + per - 1) / per;
  std::vector<double> sums(static_cast<size_t>(chunks), 0.0);
  auto run = [&](size_t k) {
    const int64_t b = static_cast<int64_t>(k) * per;
    const int64_t e = std::min(units, b + per);
    sums[k] = body(b, e);
  };
  if (chunks > 1 && units * unit_elems >= kParallelMin)
    parallel_for(static_cast<size_t>(chunks), run);
  else
    for (int64_t k = 0; k < chunks; ++k) run(static_cast<size_t>(k));
  double total = 0.0;
  for (double s : sums) total += s;
  return total;
}

// ---- crossEntropy ------------------------------------------------------------------

struct CeCtx {
  const ClassLossArgs* a;
  const CeTable* tab;
  int64_t C;
  double sumw;       // sum of all class weights (C without weights)
  double row_scale;  // gradient scale for mean / sum
  float eps, eps1, k;
  bool smooth;
};

// One contiguous row. Returns its loss (double); writes the gradient row when g.
double ce_row(const CeCtx& c, const float* x, const float* t, float* g, int32_t y, float go) {
  const ClassLossArgs& a = *c.a;
  const int64_t C = c.C;
  if (a.target && y == a.ignore_index) {
    if (g) std::memset(g, 0, static_cast<size_t>(C) * sizeof(float));
    return 0.0;
  }
  const float xy = a.target ? x[y] : 0.0f;  // read before pass 1 may overwrite x
  // One-exp path: pass 1 leaves e = exp(x - M_b) in g, pass 2 only rescales it.
  const bool fuse = g != nullptr && C <= kCeFuseMaxC;
  double bmax[kCeFuseMaxBlocks];
  CeStatsIn si{x, a.weight, t, C, c.smooth, c.eps1, c.k};
  if (fuse) {
    si.e = g;
    si.bmax = bmax;
  }
  CeStats st;
  c.tab->stats(si, &st);
  const double logd = std::log(st.d);
  double loss;
  double A;  // p-coefficient of the gradient
  if (a.target) {
    const double wy = a.weight ? static_cast<double>(a.weight[y]) : 1.0;
    const double nll = logd - (static_cast<double>(xy) - st.m);
    loss = static_cast<double>(c.eps1) * wy * nll;
    A = static_cast<double>(c.eps1) * wy;
    if (c.smooth) {
      loss += static_cast<double>(c.k) * (logd * c.sumw - st.sx);
      A += static_cast<double>(c.k) * c.sumw;
    }
  } else {
    loss = logd * st.a - st.sx;
    A = st.a;
  }
  if (g) {
    const double s = a.reduction == Reduction::None ? static_cast<double>(go) * a.grad_scale : c.row_scale;
    if (fuse) {
      // p_c sA = e_c exp(M_b - m) sA / d, one float factor per block.
      float bscale[kCeFuseMaxBlocks];
      const int64_t nb = (C + kCeBlock - 1) / kCeBlock;
      const double f = s * A / st.d;
      for (int64_t b = 0; b < nb; ++b) bscale[b] = static_cast<float>(std::exp(bmax[b] - st.m) * f);
      CeRescaleIn ri{g, g, a.weight, t, C, bscale, static_cast<float>(s * c.k), static_cast<float>(s * c.eps1)};
      c.tab->rescale(ri);
    } else {
      CeGradIn gi{x, g, a.weight, t, C, static_cast<float>(st.m), static_cast<float>(1.0 / st.d),
                  static_cast<float>(s * A), static_cast<float>(s * c.k), static_cast<float>(s * c.eps1)};
      c.tab->grad(gi);
    }
    if (a.target) {
      const double wy = a.weight ? static_cast<double>(a.weight[y]) : 1.0;
      g[y] = static_cast<float>(static_cast<double>(g[y]) - s * c.eps1 * wy);
    }
  }
  return loss;
}

void cross_entropy(const ClassLossArgs& a, int64_t rows, double denom) {
  CeCtx c;
  c.a = &a;
  c.tab = &ce_table();
  c.C = a.classes;
  c.sumw = 0.0;
  if (a.weight)
    for (int64_t j = 0; j < a.classes; ++j) c.sumw += a.weight[j];
  else
    c.sumw = static_cast<double>(a.classes);
  c.eps = a.label_smoothing;
  c.eps1 = 1.0f - a.label_smoothing;
  c.k = a.classes > 0 ? static_cast<float>(static_cast<double>(a.label_smoothing) / static_cast<double>(a.classes)) : 0.0f;
  c.smooth = a.label_smoothing != 0.0f || a.prob != nullptr;
  const bool mean = a.reduction == Reduction::Mean;
  c.row_scale = mean ? static_cast<double>(a.grad_scale) / denom : static_cast<double>(a.grad_scale);
  const bool none = a.reduction == Reduction::None;
  const float* x = static_cast<const float*>(a.x);
  float* g = static_cast<float*>(a.grad);
  const int64_t C = a.classes;
  const int64_t inner = a.inner;
  auto row_go = [&](int64_t r) { return none && a.grad_out ? a.grad_out[r] : 1.0f; };
  auto row_y = [&](int64_t r) { return a.target ? a.target[r] : 0; };

  double total;
  if (inner == 1) {
    total = run_chunks(rows, C, [&](int64_t b, int64_t e) {
      double s = 0.0;
      for (int64_t r = b; r < e; ++r) {
        const double l = ce_row(c, x + r * C, a.prob ? a.prob + r * C : nullptr, g ? g + r * C : nullptr, row_y(r), row_go(r));
        if (none) a.loss[r] = static_cast<float>(l);
        s += l;
      }
      return s;
    });
  } else {
    // Units are tiles of up to kTile rows of one outer index n.
    const int64_t tiles = (inner + kTile - 1) / kTile;
    total = run_chunks(a.outer * tiles, C * kTile, [&](int64_t b, int64_t e) {
      Tile& tl = tile_scratch();
      const size_t need = static_cast<size_t>(C * kTile);
      if (tl.x.size() < need) tl.x.resize(need);
      if (a.prob && tl.t.size() < need) tl.t.resize(need);
      if (g && tl.g.size() < need) tl.g.resize(need);
      double s = 0.0;
      for (int64_t u = b; u < e; ++u) {
        const int64_t n = u / tiles;
        const int64_t s0 = (u % tiles) * kTile;
        const int64_t cnt = std::min(kTile, inner - s0);
        const int64_t base = n * C * inner + s0;
        for (int64_t cc = 0; cc < C; ++cc)
          for (int64_t j = 0; j < cnt; ++j) {
            tl.x[static_cast<size_t>(j * C + cc)] = x[base + cc * inner + j];
            if (a.prob) tl.t[static_cast<size_t>(j * C + cc)] = a.prob[base + cc * inner + j];
          }
        for (int64_t j = 0; j < cnt; ++j) {
          const int64_t r = n * inner + s0 + j;
          const double l = ce_row(c, tl.x.data() + j * C, a.prob ? tl.t.data() + j * C : nullptr,
                                  g ? tl.g.data() + j * C : nullptr, row_y(r), row_go(r));
          if (none) a.loss[r] = static_cast<float>(l);
          s += l;
        }
        if (g)
          for (int64_t cc = 0; cc < C; ++cc)
            for (int64_t j = 0; j < cnt; ++j) g[base + cc * inner + j] = tl.g[static_cast<size_t>(j * C + cc)];
      }
      return s;
    });
  }
  if (!none) a.loss[0] = static_cast<float>(mean ? total / denom : total);
}

// ---- nllLoss ------------------------------------------------------------------------

void nll(const ClassLossArgs& a, int64_t rows, double denom) {
  const bool none = a.reduction == Reduction::None;
  const bool mean = a.reduction == Reduction::Mean;
  const float* x = static_cast<const float*>(a.x);
  float* g = static_cast<float*>(a.grad);
  const int64_t C = a.classes;
  const int64_t inner = a.inner;
  const double scale = mean ? static_cast<double>(a.grad_scale) / denom : static_cast<double>(a.grad_scale);
  const double total = run_chunks(rows, C, [&](int64_t b, int64_t e) {
    double s = 0.0;
    for (int64_t r = b; r < e; ++r) {
      const int64_t n = r / inner;
      const int64_t sp = r % inner;
      if (g)
        for (int64_t cc = 0; cc < C; ++cc) g[(n * C + cc) * inner + sp] = 0.0f;
      const int32_t y = a.target[r];
      double l = 0.0;
      if (y != a.ignore_index) {
        const double wy = a.weight ? static_cast<double>(a.weight[y]) : 1.0;
        const int64_t at = (n * C + y) * inner + sp;
        l = cls::nll_term<double>(wy, static_cast<double>(x[at]));
        if (g) {
          const double sc = none ? (a.grad_out ? static_cast<double>(a.grad_out[r]) : 1.0) * a.grad_scale : scale;
          g[at] = static_cast<float>(cls::nll_grad<double>(wy, sc));
        }
      }
      if (none) a.loss[r] = static_cast<float>(l);
      s += l;
    }
    return s;
  });
  if (!none) a.loss[0] = static_cast<float>(mean ? total / denom : total);
}

// ---- multiMarginLoss ----------------------------------------------------------------

void multi_margin(const ClassLossArgs& a, int64_t rows) {
  const bool none = a.reduction == Reduction::None;
  const bool mean = a.reduction == Reduction::Mean;
  const float* x = static_cast<const float*>(a.x);
  float* g = static_cast<float*>(a.grad);
  const int64_t C = a.classes;
  const double margin = a.margin;
  const double invC = C > 0 ? 1.0 / static_cast<double>(C) : 0.0;
  const double scale = mean ? static_cast<double>(a.grad_scale) / static_cast<double>(rows) : static_cast<double>(a.grad_scale);
  const double total = run_chunks(rows, C, [&](int64_t b, int64_t e) {
    double s = 0.0;
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * C;
      float* gr = g ? g + r * C : nullptr;
      const int32_t y = a.target[r];
      const double wy = a.weight ? static_cast<double>(a.weight[y]) : 1.0;
      const double xy = xr[y];
      const double sc = (none ? (a.grad_out ? static_cast<double>(a.grad_out[r]) : 1.0) * a.grad_scale : scale) * wy * invC;
      double l = 0.0, gy = 0.0;
      for (int64_t i = 0; i < C; ++i) {
        double gi = 0.0;
        if (i != y) {
          double dz;
          l += cls::mm_term<double>(cls::mm_z<double>(margin, xy, static_cast<double>(xr[i])), a.p, &dz);
          if (dz != 0.0) {  // inactive hinges stay exactly 0 even for a non-finite scale
            gi = dz * sc;
            gy -= gi;
          }
        }
        if (gr) gr[i] = static_cast<float>(gi);
      }
      if (gr) gr[y] = static_cast<float>(gy);
      l *= wy * invC;
      if (none) a.loss[r] = static_cast<float>(l);
      s += l;
    }
    return s;
  });
  if (!none) a.loss[0] = static_cast<float>(mean ? total / static_cast<double>(rows) : total);
}

}  // namespace

ClassTargetCheck class_loss(const ClassLossArgs& a) {
  const int64_t rows = a.outer * a.inner;
  double denom = static_cast<double>(rows);
  ClassTargetCheck chk;
  if (a.target) {
    double W = 0.0;
    chk = check_targets(a, rows, a.kind != ClassLossKind::MultiMargin, &W);
    if (!chk.ok) return chk;
    if (a.kind != ClassLossKind::MultiMargin) denom = W;
  }
  // Empty input / all rows ignored: mean is 0 / 0 = NaN, the gradient is all zeros.
  switch (a.kind) {
    case ClassLossKind::CrossEntropy: cross_entropy(a, rows, denom); break;
    case ClassLossKind::Nll: nll(a, rows, denom); break;
    case ClassLossKind::MultiMargin: multi_margin(a, rows); break;
  }
  if (a.reduction != Reduction::None && rows == 0 && a.reduction == Reduction::Mean)
    a.loss[0] = std::numeric_limits<float>::quiet_NaN();
  return chk;
}

}  // namespace cpu
}  // namespace bg
