// CPU backward products of the binary dense layer (native/ops/xnor_train_args.h).
#pragma once
#include "../ops/xnor_train_args.h"

namespace bg {
namespace cpu {

// Runs over the thread pool; arguments must be valid (the glue checks sizes).
void xnor_linear_backward(const XnorLinearBwdArgs& a);

}  // namespace cpu
}  // namespace bg
