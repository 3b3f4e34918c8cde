// Tensor-core XNOR GEMM: mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc
// (inline PTX, sm_80+), with the AND-popcount identity of specs/bnn-kernels.md §0:
//   dot = K - 2·popc(a) - 2·popc(w) + 4·popc(a AND w)
// (bit 1 = +1, true K). AND rather than XOR because sm_90 only emulates the XOR form
// (spec §3); one code path for sm_80..sm_90. popc(a) per row and popc(w) per column
// are counted on the fly from the shared-memory tiles (each thread one row), with the
// last word masked to the true K, so garbage padding bits in one operand cannot leak
// (AND with the other operand's zero padding gives 0 as well).
//
// Scope: xnor_conv calls that are a plain GEMM (xnor.gemm, and 1x1 / stride 1 / no
// padding / one-group convolutions, which are the same thing), int32 or float output
// (float = xnor_affine: fmaf(float(dot), alpha, beta), then + residual: the same
// explicitly rounded operations as cuda/xnor.cu and the CPU). Bit output, other convs,
// and K = 0 stay on the CUDA-core kernel; sm_75 devices run xnor_mma75.cu's m8n8k128.
//
// Tiling: 128 x 128 outputs per block, 256 threads = 8 warps as 2 (M) x 4 (N), warp
// tile 64 x 32 = 4 x 4 MMAs of m16n8; K in stages of 512 bits (8 words), 2-stage
// cp.async double buffer; rows past M / N and words past ceil(K/64) are zero-filled by
// cp.async's src-size operand (zeros add nothing to popc(a AND w) and the correction
// uses the true popcounts and true K, so ragged edges are exact). 16-byte cp.async when
// both row strides are even and both bases 16-byte aligned, else 8-byte. Shared rows are
// 80 bytes (64 + 16 padding) so the 64-bit fragment loads of 8 rows x 4 lanes touch
// every bank exactly twice (the minimum for 256 bytes). Blocks are rasterised in groups
// of 8 M-tiles for L2 reuse.
//
// Fragments (PTX ISA, m16n8k256 .b1; same word structure as m16n8k32 .s8): lane =
// 4·g + t; A regs a0: row g, k 32t..32t+31; a1: row g+8, same k; a2: row g, k+128;
// a3: row g+8, k+128. B b0: column g, k 32t..; b1: k+128. C c0,c1: row g, columns
// 2t, 2t+1; c2,c3: row g+8. Since only popc(a AND w) summed over k is computed, any
// permutation of k applied identically to A and B is harmless: each lane loads one
// 64-bit word holding data chunks 2t (into a0/a1/b0) and 2t+1 (into a2/a3/b1) of the
// 256-bit slice, so hardware k-range [32t, 32t+32) carries data chunk 2t for both A and
// B, and [128+32t, ...) carries chunk 2t+1: a bijection, used the same on both sides.
//
// Dispatch: detail::xnor_mma_try, called from xnor_conv (cuda/xnor.cu). It runs the
// kernel only if cudaFuncGetAttributes says the loaded image was compiled for
// compute_80 or newer (ptxVersion >= 80 and binaryVersion >= 80), i.e. the device is
// sm_80+ and the real kernel body (not the sm_75 trap stub) is what runs.
// BITGRAD_XNOR_CUDA=core forces the CUDA-core kernel, =mma forces this one (error if
// it cannot run), unset / anything else: this one where possible.
//
// VERIFIED here (no GPU on the build machine; nvcc 13.0, standalone -O3 compiles):
//   - compiles for sm_75 (trap stub, 4 registers), sm_80 and sm_90; also inside the
//     addon build with BITGRAD_BUILD_DIR=build-mma BITGRAD_CUDA_ARCHS=80,90.
//   - `nvcc -ptx -arch=sm_90` (and sm_80): 64 x mma.sync.aligned.m16n8k256.row.col.s32
//     .b1.b1.s32.and.popc (32 per kernel variant = 2 steps x 16), zero .xor.popc; A
//     operands {lo.x, hi.x, lo.y, hi.y} from ld.shared.v2.u32 at row r and r + 8
//     (+640 bytes = 8 x 80), B from the B tile (+10240); cp.async.cg (16 B) in the V16
//     variant, cp.async.ca (8 B) in the other, commit_group / wait_group present.
//   - ptxas -v: sm_80 128 / 126 registers (8-byte / 16-byte variant), no spills;
//     sm_90 128 registers with 12 bytes spilled (16-byte stack) in the 8-byte variant
//     only, 124 and no spills in the 16-byte one; 41,984 bytes static shared memory;
//     __launch_bounds__(256, 2) caps registers at 128 (2 blocks / SM).
// NOT VERIFIED (needs a GPU run: scripts/gpu-check.sh runs test/gpu/parity-xnor-mma.js
// through test/gpu/cases.js; `node bench/xnor.js --gpu` for timing): that the results
// are right (fragment layout, bit order, the k permutation above, edge zero-fill,
// epilogue), the dispatch decision on a real device (cudaFuncGetAttributes values),
// compute-sanitizer cleanliness, any timing and the fraction of peak.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../native/math/xnor_epilogue.h"
#include "device_state.h"
#include "xnor_mma.h"

namespace bg {
namespace cuda {
namespace detail {

namespace {

constexpr int kBM = 128;           // block tile rows (M: pixels / rows of x)
constexpr int kBN = 128;           // block tile columns (N: output channels / rows of w)
constexpr int kStageWords = 8;     // 512 bits of K per stage
constexpr int kRowBytes = 80;      // 64 bytes of data + 16 of padding per shared row
constexpr int kTileBytes = kBM * kRowBytes;
constexpr int kThreads = 256;      // 8 warps
constexpr int kWarpsN = 4;         // warps laid out 2 (M) x 4 (N)
constexpr int kWarpM = 64;
constexpr int kWarpN = 32;
constexpr int kMT = kWarpM / 16;   // m16 tiles per warp
constexpr int kNT = kWarpN / 8;    // n8 tiles per warp
constexpr int kGroupM = 8;         // rasterisation group (M-tiles per sweep over N)
static_assert(kBM == kBN, "one shared tile shape for A and B");
static_assert(kThreads == kBM + kBN, "one thread per shared row for the popcounts");
static_assert((kBM / kWarpM) * kWarpsN * 32 == kThreads, "warp layout");
static_assert(kStageWords == 8 && kTileBytes == kBM * kRowBytes && kMT * 16 == kWarpM && kNT * 8 == kWarpN && kGroupM > 0,
              "tile constants (also keeps the sm_75 stub pass free of unused-variable warnings)");

struct MmaArgs {
  const uint64_t* x;
  const uint64_t* w;
  int64_t M, N;              // rows of x, rows of w
  int64_t xstride, wstride;  // words per row
  int64_t kwords;            // ceil(K / 64): words read per row (later words are zero)
  int64_t K;                 // true bit count
  uint64_t last_mask;        // valid bits of word kwords - 1
  int64_t mtiles, ntiles;
  int out_type;              // 0 int32, 1 float
  int vec_i32;               // int32 pairs may be stored as one 8-byte int2
  int32_t* out_i32;
  float* out_f32;
  const float* alpha;
  const float* beta;
  const float* residual;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes) : "memory");
}

__device__ __forceinline__ void cp_async8(void* smem, const void* gmem, int src_bytes) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes) : "memory");
}

__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void mma_and_popc(int32_t (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Loads K words [k0, k0 + 8) of tile rows [r0, r0 + 128) of one operand into a shared
// tile; rows >= rows_total and words >= kwords become zero.
template <bool V16>
__device__ __forceinline__ void load_tile(unsigned char* tile, const uint64_t* src, int64_t r0, int64_t rows_total,
                                          int64_t stride, int64_t k0, int64_t kwords) {
  constexpr int kWordsPer = V16 ? 2 : 1;
  constexpr int kPerRow = kStageWords / kWordsPer;
  constexpr int kPerThread = kBM * kPerRow / kThreads;
#pragma unroll
  for (int i = 0; i < kPerThread; ++i) {
    const int q = static_cast<int>(threadIdx.x) + i * kThreads;
    const int row = q / kPerRow;
    const int part = q % kPerRow;
    const int64_t gr = r0 + row;
    const int64_t gk = k0 + part * kWordsPer;
    int64_t left = kwords - gk;  // words of this piece inside the row's K
    if (left > kWordsPer) left = kWordsPer;
    if (left < 0 || gr >= rows_total) left = 0;
    const uint64_t* g = left > 0 ? src + gr * stride + gk : src;
    void* d = tile + row * kRowBytes + part * kWordsPer * 8;
    if (V16)
      cp_async16(d, g, static_cast<int>(left * 8));
    else
      cp_async8(d, g, static_cast<int>(left * 8));
  }
}

#endif  // __CUDA_ARCH__ >= 800

template <bool V16>
__global__ void __launch_bounds__(kThreads, 2) xnor_mma_kernel(MmaArgs p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  __shared__ __align__(16) unsigned char smem[2][2][kTileBytes];  // [stage][A, B]
  __shared__ int32_t s_pop[kBM + kBN];                            // popc(a) rows, popc(w) columns

  // Grouped rasterisation: consecutive blocks share M-tiles (x rows) in L2.
  const int64_t bid = blockIdx.x;
  const int64_t per_group = static_cast<int64_t>(kGroupM) * p.ntiles;
  const int64_t grp = bid / per_group;
  const int64_t first_m = grp * kGroupM;
  const int64_t gm = p.mtiles - first_m < kGroupM ? p.mtiles - first_m : kGroupM;
  const int64_t in_grp = bid - grp * per_group;
  const int64_t m0 = (first_m + in_grp % gm) * kBM;
  const int64_t n0 = (in_grp / gm) * kBN;

  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int wm = warp / kWarpsN;
  const int wn = warp % kWarpsN;
  const int g = lane >> 2;
  const int t = lane & 3;

  int32_t acc[kMT][kNT][4];
#pragma unroll
  for (int i = 0; i < kMT; ++i)
#pragma unroll
    for (int j = 0; j < kNT; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0;

  // This thread's popcount row: A row tid, or B row tid - 128.
  const bool pop_b = tid >= kBM;
  const int pop_row = pop_b ? tid - kBM : tid;
  int32_t pop = 0;

  const int64_t stages = (p.kwords + kStageWords - 1) / kStageWords;
  load_tile<V16>(smem[0][0], p.x, m0, p.M, p.xstride, 0, p.kwords);
  load_tile<V16>(smem[0][1], p.w, n0, p.N, p.wstride, 0, p.kwords);
  cp_async_commit();

  for (int64_t s = 0; s < stages; ++s) {
    const int cur = static_cast<int>(s & 1);
    if (s + 1 < stages) {
      const int64_t k0 = (s + 1) * kStageWords;
      load_tile<V16>(smem[cur ^ 1][0], p.x, m0, p.M, p.xstride, k0, p.kwords);
      load_tile<V16>(smem[cur ^ 1][1], p.w, n0, p.N, p.wstride, k0, p.kwords);
    }
    cp_async_commit();  // possibly empty: keeps the group count uniform
    cp_async_wait<1>();  // stage s has landed (this thread's copies)
    __syncthreads();     // ... and everyone else's

    const unsigned char* sa = smem[cur][0];
    const unsigned char* sb = smem[cur][1];
#pragma unroll
    for (int ks = 0; ks < kStageWords / 4; ++ks) {  // two 256-bit steps
      uint32_t af[kMT][4];
      uint32_t bf[kNT][2];
#pragma unroll
      for (int i = 0; i < kMT; ++i) {
        const int r = wm * kWarpM + i * 16 + g;
        const uint2 lo = *reinterpret_cast<const uint2*>(sa + r * kRowBytes + ks * 32 + t * 8);
        const uint2 hi = *reinterpret_cast<const uint2*>(sa + (r + 8) * kRowBytes + ks * 32 + t * 8);
        af[i][0] = lo.x;  // row g,   chunk 2t
        af[i][1] = hi.x;  // row g+8, chunk 2t
        af[i][2] = lo.y;  // row g,   chunk 2t+1
        af[i][3] = hi.y;  // row g+8, chunk 2t+1
      }
#pragma unroll
      for (int j = 0; j < kNT; ++j) {
        const int c = wn * kWarpN + j * 8 + g;
        const uint2 v = *reinterpret_cast<const uint2*>(sb + c * kRowBytes + ks * 32 + t * 8);
        bf[j][0] = v.x;  // column g, chunk 2t
        bf[j][1] = v.y;  // column g, chunk 2t+1
      }
#pragma unroll
      for (int i = 0; i < kMT; ++i)
#pragma unroll
        for (int j = 0; j < kNT; ++j) mma_and_popc(acc[i][j], af[i], bf[j]);
    }

    // Popcount of this thread's row over the stage's words, last word masked to K.
    {
      const unsigned char* row = smem[cur][pop_b ? 1 : 0] + pop_row * kRowBytes;
      const int64_t k0 = s * kStageWords;
#pragma unroll
      for (int q = 0; q < kStageWords / 2; ++q) {
        const ulonglong2 v = *reinterpret_cast<const ulonglong2*>(row + q * 16);
        uint64_t w0 = v.x, w1 = v.y;
        if (k0 + 2 * q == p.kwords - 1) w0 &= p.last_mask;
        if (k0 + 2 * q + 1 == p.kwords - 1) w1 &= p.last_mask;
        pop += __popcll(w0) + __popcll(w1);
      }
    }
    __syncthreads();  // stage cur is overwritten by the loads of the next iteration
  }
  cp_async_wait<0>();
  s_pop[tid] = pop;
  __syncthreads();

  // Epilogue: dot = K - 2 popc(a) - 2 popc(w) + 4 acc, in 64-bit.
#pragma unroll
  for (int i = 0; i < kMT; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int lr = wm * kWarpM + i * 16 + g + h * 8;
      const int64_t r = m0 + lr;
      if (r >= p.M) continue;
      const int64_t base_r = p.K - 2 * static_cast<int64_t>(s_pop[lr]);
#pragma unroll
      for (int j = 0; j < kNT; ++j) {
        const int lc = wn * kWarpN + j * 8 + 2 * t;
        const int64_t c = n0 + lc;
        if (c >= p.N) continue;
        const bool two = c + 1 < p.N;
        const int64_t d0 = base_r - 2 * static_cast<int64_t>(s_pop[kBM + lc]) + 4 * static_cast<int64_t>(acc[i][j][2 * h]);
        const int64_t d1 =
            two ? base_r - 2 * static_cast<int64_t>(s_pop[kBM + lc + 1]) + 4 * static_cast<int64_t>(acc[i][j][2 * h + 1]) : 0;
        const int64_t o = r * p.N + c;
        if (p.out_type == 0) {
          if (two && p.vec_i32) {
            *reinterpret_cast<int2*>(p.out_i32 + o) = make_int2(static_cast<int>(d0), static_cast<int>(d1));
          } else {
            p.out_i32[o] = static_cast<int32_t>(d0);
            if (two) p.out_i32[o + 1] = static_cast<int32_t>(d1);
          }
        } else {
          float f0 = xnor_affine(d0, p.alpha[c], p.beta ? p.beta[c] : 0.0f);
          if (p.residual) f0 = __fadd_rn(f0, p.residual[o]);
          p.out_f32[o] = f0;
          if (two) {
            float f1 = xnor_affine(d1, p.alpha[c + 1], p.beta ? p.beta[c + 1] : 0.0f);
            if (p.residual) f1 = __fadd_rn(f1, p.residual[o + 1]);
            p.out_f32[o + 1] = f1;
          }
        }
      }
    }
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // never launched: xnor_mma_try checks the loaded image's arch first
#endif
}

Status forced_fail(const std::string& why) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "xnor_conv: BITGRAD_XNOR_CUDA=mma/mma75 but " + why;
  return s;
}

// 1 = the loaded images of both kernel variants are compute_80+, 0 = not; per device.
constexpr int kMaxDevices = 64;
std::atomic<int> g_image_ok[kMaxDevices];
std::atomic<bool> g_image_known[kMaxDevices];

bool image_ok(int device) {
  if (device < 0 || device >= kMaxDevices) return false;
  if (g_image_known[device].load(std::memory_order_acquire)) return g_image_ok[device].load(std::memory_order_relaxed) != 0;
  bool ok = true;
  for (int v = 0; v < 2 && ok; ++v) {
    cudaFuncAttributes attr;
    std::memset(&attr, 0, sizeof attr);
    const cudaError_t e = v == 0 ? cudaFuncGetAttributes(&attr, xnor_mma_kernel<true>)
                                 : cudaFuncGetAttributes(&attr, xnor_mma_kernel<false>);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();  // not sticky: clear it, use the CUDA-core kernel
      ok = false;
    } else {
      ok = attr.ptxVersion >= 80 && attr.binaryVersion >= 80;
    }
  }
  g_image_ok[device].store(ok ? 1 : 0, std::memory_order_relaxed);
  g_image_known[device].store(true, std::memory_order_release);
  return ok;
}

}  // namespace

bool xnor_mma_try(int device, const XnorConvArgs& a, cudaStream_t stream, Status* st) {
  const char* env = std::getenv("BITGRAD_XNOR_CUDA");
  const bool force_core = env && std::strcmp(env, "core") == 0;
  const bool force_75 = env && std::strcmp(env, "mma75") == 0;
  const bool force_mma = force_75 || (env && std::strcmp(env, "mma") == 0);
  if (force_core) return false;
  const bool gemm_shaped = a.kh == 1 && a.kw == 1 && a.sh == 1 && a.sw == 1 && a.ph == 0 && a.pw == 0 &&
                           a.groups == 1 && a.ho == a.h && a.wo == a.wd && a.cg == a.c &&
                           a.gwords == (a.c + 63) / 64 && a.xwords >= a.gwords;
  if (!gemm_shaped) return false;
  if (a.out_type == 2) {
    if (!force_mma) return false;
    *st = forced_fail("bit output has no tensor-core path yet");
    return true;
  }
  if (a.c <= 0) return false;  // K = 0: every dot is 0; the CUDA-core kernel writes it
  const int64_t M = a.n * a.h * a.wd;
  const int64_t N = a.cout;
  const int64_t mt = (M + kBM - 1) / kBM;
  const int64_t nt = (N + kBN - 1) / kBN;
  // Turing (or forced): the m8n8k128 .xor.popc kernel.
  if (force_75 || !image_ok(device)) {
    if (xnor_mma75_blocks(M, N) > INT64_C(0x7fffffff) || !xnor_mma75_ok(device)) {
      if (!force_mma) return false;
      *st = forced_fail(xnor_mma75_ok(device) ? "the grid would exceed 2^31 - 1 blocks"
                                              : "the device or this build has no sm_75+ kernel image");
      return true;
    }
    *st = xnor_mma75_run(a, M, N, stream);
    return true;
  }
  if (mt * nt > INT64_C(0x7fffffff)) {
    if (!force_mma) return false;
    *st = forced_fail("the grid would exceed 2^31 - 1 blocks");
    return true;
  }
  MmaArgs p;
  p.x = a.x;
  p.w = a.w;
  p.M = M;
  p.N = N;
  p.xstride = a.xwords;
  p.wstride = a.gwords;
  p.kwords = a.gwords;
  p.K = a.c;
  p.last_mask = a.c % 64 ? (UINT64_C(1) << (a.c % 64)) - 1 : ~UINT64_C(0);
  p.mtiles = mt;
  p.ntiles = nt;
  p.out_type = a.out_type;
  p.vec_i32 = (N % 2 == 0 && (reinterpret_cast<uintptr_t>(a.out_i32) & 7) == 0) ? 1 : 0;
  p.out_i32 = a.out_i32;
  p.out_f32 = a.out_f32;
  p.alpha = a.alpha;
  p.beta = a.beta;
  p.residual = a.residual;
  const bool v16 = p.xstride % 2 == 0 && p.wstride % 2 == 0 && (reinterpret_cast<uintptr_t>(a.x) & 15) == 0 &&
                   (reinterpret_cast<uintptr_t>(a.w) & 15) == 0;
  const unsigned blocks = static_cast<unsigned>(mt * nt);
  if (v16)
    xnor_mma_kernel<true><<<blocks, kThreads, 0, stream>>>(p);
  else
    xnor_mma_kernel<false><<<blocks, kThreads, 0, stream>>>(p);
  *st = check_launch();
  return true;
}

}  // namespace detail
}  // namespace cuda
}  // namespace bg
