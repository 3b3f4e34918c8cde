/* Register-only popcount ceiling for bench/xnor.js: the spec's limit (683 bit-MAC/cycle)
 * was measured on a Zen 5 core with a full 512-bit datapath; a core that splits 512-bit
 * operations in two (Zen 4) sustains about half. This times the same xor + popcnt + add
 * loop on the machine at hand, 12 independent accumulators, no memory operands, so the
 * bench can say what fraction of *this* core's ceiling the kernels reach. Prints
 * G bit-MAC/s (512 per xor+popcnt+add triple), best of 40 tries. Built on the fly with
 * `cc -O1 -mavx512f -mavx512vpopcntdq`; the bench skips it where that fails. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define UNIT(t, acc) \
  "vpxorq %%zmm1, %%zmm0, %%zmm" #t "\n\t" \
  "vpopcntq %%zmm" #t ", %%zmm" #t "\n\t" \
  "vpaddq %%zmm" #t ", %%zmm" #acc ", %%zmm" #acc "\n\t"

int main(void) {
  const int64_t iters = 1000000; /* x 12 triples x 512 bits, ~5 ms per try at full rate */
  double best = 1e9;
  __asm__ volatile("vpternlogq $0xff, %%zmm0, %%zmm0, %%zmm0\n\tvpxorq %%zmm1, %%zmm1, %%zmm1" ::: "xmm0", "xmm1");
  for (int r = 0; r < 40; ++r) {
    double t0 = now();
    for (int64_t i = 0; i < iters; ++i) {
      __asm__ volatile(UNIT(16, 4) UNIT(17, 5) UNIT(18, 6) UNIT(19, 7) UNIT(20, 8) UNIT(21, 9)
                           UNIT(22, 10) UNIT(23, 11) UNIT(24, 12) UNIT(25, 13) UNIT(26, 14) UNIT(27, 15)
                       :
                       :
                       : "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
                         "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
                         "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27");
    }
    double t = now() - t0;
    if (t < best) best = t;
  }
  printf("%.3f\n", (double)iters * 12 * 512 / best / 1e9);
  return 0;
}
