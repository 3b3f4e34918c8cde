// CPU backward products of the binary convolution (native/ops/xnor_conv_train_args.h).
#pragma once
#include "../ops/xnor_conv_train_args.h"

namespace bg {
namespace cpu {

// Runs over the thread pool; arguments must be valid (the glue checks sizes).
void xnor_conv_backward(const XnorConvBwdArgs& a);

}  // namespace cpu
}  // namespace bg
