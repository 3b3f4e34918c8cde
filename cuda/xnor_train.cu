// CUDA backward products of the binary dense layer (native/ops/xnor_train_args.h): one
// thread per output element, reading the bit of B and the coefficient for every j in
// order. Explicitly rounded float operations (__fmul_rn / __fadd_rn, no contraction)
// repeat the CPU's exactly: acc plus each coefficient with the sign of its bit, in order.
// Straightforward (no tiling): correctness and parity first.
#include <cuda_runtime.h>

#include "device_state.h"

namespace bg {
namespace cuda {

namespace {

constexpr int kThreads = 256;

// mode 0: out[r][q] = sum_j g[r][j] * alpha[j] * B(j, q) over j < n (r < m, B = w)
// mode 1: out[r][q] = sum_j g[j][r] * B(j, q) over j < m (r < n, B = x)
__global__ void signed_gemm(XnorLinearBwdArgs a, int mode, const uint64_t* __restrict__ bits, float* __restrict__ out) {
  const int64_t R = mode == 0 ? a.m : a.n;
  const int64_t J = mode == 0 ? a.n : a.m;
  const int64_t total = R * a.k;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / a.k;
    const int64_t q = i - r * a.k;
    const int64_t wq = q >> 6;
    const int bit = static_cast<int>(q & 63);
    float acc = 0.0f;
    for (int64_t j = 0; j < J; ++j) {
      float c;
      if (mode == 0)
        c = a.alpha ? __fmul_rn(__ldg(a.g + r * a.n + j), __ldg(a.alpha + j)) : __ldg(a.g + r * a.n + j);
      else
        c = __ldg(a.g + j * a.n + r);
      acc = __fadd_rn(acc, ((__ldg(bits + j * a.words + wq) >> bit) & 1ull) ? c : -c);
    }
    out[i] = acc;
  }
}

}  // namespace

Status xnor_linear_backward(int device, const XnorLinearBwdArgs& a) {
  cudaStream_t stream = nullptr;
  Status st = detail::enter(device, &stream);
  if (!st.ok) return st;
  const int sms = detail::sm_count(device) > 0 ? detail::sm_count(device) : 80;
  for (int mode = 0; mode < 2; ++mode) {
    float* out = mode == 0 ? a.gx : a.gw;
    if (!out) continue;
    const int64_t items = (mode == 0 ? a.m : a.n) * a.k;
    if (items <= 0) continue;
    int64_t blocks = (items + kThreads - 1) / kThreads;
    if (blocks > 32LL * sms) blocks = 32LL * sms;
    signed_gemm<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a, mode, mode == 0 ? a.w : a.x, out);
    st = detail::check_launch();
    if (!st.ok) return st;
  }
  return Status::Ok();
}

}  // namespace cuda
}  // namespace bg
