// Internal to cuda/*.cu: the per-device state kept by runtime.cu (stream, pool, SM
// count) and the cudaError_t -> Status mapping, for the kernel translation units.
// Includes the CUDA runtime header, so it must never reach the CPU-only build.
#pragma once
#include <cuda_runtime.h>
#include "backend.h"

namespace bg {
namespace cuda {
namespace detail {

// Entry point of every device call except probe(): fails with the sticky status if
// the context is known corrupted, validates `device`, makes it current on the calling
// thread (cudaSetDevice) and creates its state on first use. On success *stream is
// the device's bitgrad stream (non-blocking, process-wide, never destroyed).
Status enter(int device, cudaStream_t* stream);

// Streaming multiprocessors of a device (from the cached probe); 0 if unknown.
int sm_count(int device);

// cudaError_t -> Status {ok=false, code=cudaGetErrorName, message=cudaGetErrorString}.
// Records sticky errors (the first one wins; later calls fail with it) and clears the
// thread's last error for the others. cudaSuccess gives Status::Ok().
Status from_cuda(cudaError_t err);

// After kernel launches: cudaGetLastError mapped through from_cuda.
Status check_launch();

}  // namespace detail
}  // namespace cuda
}  // namespace bg
