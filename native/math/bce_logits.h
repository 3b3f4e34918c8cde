// Per-element binary cross-entropy with logits, PyTorch semantics
// (aten/src/ATen/native/Loss.cpp): with lw = 1 + (p - 1) y,
//   loss = w [ (1 - y) x + lw softplus(-x) ]
//   dloss/dx = w [ (p y + 1 - y) sigmoid(x) - p y ]
// Written once against the primitive names of math/scalar.h, so the same code
// runs for float (CPU scalar path and CUDA) and for the SIMD vector types.
#pragma once
#include "../common/hd.h"
#include "scalar.h"  // float overloads must be visible where the template is defined

namespace bg {

template <class V>
BG_HD BG_INLINE void bce_logits_elem(V x, V y, V w, V p, V& loss, V& dloss) {
  const V one(1.0f);
  const V zero(0.0f);
  // e = exp(-|x|) is shared by the stable softplus and the stable sigmoid;
  // neither ever evaluates exp of a positive argument, so +-1e4 logits cannot overflow.
  const V e = vexp(zero - vabs(x));
  const V r = vrecip(one + e);
  const V sig = vselect(vge(x, zero), r, e * r);
  // softplus(-x) = max(-x, 0) + log1p(exp(-|x|))
  const V sp = vmax(zero - x, zero) + vlog1p_unit(e);
  const V py = p * y;
  // 1 + (p - 1) y, ordered so that y near 1 does not cancel (1 - y is exact for y >= 1/2).
  const V lw = (one - y) + py;
  loss = w * ((one - y) * x + lw * sp);
  dloss = w * (lw * sig - py);
}

}  // namespace bg
