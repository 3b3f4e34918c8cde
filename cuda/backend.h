// The CUDA backend behind a plain C++ interface: no Node headers, no CUDA headers.
// cuda/*.cu implement it when the toolkit is found; cuda/stub.cpp implements it for
// CPU-only builds (compiled() == false, every call fails with code "BITGRAD_NO_CUDA").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "../native/ops/bce_logits_args.h"

namespace bg {
namespace cuda {

struct Status {
  bool ok = true;
  std::string code;     // CUDA error name (cudaErrorMemoryAllocation, ...) or BITGRAD_*
  std::string message;  // human text
  bool oom = false;     // out of device memory
  size_t requested = 0; // bytes asked for (oom)
  size_t available = 0; // free bytes reported by the device (oom)
  bool sticky = false;  // the context is corrupted; every later call fails with this code
  static Status Ok() { return Status(); }
};

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0;
  int minor = 0;
  size_t total_bytes = 0;
  int sm_count = 0;
  bool arch_compatible = false;  // a compiled SASS or PTX can run on it
};

struct Probe {
  bool compiled = false;         // built with CUDA
  bool usable = false;           // at least one compatible device
  std::string reason;            // why not usable (or "ok")
  std::string error_code;        // CUDA error name from the probe, if any
  int driver_version = 0;        // cudaDriverGetVersion (0 when no driver)
  int runtime_version = 0;       // CUDART_VERSION compiled in
  std::vector<DeviceInfo> devices;
  std::vector<int> compiled_archs;  // e.g. {75, 80, 86, 89, 90}
  int ptx_arch = 0;                 // newest arch shipped as PTX
};

// Safe to call on machines without a driver; caches its answer.
Probe probe();
bool compiled();

// Stream-ordered allocation from the device's memory pool (cudaMallocAsync on the
// device's bitgrad stream). Out of memory gives oom = true with requested/available.
Status malloc_async(int device, size_t bytes, void** out);
// Stream-ordered free; never calls into JS, never synchronizes: safe from a GC finalizer.
Status free_async(int device, void* ptr);

// Copies are ordered on the device's stream. copy_h2d returns once `src` may be reused
// (pageable sources are staged by the driver). copy_d2h requires `dst` pinned
// (alloc_pinned) and completes asynchronously; use on_complete to learn when.
Status copy_h2d(int device, void* dst, const void* src, size_t bytes);
Status copy_d2h(int device, void* dst_pinned, const void* src, size_t bytes);
Status copy_d2d(int device, void* dst, const void* src, size_t bytes);
Status memset_async(int device, void* dst, int value, size_t bytes);

// Page-locked host staging memory.
Status alloc_pinned(size_t bytes, void** out);
void free_pinned(void* ptr);

// Runs fn(user) on a CUDA-owned thread once all work queued so far on the device's
// stream is done (cudaLaunchHostFunc). fn must not call CUDA; it may hand off to Node
// through a thread-safe function.
Status on_complete(int device, void (*fn)(void*), void* user);
// Blocks until the device's stream is idle (for *Sync reads and tests only).
Status synchronize(int device);

struct PoolStats {
  size_t reserved = 0;  // bytes the pool holds from the device
  size_t used = 0;      // bytes handed out
  size_t free_device = 0;
  size_t total_device = 0;
};
Status pool_stats(int device, PoolStats* out);
// Returns unused pool memory to the device (cudaMemPoolTrimTo 0).
Status empty_cache(int device);

// The first sticky error seen (illegal address, launch failure...), or ok.
Status sticky_error();

// bceWithLogits on device pointers (same layout as the CPU path). When
// a.check_targets is set, *bad_flag_device (an int32 in device memory, zeroed by
// the caller) receives 1 if some target is NaN or outside [0, 1].
// `scratch` is device memory of bce_logits_scratch_bytes(a.n) bytes.
size_t bce_logits_scratch_bytes(int64_t n);
Status bce_logits(int device, const BceLogitsArgs& a, void* scratch, int32_t* bad_flag_device);

}  // namespace cuda
}  // namespace bg
