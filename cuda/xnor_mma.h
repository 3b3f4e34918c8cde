// Internal to cuda/*.cu: the tensor-core (b1 MMA) path of xnor_conv, in xnor_mma.cu.
#pragma once
#include <cuda_runtime.h>

#include "backend.h"

namespace bg {
namespace cuda {
namespace detail {

// Runs a GEMM-shaped xnor_conv (1x1 kernel, stride 1, no padding, one group, int32 or
// float output) on the tensor cores when the device and the loaded binary allow it.
// Returns false when it did nothing (the caller runs the CUDA-core kernel); true with
// *st set otherwise. sm_80+: m16n8k256 .and.popc (xnor_mma.cu); sm_75: m8n8k128
// .xor.popc (xnor_mma75.cu). Env BITGRAD_XNOR_CUDA=core never takes this path; =mma
// takes it (either kernel) for every GEMM-shaped call and fails (BITGRAD_INVALID_ARGUMENT)
// where it cannot run; =mma75 does the same with the m8n8k128 kernel on any sm_75+ device.
// K = 0 (every dot is 0) always runs the CUDA-core kernel, forced or not.
bool xnor_mma_try(int device, const XnorConvArgs& a, cudaStream_t stream, Status* st);

// xnor_mma75.cu: whether the loaded image of the m8n8k128 kernel is compute_75+ on this
// device, the number of blocks a call launches, and the launch (GEMM-shaped call, M rows
// of x, N of w, int32 or float output).
bool xnor_mma75_ok(int device);
int64_t xnor_mma75_blocks(int64_t M, int64_t N);
Status xnor_mma75_run(const XnorConvArgs& a, int64_t M, int64_t N, cudaStream_t stream);

}  // namespace detail
}  // namespace cuda
}  // namespace bg
