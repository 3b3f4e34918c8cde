// CUDA-core XNOR-popcount convolution / GEMM fallback (native/ops/xnor_args.h): one
// thread per output (pixel, channel), or per (pixel, 64-channel output word) for bit
// output, __popcll over 64-bit words. Zero padding skips out-of-image taps and leaves
// them out of K (TCBNN-style), one padding uses the all-ones word; both give exactly
// the CPU integers. The float / bit epilogues use explicitly rounded double math
// (__dmul_rn / __dadd_rn: no contraction) so they match the CPU bit for bit.
// GEMM-shaped calls go to the tensor-core b1 MMA kernel (cuda/xnor_mma.cu) on sm_80+
// first; BITGRAD_XNOR_CUDA=core|mma forces one path.
#include <cuda_runtime.h>

#include <string>

#include "../native/math/xnor_epilogue.h"
#include "device_state.h"
#include "xnor_mma.h"

namespace bg {
namespace cuda {

namespace {

constexpr int kThreads = 256;

struct Geo {
  XnorConvArgs a;
  int64_t P, coutg, taps;
  uint64_t last_mask;
};

// Exact ±1 dot of output pixel p, channel co.
__device__ int64_t dot_at(const Geo& g, int64_t p, int64_t co) {
  const XnorConvArgs& a = g.a;
  const int64_t hw = a.ho * a.wo;
  const int64_t ni = p / hw;
  const int64_t r = p - ni * hw;
  const int64_t oy = r / a.wo;
  const int64_t ox = r - oy * a.wo;
  const int64_t grp = co / g.coutg;
  const int64_t off = grp * a.cg;
  const int64_t w0 = off >> 6;
  const int bs = static_cast<int>(off & 63);
  const uint64_t* wr = a.w + co * g.taps * a.gwords;
  int64_t k = 0, pc = 0;
  for (int64_t ky = 0; ky < a.kh; ++ky) {
    const int64_t iy = oy * a.sh - a.ph + ky * a.dh;
    const bool row_ok = iy >= 0 && iy < a.h;
    for (int64_t kx = 0; kx < a.kw; ++kx) {
      const int64_t ix = ox * a.sw - a.pw + kx * a.dw;
      const uint64_t* wt = wr + (ky * a.kw + kx) * a.gwords;
      const bool inside = row_ok && ix >= 0 && ix < a.wd;
      if (!inside && a.pad_mode == 0) continue;
      k += a.cg;
      const uint64_t* src = inside ? a.x + ((ni * a.h + iy) * a.wd + ix) * a.xwords + w0 : nullptr;
      const int64_t avail = a.xwords - w0;
      for (int64_t j = 0; j < a.gwords; ++j) {
        const uint64_t m = j == a.gwords - 1 ? g.last_mask : ~0ull;
        uint64_t v;
        if (!inside) {
          v = m;
        } else if (bs == 0) {
          v = __ldg(src + j) & m;
        } else {
          const uint64_t lo = __ldg(src + j) >> bs;
          const uint64_t hi = j + 1 < avail ? __ldg(src + j + 1) << (64 - bs) : 0ull;
          v = (lo | hi) & m;
        }
        pc += __popcll(v ^ __ldg(wt + j));
      }
    }
  }
  return k - 2 * pc;
}

__device__ float beta_at(const XnorConvArgs& a, int64_t co) { return a.beta ? a.beta[co] : 0.0f; }

__global__ void xnor_values(Geo g) {
  const XnorConvArgs& a = g.a;
  const int64_t total = g.P * a.cout;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = i / a.cout;
    const int64_t co = i - p * a.cout;
    const int64_t dot = dot_at(g, p, co);
    if (a.out_type == 0) {
      a.out_i32[i] = static_cast<int32_t>(dot);
    } else {
      float f = xnor_affine(dot, a.alpha[co], beta_at(a, co));
      if (a.residual) f = __fadd_rn(f, a.residual[i]);
      a.out_f32[i] = f;
    }
  }
}

__global__ void xnor_bits(Geo g, int64_t ow) {
  const XnorConvArgs& a = g.a;
  const int64_t total = g.P * ow;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = i / ow;
    const int64_t q = i - p * ow;
    uint64_t word = 0;
    for (int b = 0; b < 64 && q * 64 + b < a.cout; ++b) {
      const int64_t co = q * 64 + b;
      if (xnor_affine_ge0(dot_at(g, p, co), a.alpha[co], beta_at(a, co))) word |= 1ull << b;
    }
    a.out_bits[i] = word;
  }
}

Status bad_args(const std::string& what) {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_INVALID_ARGUMENT";
  s.message = "xnor_conv: " + what;
  return s;
}

}  // namespace

Status xnor_conv(int device, const XnorConvArgs& a) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  if (a.groups < 1 || a.cout % a.groups != 0 || a.cg * a.groups != a.c) return bad_args("bad groups");
  Geo g;
  g.a = a;
  g.P = a.n * a.ho * a.wo;
  g.coutg = a.cout / a.groups;
  g.taps = a.kh * a.kw;
  g.last_mask = a.cg % 64 ? (1ull << (a.cg % 64)) - 1 : ~0ull;
  if (g.P <= 0 || a.cout <= 0) return Status::Ok();
  Status mma_status;
  if (detail::xnor_mma_try(device, a, stream, &mma_status)) return mma_status;
  const int sms = detail::sm_count(device) > 0 ? detail::sm_count(device) : 80;
  if (a.out_type == 2) {
    const int64_t ow = (a.cout + 63) / 64;
    const int64_t items = g.P * ow;
    int64_t blocks = (items + kThreads - 1) / kThreads;
    if (blocks > 32LL * sms) blocks = 32LL * sms;
    xnor_bits<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(g, ow);
  } else {
    const int64_t items = g.P * a.cout;
    int64_t blocks = (items + kThreads - 1) / kThreads;
    if (blocks > 32LL * sms) blocks = 32LL * sms;
    xnor_values<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(g);
  }
  return detail::check_launch();
}

}  // namespace cuda
}  // namespace bg
