// Device management of the CUDA backend: probe, per-device stream and memory pool,
// stream-ordered allocation and copies, host callbacks, error mapping with sticky
// error tracking. See backend.h for the contract of each call.
//
// Lifetime: everything process-wide here is created lazily and never destroyed (the
// streams, the pool settings, the cached probe). Nothing runs CUDA from a static
// destructor, so process exit and worker_threads teardown cannot call into a CUDA
// runtime that is already shutting down.
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "backend.h"
#include "device_state.h"

#ifndef BITGRAD_CUDA_ARCHS
#error "BITGRAD_CUDA_ARCHS (e.g. \"75,80,86,89,90\") must be defined by the build"
#endif
#ifndef BITGRAD_PTX_ARCH
#error "BITGRAD_PTX_ARCH (e.g. 90) must be defined by the build"
#endif

namespace bg {
namespace cuda {
namespace {

// ---------------------------------------------------------------------------
// Sticky errors

// The first sticky (context-corrupting) error seen, as a cudaError_t value; 0 = none.
// A plain atomic int so the stream callback can record it without calling CUDA.
std::atomic<int> g_sticky_code{0};

bool is_sticky(cudaError_t e) {
  switch (static_cast<int>(e)) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorInvalidPc:
    case cudaErrorUnknown:
    case cudaErrorECCUncorrectable:
    // Also documented as leaving the context unusable:
    case cudaErrorLaunchTimeout:
    case cudaErrorInvalidAddressSpace:
    // By value: these names are missing from older 12.x headers.
    case 226:  // cudaErrorContained
    case 721:  // cudaErrorTensorMemoryLeak
    case 810:  // cudaErrorMpsClientTerminated
    case 911:  // cudaErrorExternalDevice
      return true;
    default:
      return false;
  }
}

void record_sticky(cudaError_t e) {
  int expected = 0;
  g_sticky_code.compare_exchange_strong(expected, static_cast<int>(e), std::memory_order_acq_rel);
}

// The recorded sticky error as a Status (ok when none). cudaGetErrorName/String only
// look up static strings; they do not touch the device or the context.
Status sticky_status() {
  const int c = g_sticky_code.load(std::memory_order_acquire);
  if (c == 0) return Status::Ok();
  const cudaError_t e = static_cast<cudaError_t>(c);
  Status s;
  s.ok = false;
  s.code = cudaGetErrorName(e);
  s.message = std::string(cudaGetErrorString(e)) +
              " (the CUDA context is unusable after this error; restart the process)";
  s.sticky = true;
  return s;
}

Status make_status(const std::string& code, const std::string& message) {
  Status s;
  s.ok = false;
  s.code = code;
  s.message = message;
  return s;
}

// For calls whose failure is tolerated: clear the thread's last error.
void quiet(cudaError_t e) {
  if (e != cudaSuccess) (void)cudaGetLastError();
}

// ---------------------------------------------------------------------------
// Probe

std::vector<int> parse_archs(const char* csv) {
  std::vector<int> out;
  const char* p = csv;
  while (*p) {
    while (*p && (*p < '0' || *p > '9')) ++p;  // skip separators
    if (!*p) break;
    int v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    // A suffix such as the "a" of "90a" is skipped up to the next separator.
    while (*p && *p != ',' && *p != ';' && *p != ' ') ++p;
    out.push_back(v);
  }
  return out;
}

std::string join_archs(const std::vector<int>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  return s;
}

std::string version_string(int v) {  // 13000 -> "13.0"
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

// SASS of sm_XY runs on devices of major X with minor >= Y; PTX of compute_Z is JIT
// compiled for any device of compute capability >= Z.
bool arch_ok(int major, int minor, const std::vector<int>& sass, int ptx) {
  const int cc = major * 10 + minor;
  for (int a : sass) {
    if (a / 10 == major && a % 10 <= minor) return true;
  }
  return ptx > 0 && cc >= ptx;
}

Probe run_probe() {
  Probe p;
  p.compiled = true;
  p.runtime_version = CUDART_VERSION;
  p.compiled_archs = parse_archs(BITGRAD_CUDA_ARCHS);
  p.ptx_arch = BITGRAD_PTX_ARCH;

  int drv = 0;
  if (cudaDriverGetVersion(&drv) != cudaSuccess) {
    drv = 0;
    (void)cudaGetLastError();
  }
  p.driver_version = drv;

  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();  // not sticky: later calls must not inherit it
    p.usable = false;
    p.error_code = cudaGetErrorName(err);
    if (err == cudaErrorInsufficientDriver) {
      if (drv == 0) {
        p.reason = "no NVIDIA driver (cudaErrorInsufficientDriver)";
      } else {
        p.reason = "the NVIDIA driver (CUDA " + version_string(drv) +
                   ") is older than the CUDA runtime this binary was built with (" +
                   version_string(CUDART_VERSION) + ") (cudaErrorInsufficientDriver)";
      }
    } else if (err == cudaErrorNoDevice) {
      p.reason = "no CUDA device (cudaErrorNoDevice)";
    } else {
      p.reason = std::string("cannot count CUDA devices: ") + cudaGetErrorString(err) + " (" +
                 p.error_code + ")";
    }
    return p;
  }

  for (int d = 0; d < count; ++d) {
    DeviceInfo info;
    info.index = d;
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, d);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      if (p.error_code.empty()) p.error_code = cudaGetErrorName(e);
      p.devices.push_back(info);
      continue;
    }
    info.name = prop.name;
    info.major = prop.major;
    info.minor = prop.minor;
    info.total_bytes = prop.totalGlobalMem;
    info.sm_count = prop.multiProcessorCount;
    info.arch_compatible = arch_ok(prop.major, prop.minor, p.compiled_archs, p.ptx_arch);
    p.devices.push_back(info);
  }

  for (const DeviceInfo& d : p.devices) {
    if (d.arch_compatible) {
      p.usable = true;
      break;
    }
  }
  if (p.usable) {
    p.reason = "ok";
  } else if (p.devices.empty()) {
    p.reason = "no CUDA device";
  } else {
    const DeviceInfo& d = p.devices[0];
    if (d.major == 0) {
      p.reason = "cannot query device 0 (" + p.error_code + ")";
    } else {
      const int cc = d.major * 10 + d.minor;
      int oldest = p.ptx_arch;
      for (int a : p.compiled_archs) oldest = a < oldest ? a : oldest;
      const std::string sm = "device 0 (sm_" + std::to_string(cc) + ")";
      if (cc < oldest) {
        p.reason = sm + " is older than every compiled arch (" + join_archs(p.compiled_archs) + ")";
      } else {
        p.reason = sm + " can run none of the compiled archs (SASS " +
                   join_archs(p.compiled_archs) + ", PTX " + std::to_string(p.ptx_arch) + ")";
      }
    }
  }
  return p;
}

// Leaked on purpose (no static destructor).
const Probe& cached_probe() {
  static std::once_flag once;
  static const Probe* cached = nullptr;
  std::call_once(once, [] { cached = new Probe(run_probe()); });
  return *cached;
}

// ---------------------------------------------------------------------------
// Per-device state

struct DeviceState {
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;
};

constexpr int kMaxDevices = 64;
std::atomic<DeviceState*> g_state[kMaxDevices] = {};
std::mutex g_state_mu;

// Called with g_state_mu held and `device` current.
Status create_state(int device, DeviceState** out) {
  int pools = 0;
  cudaError_t err = cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device);
  if (err != cudaSuccess) return detail::from_cuda(err);
  if (!pools) {
    return make_status("cudaErrorNotSupported",
                       "device " + std::to_string(device) +
                           " does not support stream-ordered memory pools (cudaMallocAsync)");
  }
  cudaStream_t stream = nullptr;
  err = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (err != cudaSuccess) return detail::from_cuda(err);
  cudaMemPool_t pool = nullptr;
  err = cudaDeviceGetDefaultMemPool(&pool, device);
  if (err == cudaSuccess) {
    // Keep freed memory cached in the pool instead of returning it at each sync.
    uint64_t threshold = UINT64_MAX;
    err = cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold);
  }
  if (err != cudaSuccess) {
    Status st = detail::from_cuda(err);
    quiet(cudaStreamDestroy(stream));
    return st;
  }
  DeviceState* s = new DeviceState;
  s->stream = stream;
  s->pool = pool;
  *out = s;
  return Status::Ok();
}

// Sticky check, device validation, cudaSetDevice, lazy state.
Status enter_state(int device, DeviceState** out) {
  *out = nullptr;
  Status st = sticky_status();
  if (!st.ok) return st;
  const Probe& p = cached_probe();
  if (device < 0 || device >= static_cast<int>(p.devices.size()) || device >= kMaxDevices) {
    if (p.devices.empty() && !p.error_code.empty()) return make_status(p.error_code, p.reason);
    return make_status("cudaErrorInvalidDevice",
                       "CUDA device " + std::to_string(device) + " does not exist (" +
                           std::to_string(p.devices.size()) + " device(s) found)");
  }
  cudaError_t err = cudaSetDevice(device);
  if (err != cudaSuccess) return detail::from_cuda(err);
  DeviceState* s = g_state[device].load(std::memory_order_acquire);
  if (!s) {
    std::lock_guard<std::mutex> lock(g_state_mu);
    s = g_state[device].load(std::memory_order_acquire);
    if (!s) {
      st = create_state(device, &s);
      if (!st.ok) return st;
      g_state[device].store(s, std::memory_order_release);
    }
  }
  *out = s;
  return Status::Ok();
}

std::string bytes_string(size_t b) {
  char buf[64];
  const double mib = static_cast<double>(b) / (1024.0 * 1024.0);
  std::snprintf(buf, sizeof buf, "%zu bytes (%.1f MiB)", b, mib);
  return buf;
}

Status oom_status(int device, size_t bytes) {
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    (void)cudaGetLastError();
    free_b = 0;
  }
  Status s = make_status("cudaErrorMemoryAllocation",
                         "CUDA out of memory on device " + std::to_string(device) +
                             ": tried to allocate " + bytes_string(bytes) + ", " +
                             bytes_string(free_b) + " free");
  s.oom = true;
  s.requested = bytes;
  s.available = free_b;
  return s;
}

// Host callback trampoline (cudaStreamAddCallback): unlike cudaLaunchHostFunc it runs
// exactly once even after a device error, so a pending completion can never be lost.
struct HostCall {
  void (*fn)(void*);
  void* user;
};

void CUDART_CB host_call_trampoline(cudaStream_t, cudaError_t status, void* data) {
  HostCall* hc = static_cast<HostCall*>(data);
  void (*fn)(void*) = hc->fn;
  void* user = hc->user;
  delete hc;
  // Only persistent errors reach a callback; record it (no CUDA call allowed here) so
  // that whoever handles the completion sees it through sticky_error().
  if (status != cudaSuccess) record_sticky(status);
  fn(user);
}

}  // namespace

// ---------------------------------------------------------------------------
// Internal interface (device_state.h)

namespace detail {

Status from_cuda(cudaError_t err) {
  if (err == cudaSuccess) return Status::Ok();
  if (is_sticky(err)) {
    record_sticky(err);
    return sticky_status();  // the first one recorded, which may be an earlier error
  }
  // Clear the thread's last error so it does not resurface from an unrelated call.
  const cudaError_t last = cudaGetLastError();
  if (is_sticky(last)) record_sticky(last);
  Status s;
  s.ok = false;
  s.code = cudaGetErrorName(err);
  s.message = cudaGetErrorString(err);
  return s;
}

Status check_launch() { return from_cuda(cudaGetLastError()); }

Status enter(int device, cudaStream_t* stream) {
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  *stream = st.ok ? s->stream : nullptr;
  return st;
}

int sm_count(int device) {
  const Probe& p = cached_probe();
  if (device < 0 || device >= static_cast<int>(p.devices.size())) return 0;
  return p.devices[device].sm_count;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// backend.h

Probe probe() { return cached_probe(); }

bool compiled() { return true; }

Status malloc_async(int device, size_t bytes, void** out) {
  if (!out) return make_status("cudaErrorInvalidValue", "malloc_async: null output pointer");
  *out = nullptr;
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  if (bytes == 0) return Status::Ok();

  void* p = nullptr;
  cudaError_t err = cudaMallocFromPoolAsync(&p, bytes, s->pool, s->stream);
  if (err == cudaErrorMemoryAllocation) {
    // Give the pool's cached, unused memory back to the device and retry; then once
    // more after the stream drained (completes pending stream-ordered frees).
    (void)cudaGetLastError();
    quiet(cudaMemPoolTrimTo(s->pool, 0));
    err = cudaMallocFromPoolAsync(&p, bytes, s->pool, s->stream);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      cudaError_t serr = cudaStreamSynchronize(s->stream);
      if (serr != cudaSuccess) return detail::from_cuda(serr);
      quiet(cudaMemPoolTrimTo(s->pool, 0));
      err = cudaMallocFromPoolAsync(&p, bytes, s->pool, s->stream);
    }
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      return oom_status(device, bytes);
    }
  }
  if (err != cudaSuccess) return detail::from_cuda(err);
  *out = p;
  return Status::Ok();
}

Status free_async(int device, void* ptr) {
  if (!ptr) return Status::Ok();
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  return detail::from_cuda(cudaFreeAsync(ptr, s->stream));
}

Status copy_h2d(int device, void* dst, const void* src, size_t bytes) {
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  if (bytes == 0) return Status::Ok();
  // Pageable sources are staged by the driver before cudaMemcpyAsync returns; a
  // page-locked (or managed) source is read asynchronously, so wait for the copy to
  // keep the "src may be reused on return" contract.
  bool pageable = true;
  cudaPointerAttributes attr;
  if (cudaPointerGetAttributes(&attr, src) == cudaSuccess) {
    pageable = attr.type == cudaMemoryTypeUnregistered;
  } else {
    (void)cudaGetLastError();
  }
  cudaError_t err = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s->stream);
  if (err != cudaSuccess) return detail::from_cuda(err);
  if (!pageable) return detail::from_cuda(cudaStreamSynchronize(s->stream));
  return Status::Ok();
}

Status copy_d2h(int device, void* dst_pinned, const void* src, size_t bytes) {
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  if (bytes == 0) return Status::Ok();
  return detail::from_cuda(
      cudaMemcpyAsync(dst_pinned, src, bytes, cudaMemcpyDeviceToHost, s->stream));
}

Status copy_d2d(int device, void* dst, const void* src, size_t bytes) {
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  if (bytes == 0) return Status::Ok();
  return detail::from_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s->stream));
}

Status memset_async(int device, void* dst, int value, size_t bytes) {
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  if (bytes == 0) return Status::Ok();
  return detail::from_cuda(cudaMemsetAsync(dst, value, bytes, s->stream));
}

Status alloc_pinned(size_t bytes, void** out) {
  if (!out) return make_status("cudaErrorInvalidValue", "alloc_pinned: null output pointer");
  *out = nullptr;
  Status st = sticky_status();
  if (!st.ok) return st;
  const Probe& p = cached_probe();
  if (p.devices.empty() && !p.error_code.empty()) return make_status(p.error_code, p.reason);
  if (bytes == 0) return Status::Ok();
  // Portable: page-locked for every device's context, not only the current one.
  cudaError_t err = cudaHostAlloc(out, bytes, cudaHostAllocPortable);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    *out = nullptr;
    Status s = make_status("cudaErrorMemoryAllocation",
                           "cannot allocate " + bytes_string(bytes) + " of page-locked host memory");
    s.oom = true;
    s.requested = bytes;
    return s;
  }
  if (err != cudaSuccess) {
    *out = nullptr;
    return detail::from_cuda(err);
  }
  return Status::Ok();
}

void free_pinned(void* ptr) {
  if (!ptr) return;
  if (g_sticky_code.load(std::memory_order_acquire) != 0) return;  // leak: context is gone
  cudaError_t err = cudaFreeHost(ptr);
  if (err != cudaSuccess) (void)detail::from_cuda(err);
}

Status on_complete(int device, void (*fn)(void*), void* user) {
  if (!fn) return make_status("cudaErrorInvalidValue", "on_complete: null callback");
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  HostCall* hc = new HostCall{fn, user};
  cudaError_t err = cudaStreamAddCallback(s->stream, host_call_trampoline, hc, 0);
  if (err != cudaSuccess) {
    delete hc;  // not queued: fn will not run
    return detail::from_cuda(err);
  }
  return Status::Ok();
}

Status synchronize(int device) {
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  return detail::from_cuda(cudaStreamSynchronize(s->stream));
}

Status pool_stats(int device, PoolStats* out) {
  if (!out) return make_status("cudaErrorInvalidValue", "pool_stats: null output pointer");
  *out = PoolStats();
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  uint64_t reserved = 0, used = 0;
  cudaError_t err = cudaMemPoolGetAttribute(s->pool, cudaMemPoolAttrReservedMemCurrent, &reserved);
  if (err == cudaSuccess)
    err = cudaMemPoolGetAttribute(s->pool, cudaMemPoolAttrUsedMemCurrent, &used);
  size_t free_b = 0, total_b = 0;
  if (err == cudaSuccess) err = cudaMemGetInfo(&free_b, &total_b);
  if (err != cudaSuccess) return detail::from_cuda(err);
  out->reserved = static_cast<size_t>(reserved);
  out->used = static_cast<size_t>(used);
  out->free_device = free_b;
  out->total_device = total_b;
  return Status::Ok();
}

Status empty_cache(int device) {
  DeviceState* s = nullptr;
  Status st = enter_state(device, &s);
  if (!st.ok) return st;
  cudaError_t err = cudaStreamSynchronize(s->stream);
  if (err != cudaSuccess) return detail::from_cuda(err);
  return detail::from_cuda(cudaMemPoolTrimTo(s->pool, 0));
}

Status sticky_error() { return sticky_status(); }

}  // namespace cuda
}  // namespace bg
