#include "buffer.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <unistd.h>

#include "../../cuda/backend.h"
#include "addon.h"
#include "errors.h"

namespace bg {
namespace glue {

namespace {

// Process-wide accounting: buffers may be created in one worker_thread and CUDA
// memory is process-wide. Slot 0 is the CPU, slot d + 1 is cuda:d.
struct Accounting {
  std::atomic<int64_t> live_buffers{0};
  std::atomic<int64_t> live_bytes[kMaxDevices + 1];
  std::atomic<int64_t> peak_bytes[kMaxDevices + 1];
  std::atomic<int64_t> cap_bytes[kMaxDevices + 1];  // 0 = no cap
  std::atomic<int64_t> gc_freed{0};
  std::atomic<int64_t> gc_freed_bytes{0};
  std::atomic<bool> cuda_touched[kMaxDevices];
  Accounting() {
    for (int i = 0; i <= kMaxDevices; ++i) {
      live_bytes[i] = 0;
      peak_bytes[i] = 0;
      cap_bytes[i] = 0;
    }
    for (int i = 0; i < kMaxDevices; ++i) cuda_touched[i] = false;
  }
};

Accounting& acct() {
  static Accounting* a = new Accounting();  // leaked: outlives every environment
  return *a;
}

int slot(int device) { return device + 1; }

size_t cpu_available_bytes() {
  const long pages = sysconf(_SC_AVPHYS_PAGES);
  const long size = sysconf(_SC_PAGESIZE);
  return pages > 0 && size > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(size) : 0;
}

// Host block cache. glibc serves large blocks from fresh mmap'ed (or trimmed and
// re-faulted) pages, so a loop that allocates the same 1 MiB output each step spends
// more time in the kernel zeroing pages than some kernels take to run. Freed CPU blocks
// of at least kHostCacheMin bytes are kept, keyed by size rounded to 4 KiB, up to a byte
// limit (BITGRAD_HOST_CACHE_MB; default an eighth of the memory the process may use, the
// smaller of physical memory and a cgroup v2 limit, at most 1 GiB; 0 turns the cache
// off); emptyCache() returns them. Reused memory is uninitialized, as aligned_alloc's
// would be. Measured: a 64 MiB scaling op's forward + backward took 83 ms with fresh
// pages and 17 ms with reused ones.
constexpr size_t kHostCacheMin = size_t{64} << 10;

size_t usable_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long size = sysconf(_SC_PAGESIZE);
  size_t mem = pages > 0 && size > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(size) : 0;
  if (FILE* f = std::fopen("/sys/fs/cgroup/memory.max", "r")) {
    unsigned long long v = 0;
    if (std::fscanf(f, "%llu", &v) == 1 && v > 0 && (mem == 0 || v < mem)) mem = static_cast<size_t>(v);
    std::fclose(f);
  }
  return mem;
}

size_t host_cache_limit() {
  static const size_t limit = [] {
    const char* e = std::getenv("BITGRAD_HOST_CACHE_MB");
    if (e && *e) {
      char* end = nullptr;
      const long long v = std::strtoll(e, &end, 10);
      if (end != e && *end == '\0' && v >= 0) return static_cast<size_t>(v < (1LL << 20) ? v : (1LL << 20)) << 20;
    }
    const size_t eighth = usable_memory_bytes() / 8;
    const size_t cap = size_t{1} << 30;
    return eighth < cap ? eighth : cap;
  }();
  return limit;
}

size_t host_block_bytes(size_t bytes) {
  const size_t b = bytes == 0 ? 1 : bytes;
  return b >= kHostCacheMin ? (b + 4095) / 4096 * 4096 : (b + 63) / 64 * 64;
}

struct HostCache {
  std::mutex mu;
  std::multimap<size_t, void*> blocks;
  size_t bytes = 0;

  void* take(size_t rounded) {
    if (rounded < kHostCacheMin) return nullptr;
    std::lock_guard<std::mutex> lock(mu);
    auto it = blocks.find(rounded);
    if (it == blocks.end()) return nullptr;
    void* p = it->second;
    blocks.erase(it);
    bytes -= rounded;
    return p;
  }
  // False: not kept, the caller frees it.
  bool put(void* p, size_t rounded) {
    if (rounded < kHostCacheMin) return false;
    std::lock_guard<std::mutex> lock(mu);
    if (bytes + rounded > host_cache_limit()) return false;
    blocks.emplace(rounded, p);
    bytes += rounded;
    return true;
  }
  void clear() {
    std::multimap<size_t, void*> out;
    {
      std::lock_guard<std::mutex> lock(mu);
      out.swap(blocks);
      bytes = 0;
    }
    for (auto& kv : out) std::free(kv.second);
  }
  size_t cached() {
    std::lock_guard<std::mutex> lock(mu);
    return bytes;
  }
};

HostCache& host_cache() {
  static HostCache* c = new HostCache();  // leaked: buffers may die after every environment
  return *c;
}

const napi_type_tag kBufferTag = {0x6269746772616462ULL, 0x7566666572303031ULL};

void check_device(Napi::Env env, int device) {
  if (device < kCpu || device >= kMaxDevices)
    throw_validation(env, "BITGRAD_INVALID_DEVICE", "device index out of range: " + std::to_string(device));
}

}  // namespace

std::string device_name(int device) { return device == kCpu ? "cpu" : "cuda:" + std::to_string(device); }

Storage::~Storage() {
  if (device == kCpu) {
    if (!host_cache().put(ptr, host_block_bytes(bytes))) std::free(ptr);
  } else if (ptr != nullptr) {
    cuda::free_async(device, ptr);  // stream-ordered: safe while kernels still use it
  }
  acct().live_bytes[slot(device)] -= static_cast<int64_t>(bytes);
  acct().live_buffers--;
}

std::shared_ptr<Storage> allocate(Napi::Env env, int device, size_t bytes) {
  check_device(env, device);
  Accounting& a = acct();
  const int s = slot(device);
  const int64_t cap = a.cap_bytes[s].load();
  const int64_t live = a.live_bytes[s].load();
  if (cap > 0 && live + static_cast<int64_t>(bytes) > cap) {
    const double requested = static_cast<double>(bytes);
    const double available = static_cast<double>(cap > live ? cap - live : 0);
    throw_error(env, ErrorKind::OutOfMemory, "BITGRAD_OUT_OF_MEMORY",
                device_name(device) + ": memory cap reached (requested " + std::to_string(bytes) +
                    " bytes, " + std::to_string(cap > live ? cap - live : 0) + " available under the cap of " +
                    std::to_string(cap) + ")",
                [&](Napi::Object o) {
                  o.Set("requestedBytes", requested);
                  o.Set("availableBytes", available);
                  o.Set("device", device_name(device));
                });
  }
  void* ptr = nullptr;
  if (device == kCpu) {
    // 64-byte alignment for whole-vector loads; never a zero-size request.
    const size_t rounded = host_block_bytes(bytes);
    ptr = host_cache().take(rounded);
    if (ptr == nullptr) ptr = std::aligned_alloc(64, rounded);
    if (ptr == nullptr) {
      host_cache().clear();
      ptr = std::aligned_alloc(64, rounded);
    }
    if (ptr == nullptr) {
      const double requested = static_cast<double>(bytes);
      const double available = static_cast<double>(cpu_available_bytes());
      throw_error(env, ErrorKind::OutOfMemory, "BITGRAD_OUT_OF_MEMORY",
                  "cpu: out of host memory (requested " + std::to_string(bytes) + " bytes)",
                  [&](Napi::Object o) {
                    o.Set("requestedBytes", requested);
                    o.Set("availableBytes", available);
                    o.Set("device", "cpu");
                  });
    }
  } else {
    cuda::Status st = cuda::malloc_async(device, bytes, &ptr);
    if (!st.ok) throw_status(env, st, "alloc on " + device_name(device));
    a.cuda_touched[device] = true;
  }
  auto storage = std::make_shared<Storage>(device, bytes, ptr);
  a.live_buffers++;
  const int64_t now = (a.live_bytes[s] += static_cast<int64_t>(bytes));
  int64_t peak = a.peak_bytes[s].load();
  while (now > peak && !a.peak_bytes[s].compare_exchange_weak(peak, now)) {
  }
  return storage;
}

// ---- NativeBuffer -------------------------------------------------------------------

Napi::Function NativeBuffer::Define(Napi::Env env) {
  return DefineClass(env, "NativeBuffer",
                     {InstanceMethod<&NativeBuffer::Dispose>("dispose"),
                      InstanceAccessor<&NativeBuffer::GetDisposed>("disposed"),
                      InstanceAccessor<&NativeBuffer::GetByteLength>("byteLength"),
                      InstanceAccessor<&NativeBuffer::GetDevice>("device")});
}

NativeBuffer::NativeBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeBuffer>(info) {
  // Only New() below constructs buffers: it passes the storage through an External.
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw_validation(info.Env(), "BITGRAD_INVALID_ARGUMENT",
                     "NativeBuffer cannot be constructed directly; use bitgrad.tensor()");
  }
  auto* holder = info[0].As<Napi::External<std::shared_ptr<Storage>>>().Data();
  storage = *holder;
  info.This().As<Napi::Object>().TypeTag(&kBufferTag);
}

NativeBuffer::~NativeBuffer() {
  // Reached from the GC finalizer: count leaks, free without touching JS.
  if (storage) {
    acct().gc_freed++;
    acct().gc_freed_bytes += static_cast<int64_t>(storage->bytes);
    storage.reset();
  }
}

Napi::Object NativeBuffer::New(Napi::Env env, std::shared_ptr<Storage> storage) {
  std::shared_ptr<Storage> holder = std::move(storage);
  return state(env).buffer_ctor.New({Napi::External<std::shared_ptr<Storage>>::New(env, &holder)});
}

NativeBuffer* NativeBuffer::From(Napi::Value v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  if (!o.CheckTypeTag(&kBufferTag)) return nullptr;
  return NativeBuffer::Unwrap(o);
}

Napi::Value NativeBuffer::Dispose(const Napi::CallbackInfo& info) {
  storage.reset();  // idempotent
  return info.Env().Undefined();
}

Napi::Value NativeBuffer::GetDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !storage);
}

Napi::Value NativeBuffer::GetByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), storage ? static_cast<double>(storage->bytes) : 0.0);
}

Napi::Value NativeBuffer::GetDevice(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), storage ? storage->device : kCpu);
}

// ---- operands -----------------------------------------------------------------------

Operand resolve_operand(Napi::Env env, Napi::Value v, const std::string& name, size_t min_bytes,
                        bool optional, bool read_only) {
  Operand op;
  if (v.IsUndefined() || v.IsNull()) {
    if (!optional) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", name + " is required");
    return op;
  }
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_float32_array)
      throw_validation(env, "BITGRAD_INVALID_DTYPE", name + " must be a Float32Array");
    op.present = true;
    op.is_host_array = true;
    op.bytes = ta.ByteLength();
    op.ptr = op.bytes == 0 ? nullptr
                           : static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  } else {
    NativeBuffer* b = NativeBuffer::From(v);
    if (b == nullptr)
      throw_validation(env, "BITGRAD_INVALID_ARGUMENT", name + " must be a Float32Array or a tensor");
    if (!b->storage) throw_validation(env, "BITGRAD_DISPOSED", name + " was disposed");
    op.present = true;
    if (!read_only) b->storage->version.fetch_add(1, std::memory_order_relaxed);
    op.keep = b->storage;
    op.device = b->storage->device;
    op.ptr = b->storage->ptr;
    op.bytes = b->storage->bytes;
  }
  if (op.bytes < min_bytes)
    throw_validation(env, "BITGRAD_SHAPE_MISMATCH",
                     name + " holds " + std::to_string(op.bytes) + " bytes, needs " + std::to_string(min_bytes));
  return op;
}

// ---- module functions ---------------------------------------------------------------

namespace {

NativeBuffer& live_buffer(Napi::Env env, Napi::Value v, const char* name) {
  NativeBuffer* b = NativeBuffer::From(v);
  if (b == nullptr) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(name) + " must be a tensor buffer");
  if (!b->storage) throw_validation(env, "BITGRAD_DISPOSED", std::string(name) + " was disposed");
  return *b;
}

Napi::TypedArray host_array(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsTypedArray()) throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(name) + " must be a typed array");
  return v.As<Napi::TypedArray>();
}

void* host_ptr(Napi::TypedArray ta) {
  return ta.ByteLength() == 0 ? nullptr : static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
}

// (buffer, typed array) arguments of write/read/readAsync; the array may not be larger
// than the buffer.
struct HostTransfer {
  Storage& storage;
  Napi::TypedArray array;
  size_t bytes;
};

HostTransfer host_transfer(const Napi::CallbackInfo& info, const char* array_name) {
  Napi::Env env = info.Env();
  NativeBuffer& b = live_buffer(env, info[0], "buffer");
  Napi::TypedArray a = host_array(env, info[1], array_name);
  const size_t bytes = a.ByteLength();
  if (bytes > b.storage->bytes)
    throw_validation(env, "BITGRAD_SHAPE_MISMATCH", std::string(array_name) + " is larger than the buffer");
  return HostTransfer{*b.storage, a, bytes};
}

// Device -> pageable host, blocking: through pinned staging so the copy is a true DMA.
void read_blocking(Napi::Env env, const Storage& s, void* dst, size_t bytes) {
  if (bytes == 0) return;
  void* pinned = nullptr;
  cuda::Status st = cuda::alloc_pinned(bytes, &pinned);
  if (!st.ok) throw_status(env, st, "read");
  st = cuda::copy_d2h(s.device, pinned, s.ptr, bytes);
  if (st.ok) st = cuda::synchronize(s.device);
  if (st.ok) std::memcpy(dst, pinned, bytes);
  cuda::free_pinned(pinned);
  if (!st.ok) throw_status(env, st, "read");
}

}  // namespace

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "alloc(device, bytes)");
  const int device = info[0].As<Napi::Number>().Int32Value();
  const double bytes = info[1].As<Napi::Number>().DoubleValue();
  if (!(bytes >= 0) || bytes > 9007199254740991.0)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "bytes must be a non-negative safe integer");
  return NativeBuffer::New(env, allocate(env, device, static_cast<size_t>(bytes)));
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HostTransfer t = host_transfer(info, "source");
  if (t.bytes == 0) return env.Undefined();
  t.storage.version.fetch_add(1, std::memory_order_relaxed);
  if (t.storage.device == kCpu) {
    std::memcpy(t.storage.ptr, host_ptr(t.array), t.bytes);
  } else {
    cuda::Status st = cuda::copy_h2d(t.storage.device, t.storage.ptr, host_ptr(t.array), t.bytes);
    if (!st.ok) throw_status(env, st, "write");
  }
  return env.Undefined();
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HostTransfer t = host_transfer(info, "destination");
  if (t.storage.device == kCpu) {
    if (t.bytes) std::memcpy(host_ptr(t.array), t.storage.ptr, t.bytes);
  } else {
    read_blocking(env, t.storage, host_ptr(t.array), t.bytes);
  }
  return env.Undefined();
}

Napi::Value ReadAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  HostTransfer t = host_transfer(info, "destination");
  const size_t bytes = t.bytes;
  Napi::TypedArray dst = t.array;
  auto deferred = Napi::Promise::Deferred::New(env);
  if (t.storage.device == kCpu || bytes == 0) {
    if (bytes) std::memcpy(host_ptr(dst), t.storage.ptr, bytes);
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  const int device = t.storage.device;
  void* pinned = nullptr;
  cuda::Status st = cuda::alloc_pinned(bytes, &pinned);
  if (!st.ok) throw_status(env, st, "read");
  st = cuda::copy_d2h(device, pinned, t.storage.ptr, bytes);
  if (!st.ok) {
    cuda::free_pinned(pinned);
    throw_status(env, st, "read");
  }
  // The destination array stays referenced until the copy lands.
  auto dst_ref = std::make_shared<Napi::Reference<Napi::TypedArray>>(Napi::Persistent(dst));
  // Set when neither a host callback nor a drain of the stream tells that the copy landed.
  auto lost = std::make_shared<cuda::Status>();
  void* job = state(env).completion->prepare([deferred, dst_ref, pinned, bytes, lost](Napi::Env env) {
    Napi::TypedArray out = dst_ref->Value();
    cuda::Status err = lost->ok ? cuda::sticky_error() : *lost;
    if (!err.ok) {
      if (lost->ok) cuda::free_pinned(pinned);  // else the copy may still be writing it
      deferred.Reject(status_error(env, err, "read").Value());
      return;
    }
    if (out.ByteLength() >= bytes) std::memcpy(host_ptr(out), pinned, bytes);
    cuda::free_pinned(pinned);
    deferred.Resolve(env.Undefined());
  });
  st = cuda::on_complete(device, &Completion::post, job);
  if (!st.ok) {
    // No callback will come: drain the stream instead, and let the job settle the promise
    // returned below (throwing instead would leave that promise to reject unhandled,
    // which ends the process).
    if (!cuda::synchronize(device).ok) *lost = st;
    Completion::post(job);
  }
  return deferred.Promise();
}

Napi::Value Copy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NativeBuffer& dst = live_buffer(env, info[0], "destination");
  NativeBuffer& src = live_buffer(env, info[1], "source");
  const size_t bytes = src.storage->bytes;
  if (dst.storage->bytes < bytes) throw_validation(env, "BITGRAD_SHAPE_MISMATCH", "destination is smaller than the source");
  if (bytes == 0) return env.Undefined();
  dst.storage->version.fetch_add(1, std::memory_order_relaxed);
  const int dd = dst.storage->device, sd = src.storage->device;
  cuda::Status st;
  if (dd == kCpu && sd == kCpu) {
    std::memcpy(dst.storage->ptr, src.storage->ptr, bytes);
  } else if (dd == kCpu) {
    read_blocking(env, *src.storage, dst.storage->ptr, bytes);
  } else if (sd == kCpu) {
    st = cuda::copy_h2d(dd, dst.storage->ptr, src.storage->ptr, bytes);
  } else if (dd == sd) {
    st = cuda::copy_d2d(dd, dst.storage->ptr, src.storage->ptr, bytes);
  } else {
    // Across GPUs: stage through the host (rare; correctness over speed).
    // nothrow: a std::bad_alloc unwinding into Node-API would terminate the process.
    std::unique_ptr<uint8_t[]> tmp(new (std::nothrow) uint8_t[bytes]);
    if (!tmp) {
      const double requested = static_cast<double>(bytes);
      const double available = static_cast<double>(cpu_available_bytes());
      throw_error(env, ErrorKind::OutOfMemory, "BITGRAD_OUT_OF_MEMORY",
                  "copy: out of host memory for staging between GPUs (requested " + std::to_string(bytes) + " bytes)",
                  [&](Napi::Object o) {
                    o.Set("requestedBytes", requested);
                    o.Set("availableBytes", available);
                    o.Set("device", "cpu");
                  });
    }
    read_blocking(env, *src.storage, tmp.get(), bytes);
    st = cuda::copy_h2d(dd, dst.storage->ptr, tmp.get(), bytes);
    if (st.ok) st = cuda::synchronize(dd);
  }
  if (!st.ok) throw_status(env, st, "copy");
  return env.Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int device = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : kCpu;
  if (device == kCpu) return env.Undefined();
  check_device(env, device);
  cuda::Status st = cuda::synchronize(device);
  if (!st.ok) throw_status(env, st, "synchronize");
  return env.Undefined();
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Accounting& a = acct();
  Napi::Object out = Napi::Object::New(env);
  out.Set("liveBuffers", static_cast<double>(a.live_buffers.load()));
  out.Set("gcFreed", static_cast<double>(a.gc_freed.load()));
  out.Set("gcFreedBytes", static_cast<double>(a.gc_freed_bytes.load()));
  Napi::Object devices = Napi::Object::New(env);
  for (int d = kCpu; d < kMaxDevices; ++d) {
    const int s = slot(d);
    if (d != kCpu && !a.cuda_touched[d].load()) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("liveBytes", static_cast<double>(a.live_bytes[s].load()));
    o.Set("peakBytes", static_cast<double>(a.peak_bytes[s].load()));
    o.Set("capBytes", static_cast<double>(a.cap_bytes[s].load()));
    double pooled = d == kCpu ? static_cast<double>(host_cache().cached()) : 0;
    if (d != kCpu) {
      cuda::PoolStats ps;
      if (cuda::pool_stats(d, &ps).ok) pooled = static_cast<double>(ps.reserved > ps.used ? ps.reserved - ps.used : 0);
    }
    o.Set("pooledBytes", pooled);
    devices.Set(device_name(d), o);
  }
  out.Set("devices", devices);
  return out;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  host_cache().clear();
  for (int d = 0; d < kMaxDevices; ++d) {
    if (!acct().cuda_touched[d].load()) continue;
    cuda::Status st = cuda::empty_cache(d);
    if (!st.ok) throw_status(env, st, "emptyCache");
  }
  return env.Undefined();
}

Napi::Value SetMemoryCap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "setMemoryCap(device, bytes)");
  const int device = info[0].As<Napi::Number>().Int32Value();
  check_device(env, device);
  const double bytes = info[1].As<Napi::Number>().DoubleValue();
  // Also bounds the cast below (a double past int64 converts to an undefined value).
  if (!(bytes >= 0) || bytes > 9007199254740991.0)
    throw_validation(env, "BITGRAD_INVALID_ARGUMENT", "cap must be a non-negative safe integer");
  acct().cap_bytes[slot(device)] = static_cast<int64_t>(bytes);
  return env.Undefined();
}

}  // namespace glue
}  // namespace bg
