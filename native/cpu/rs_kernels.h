// Per-ISA kernels of the research losses (research_losses.cpp): mwLoss's pair loop,
// basnetHybrid's BCE / IoU sums and separable SSIM window, the Dice / soft-IoU row sums,
// and the elementwise passes of triBce and anyLoss. Each ISA lives in its own
// translation unit (rs_block_{avx2,avx512}.cpp, built with that ISA's flags)
// instantiating rs_engine.h. The scalar path has no table: it is the float64 code of
// research_losses.cpp.
//
// Precision split: terms that need exp / log (softplus, sigmoid, BCE) run as float
// vectors with vmath.h and are summed in float lanes per fixed block, then in double;
// terms that are pure multiply-adds (the SSIM window, the SSIM formula, the Dice / IoU
// sums and gradients) run as double vectors, as precise as the scalar path. Every sum
// has a fixed lane and block order, so results depend only on the values and the ISA.
#pragma once
#include <cstddef>
#include <cstdint>

namespace bg {
namespace cpu {

// mwLoss: negatives per task tile (the unit of thread splitting and of the float
// block sums) and positives per float accumulation of a negative's gradient.
constexpr int64_t kRsMwTile = 1024;
constexpr int64_t kRsMwFlush = 32;

// One tile of mwLoss pairs: every positive against n negatives. u = (neg - pos_i) tau^-1.
// l[i] = sum softplus(u), g[i] = sum sigmoid(u) over the tile (fixed order). With wf:
// gneg[k] = sum_i wf[i] sigmoid(u_ik) (float over kRsMwFlush positives, then double);
// fscratch holds n floats.
struct RsMwIn {
  const float* pos;
  const float* wf;
  int64_t np;
  const float* neg;
  int64_t n;
  float inv_tau;
  double* l;
  double* g;
  double* gneg;
  float* fscratch;
};

// basnetHybrid on one H x W image, in row bands [y0, y1) (the caller orders the stages:
// every band of a stage finishes before the next stage starts, since the vertical pass
// reads 5 rows either side). Scratch maps t5 (5 maps) and gm (3 maps) of doubles, row
// stride ws, map stride ms: strides off multiples of 4 KiB, so the 11 rows x 5 maps the
// vertical window streams do not all fall into the same L1 sets (power-of-two widths).
struct RsBasIn {
  const float* P;
  const float* G;
  float* out;  // gradient of the image, or null
  int64_t H, W;
  int64_t ws, ms;
  const double* win;  // kSsimTaps taps
  double* t5;
  double* gm;
  double inv;  // 1 / (H W)
  // Stage 4: out = s (d inv + w * dSSIM + dIoU), dIoU from the overlap (1, 1, -1, eps, eps).
  double s, num, den;
};

struct RsTable {
  void (*mw_tile)(const RsMwIn& in);
  // Stage 1: horizontal window of P, G, P^2, G^2, P G into t5; sums[0..3] = sum BCE,
  // sum P G, sum P, sum G over the band; writes the BCE gradient (float) into out.
  void (*bas_h5)(const RsBasIn& in, int64_t y0, int64_t y1, double* sums);
  // Stage 2: vertical window, SSIM per pixel; returns its band sum; writes the backward
  // maps (dL/dmu1, dL/de11, dL/de12) into gm when out is set.
  double (*bas_v5)(const RsBasIn& in, int64_t y0, int64_t y1);
  // Stage 3: horizontal window of the 3 backward maps into t5.
  void (*bas_h3)(const RsBasIn& in, int64_t y0, int64_t y1);
  // Stage 4: vertical window of those and the final gradient of the band.
  void (*bas_v3)(const RsBasIn& in, int64_t y0, int64_t y1);
  // Dice / IoU: sums of one row (I = sum p g, P = sum p or p^2, G = sum g or g^2).
  void (*ov_sums)(const float* p, const float* g, int64_t n, int sq, double* out3);
  // d = s * Overlap(a, b, c).grad(p, g, sq, num, den).
  void (*ov_grad)(const float* p, const float* g, float* d, int64_t n, int sq, const double* abc, double num, double den,
                  double s);
  // triBce: sums of bce_logit((zd + zs) / 2, y), bce_logit(zd, y), bce_logit(zs, y).
  void (*tri_sums)(const float* zd, const float* zs, const float* y, int64_t n, double* out3);
  // gd = sc (cf gf + cd (sig(zd) - y)), gs = sc (cf gf + cs (sig(zs) - y)), gf =
  // (sig((zd + zs) / 2) - y) / 2; either may be null.
  void (*tri_grad)(const float* zd, const float* zs, const float* y, int64_t n, float* gd, float* gs, float sc, float cf,
                   float cd, float cs);
  // anyLoss: the soft confusion matrix TP, FN, FP, TN = sums of y a, y (1 - a),
  // (1 - y) a, (1 - y)(1 - a), a = sigmoid(L (p - 1/2)), 1 - a computed directly.
  void (*any_sums)(const float* p, const float* y, int64_t n, float L, double* out4);
  // g = -s (y kpos + (1 - y) kneg) L a (1 - a).
  void (*any_grad)(const float* p, const float* y, float* g, int64_t n, float L, float kpos, float kneg, float s);
};

extern const RsTable rs_table_avx2;
extern const RsTable rs_table_avx512;

}  // namespace cpu
}  // namespace bg
