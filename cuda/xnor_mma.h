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
// *st set otherwise. Env BITGRAD_XNOR_CUDA=core never takes this path; =mma takes it
// for every GEMM-shaped call and fails (BITGRAD_INVALID_ARGUMENT) where it cannot run.
bool xnor_mma_try(int device, const XnorConvArgs& a, cudaStream_t stream, Status* st);

}  // namespace detail
}  // namespace cuda
}  // namespace bg
