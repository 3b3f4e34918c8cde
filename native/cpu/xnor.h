// CPU XNOR-popcount convolution / GEMM (see native/ops/xnor_args.h for the contract).
#pragma once
#include "../ops/xnor_args.h"

namespace bg {
namespace cpu {

// Runs the whole op over the thread pool. Arguments must be valid (the glue checks
// sizes): every output element is written.
void xnor_conv(const XnorConvArgs& a);

// Name of the micro-kernel the active SIMD path uses: "avx512-vpopcntdq",
// "avx2-pshufb", "scalar-popcnt" or "scalar".
const char* xnor_kernel_name();

}  // namespace cpu
}  // namespace bg
