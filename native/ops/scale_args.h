// Plain description of one row-statistic binarizer call (binarize.magnitudeAwareSign,
// xnor, dorefa, ternaryWeights, libraPB, recu, bivitWeights, multiBasis, recuActivation), shared by the
// CPU and CUDA backends. The input is viewed as rows x cols (rows = output channels,
// cols = everything else); every statistic is per row (ReCU's clamp bound is over the
// whole tensor). The per-element math is in math/scaling.h.
#pragma once
#include <cstdint>

namespace bg {

// Order matters: it indexes the per-ISA tables and must match BG_FOR_EACH_SCALE_ROW
// and lib/binarize/scaling.ts.
enum class ScaleKind : int {
  MeanAbsSign = 0,  // alpha = mean|W| (magnitudeAwareSign / xnor / dorefa)
  Ternary = 1,      // TBT statistics-based ternary (levels 3) / binary (levels 2)
  Libra = 2,        // IR-Net Libra-PB
  Recu = 3,         // ReCU rectified clamp
  Bivit = 4,        // BiViT learnable scale on centred weights
  MultiBasis = 5,   // residual multi-basis (BinaryDM LMB / BEBR-style)
  RecuAct = 6,      // ReCU / BiPer activations: per-sample variance normalization, ApproxSign
  Count = 7,
};
constexpr int kScaleCount = static_cast<int>(ScaleKind::Count);
constexpr int kMaxBases = 4;
// Per-row coefficients passed to the elementwise stages (see math/scaling.h).
constexpr int kRowCo = 8;

#define BG_FOR_EACH_SCALE_ROW(X) \
  X(MasRow)                      \
  X(TernaryRow)                  \
  X(StdRow)                      \
  X(StdRow)                      \
  X(BivitRow)                    \
  X(MultiRow)                    \
  X(RecuActRow)

struct ScaleParams {
  int kind = 0;          // ScaleKind (StdRow serves Libra and ReCU)
  float zero = 1.0f;     // forward value at 0: 1 ('plusOne') or 0 ('zero')
  int inclusive = 1;     // gradient windows pass |x| == bound
  float clip = 1.0f;     // STE window half-width
  int full = 0;          // MeanAbsSign: exact chain rule through alpha (scaleGrad 'full')
  int levels = 3;        // Ternary: 3 (ternary) or 2 (binary)
  float kt4 = 4.0f;      // Libra EDE backward: 4 k t
  float t2 = 2.0f;       // Libra EDE backward: 2 t
  float qfac = 1.2039728f;  // ReCU: -ln(2 - 2 tau)
  int bases = 2;         // MultiBasis: 1..4
  int training = 1;      // RecuAct: 1 normalizes by the sample's std (BiBench training), 0 uses x (eval)
  int stream = 0;        // CPU: this stage writes its output with non-temporal stores (the last
                         // stage of a large tensor, cpu/stream_stores.h); CUDA ignores it
};

// Stages of the elementwise passes.
enum ScaleStage : int { kStageFwd = 0, kStageGrad = 1, kStageFin = 2 };

struct ScaleArgs {
  ScaleKind kind = ScaleKind::MeanAbsSign;
  bool backward = false;
  ScaleParams params;
  const float* x = nullptr;         // rows x cols
  const float* g = nullptr;         // upstream gradient (backward)
  float* out = nullptr;             // forward output or dL/dx
  int64_t rows = 0;
  int64_t cols = 0;
  const float* alpha_in = nullptr;  // Bivit / MultiBasis: given scales [bases][rows], or null (statistics)
  float* alpha_out = nullptr;       // the scales used: [bases][rows] (Libra: s; ReCU: one Q), or null
  float* dalpha = nullptr;          // backward: dL/dalpha [bases][rows] (Bivit, MultiBasis), or null
};

// Number of floats of alpha_out for a call.
inline int64_t scale_alpha_count(const ScaleArgs& a) {
  if (a.kind == ScaleKind::Recu) return 1;
  if (a.kind == ScaleKind::MultiBasis) return a.rows * a.params.bases;
  return a.rows;
}
inline bool scale_has_dalpha(ScaleKind k) { return k == ScaleKind::Bivit || k == ScaleKind::MultiBasis; }

}  // namespace bg

namespace bg {

// XNOR-Net activation scale K (binarize.xnorK): A = mean_c |I| per sample and pixel,
// K = A box-filtered (kh x kw, every weight 1/(kh kw)) with stride and zero padding.
struct XnorKArgs {
  const float* x = nullptr;  // [n][c][h][w]
  float* out = nullptr;      // [n][ho][wo]
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0;
  int64_t ho = 0, wo = 0;
};

// XNOR++ learnable scale Gamma[c][h][w] = o_c h_h w_w applied to y [n][c][h][w]
// (binarize.xnorPlusPlus): forward out = y Gamma; backward out = g Gamma and the
// deterministic sums do_c, dh_h, dw_w of g y times the other two factors.
struct XnorPPArgs {
  bool backward = false;
  const float* y = nullptr;
  const float* g = nullptr;
  const float* o = nullptr;  // [c]
  const float* fh = nullptr; // [h]
  const float* fw = nullptr; // [w]
  float* out = nullptr;
  float* d_o = nullptr;      // backward, [c]
  float* d_h = nullptr;      // backward, [h]
  float* d_w = nullptr;      // backward, [w]
  int64_t n = 0, c = 0, h = 0, w = 0;
};

}  // namespace bg
