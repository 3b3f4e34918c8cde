// Device buffers: memory owned by native code on `cpu` or `cuda:N`, wrapped for JS as
// NativeBuffer. dispose() frees deterministically; a GC finalizer frees leaked buffers
// as a backstop and counts them. Storage is shared with in-flight CPU work, so
// disposing during an async op defers the free until the op ends; CUDA frees are
// stream-ordered, so they wait for queued kernels by construction.
#pragma once
#include <napi.h>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "../ops/derived_cache.h"

namespace bg {
namespace glue {

constexpr int kCpu = -1;
constexpr int kMaxDevices = 16;

struct Storage {
  Storage(int d, size_t n, void* p) : device(d), bytes(n), ptr(p) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
  const int device;
  const size_t bytes;
  void* const ptr;
  // Bumped whenever native code may write through ptr (an op operand that is not
  // read-only, write(), copy()), so forms derived from the contents can tell they are stale.
  std::atomic<uint64_t> version{0};
  DerivedCache derived;
};

// Throws OutOfMemoryError (requested and available bytes) or DeviceError.
std::shared_ptr<Storage> allocate(Napi::Env env, int device, size_t bytes);

std::string device_name(int device);

class NativeBuffer : public Napi::ObjectWrap<NativeBuffer> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Returns the wrapped buffer or null when `v` is not a live NativeBuffer.
  static NativeBuffer* From(Napi::Value v);
  static Napi::Object New(Napi::Env env, std::shared_ptr<Storage> storage);

  explicit NativeBuffer(const Napi::CallbackInfo& info);
  ~NativeBuffer() override;

  std::shared_ptr<Storage> storage;  // null once disposed

 private:
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value GetDisposed(const Napi::CallbackInfo& info);
  Napi::Value GetByteLength(const Napi::CallbackInfo& info);
  Napi::Value GetDevice(const Napi::CallbackInfo& info);
};

// Host memory or a buffer, resolved to a raw pointer for one op. Holds what keeps the
// memory alive while the op may still read or write it.
struct Operand {
  bool present = false;
  int device = kCpu;
  void* ptr = nullptr;
  size_t bytes = 0;
  std::shared_ptr<Storage> keep;  // buffer operands
  bool is_host_array = false;     // a JS typed array (kept by a reference elsewhere)
};

// `v` is a Float32Array (host) or a NativeBuffer. Throws ValidationError on anything
// else, on a disposed buffer, or when fewer than `min_bytes` are available.
// Unless read_only, a buffer's version is bumped (the op may write to it).
Operand resolve_operand(Napi::Env env, Napi::Value v, const std::string& name, size_t min_bytes,
                        bool optional, bool read_only = false);

// Module functions (exported by addon.cpp).
Napi::Value Alloc(const Napi::CallbackInfo& info);        // (device, bytes) -> NativeBuffer
Napi::Value Write(const Napi::CallbackInfo& info);        // (buf, typedArray)
Napi::Value Read(const Napi::CallbackInfo& info);         // (buf, typedArray), blocking
Napi::Value ReadAsync(const Napi::CallbackInfo& info);    // (buf, typedArray) -> Promise
Napi::Value Copy(const Napi::CallbackInfo& info);         // (dst, src)
Napi::Value Synchronize(const Napi::CallbackInfo& info);  // (device)
Napi::Value Memory(const Napi::CallbackInfo& info);
Napi::Value EmptyCache(const Napi::CallbackInfo& info);
Napi::Value SetMemoryCap(const Napi::CallbackInfo& info);  // (device, bytes | 0 = none)

}  // namespace glue
}  // namespace bg
