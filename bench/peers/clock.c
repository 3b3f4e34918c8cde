/* Clock estimate for bench/xnor.js: a chain of dependent 64-bit adds (1 cycle each on
 * every x86-64 core of interest), timed with CLOCK_MONOTONIC; prints GHz. Built on the
 * fly with `cc -O1`; the bench falls back to /proc/cpuinfo when no compiler is there. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
  const int64_t iters = 2000000; /* x 16 adds, ~10 ms per try */
  double best = 1e9;
  for (int r = 0; r < 60; ++r) {
    uint64_t x = 1, c = (uint64_t)r + 3;
    double t0 = now();
    for (int64_t i = 0; i < iters; ++i) {
#if defined(__x86_64__)
      __asm__ volatile(
          "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
          "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
          "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
          "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
          : "+r"(x)
          : "r"(c));
#else
      x += c; __asm__ volatile("" : "+r"(x));
#endif
    }
    double t = now() - t0;
    if (t < best) best = t;
    if (x == 42) printf("!");
  }
  printf("%.4f\n", (double)iters * 16 / best / 1e9);
  return 0;
}
