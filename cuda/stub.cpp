// backend.h for builds without a CUDA toolkit: nothing is compiled in, every device
// call fails with code BITGRAD_NO_CUDA. No CUDA header is included here.
#include "backend.h"

namespace bg {
namespace cuda {
namespace {

const char* const kNoCudaReason = "this binary was built without CUDA (no toolkit found at build time)";

Status no_cuda() {
  Status s;
  s.ok = false;
  s.code = "BITGRAD_NO_CUDA";
  s.message = kNoCudaReason;
  return s;
}

template <class T>
void clear_out(T** out) {
  if (out) *out = nullptr;
}

}  // namespace

Probe probe() {
  Probe p;
  p.compiled = false;
  p.usable = false;
  p.reason = kNoCudaReason;
  return p;
}

bool compiled() { return false; }

Status malloc_async(int, size_t, void** out) {
  clear_out(out);
  return no_cuda();
}

Status free_async(int, void*) { return no_cuda(); }

Status copy_h2d(int, void*, const void*, size_t) { return no_cuda(); }
Status copy_d2h(int, void*, const void*, size_t) { return no_cuda(); }
Status copy_d2d(int, void*, const void*, size_t) { return no_cuda(); }
Status memset_async(int, void*, int, size_t) { return no_cuda(); }

Status alloc_pinned(size_t, void** out) {
  clear_out(out);
  return no_cuda();
}

void free_pinned(void*) {}

Status on_complete(int, void (*)(void*), void*) { return no_cuda(); }
Status synchronize(int) { return no_cuda(); }

Status pool_stats(int, PoolStats* out) {
  if (out) *out = PoolStats();
  return no_cuda();
}

Status empty_cache(int) { return no_cuda(); }

// No CUDA context exists, so none can be corrupted.
Status sticky_error() { return Status::Ok(); }

size_t bce_logits_scratch_bytes(int64_t) { return 0; }

Status bce_logits(int, const BceLogitsArgs&, void*, int32_t*) { return no_cuda(); }

Status pack_bits(int, const PackArgs&, uint64_t*) { return no_cuda(); }
Status unpack_bits(int, const UnpackArgs&) { return no_cuda(); }

size_t estimator_scratch_bytes(const EstimatorArgs&) { return 0; }
Status estimator(int, const EstimatorArgs&, void*) { return no_cuda(); }

size_t scale_rows_scratch_bytes(const ScaleArgs&) { return 0; }
Status scale_rows(int, const ScaleArgs&, void*) { return no_cuda(); }
Status xnor_k(int, const XnorKArgs&) { return no_cuda(); }
size_t xnor_pp_scratch_bytes(const XnorPPArgs&) { return 0; }
Status xnor_pp(int, const XnorPPArgs&, void*) { return no_cuda(); }

size_t loss_ew_scratch_bytes(int64_t) { return 0; }
Status loss_ew(int, const LossEwArgs&, void*, int32_t*) { return no_cuda(); }

size_t class_loss_scratch_bytes(const ClassLossArgs&) { return 0; }
Status class_loss(int, const ClassLossArgs&, void*, int64_t*) { return no_cuda(); }

size_t rowwise_loss_scratch_bytes(const RowLossArgs&) { return 0; }
Status rowwise_loss(int, const RowLossArgs&, void*, int64_t*) { return no_cuda(); }

size_t research_scratch_bytes(const ResearchArgs&) { return 0; }
Status research_loss(int, const ResearchArgs&, void*, int32_t*) { return no_cuda(); }

Status xnor_conv(int, const XnorConvArgs&) { return no_cuda(); }
Status xnor_linear_backward(int, const XnorLinearBwdArgs&) { return no_cuda(); }
Status xnor_conv_backward(int, const XnorConvBwdArgs&) { return no_cuda(); }

}  // namespace cuda
}  // namespace bg
