// Turing tensor-core XNOR GEMM: mma.sync.aligned.m8n8k128.row.col.s32.b1.b1.s32.xor.popc
// (inline PTX, sm_75+). Turing has only the XOR form, so dot = K - 2·popc(a XOR w)
// (bit 1 = +1, true K); the last K word is masked to the true K as it is staged, so
// padding bits of either operand cannot leak into the XOR. On sm_80+ xnor_mma.cu's
// m16n8k256 .and.popc kernel runs instead (sm_90 only emulates .xor.popc); this one is
// reached there only when forced, to test it (BITGRAD_XNOR_CUDA=mma75).
//
// Scope as xnor_mma.cu: GEMM-shaped xnor_conv calls, int32 or float output (float =
// fmaf(float(dot), alpha, beta), then + residual).
//
// Tiling: 64 x 64 outputs per block, 128 threads = 4 warps as 2 (M) x 2 (N), warp tile
// 32 x 32 = 4 x 4 MMAs of m8n8; K in stages of 512 bits (8 words) staged through
// registers (Turing has no cp.async): the next stage's words are loaded while the
// current one is multiplied. Shared rows are 80 bytes, so a fragment load (8 rows x 4
// lanes of 32 bits) hits 32 distinct banks.
//
// Fragments (PTX ISA, m8n8k128 .b1): lane = 4·g + t; A reg: row g, k 32t..32t+31 of the
// 128-bit step; B reg: column g, same k; C c0, c1: row g, columns 2t, 2t+1. Each lane
// loads the 32-bit word at byte 16·step + 4t of its row for both operands, so A and B
// see the same k order.
//
// VERIFIED here: compiles for sm_75, sm_80 and sm_90 (nvcc 13.0). NOT VERIFIED (no GPU
// yet): results, the dispatch on a real device, timing. test/gpu/parity-xnor-mma.js
// forces this kernel on any sm_75+ device.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "../native/math/xnor_epilogue.h"
#include "device_state.h"
#include "xnor_mma.h"

namespace bg {
namespace cuda {
namespace detail {

namespace {

constexpr int kBM = 64;
constexpr int kBN = 64;
constexpr int kStageWords = 8;
constexpr int kRowBytes = 80;
constexpr int kThreads = 128;
constexpr int kWarpM = 32;
constexpr int kWarpN = 32;
constexpr int kMT = kWarpM / 8;  // m8 tiles per warp
constexpr int kNT = kWarpN / 8;  // n8 tiles per warp
constexpr int kLoads = kBM * kStageWords / kThreads;  // words per thread per operand and stage
static_assert(kBM == kBN && kLoads * kThreads == kBM * kStageWords, "tile constants");
static_assert((kBM / kWarpM) * (kBN / kWarpN) * 32 == kThreads, "warp layout");

struct Args {
  const uint64_t* x;
  const uint64_t* w;
  int64_t M, N, xstride, wstride, kwords, K;
  uint64_t last_mask;
  int64_t ntiles;
  int out_type;
  int32_t* out_i32;
  float* out_f32;
  const float* alpha;
  const float* beta;
  const float* residual;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750

__device__ __forceinline__ void mma_xor_popc(int32_t (&c)[2], uint32_t a, uint32_t b) {
  asm volatile(
      "mma.sync.aligned.m8n8k128.row.col.s32.b1.b1.s32.xor.popc {%0, %1}, {%2}, {%3}, {%0, %1};\n"
      : "+r"(c[0]), "+r"(c[1])
      : "r"(a), "r"(b));
}

// Word k0 + part of tile row `row` (0 past the rows or past K; the last K word masked).
__device__ __forceinline__ uint64_t stage_word(const uint64_t* src, int64_t r0, int64_t rows, int64_t stride, int64_t k0,
                                               int q, const Args& p) {
  const int row = q / kStageWords;
  const int part = q % kStageWords;
  const int64_t gr = r0 + row;
  const int64_t gk = k0 + part;
  if (gr >= rows || gk >= p.kwords) return 0;
  const uint64_t v = src[gr * stride + gk];
  return gk == p.kwords - 1 ? v & p.last_mask : v;
}

#endif

__global__ void __launch_bounds__(kThreads) xnor_mma75_kernel(Args p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  __shared__ __align__(16) unsigned char sa[kBM * kRowBytes];
  __shared__ __align__(16) unsigned char sb[kBN * kRowBytes];
  const int64_t m0 = (static_cast<int64_t>(blockIdx.x) / p.ntiles) * kBM;
  const int64_t n0 = (static_cast<int64_t>(blockIdx.x) % p.ntiles) * kBN;
  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int wm = warp >> 1;
  const int wn = warp & 1;
  const int g = lane >> 2;
  const int t = lane & 3;

  int32_t acc[kMT][kNT][2];
#pragma unroll
  for (int i = 0; i < kMT; ++i)
#pragma unroll
    for (int j = 0; j < kNT; ++j) acc[i][j][0] = acc[i][j][1] = 0;

  uint64_t ra[kLoads], rb[kLoads];
#pragma unroll
  for (int l = 0; l < kLoads; ++l) {
    ra[l] = stage_word(p.x, m0, p.M, p.xstride, 0, tid + l * kThreads, p);
    rb[l] = stage_word(p.w, n0, p.N, p.wstride, 0, tid + l * kThreads, p);
  }
  const int64_t stages = (p.kwords + kStageWords - 1) / kStageWords;
  for (int64_t s = 0; s < stages; ++s) {
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
      const int q = tid + l * kThreads;
      const int off = (q / kStageWords) * kRowBytes + (q % kStageWords) * 8;
      *reinterpret_cast<uint64_t*>(sa + off) = ra[l];
      *reinterpret_cast<uint64_t*>(sb + off) = rb[l];
    }
    __syncthreads();
    if (s + 1 < stages) {
      const int64_t k0 = (s + 1) * kStageWords;
#pragma unroll
      for (int l = 0; l < kLoads; ++l) {
        ra[l] = stage_word(p.x, m0, p.M, p.xstride, k0, tid + l * kThreads, p);
        rb[l] = stage_word(p.w, n0, p.N, p.wstride, k0, tid + l * kThreads, p);
      }
    }
#pragma unroll
    for (int ks = 0; ks < kStageWords / 2; ++ks) {  // four 128-bit steps
      uint32_t af[kMT], bf[kNT];
#pragma unroll
      for (int i = 0; i < kMT; ++i)
        af[i] = *reinterpret_cast<const uint32_t*>(sa + (wm * kWarpM + i * 8 + g) * kRowBytes + ks * 16 + t * 4);
#pragma unroll
      for (int j = 0; j < kNT; ++j)
        bf[j] = *reinterpret_cast<const uint32_t*>(sb + (wn * kWarpN + j * 8 + g) * kRowBytes + ks * 16 + t * 4);
#pragma unroll
      for (int i = 0; i < kMT; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j) mma_xor_popc(acc[i][j], af[i], bf[j]);
    }
    __syncthreads();  // the tiles are overwritten next stage
  }

#pragma unroll
  for (int i = 0; i < kMT; ++i) {
    const int64_t r = m0 + wm * kWarpM + i * 8 + g;
    if (r >= p.M) continue;
#pragma unroll
    for (int j = 0; j < kNT; ++j) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int64_t c = n0 + wn * kWarpN + j * 8 + 2 * t + e;
        if (c >= p.N) continue;
        const int64_t d = p.K - 2 * static_cast<int64_t>(acc[i][j][e]);
        const int64_t o = r * p.N + c;
        if (p.out_type == 0) {
          p.out_i32[o] = static_cast<int32_t>(d);
        } else {
          float f = xnor_affine(d, p.alpha[c], p.beta ? p.beta[c] : 0.0f);
          if (p.residual) f = __fadd_rn(f, p.residual[o]);
          p.out_f32[o] = f;
        }
      }
    }
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // never launched: xnor_mma75_ok checks the loaded image's arch first
#endif
}

constexpr int kMaxDevices = 64;
std::atomic<int> g_ok[kMaxDevices];  // 0 unknown, 1 yes, 2 no

}  // namespace

bool xnor_mma75_ok(int device) {
  if (device < 0 || device >= kMaxDevices) return false;
  const int known = g_ok[device].load(std::memory_order_acquire);
  if (known != 0) return known == 1;
  cudaFuncAttributes attr;
  std::memset(&attr, 0, sizeof attr);
  bool ok = false;
  if (cudaFuncGetAttributes(&attr, xnor_mma75_kernel) != cudaSuccess)
    (void)cudaGetLastError();  // not sticky: the CUDA-core kernel runs instead
  else
    ok = attr.ptxVersion >= 75 && attr.binaryVersion >= 75;
  g_ok[device].store(ok ? 1 : 2, std::memory_order_release);
  return ok;
}

Status xnor_mma75_run(const XnorConvArgs& a, int64_t M, int64_t N, cudaStream_t stream) {
  Args p;
  p.x = a.x;
  p.w = a.w;
  p.M = M;
  p.N = N;
  p.xstride = a.xwords;
  p.wstride = a.gwords;
  p.kwords = a.gwords;
  p.K = a.c;
  p.last_mask = a.c % 64 ? (UINT64_C(1) << (a.c % 64)) - 1 : ~UINT64_C(0);
  p.ntiles = (N + kBN - 1) / kBN;
  p.out_type = a.out_type;
  p.out_i32 = a.out_i32;
  p.out_f32 = a.out_f32;
  p.alpha = a.alpha;
  p.beta = a.beta;
  p.residual = a.residual;
  const int64_t blocks = ((M + kBM - 1) / kBM) * p.ntiles;
  xnor_mma75_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(p);
  return check_launch();
}

int64_t xnor_mma75_blocks(int64_t M, int64_t N) { return ((M + kBM - 1) / kBM) * ((N + kBN - 1) / kBN); }

}  // namespace detail
}  // namespace cuda
}  // namespace bg
