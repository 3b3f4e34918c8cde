// The CUDA backend behind a plain C++ interface: no Node headers, no CUDA headers.
// cuda/*.cu implement it when the toolkit is found; cuda/stub.cpp implements it for
// CPU-only builds (compiled() == false, every call fails with code "BITGRAD_NO_CUDA").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include "../native/ops/bce_logits_args.h"
#include "../native/ops/estimator_args.h"
#include "../native/ops/class_loss_args.h"
#include "../native/ops/rowwise_args.h"
#include "../native/ops/loss_ew_args.h"
#include "../native/ops/research_args.h"
#include "../native/ops/pack_args.h"
#include "../native/ops/scale_args.h"
#include "../native/ops/xnor_args.h"
#include "../native/ops/xnor_train_args.h"
#include "../native/ops/xnor_conv_train_args.h"

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
// stream is done (cudaStreamAddCallback: unlike cudaLaunchHostFunc it also runs after a
// device error, which it records for sticky_error()). fn must not call CUDA; it may hand
// off to Node through a thread-safe function. On failure fn will never run.
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

// Bit packing on device pointers (native/ops/pack_args.h; same bits as the CPU path).
// *nan_offset_device (a uint64 in device memory, set to all ones by the caller) is
// lowered to the smallest input offset (in floats, from a.x) that holds a NaN.
Status pack_bits(int device, const PackArgs& a, uint64_t* nan_offset_device);
// Unpacks bits to +1 / -1 floats (rows x k, row-major) on the device.
Status unpack_bits(int device, const UnpackArgs& a);

// Straight-through estimator forward / backward on device pointers (same math as the
// CPU path, math/estimators.h). `scratch` is device memory of
// estimator_scratch_bytes(a) bytes (per-element parameter gradients), or null when 0.
size_t estimator_scratch_bytes(const EstimatorArgs& a);
Status estimator(int device, const EstimatorArgs& a, void* scratch);

// Row-statistic binarizers (native/ops/scale_args.h; same math as the CPU path,
// math/scaling.h). `scratch` is device memory of scale_rows_scratch_bytes(a) bytes.
// alpha_in / alpha_out / dalpha are device pointers.
size_t scale_rows_scratch_bytes(const ScaleArgs& a);
Status scale_rows(int device, const ScaleArgs& a, void* scratch);
// XNOR-Net activation scale K and the XNOR++ scale on device pointers; xnor_pp's
// `scratch` holds xnor_pp_scratch_bytes(a) bytes (backward partial sums).
Status xnor_k(int device, const XnorKArgs& a);
size_t xnor_pp_scratch_bytes(const XnorPPArgs& a);
Status xnor_pp(int device, const XnorPPArgs& a, void* scratch);

// Elementwise losses (native/ops/loss_ew_args.h; same math as the CPU path,
// math/loss_ew.h). `scratch` is device memory of loss_ew_scratch_bytes(a.n) bytes (loss
// partials of a reduction; may be null when 0). When a.check is set, *bad_flag_device
// (an int32 in device memory, zeroed by the caller) receives 1 on a range-check failure.
size_t loss_ew_scratch_bytes(int64_t n);
Status loss_ew(int device, const LossEwArgs& a, void* scratch, int32_t* bad_flag_device);

// crossEntropy (float32 / bfloat16 / float16 logits, float32 accumulation) on device
// pointers (native/ops/class_loss_args.h; same math as the CPU path). `scratch` is
// device memory of class_loss_scratch_bytes(a) bytes. bad_device points to two int64
// in device memory set to all ones by the caller: [0] receives the first row whose
// target is out of range (else stays all ones), [1] that target.
size_t class_loss_scratch_bytes(const ClassLossArgs& a);
Status class_loss(int device, const ClassLossArgs& a, void* scratch, int64_t* bad_device);

// Row-wise research losses (native/ops/rowwise_args.h; same math as the CPU path,
// math/rowwise_losses.h). `scratch` is device memory of rowwise_loss_scratch_bytes(a)
// bytes (may be null when 0). bad_device points to two int64 in device memory set to all
// ones by the caller: [0] receives (what << 56 | row) of the first failed check (see
// RowCheck), [1] its value.
size_t rowwise_loss_scratch_bytes(const RowLossArgs& a);
Status rowwise_loss(int device, const RowLossArgs& a, void* scratch, int64_t* bad_device);

// Research losses (native/ops/research_args.h; same math as the CPU path,
// math/research_losses.h). `scratch` is device memory of research_scratch_bytes(a)
// bytes. When a.check is set, *bad_flag_device (an int32 in device memory, zeroed by the
// caller) receives 1 if some input is NaN or outside [0, 1].
size_t research_scratch_bytes(const ResearchArgs& a);
Status research_loss(int device, const ResearchArgs& a, void* scratch, int32_t* bad_flag_device);

// XNOR-popcount convolution / GEMM on device pointers (native/ops/xnor_args.h; same
// integers, same float / bit epilogue as the CPU path). Stream-ordered; allocates
// its own scratch with malloc_async.
Status xnor_conv(int device, const XnorConvArgs& a);
// Backward products of the binary dense layer on device pointers
// (native/ops/xnor_train_args.h; same float operations as the CPU).
Status xnor_linear_backward(int device, const XnorLinearBwdArgs& a);
// Backward products of the binary convolution on device pointers
// (native/ops/xnor_conv_train_args.h; same float operations as the CPU).
Status xnor_conv_backward(int device, const XnorConvBwdArgs& a);

}  // namespace cuda
}  // namespace bg
