// CUDA backward products of the binary convolution (native/ops/xnor_conv_train_args.h):
// one thread per output element, walking j in the documented order with explicitly
// rounded float operations (__fmul_rn / __fadd_rn, no contraction), so the bits match
// the CPU's: acc plus each coefficient with the sign of its bit, in order. Coefficients that
// are 0 on the CPU (taps that reach no output pixel) are skipped: adding +0 to a sum
// that starts at +0 changes nothing. Straightforward (no tiling): parity first.
#include <cuda_runtime.h>

#include "device_state.h"

namespace bg {
namespace cuda {

namespace {

constexpr int kThreads = 256;

// gx[n][h][w][c]: j = t * coutg + co over the group's taps and output channels.
__global__ void grad_input(XnorConvBwdArgs a) {
  const int64_t total = a.n * a.h * a.wd * a.c;
  const int64_t taps = a.kh * a.kw;
  const int64_t coutg = a.cout / a.groups;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / a.c;
    const int64_t ch = i - r * a.c;
    const int64_t g = ch / a.cg;
    const int64_t ci = ch - g * a.cg;
    const int64_t ix = r % a.wd;
    const int64_t iy = (r / a.wd) % a.h;
    const int64_t ni = r / (a.wd * a.h);
    const int64_t wq = ci >> 6;
    const int bit = static_cast<int>(ci & 63);
    float acc = 0.0f;
    for (int64_t ky = 0; ky < a.kh; ++ky) {
      const int64_t ny = iy + a.ph - ky * a.dh;
      if (ny < 0 || ny % a.sh != 0 || ny / a.sh >= a.ho) continue;
      for (int64_t kx = 0; kx < a.kw; ++kx) {
        const int64_t nx = ix + a.pw - kx * a.dw;
        if (nx < 0 || nx % a.sw != 0 || nx / a.sw >= a.wo) continue;
        const int64_t p = (ni * a.ho + ny / a.sh) * a.wo + nx / a.sw;
        for (int64_t co = 0; co < coutg; ++co) {
          const int64_t cg_out = g * coutg + co;
          const float gv = __ldg(a.g + p * a.cout + cg_out);
          const float c = a.alpha ? __fmul_rn(gv, __ldg(a.alpha + cg_out)) : gv;
          acc = __fadd_rn(acc, ((__ldg(a.w + (cg_out * taps + ky * a.kw + kx) * a.gwords + wq) >> bit) & 1ull) ? c : -c);
        }
      }
    }
    a.gx[i] = acc;
  }
}

// gw[cout][kh][kw][cg]: j = output pixels in order; out-of-image taps +1 ('one') or skipped ('zero').
__global__ void grad_weight(XnorConvBwdArgs a) {
  const int64_t taps = a.kh * a.kw;
  const int64_t total = a.cout * taps * a.cg;
  const int64_t coutg = a.cout / a.groups;
  const int64_t P = a.n * a.ho * a.wo;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t co = i / (taps * a.cg);
    const int64_t t = (i / a.cg) % taps;
    const int64_t ci = i % a.cg;
    const int64_t ky = t / a.kw, kx = t % a.kw;
    const int64_t ch = (co / coutg) * a.cg + ci;
    const int64_t wq = ch >> 6;
    const int bit = static_cast<int>(ch & 63);
    float acc = 0.0f;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t ox = p % a.wo;
      const int64_t oy = (p / a.wo) % a.ho;
      const int64_t ni = p / (a.wo * a.ho);
      const int64_t iy = oy * a.sh - a.ph + ky * a.dh;
      const int64_t ix = ox * a.sw - a.pw + kx * a.dw;
      const bool inside = iy >= 0 && iy < a.h && ix >= 0 && ix < a.wd;
      if (!inside && a.pad_mode == 0) continue;
      const float c = __ldg(a.g + p * a.cout + co);
      const bool set = !inside || ((__ldg(a.x + ((ni * a.h + iy) * a.wd + ix) * a.xwords + wq) >> bit) & 1ull);
      acc = __fadd_rn(acc, set ? c : -c);
    }
    a.gw[i] = acc;
  }
}

}  // namespace

Status xnor_conv_backward(int device, const XnorConvBwdArgs& a) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  const int sms = detail::sm_count(device) > 0 ? detail::sm_count(device) : 80;
  for (int mode = 0; mode < 2; ++mode) {
    if (!(mode == 0 ? a.gx : a.gw)) continue;
    const int64_t items = mode == 0 ? a.n * a.h * a.wd * a.c : a.cout * a.kh * a.kw * a.cg;
    if (items <= 0) continue;
    int64_t blocks = (items + kThreads - 1) / kThreads;
    if (blocks > 32LL * sms) blocks = 32LL * sms;
    if (mode == 0)
      grad_input<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
    else
      grad_weight<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
    st = detail::check_launch();
    if (!st.ok) return st;
  }
  return Status::Ok();
}

}  // namespace cuda
}  // namespace bg
