// Research losses on the CPU; see research_losses.h. The scalar path computes every
// loss in double from float inputs. On the AVX2 / AVX-512 paths the heavy loops run in
// the per-ISA kernels of rs_kernels.h (mwLoss's pair loop, basnetHybrid's SSIM window
// and BCE, the Dice / IoU sums, triBce, anyLoss); paBce stays float64 on every path (its
// cost is the per-list partial sort and k (k - 1) / 2 pair terms for a small k, with no long
// exp / log loop to vectorize). Work is split into chunks whose boundaries
// depend only on the sizes, and partial sums are added in chunk order, so results do not
// depend on the thread count.
#include "research_losses.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "../math/research_losses.h"
#include "rs_kernels.h"
#include "simd.h"
#include "threadpool.h"

namespace bg {
namespace cpu {
namespace {

constexpr int64_t kChunk = 16384;

// Vector kernels of the active ISA; null on the scalar path.
const RsTable* rs_table() {
  switch (isa_info().active) {
#if defined(__x86_64__)
    case Isa::Avx512: return &rs_table_avx512;
    case Isa::Avx2: return &rs_table_avx2;
#endif
    default: return nullptr;
  }
}

// fn(begin, end, chunk) over [0, n) in fixed chunks.
template <class F>
void chunked(int64_t n, int64_t chunk, const F& fn) {
  if (n <= 0) return;
  const size_t chunks = static_cast<size_t>((n + chunk - 1) / chunk);
  if (chunks == 1) {
    fn(int64_t(0), n, size_t(0));
    return;
  }
  parallel_for(chunks, [&](size_t c) {
    const int64_t b = static_cast<int64_t>(c) * chunk;
    fn(b, std::min(n, b + chunk), c);
  });
}

// Upstream factor of row r: per row for None, grad_scale / divisor for Mean, grad_scale for Sum.
double row_scale(const ResearchArgs& a, int64_t r, double divisor) {
  if (a.reduction == Reduction::None) return a.grad_out ? static_cast<double>(a.grad_out[r]) : 1.0;
  if (a.reduction == Reduction::Mean) return static_cast<double>(a.grad_scale) / divisor;
  return a.grad_scale;
}

// Writes per-row losses (None) or their ordered sum / mean.
void write_loss(const ResearchArgs& a, const std::vector<double>& row_loss, double divisor) {
  if (!a.loss) return;
  if (a.reduction == Reduction::None) {
    for (size_t r = 0; r < row_loss.size(); ++r) a.loss[r] = static_cast<float>(row_loss[r]);
    return;
  }
  double s = 0.0;
  for (double v : row_loss) s += v;
  a.loss[0] = static_cast<float>(a.reduction == Reduction::Mean ? s / divisor : s);
}

// Rows per task so that one task covers about kChunk elements.
int64_t rows_per_task(int64_t cols) { return std::max<int64_t>(1, kChunk / std::max<int64_t>(1, cols)); }

void overlap(const ResearchArgs& a) {
  const int64_t R = a.rows, M = a.cols;
  const ResearchParams& q = a.params;
  const rl::Overlap<double> ov{q.a, q.b, q.c, q.smooth_nr, q.smooth_dr};
  const bool sq = q.squared != 0;
  std::vector<double> loss(R);
  const double div = static_cast<double>(R);
  const RsTable* vt = rs_table();
  const double abc[3] = {ov.a, ov.b, ov.c};
  chunked(R, rows_per_task(M), [&](int64_t r0, int64_t r1, size_t) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* p = a.x + r * M;
      const float* g = a.y + r * M;
      if (vt) {
        double sums[3];
        vt->ov_sums(p, g, M, q.squared, sums);
        double l, num, den;
        ov.eval(sums[0], sums[1], sums[2], l, num, den);
        loss[r] = l;
        if (a.grad) vt->ov_grad(p, g, a.grad + r * M, M, q.squared, abc, num, den, row_scale(a, r, div));
        continue;
      }
      double I = 0, P = 0, G = 0;
      for (int64_t i = 0; i < M; ++i) {
        const double pi = p[i], gi = g[i];
        I += pi * gi;
        P += sq ? pi * pi : pi;
        G += sq ? gi * gi : gi;
      }
      double l, num, den;
      ov.eval(I, P, G, l, num, den);
      loss[r] = l;
      if (a.grad) {
        const double s = row_scale(a, r, div);
        float* d = a.grad + r * M;
        for (int64_t i = 0; i < M; ++i) d[i] = static_cast<float>(s * ov.grad(p[i], g[i], sq, num, den));
      }
    }
  });
  write_loss(a, loss, div);
}

// "Same" correlation with zero padding of an h x w map with the 1-D window, rows then columns.
void conv_same(const double* in, double* tmp, double* out, int64_t h, int64_t w, const double* win) {
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double s = 0;
      for (int k = 0; k < rl::kSsimTaps; ++k) {
        const int64_t xx = x + k - rl::kSsimPad;
        if (xx >= 0 && xx < w) s += win[k] * in[y * w + xx];
      }
      tmp[y * w + x] = s;
    }
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double s = 0;
      for (int k = 0; k < rl::kSsimTaps; ++k) {
        const int64_t yy = y + k - rl::kSsimPad;
        if (yy >= 0 && yy < h) s += win[k] * tmp[yy * w + x];
      }
      out[y * w + x] = s;
    }
}

// Rows per band of basnet_vec: the unit of its thread split and of its partial sums.
constexpr int64_t kBasBand = 16;

// basnetHybrid on the vector kernels. Each image runs four stages (horizontal window and
// BCE / IoU sums, vertical window and SSIM, then the two windows of the backward pass),
// each over fixed row bands whose sums are added in band order. Images are split over
// the threads when there are enough of them, else the bands of each image are: the
// result is the same either way.
void basnet_vec(const ResearchArgs& a, const RsTable& vt) {
  const int64_t N = a.rows, H = a.h, W = a.w, HW = H * W;
  double win[rl::kSsimTaps];
  rl::ssim_window(win);
  const double eps = a.params.iou_eps;
  const rl::Overlap<double> iou{1.0, 1.0, -1.0, eps, eps};
  std::vector<double> loss(N);
  const double div = static_cast<double>(N);
  const int64_t bands = (H + kBasBand - 1) / kBasBand;
  // One cache line between consecutive rows' sets, 11 between maps (see RsBasIn).
  const int64_t ws = W + 8, ms = H * ws + 88;
  auto image = [&](int64_t b, bool par) {
    // Reused per thread: a fresh multi-MB buffer per call costs its page faults each time.
    thread_local std::vector<double> buf;
    if (buf.size() < static_cast<size_t>(ms * 8)) buf.resize(static_cast<size_t>(ms * 8));
    float* out = a.grad ? a.grad + b * HW : nullptr;
    RsBasIn in{a.x + b * HW, a.y + b * HW, out, H, W, ws, ms, win, buf.data(), buf.data() + 5 * ms,
               1.0 / static_cast<double>(HW), 0.0, 0.0, 0.0};
    std::vector<double> part(static_cast<size_t>(bands) * 5);
    auto stage = [&](const auto& f) {
      auto run = [&](size_t k) {
        const int64_t y0 = static_cast<int64_t>(k) * kBasBand;
        f(k, y0, std::min(H, y0 + kBasBand));
      };
      if (par && bands > 1)
        parallel_for(static_cast<size_t>(bands), run);
      else
        for (int64_t k = 0; k < bands; ++k) run(static_cast<size_t>(k));
    };
    stage([&](size_t k, int64_t y0, int64_t y1) { vt.bas_h5(in, y0, y1, &part[k * 5]); });
    stage([&](size_t k, int64_t y0, int64_t y1) { part[k * 5 + 4] = vt.bas_v5(in, y0, y1); });
    double t[5] = {0, 0, 0, 0, 0};
    for (int64_t k = 0; k < bands; ++k)
      for (int j = 0; j < 5; ++j) t[j] += part[k * 5 + j];
    double li, num, den;
    iou.eval(t[1], t[2], t[3], li, num, den);
    loss[b] = t[0] * in.inv + (1.0 - t[4] * in.inv) + li;
    if (!out) return;
    in.s = row_scale(a, b, div);
    in.num = num;
    in.den = den;
    stage([&](size_t, int64_t y0, int64_t y1) { vt.bas_h3(in, y0, y1); });
    stage([&](size_t, int64_t y0, int64_t y1) { vt.bas_v3(in, y0, y1); });
  };
  if (N >= num_threads() || bands < 2)
    parallel_for(static_cast<size_t>(N), [&](size_t img) { image(static_cast<int64_t>(img), false); });
  else
    for (int64_t b = 0; b < N; ++b) image(b, true);
  write_loss(a, loss, div);
}

void basnet(const ResearchArgs& a) {
  if (const RsTable* vt = rs_table()) {
    if (a.rows > 0 && a.h * a.w > 0) return basnet_vec(a, *vt);
  }
  const int64_t N = a.rows, H = a.h, W = a.w, HW = H * W;
  double win[rl::kSsimTaps];
  rl::ssim_window(win);
  const double eps = a.params.iou_eps;
  const rl::Overlap<double> iou{1.0, 1.0, -1.0, eps, eps};
  std::vector<double> loss(N);
  const double div = static_cast<double>(N);
  parallel_for(static_cast<size_t>(N), [&](size_t img) {
    const int64_t b = static_cast<int64_t>(img);
    const float* P = a.x + b * HW;
    const float* G = a.y + b * HW;
    std::vector<double> buf(static_cast<size_t>(HW) * 10);
    double* in = buf.data();
    double* tmp = in + HW;
    double* mom[5];
    for (int k = 0; k < 5; ++k) mom[k] = tmp + HW * (1 + k);
    double* gmu = mom[0];  // reused for the backward maps
    double* g11 = mom[2];
    double* g12 = mom[4];
    // moments: mu1, mu2, e11, e22, e12
    for (int k = 0; k < 5; ++k) {
      for (int64_t i = 0; i < HW; ++i) {
        const double p = P[i], g = G[i];
        in[i] = k == 0 ? p : k == 1 ? g : k == 2 ? p * p : k == 3 ? g * g : p * g;
      }
      conv_same(in, tmp, mom[k], H, W, win);
    }
    double ssim = 0, bce = 0, I = 0, Ps = 0, Gs = 0;
    const double inv = 1.0 / static_cast<double>(HW);
    for (int64_t i = 0; i < HW; ++i) {
      double S, dmu, d11, d12;
      rl::ssim_px<double>(mom[0][i], mom[1][i], mom[2][i], mom[3][i], mom[4][i], S, dmu, d11, d12);
      ssim += S;
      // dL/dS = -1/HW; the backward maps overwrite mu1, e11, e12 (mu2, e22 are no longer needed).
      mom[0][i] = -dmu * inv;
      mom[2][i] = -d11 * inv;
      mom[4][i] = -d12 * inv;
      double l, d;
      rl::bce_prob<double>(P[i], G[i], l, d);
      bce += l;
      I += static_cast<double>(P[i]) * G[i];
      Ps += P[i];
      Gs += G[i];
    }
    double li, num, den;
    iou.eval(I, Ps, Gs, li, num, den);
    loss[img] = bce * inv + (1.0 - ssim * inv) + li;
    if (!a.grad) return;
    // Backward of the depthwise convolutions: the same correlation (the window is symmetric).
    double* cmu = mom[1];
    double* c11 = mom[3];
    double* c12 = in;  // in is free now; tmp is the scratch of conv_same
    std::vector<double> c12buf(static_cast<size_t>(HW));
    conv_same(gmu, tmp, cmu, H, W, win);
    conv_same(g11, tmp, c11, H, W, win);
    conv_same(g12, tmp, c12buf.data(), H, W, win);
    c12 = c12buf.data();
    const double s = row_scale(a, b, div);
    float* out = a.grad + b * HW;
    for (int64_t i = 0; i < HW; ++i) {
      const double p = P[i], g = G[i];
      double l, d;
      rl::bce_prob<double>(p, g, l, d);
      const double gs = cmu[i] + 2.0 * p * c11[i] + g * c12[i];
      out[i] = static_cast<float>(s * (d * inv + gs + iou.grad(p, g, false, num, den)));
    }
  });
  write_loss(a, loss, div);
}

void anyloss(const ResearchArgs& a) {
  const int64_t n = a.cols;
  const double L = a.params.L;
  const size_t chunks = static_cast<size_t>((n + kChunk - 1) / kChunk);
  std::vector<double> part(chunks * 3, 0.0);  // sum y a, sum a, sum y
  const RsTable* vt = rs_table();
  // Vector path: the four cells summed directly (no sy - ya cancellation of float sums).
  std::vector<double> cell(vt ? chunks * 4 : 0, 0.0);
  chunked(n, kChunk, [&](int64_t b, int64_t e, size_t c) {
    if (vt) return vt->any_sums(a.x + b, a.y + b, e - b, static_cast<float>(L), &cell[c * 4]);
    double ya = 0, sa = 0, sy = 0;
    for (int64_t i = b; i < e; ++i) {
      const double av = rl::any_approx<double>(a.x[i], L), y = a.y[i];
      ya += y * av;
      sa += av;
      sy += y;
    }
    part[c * 3] = ya;
    part[c * 3 + 1] = sa;
    part[c * 3 + 2] = sy;
  });
  double ya = 0, sa = 0, sy = 0;
  for (size_t c = 0; c < chunks; ++c) {
    ya += part[c * 3];
    sa += part[c * 3 + 1];
    sy += part[c * 3 + 2];
  }
  double tp = ya, fn = sy - ya, fp = sa - ya, tn = (static_cast<double>(n) - sy) - sa + ya;
  if (vt) {
    tp = fn = fp = tn = 0.0;
    for (size_t c = 0; c < chunks; ++c) {
      tp += cell[c * 4];
      fn += cell[c * 4 + 1];
      fp += cell[c * 4 + 2];
      tn += cell[c * 4 + 3];
    }
  }
  double m, dtp, dfn, dfp, dtn;
  rl::any_metric<double>(a.params.metric, a.params.beta, a.params.any_eps, tp, fn, fp, tn, m, dtp, dfn, dfp, dtn);
  if (a.loss) a.loss[0] = static_cast<float>(1.0 - m);
  if (!a.grad) return;
  const double s = a.grad_scale;
  const double kpos = dtp - dfn, kneg = dfp - dtn;
  chunked(n, kChunk, [&](int64_t b, int64_t e, size_t) {
    if (vt)
      return vt->any_grad(a.x + b, a.y + b, a.grad + b, e - b, static_cast<float>(L), static_cast<float>(kpos),
                          static_cast<float>(kneg), static_cast<float>(s));
    for (int64_t i = b; i < e; ++i) a.grad[i] = static_cast<float>(s * rl::any_grad<double>(a.x[i], a.y[i], L, kpos, kneg));
  });
}

// mwLoss on the vector kernels: the negatives are packed (row-major, diagonal left out)
// and cut into fixed tiles, each tile one task running every positive against it in one
// pass (softplus for the loss, the shared sigmoid for both gradients). Per-tile sums are
// added in tile order.
void mw_vec(const ResearchArgs& a, const RsTable& vt) {
  const int64_t B = a.rows, C = a.cols, C1 = C - 1, Nn = B * C1;
  const double inv_tau = 1.0 / static_cast<double>(a.params.tau);
  const float* S = a.x;
  const double div = static_cast<double>(B);
  std::vector<float> pos(B), neg(Nn), wf;
  std::vector<double> w;
  for (int64_t i = 0; i < B; ++i) pos[i] = S[i * C + i];
  chunked(B, rows_per_task(C), [&](int64_t r0, int64_t r1, size_t) {
    for (int64_t r = r0; r < r1; ++r) {
      std::copy(S + r * C, S + r * C + r, neg.data() + r * C1);
      std::copy(S + r * C + r + 1, S + (r + 1) * C, neg.data() + r * C1 + r);
    }
  });
  if (a.grad) {
    w.resize(B);
    wf.resize(B);
    for (int64_t i = 0; i < B; ++i) {
      w[i] = row_scale(a, i, div);
      wf[i] = static_cast<float>(w[i] * inv_tau);
    }
  }
  const int64_t tiles = (Nn + kRsMwTile - 1) / kRsMwTile;
  std::vector<double> pl(static_cast<size_t>(tiles * B)), pg(static_cast<size_t>(tiles * B)), gneg(a.grad ? Nn : 0, 0.0);
  auto tile = [&](size_t t) {
    const int64_t k0 = static_cast<int64_t>(t) * kRsMwTile;
    const int64_t n = std::min(Nn, k0 + kRsMwTile) - k0;
    std::vector<float> fs(a.grad ? n : 0);
    RsMwIn in{pos.data(), a.grad ? wf.data() : nullptr, B, neg.data() + k0, n, static_cast<float>(inv_tau),
              &pl[t * B], &pg[t * B], a.grad ? gneg.data() + k0 : nullptr, fs.data()};
    vt.mw_tile(in);
  };
  if (tiles > 1)
    parallel_for(static_cast<size_t>(tiles), tile);
  else if (tiles == 1)
    tile(0);
  std::vector<double> loss(B, 0.0), gpos(B, 0.0);
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t i = 0; i < B; ++i) {
      loss[i] += pl[t * B + i];
      gpos[i] += pg[t * B + i];
    }
  write_loss(a, loss, div);
  if (!a.grad) return;
  chunked(B, rows_per_task(C), [&](int64_t r0, int64_t r1, size_t) {
    for (int64_t r = r0; r < r1; ++r) {
      float* d = a.grad + r * C;
      const double* gn = gneg.data() + r * C1;
      for (int64_t c = 0; c < C; ++c)
        d[c] = c == r ? static_cast<float>(-w[r] * gpos[r] * inv_tau) : static_cast<float>(gn[c < r ? c : c - 1]);
    }
  });
}

void mw(const ResearchArgs& a) {
  if (const RsTable* vt = rs_table()) {
    if (a.rows > 0 && a.cols >= a.rows) return mw_vec(a, *vt);
  }
  const int64_t B = a.rows, C = a.cols, total = B * C;
  const double inv_tau = 1.0 / static_cast<double>(a.params.tau);
  const float* S = a.x;
  std::vector<double> loss(B), gpos(B), w(B);
  const double div = static_cast<double>(B);
  // Per positive: the sum over every negative (fixed order).
  parallel_for(static_cast<size_t>(B), [&](size_t ii) {
    const int64_t i = static_cast<int64_t>(ii);
    const double pos = S[i * C + i];
    double l = 0, g = 0;
    for (int64_t r = 0; r < B; ++r)
      for (int64_t c = 0; c < C; ++c) {
        if (c == r) continue;
        double li, gi;
        rl::mw_pair<double>(pos, S[r * C + c], inv_tau, li, gi);
        l += li;
        g += gi;
      }
    loss[ii] = l;
    gpos[ii] = g;
  });
  write_loss(a, loss, div);
  if (!a.grad) return;
  for (int64_t i = 0; i < B; ++i) w[i] = row_scale(a, i, div);
  // Per negative: the sum over every positive (loop in registers, no pair buffer).
  chunked(total, kChunk / std::max<int64_t>(1, B / 64 + 1) + 1, [&](int64_t b, int64_t e, size_t) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t r = k / C, c = k % C;
      if (c == r) {
        a.grad[k] = static_cast<float>(-w[r] * gpos[r]);
        continue;
      }
      const double neg = S[k];
      double g = 0;
      for (int64_t i = 0; i < B; ++i) {
        double li, gi;
        rl::mw_pair<double>(S[i * C + i], neg, inv_tau, li, gi);
        g += w[i] * gi;
      }
      a.grad[k] = static_cast<float>(g);
    }
  });
}

void pabce(const ResearchArgs& a) {
  const int64_t Q = a.rows, M = a.cols;
  const int64_t k = std::min<int64_t>(a.params.top_k, M);
  std::vector<double> loss(Q, 0.0);
  chunked(Q, rows_per_task(M * k), [&](int64_t q0, int64_t q1, size_t) {
    std::vector<int64_t> idx(static_cast<size_t>(M));
    for (int64_t q = q0; q < q1; ++q) {
      const float* s = a.x + q * M;
      const float* pnl = a.y + q * M;
      std::iota(idx.begin(), idx.end(), int64_t(0));
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t u, int64_t v) {
        return pnl[u] > pnl[v] || (pnl[u] == pnl[v] && u < v);
      });
      float* d = a.grad ? a.grad + q * M : nullptr;
      if (d) std::fill(d, d + M, 0.0f);
      double l = 0;
      std::vector<double> gl(static_cast<size_t>(k), 0.0);
      for (int64_t u = 0; u < k; ++u)
        for (int64_t v = u + 1; v < k; ++v) {
          const int64_t i = idx[u], j = idx[v];
          double lij, gij;
          rl::pa_pair<double>(s[i], s[j], pnl[i], pnl[j], lij, gij);
          l += lij;
          gl[u] -= gij;
          gl[v] += gij;
        }
      loss[q] = k > 0 ? l / static_cast<double>(k) : 0.0;
      if (d)
        for (int64_t u = 0; u < k; ++u) d[idx[u]] = static_cast<float>(gl[u] / static_cast<double>(k));
    }
  });
  // Mean over the lists whose loss is non-zero (0 when there are none).
  int64_t nz = 0;
  for (double v : loss) nz += v != 0.0 ? 1 : 0;
  const double div = static_cast<double>(nz);
  if (a.loss) {
    if (a.reduction == Reduction::Mean) {
      double s = 0;
      for (double v : loss) s += v;
      a.loss[0] = nz > 0 ? static_cast<float>(s / div) : 0.0f;
    } else {
      write_loss(a, loss, div);
    }
  }
  if (!a.grad) return;
  chunked(Q, rows_per_task(M), [&](int64_t q0, int64_t q1, size_t) {
    for (int64_t q = q0; q < q1; ++q) {
      const double sc = (a.reduction == Reduction::Mean && nz == 0) ? 0.0 : row_scale(a, q, div);
      float* d = a.grad + q * M;
      for (int64_t i = 0; i < M; ++i) d[i] = static_cast<float>(sc * d[i]);
    }
  });
}

void tribce(const ResearchArgs& a) {
  const int64_t n = a.cols;
  const size_t chunks = static_cast<size_t>((n + kChunk - 1) / kChunk);
  std::vector<double> part(chunks * 3, 0.0);
  const RsTable* vt = rs_table();
  chunked(n, kChunk, [&](int64_t b, int64_t e, size_t c) {
    if (vt) return vt->tri_sums(a.x + b, a.x2 + b, a.y + b, e - b, &part[c * 3]);
    double f = 0, d = 0, s = 0;
    for (int64_t i = b; i < e; ++i) {
      const double zd = a.x[i], zs = a.x2[i], y = a.y[i];
      f += rl::bce_logit<double>(0.5 * (zd + zs), y);
      d += rl::bce_logit<double>(zd, y);
      s += rl::bce_logit<double>(zs, y);
    }
    part[c * 3] = f;
    part[c * 3 + 1] = d;
    part[c * 3 + 2] = s;
  });
  double f = 0, d = 0, s = 0;
  for (size_t c = 0; c < chunks; ++c) {
    f += part[c * 3];
    d += part[c * 3 + 1];
    s += part[c * 3 + 2];
  }
  const double nn = static_cast<double>(n);
  double total, cf, cd, cs;
  rl::tri_coef<double>(f / nn, d / nn, s / nn, a.params.detach != 0, total, cf, cd, cs);
  if (a.loss) a.loss[0] = static_cast<float>(total);
  const double sc = static_cast<double>(a.grad_scale) / nn;
  if (!a.grad && !a.grad2) return;
  chunked(n, kChunk, [&](int64_t b, int64_t e, size_t) {
    if (vt)
      return vt->tri_grad(a.x + b, a.x2 + b, a.y + b, e - b, a.grad ? a.grad + b : nullptr, a.grad2 ? a.grad2 + b : nullptr,
                          static_cast<float>(sc), static_cast<float>(cf), static_cast<float>(cd), static_cast<float>(cs));
    for (int64_t i = b; i < e; ++i) {
      const double zd = a.x[i], zs = a.x2[i], y = a.y[i];
      const double gf = 0.5 * (rl::sigmoid<double>(0.5 * (zd + zs)) - y);
      if (a.grad) a.grad[i] = static_cast<float>(sc * (cf * gf + cd * (rl::sigmoid<double>(zd) - y)));
      if (a.grad2) a.grad2[i] = static_cast<float>(sc * (cf * gf + cs * (rl::sigmoid<double>(zs) - y)));
    }
  });
}

}  // namespace

ResearchCheckResult research_loss(const ResearchArgs& a) {
  ResearchCheckResult res;
  if (a.check == kResearchCheckInput01) {
    const int64_t n = a.rows * a.cols;
    for (int64_t i = 0; i < n; ++i) {
      const float v = a.x[i];
      if (!(v >= 0.0f && v <= 1.0f)) {
        res.ok = false;
        res.index = i;
        res.value = v;
        return res;
      }
    }
  }
  switch (a.kind) {
    case ResearchKind::Overlap: overlap(a); break;
    case ResearchKind::Basnet: basnet(a); break;
    case ResearchKind::AnyLoss: anyloss(a); break;
    case ResearchKind::Mw: mw(a); break;
    case ResearchKind::PaBce: pabce(a); break;
    case ResearchKind::TriBce: tribce(a); break;
    default: break;
  }
  return res;
}

}  // namespace cpu
}  // namespace bg
