// Bit packing on the device (native/ops/pack_args.h: bit 1 <=> x >= 0, LSB first,
// padding bits 0), with the same bits as the CPU path.
//
// pack_rows: one warp per (row, word): lane l reads channels 64w + l and 64w + 32 + l,
//   two __ballot_sync calls give the low and high 32 bits. With channels contiguous
//   (NHWC, rows) each ballot reads 128 coalesced bytes. Each warp handles kUnroll
//   words per step, loads first, so several loads are in flight per warp.
// pack_planar: channel planes (NCHW, inner_stride == 1): a block stages a tile of 64
//   channels x 64 pixels in shared memory with loads coalesced along the pixels, then
//   each warp ballots down the channel column of its pixels (a transpose in the same
//   pass).
// NaN: any thread that reads one lowers *nan_offset (atomicMin) to its input offset,
//   so the caller learns the lowest offset holding a NaN.
// Fused binarize + pack (PackArgs::thresh): the value tested is x - t[c * ts] (one float32
//   subtraction, as the estimator's forward), and a NaN difference is the error.
// unpack: one thread per output float.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "backend.h"
#include "device_state.h"

namespace bg {
namespace cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kUnroll = 4;
constexpr int kTile = 64;  // channels and pixels per planar tile
constexpr unsigned kFull = 0xffffffffu;

struct Geometry {
  const float* x;
  uint64_t* out;
  int64_t outer, inner, k, words;
  int64_t os, is, ks;
  const float* t;  // per-channel threshold or null
  int64_t ts;      // its stride (0: one value)
  unsigned long long* nan;
};

// The value whose sign is the bit: x, or x - t[c] when fused.
__device__ __forceinline__ float value_at(const Geometry& g, int64_t off, int64_t c) {
  const float v = __ldg(g.x + off);
  return g.t != nullptr ? __fsub_rn(v, __ldg(g.t + c * g.ts)) : v;
}

__device__ __forceinline__ void note_nan(unsigned long long* nan, int64_t off) {
  atomicMin(nan, static_cast<unsigned long long>(off));
}

// Predicate (x >= 0) of channel c of the row at `base`, false past k; flags NaN.
__device__ __forceinline__ bool bit_at(const Geometry& g, int64_t base, int64_t c) {
  if (c >= g.k) return false;
  const int64_t off = base + c * g.ks;
  const float v = value_at(g, off, c);
  if (v != v) note_nan(g.nan, off);
  return v >= 0.0f;
}

__global__ void __launch_bounds__(kThreads) pack_rows(const Geometry g) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) >> 5;
  const int64_t nwarps = (static_cast<int64_t>(gridDim.x) * kThreads) >> 5;
  const int64_t items = g.outer * g.inner * g.words;  // (row, word) pairs
  for (int64_t first = warp * kUnroll; first < items; first += nwarps * kUnroll) {
    bool lo[kUnroll], hi[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t item = first + u;
      lo[u] = hi[u] = false;
      if (item < items) {  // uniform across the warp
        const int64_t r = item / g.words;
        const int64_t w = item - r * g.words;
        const int64_t o = r / g.inner;
        const int64_t base = o * g.os + (r - o * g.inner) * g.is;
        lo[u] = bit_at(g, base, w * 64 + lane);
        hi[u] = bit_at(g, base, w * 64 + 32 + lane);
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t item = first + u;
      if (item < items) {
        const unsigned l = __ballot_sync(kFull, lo[u]);
        const unsigned h = __ballot_sync(kFull, hi[u]);
        if (lane == 0) g.out[item] = static_cast<uint64_t>(l) | (static_cast<uint64_t>(h) << 32);
      }
    }
  }
}

__global__ void __launch_bounds__(kThreads) pack_planar(const Geometry g) {
  __shared__ int tile[kTile][kTile + 1];  // [channel][pixel]; +1 avoids bank conflicts
  const int tid = threadIdx.x;
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int64_t ptiles = (g.inner + kTile - 1) / kTile;
  const int64_t tiles = g.outer * g.words * ptiles;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {  // uniform across the block
    const int64_t pt = t % ptiles;
    const int64_t rest = t / ptiles;
    const int64_t w = rest % g.words;
    const int64_t o = rest / g.words;
    const int64_t p0 = pt * kTile;
    const int64_t c0 = w * kTile;
    // Stage: consecutive threads read consecutive pixels of one channel plane.
    const int pl = tid % kTile;
#pragma unroll 4
    for (int cl = tid / kTile; cl < kTile; cl += kThreads / kTile) {
      const int64_t p = p0 + pl;
      const int64_t c = c0 + cl;
      int bit = 0;
      if (p < g.inner && c < g.k) {
        const int64_t off = o * g.os + p + c * g.ks;
        const float v = value_at(g, off, c);
        if (v != v) note_nan(g.nan, off);
        bit = v >= 0.0f;
      }
      tile[cl][pl] = bit;
    }
    __syncthreads();
    // Ballot: warp `warp` packs pixels warp, warp + 8, ...; lane l reads channels l and 32 + l.
    for (int q = warp; q < kTile; q += kWarps) {
      const unsigned l = __ballot_sync(kFull, tile[lane][q] != 0);
      const unsigned h = __ballot_sync(kFull, tile[32 + lane][q] != 0);
      const int64_t p = p0 + q;
      if (lane == 0 && p < g.inner)
        g.out[(o * g.inner + p) * g.words + w] = static_cast<uint64_t>(l) | (static_cast<uint64_t>(h) << 32);
    }
    __syncthreads();  // the tile is rewritten by the next iteration
  }
}

__global__ void __launch_bounds__(kThreads)
    unpack_kernel(const uint64_t* bits, float* out, int64_t rows, int64_t k, int64_t words) {
  const int64_t n = rows * k;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kThreads;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x; e < n; e += stride) {
    const int64_t r = e / k;
    const int64_t c = e - r * k;
    const uint64_t word = __ldg(reinterpret_cast<const unsigned long long*>(bits) + r * words + (c >> 6));
    out[e] = ((word >> (c & 63)) & 1u) ? 1.0f : -1.0f;
  }
}

int64_t grid_for(int device, int64_t work_blocks) {
  int64_t cap = static_cast<int64_t>(detail::sm_count(device)) * 16;
  if (cap <= 0) cap = 2048;
  if (work_blocks < 1) work_blocks = 1;
  return work_blocks < cap ? work_blocks : cap;
}

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "pack (CUDA): " + what;
  return s;
}

}  // namespace

Status pack_bits(int device, const PackArgs& a, uint64_t* nan_offset_device) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  if (a.outer < 0 || a.inner < 0 || a.k < 0 || a.words < (a.k + 63) / 64) return bad_args("bad geometry");
  const int64_t rows = a.outer * a.inner;
  if (rows == 0 || a.words == 0) return Status::Ok();
  if (a.out == nullptr || nan_offset_device == nullptr || (a.k > 0 && a.x == nullptr))
    return bad_args("null pointer");
  (void)cudaGetLastError();  // so check_launch reports only what happens below

  Geometry g;
  g.x = a.x;
  g.out = a.out;
  g.outer = a.outer;
  g.inner = a.inner;
  g.k = a.k;
  g.words = a.words;
  g.os = a.outer_stride;
  g.is = a.inner_stride;
  g.ks = a.k_stride;
  g.t = a.thresh;
  g.ts = a.thresh_stride;
  g.nan = reinterpret_cast<unsigned long long*>(nan_offset_device);

  if (a.k_stride != 1 && a.inner_stride == 1) {
    const int64_t tiles = a.outer * a.words * ((a.inner + kTile - 1) / kTile);
    pack_planar<<<static_cast<unsigned>(grid_for(device, tiles)), kThreads, 0, stream>>>(g);
  } else {
    const int64_t items = rows * a.words;
    const int64_t per_block = static_cast<int64_t>(kWarps) * kUnroll;
    pack_rows<<<static_cast<unsigned>(grid_for(device, (items + per_block - 1) / per_block)), kThreads, 0, stream>>>(g);
  }
  return detail::check_launch();
}

Status unpack_bits(int device, const UnpackArgs& a) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  if (a.rows < 0 || a.k < 0 || a.words < (a.k + 63) / 64) return bad_args("bad geometry");
  const int64_t n = a.rows * a.k;
  if (n == 0) return Status::Ok();
  if (a.bits == nullptr || a.out == nullptr) return bad_args("null pointer");
  (void)cudaGetLastError();
  const int64_t blocks = grid_for(device, (n + kThreads * 4 - 1) / (kThreads * 4));
  unpack_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a.bits, a.out, a.rows, a.k, a.words);
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
