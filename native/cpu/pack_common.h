// Helpers shared by the pack_*.cpp translation units. Everything is in an anonymous
// namespace (internal linkage), so an ISA-compiled copy can never be picked by the
// linker for baseline code; no std:: functions are used.
#pragma once
#include <cstdint>

namespace bg {
namespace cpu {
namespace {

// In-place transpose of a 64 x 64 bit matrix, LSB first: afterwards bit j of a[i] is
// what bit i of a[j] was. Six rounds; round j swaps bit j of the row index with bit j
// of the column index by exchanging the upper column block of row k with the lower
// column block of row k + j (for every k with bit j clear).
inline void transpose64(uint64_t* a) {
  uint64_t m = 0x00000000FFFFFFFFull;
  for (int j = 32; j != 0; j >>= 1, m ^= (m << j)) {
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
      a[k] ^= t << j;
      a[k | j] ^= t;
    }
  }
}

// Planar packing with a caller-supplied 64-pixel column loader:
// load(ptr, n, c) returns the 64-bit mask of (ptr[q] >= 0) for q < n (0 for q >= n) of
// channel c's row and ORs NaN into its own accumulator. Blocks of up to kBlockTiles x 64 pixels are read
// one channel row at a time (runs of up to 4 KiB, friendly to the prefetchers), and
// each 64 x 64 tile of (channel, pixel) bits is transposed into pixel rows.
constexpr int64_t kBlockTiles = 16;

template <class Load>
inline void planar_tiles(const float* x, int64_t plane, int64_t k, uint64_t* out, int64_t words,
                         int64_t pixels, Load& load) {
  alignas(64) uint64_t tile[kBlockTiles][64];
  for (int64_t p0 = 0; p0 < pixels; p0 += 64 * kBlockTiles) {
    const int64_t left = pixels - p0;
    const int64_t nt = left >= 64 * kBlockTiles ? kBlockTiles : (left + 63) / 64;
    for (int64_t g = 0; g < words; ++g) {
      const int64_t c0 = g * 64;
      const int64_t nc = k - c0 <= 0 ? 0 : (k - c0 < 64 ? k - c0 : 64);
      for (int64_t j = 0; j < nc; ++j) {
        const float* row = x + (c0 + j) * plane + p0;
        for (int64_t t = 0; t < nt; ++t) {
          const int64_t np = left - 64 * t < 64 ? left - 64 * t : 64;
          tile[t][j] = load(row + 64 * t, np, c0 + j);
        }
      }
      for (int64_t t = 0; t < nt; ++t) {
        for (int64_t j = nc; j < 64; ++j) tile[t][j] = 0;
        if (nc > 0) transpose64(tile[t]);
        const int64_t np = left - 64 * t < 64 ? left - 64 * t : 64;
        uint64_t* o = out + (p0 + 64 * t) * words + g;
        for (int64_t q = 0; q < np; ++q) o[q * words] = tile[t][q];
      }
    }
  }
}

}  // namespace
}  // namespace cpu
}  // namespace bg
