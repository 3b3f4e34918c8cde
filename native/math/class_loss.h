// Per-element math of nllLoss and multiMarginLoss (lib/losses/cross-entropy.ts; spec:
// shared/specs/losses.md 1.4 and 1.7), written once as __host__ __device__ templates so
// the CPU driver (native/cpu/class_loss.cpp) and the CUDA kernels
// (cuda/cross_entropy.cu) evaluate the same expressions in the same order. Both
// instantiate them with double: the terms are a handful of flops per element of a
// memory-bound pass, and double makes the hinge test `z > 0` and every term agree
// between the backends (only the order of the row and batch sums differs).
#pragma once
#include "../common/hd.h"

namespace bg {
namespace cls {

// ---- nllLoss --------------------------------------------------------------------------
// l_n = -w[y_n] x[n, y_n]; the gradient is -w[y_n] at (n, y_n), zero elsewhere, times the
// upstream factor (grad_out[n] for 'none', grad_scale / W for 'mean', grad_scale for 'sum').
template <class T>
BG_HD BG_INLINE T nll_term(T wy, T xy) { return -wy * xy; }
template <class T>
BG_HD BG_INLINE T nll_grad(T wy, T scale) { return -wy * scale; }

// ---- multiMarginLoss ------------------------------------------------------------------
// For i != y: z_i = margin - x_y + x_i; the row's loss is w[y] / C sum_i max(0, z_i)^p.
// mm_term returns max(0, z)^p and sets *dz = d/dz of it (p z^(p-1) where z > 0, else 0);
// the gradient is dz_i * scale at i and -sum_i dz_i * scale at y, with
// scale = upstream factor * w[y] / C.
template <class T>
BG_HD BG_INLINE T mm_z(T margin, T xy, T xi) { return margin - xy + xi; }
template <class T>
BG_HD BG_INLINE T mm_term(T z, int p, T* dz) {
  if (!(z > T(0))) {
    *dz = T(0);
    return T(0);
  }
  *dz = p == 2 ? T(2) * z : T(1);
  return p == 2 ? z * z : z;
}

}  // namespace cls
}  // namespace bg
