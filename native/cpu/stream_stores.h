// When elementwise kernels write their output with non-temporal (streaming) stores.
// A normal store first reads the destination line into cache (read for ownership), so
// an op that reads two arrays and writes one moves four arrays' bytes; a streaming store
// skips that read and does not evict the inputs, at the price of leaving the output out
// of cache. That pays only for outputs too large to be read back from cache by the next
// op, hence a size threshold.
//
// Also the pieces the elementwise engines (ew_engine.h, scale_engine.h) share to stream:
// in an anonymous namespace like those engines, since they are compiled once per ISA.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "../common/hd.h"

namespace bg {
namespace cpu {

// True for outputs of at least BITGRAD_STREAM_MIN_MB MiB (default 32, about the last-
// level cache of the machines we measure; read once; 0 streams every output of at least
// 1 MiB; a negative value never streams).
bool stream_output(size_t bytes);

namespace {

// Floats from p to the next lanes * 4-byte boundary, at most n: the head a streaming loop
// writes with a masked step before its aligned vectors (a float array is always 4-byte
// aligned).
inline size_t stream_head(const float* p, size_t lanes, size_t n) {
  const size_t off = (reinterpret_cast<uintptr_t>(p) / sizeof(float)) % lanes;
  const size_t h = off ? lanes - off : 0;
  return h < n ? h : n;
}

// A full vector of an output: a streaming store when kNT (the caller aligned p), else an
// ordinary one. P: the ISA policy (P::st, and P::stream for vector policies).
template <class P, bool kNT, class V>
BG_INLINE void store_out(float* p, V v) {
  if constexpr (kNT)
    P::stream(p, v);
  else
    P::st(p, v);
}

// fn(std::true_type()) when `stream` is asked and the policy has vector lanes (the
// scalar policies have no streaming stores), else fn(std::false_type()).
template <class P, class Fn>
BG_INLINE void with_streaming(bool stream, const Fn& fn) {
  if constexpr (P::kLanes > 1) {
    if (stream) {
      fn(std::true_type());
      return;
    }
  }
  fn(std::false_type());
}

}  // namespace

}  // namespace cpu
}  // namespace bg
