// CPU drivers of the row-statistic binarizers (ops/scale_args.h), the XNOR-Net
// activation scale K and the XNOR++ scale. Reductions use fixed-size chunks and a fixed
// combination order in double, so results are bit-identical however many threads run.
#pragma once
#include "../ops/scale_args.h"

namespace bg {
namespace cpu {

void scale_rows(const ScaleArgs& a);
void xnor_k(const XnorKArgs& a);
void xnor_pp(const XnorPPArgs& a);

}  // namespace cpu
}  // namespace bg
