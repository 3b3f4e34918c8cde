// CPU driver of the estimators. Elements are cut into fixed blocks of kBlock (the same
// for any thread count). A per-channel parameter that is constant over long runs (one
// value, or runs of at least kUniformRun elements, as NCHW planes) is passed to the
// kernel as a scalar per run; shorter runs are expanded per block into thread-local
// scratch. Parameter gradients (rsign, elastic) are fused into the same pass, summed
// into per-(block, channel) double partials: on uniform runs by the kernel itself, in
// registers (EwBlock::dsum); otherwise each block writes its per-element dL/dparam into
// thread-local (cache-resident) scratch and sums it at once. A run's sum (the part of
// one channel run inside one block) is the 16-lane sum of est_kernels.h either way, so
// both routes give the same bits; the partials are then added per channel in block
// order. Everything is in a fixed order, so results are bit-identical for every ISA and
// however many threads run. When there would be more partials than n / 2 (very many
// channels, few elements each), the per-element scratch of the whole tensor is summed
// in a second pass instead (runs of `div` elements in increasing index, each in double).
#include "estimators.h"

#include <vector>

#include "broadcast.h"
#include "est_kernels.h"
#include "lane_tree.h"
#include "simd.h"
#include "stream_stores.h"
#include "threadpool.h"

namespace bg {
namespace cpu {

namespace {

constexpr int64_t kBlock = 16384;
constexpr int64_t kParallelMin = 65536;

const EstTable& table() {
  switch (isa_info().active) {
#if defined(__x86_64__)
    case Isa::Avx512: return est_table_avx512;
    case Isa::Avx2: return est_table_avx2;
#endif
    default: return est_table_scalar;
  }
}

std::vector<float>& param_scratch() {
  thread_local std::vector<float> s;  // heap-backed
  return s;
}

std::vector<float>& grad_scratch() {
  thread_local std::vector<float> s;  // one block of per-element dL/dparam
  return s;
}

// Runs at least this long take the scalar-parameter route (shorter ones would pay a
// kernel call per few vectors).
constexpr int64_t kUniformRun = 256;

// Sum of p[0..len) in double: element i into lane i % 16, the lanes combined by
// lane_tree16, as the kernels' own block sums.
double sum_run(const float* p, int64_t len) {
  double acc[16];
  for (double& d : acc) d = 0.0;
  int64_t i = 0;
  for (; i + 16 <= len; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += static_cast<double>(p[i + l]);
  for (int l = 0; i < len; ++i, ++l) acc[l] += static_cast<double>(p[i]);
  return lane_tree16(acc);
}

// Adds the per-element values da[0..len) of elements [start, start + len) into the
// per-channel partials part[0..mod) (element i belongs to channel (i / div) % mod).
void add_partials(const float* da, int64_t start, int64_t len, int64_t div, int64_t mod, double* part) {
  int64_t rem = start % div;
  int64_t idx = (start / div) % mod;
  if (mod == 1) {  // one channel: a plain sum
    part[0] += sum_run(da, len);
    return;
  }
  if (div == 1) {  // channels innermost: element-wise adds over whole periods
    for (int64_t j = 0; j < len;) {
      const int64_t run = mod - idx < len - j ? mod - idx : len - j;
      double* pp = part + idx;
      const float* dp = da + j;
      for (int64_t t = 0; t < run; ++t) pp[t] += static_cast<double>(dp[t]);
      j += run;
      idx = 0;
    }
    return;
  }
  for (int64_t j = 0; j < len;) {
    const int64_t run = div - rem < len - j ? div - rem : len - j;
    part[idx] += sum_run(da + j, run);
    j += run;
    rem = 0;
    if (++idx == mod) idx = 0;
  }
}

template <class Fn>
void for_blocks(int64_t count, int64_t work, const Fn& fn) {
  if (work >= kParallelMin && count > 1) {
    parallel_for(static_cast<size_t>(count), [&](size_t k) { fn(static_cast<int64_t>(k)); });
  } else {
    for (int64_t k = 0; k < count; ++k) fn(k);
  }
}

}  // namespace

void estimator(const EstimatorArgs& a) {
  const int64_t n = a.n > 0 ? a.n : 0;
  const bool has_param = est_has_param(a.kind);
  const int kind = static_cast<int>(a.kind);
  if (kind < 0 || kind >= kEstCount) return;
  const EwFn fn = a.backward ? table().bwd[kind] : table().fwd[kind];
  const bool want_dp = a.backward && has_param && a.dparam != nullptr;
  const int64_t div = a.param.div > 0 ? a.param.div : 1;
  const int64_t mod = a.param.mod > 0 ? a.param.mod : 1;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  // Fused per-(block, channel) partials unless they would outgrow the tensor.
  const bool fused = want_dp && blocks * mod <= (n > 1 ? n / 2 : 1);
  std::vector<float> da;
  std::vector<double> partials;
  if (want_dp && n > 0) {
    if (fused)
      partials.assign(static_cast<size_t>(blocks * mod), 0.0);
    else
      da.resize(static_cast<size_t>(n));
  }

  // Scalar-parameter route: one value, or channel runs of at least kUniformRun; the
  // kernel sums dL/dparam itself when the partials are fused.
  const bool uniform = has_param && a.param.data != nullptr && (mod == 1 || div >= kUniformRun);

  const bool stream = stream_output(static_cast<size_t>(n) * sizeof(float));
  for_blocks(blocks, n, [&](int64_t k) {
    const int64_t start = k * kBlock;
    const int64_t len = n - start < kBlock ? n - start : kBlock;
    EwBlock b;
    b.stream = stream;
    b.x = a.x + start;
    b.a = nullptr;
    b.a1 = 0.0f;
    b.g = a.backward ? a.g + start : nullptr;
    b.out = a.out + start;
    b.da = nullptr;
    b.dsum = nullptr;
    b.n = static_cast<size_t>(len);
    if (uniform) {
      double run_sum = 0.0;
      if (want_dp) {
        if (fused)
          b.dsum = &run_sum;
        else
          b.da = da.data() + start;
      }
      // Runs of one channel inside the block (the whole block when there is one value).
      const int64_t rdiv = mod == 1 ? len : div;
      int64_t rem = mod == 1 ? 0 : start % div;
      int64_t idx = mod == 1 ? 0 : (start / div) % mod;
      for (int64_t j = 0; j < len;) {
        const int64_t run = rdiv - rem < len - j ? rdiv - rem : len - j;
        EwBlock r = b;
        r.x += j;
        if (r.g) r.g += j;
        r.out += j;
        if (r.da) r.da += j;
        r.a1 = a.param.data[idx];
        r.n = static_cast<size_t>(run);
        fn(a.params, r);
        if (want_dp && fused) partials[static_cast<size_t>(k * mod + idx)] += run_sum;
        j += run;
        rem = 0;
        if (++idx == mod) idx = 0;
      }
      return;
    }
    b.a = has_param ? broadcast_block(a.param, start, len, param_scratch()) : nullptr;
    if (want_dp) {
      if (fused) {
        std::vector<float>& gs = grad_scratch();
        if (gs.size() < static_cast<size_t>(kBlock)) gs.resize(static_cast<size_t>(kBlock));
        b.da = gs.data();
      } else {
        b.da = da.data() + start;
      }
    }
    fn(a.params, b);
    if (want_dp && fused) add_partials(b.da, start, len, div, mod, partials.data() + k * mod);
  });

  if (!want_dp) return;
  if (fused) {
    for_blocks(mod, blocks * mod, [&](int64_t c) {
      double total = 0.0;
      for (int64_t k = 0; k < blocks; ++k) total += partials[static_cast<size_t>(k * mod + c)];
      a.dparam[c] = static_cast<float>(total);
    });
    return;
  }
  // dparam[c] = sum over runs r = c, c + mod, ... of sum(da[r div .. (r+1) div)).
  const int64_t runs = (n + div - 1) / div;
  for_blocks(mod, n, [&](int64_t c) {
    double total = 0.0;
    for (int64_t r = c; r < runs; r += mod) {
      const int64_t s = r * div;
      const int64_t e = s + div < n ? s + div : n;
      double part = 0.0;
      for (int64_t i = s; i < e; ++i) part += static_cast<double>(da[static_cast<size_t>(i)]);
      total += part;
    }
    a.dparam[c] = static_cast<float>(total);
  });
}

}  // namespace cpu
}  // namespace bg
