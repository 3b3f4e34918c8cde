// Qualifiers that let one inline function serve both the host compiler and nvcc.
#pragma once

#if defined(__CUDACC__)
#define BG_HD __host__ __device__
#define BG_INLINE __forceinline__
#else
#define BG_HD
#define BG_INLINE inline __attribute__((always_inline))
#endif
