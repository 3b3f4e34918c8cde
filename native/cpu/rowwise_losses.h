// CPU row-wise research losses (native/ops/rowwise_args.h): checks, then rows in fixed
// chunks over the thread pool, float64 row math from native/math/rowwise_losses.h,
// deterministic ordered sums.
#pragma once
#include "../ops/rowwise_args.h"

namespace bg {
namespace cpu {

RowCheck rowwise_loss(const RowLossArgs& a);

}  // namespace cpu
}  // namespace bg
