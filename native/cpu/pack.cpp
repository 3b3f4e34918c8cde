// CPU bit packing. Work is cut into chunks of about kChunkFloats input floats
// (independent of the thread count); each chunk runs the active ISA's loop and
// records whether it read a NaN. Only on that error path is the input scanned again
// for the NaN with the lowest offset.
#include "pack.h"

#include <vector>

#include "dispatch.h"
#include "pack_kernels.h"
#include "threadpool.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kChunkFloats = INT64_C(1) << 16;
// Below this many input floats everything runs on the calling thread.
constexpr int64_t kParallelMin = INT64_C(1) << 17;

int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// General strides: plain loop (not used by the facade, kept for other callers).
// t: null, or k per-channel thresholds (fused binarize + pack).
bool rows_generic(const PackArgs& a, const float* t, int64_t r0, int64_t r1) {
  bool nan = false;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t o = r / a.inner;
    const int64_t i = r - o * a.inner;
    const float* xr = a.x + o * a.outer_stride + i * a.inner_stride;
    uint64_t* out = a.out + r * a.words;
    for (int64_t g = 0; g < a.words; ++g) {
      uint64_t w = 0;
      for (int64_t j = 0; j < 64 && g * 64 + j < a.k; ++j) {
        const float xv = xr[(g * 64 + j) * a.k_stride];
        const float v = t ? xv - t[g * 64 + j] : xv;
        nan |= v != v;
        if (v >= 0.0f) w |= uint64_t{1} << j;
      }
      out[g] = w;
    }
  }
  return nan;
}

// Lowest offset whose value (x, or x - t[c] when fused) is NaN.
int64_t first_nan(const PackArgs& a, const float* t) {
  int64_t best = -1;
  for (int64_t o = 0; o < a.outer; ++o)
    for (int64_t i = 0; i < a.inner; ++i)
      for (int64_t c = 0; c < a.k; ++c) {
        const int64_t off = o * a.outer_stride + i * a.inner_stride + c * a.k_stride;
        const float v = t ? a.x[off] - t[c] : a.x[off];
        if (v != v && (best < 0 || off < best)) best = off;
      }
  return best;
}

void run_chunks(int64_t chunks, int64_t floats, const std::function<void(size_t)>& fn) {
  if (floats >= kParallelMin && chunks > 1) {
    parallel_for(static_cast<size_t>(chunks), fn);
  } else {
    for (int64_t c = 0; c < chunks; ++c) fn(static_cast<size_t>(c));
  }
}

}  // namespace

PackCheck pack(const PackArgs& a) {
  PackCheck result;
  const int64_t rows = a.outer * a.inner;
  if (rows <= 0 || a.words <= 0) return result;
  const PackKernels& kern = pack_kernels();
  const int64_t kk = a.k > 0 ? a.k : 1;
  const int64_t floats = rows * kk;
  std::vector<char> bad;
  // Fused threshold: k values, contiguous (a broadcast one is expanded once).
  std::vector<float> tbuf;
  const float* t = nullptr;
  if (a.thresh != nullptr && a.k > 0) {
    if (a.thresh_stride == 1) {
      t = a.thresh;
    } else {
      tbuf.assign(static_cast<size_t>(a.k), a.thresh[0]);
      t = tbuf.data();
    }
  }

  if (a.k_stride != 1 && a.inner_stride == 1) {
    // Channel planes (NCHW): chunks of P pixels (a multiple of 64) inside one outer index.
    // (8x the row chunk: runs along each channel plane as long as the SIMD loops' blocks
    // of 2048 pixels at 256 channels.)
    int64_t P = (8 * kChunkFloats / kk + 63) / 64 * 64;
    if (P < 64) P = 64;
    const int64_t tiles = (a.inner + P - 1) / P;
    const int64_t chunks = a.outer * tiles;
    bad.assign(static_cast<size_t>(chunks), 0);
    run_chunks(chunks, floats, [&](size_t ch) {
      const int64_t o = static_cast<int64_t>(ch) / tiles;
      const int64_t p0 = (static_cast<int64_t>(ch) - o * tiles) * P;
      const int64_t np = min64(P, a.inner - p0);
      const float* x = a.x + o * a.outer_stride + p0;
      uint64_t* out = a.out + (o * a.inner + p0) * a.words;
      const bool nan = t ? kern.planar_t(x, t, a.k_stride, a.k, out, a.words, np)
                         : kern.planar(x, a.k_stride, a.k, out, a.words, np);
      if (nan) bad[ch] = 1;
    });
  } else {
    // Rows: chunks of R rows, split where the outer index changes.
    int64_t R = kChunkFloats / kk;
    if (R < 1) R = 1;
    const int64_t chunks = (rows + R - 1) / R;
    const bool contiguous = a.k_stride == 1;
    bad.assign(static_cast<size_t>(chunks), 0);
    run_chunks(chunks, floats, [&](size_t ch) {
      const int64_t r0 = static_cast<int64_t>(ch) * R;
      const int64_t r1 = min64(rows, r0 + R);
      bool nan = false;
      if (!contiguous) {
        nan = rows_generic(a, t, r0, r1);
      } else {
        for (int64_t r = r0; r < r1;) {
          const int64_t o = r / a.inner;
          const int64_t i = r - o * a.inner;
          const int64_t run = min64(r1 - r, a.inner - i);
          const float* x = a.x + o * a.outer_stride + i * a.inner_stride;
          nan |= t ? kern.rows_t(x, t, a.inner_stride, a.k, a.out + r * a.words, a.words, run)
                   : kern.rows(x, a.inner_stride, a.k, a.out + r * a.words, a.words, run);
          r += run;
        }
      }
      if (nan) bad[ch] = 1;
    });
  }

  for (char b : bad) {
    if (b) {
      result.ok = false;
      result.index = first_nan(a, t);
      break;
    }
  }
  return result;
}

void unpack(const UnpackArgs& a) {
  if (a.rows <= 0 || a.k <= 0) return;
  const PackKernels& kern = pack_kernels();
  int64_t R = kChunkFloats / a.k;
  if (R < 1) R = 1;
  const int64_t chunks = (a.rows + R - 1) / R;
  run_chunks(chunks, a.rows * a.k, [&](size_t ch) {
    const int64_t r0 = static_cast<int64_t>(ch) * R;
    const int64_t n = min64(a.rows - r0, R);
    kern.unpack(a.bits + r0 * a.words, a.words, a.k, a.out + r0 * a.k, n);
  });
}

}  // namespace cpu
}  // namespace bg
