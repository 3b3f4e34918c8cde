// Vectorised expf and log1pf, written once as templates over a SIMD float type V.
//
// Included only by the ISA vector headers (vec_avx2.h, vec_avx512.h), and instantiated
// only with their vector types, which live in an anonymous namespace: every
// instantiation therefore has internal linkage and stays inside its ISA translation
// unit. Never instantiate these with float (the scalar path uses libm through
// math/scalar.h).
//
// What V must provide (found by argument-dependent lookup):
//   V(float) broadcast; V + - * / V; typename V::Int (32-bit integer lanes) with
//   Int(int32_t) broadcast, + - & |, << and >> (arithmetic) by a constant;
//   typename V::Mask with | ;
//   vfma(a, b, c) = a * b + c (one rounding); vround(a) (nearest, ties to even);
//   vtrunc_int(a) -> Int (a already integral); vint_to_float(Int);
//   vbits(V) -> Int and vfrom_bits(Int) -> V (bit casts);
//   vmin / vmax with math/scalar.h semantics (a NaN first operand propagates);
//   vabs; vlt, veq, visnan -> Mask; vselect(Mask, a, b) = mask ? a : b.
//
// Accuracy, measured exhaustively over every float input against double-precision
// exp / log1p (FMA-contracted AVX2 and AVX-512 builds alike): expf_v <= 1.02 ulp
// (subnormal results included); log1pf_v <= 0.89 ulp on [0, 1], <= 0.95 ulp on
// [-1, 0], <= 1.52 ulp for u > 1.
#pragma once
#include <cstdint>

#include "../common/hd.h"

namespace bg {
namespace cpu {
namespace vmath {

// exp(x). Reduction x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2 (ln2 split
// in a high part exact in 9 bits and a low part, so n * ln2_hi is exact); exp(r) by
// 1 + r + r^2 P(r) with a degree-4 minimax P; scaling by 2^n in two exact halves so
// subnormal results round once and 2^128-range results overflow to +inf.
// x < -103.98 gives 0, x > 88.73 gives +inf, NaN gives NaN.
template <class V>
BG_INLINE V expf_v(V x) {
  using I = typename V::Int;
  // Clamp keeping NaN (vmax/vmin propagate a NaN first operand). The bounds keep
  // n in [-150, 128], inside what the two-step scaling can represent.
  const V xc = vmin(vmax(x, V(-104.0f)), V(89.0f));
  const V n = vround(xc * V(1.44269504088896341f));
  V r = vfma(n, V(-0.693359375f), xc);
  r = vfma(n, V(2.12194440054690583e-4f), r);
  // (exp(r) - 1 - r) / r^2 on [-0.347, 0.347]; fitted for this file.
  V p = vfma(V(1.381439972e-03f), r, V(8.368811570e-03f));
  p = vfma(p, r, V(4.166839644e-02f));
  p = vfma(p, r, V(1.666651964e-01f));
  p = vfma(p, r, V(4.999999404e-01f));
  const V r2 = r * r;
  const V e = vfma(r2, p, r) + V(1.0f);
  const I k = vtrunc_int(n);
  const I k1 = k >> 1;
  const I k2 = k - k1;
  const V s1 = vfrom_bits((k1 + I(127)) << 23);
  const V s2 = vfrom_bits((k2 + I(127)) << 23);
  return (e * s1) * s2;
}

// log1p(u). m = 1 + u is split as 2^k f with f in [sqrt(1/2), sqrt(2)); log(f) by
// t - t^2/2 + t^3 P(t), t = f - 1 (exact), with a degree-7 minimax P; k ln2 added in
// a high/low split. The rounding of m is undone by the first-order correction
// (u - (m - 1)) / m, so tiny u returns u exactly and [0, 1] keeps full precision.
// u = -1 gives -inf, u < -1 NaN, +inf +inf, NaN NaN.
// The shared part of log1pf_v: exact for u in [0, 1] and tiny |u|; NaN u gives NaN
// (through corr). Other special inputs are log1pf_v's business.
template <class V>
BG_INLINE V log1pf_core(V u) {
  using I = typename V::Int;
  const V one(1.0f);
  const V zero(0.0f);
  const V m = u + one;
  const I bits = vbits(m);
  // m = 2^(k) * f0 with f0 in [0.5, 1) (m is normal or zero here: m >= 2^-24 or m <= 0).
  V k = vint_to_float(((bits >> 23) & I(0xff)) - I(126));
  V f = vfrom_bits((bits & I(0x007fffff)) | I(0x3f000000));
  const auto low = vlt(f, V(0.707106781186547524f));
  k = k - vselect(low, one, zero);
  f = vselect(low, f + f, f);
  const V t = f - one;
  // (log1p(t) - t + t^2/2) / t^3 on [-0.293, 0.415]; fitted for this file.
  V p = vfma(V(-7.634441555e-02f), t, V(1.276156753e-01f));
  p = vfma(p, t, V(-1.316019893e-01f));
  p = vfma(p, t, V(1.420176029e-01f));
  p = vfma(p, t, V(-1.662335545e-01f));
  p = vfma(p, t, V(2.000122666e-01f));
  p = vfma(p, t, V(-2.500082254e-01f));
  p = vfma(p, t, V(3.333333135e-01f));
  // log(m) = (k ln2_hi + t) + (k ln2_lo + t^2 (t P - 1/2) + corr). For k in {0, 1} (all of
  // u in [0, 1]) the first sum is exact, so one rounding dominates the error. For tiny
  // u, m = 1, t = 0 and corr = u: the result is u exactly.
  const V corr = (u - (m - one)) / m;
  const V tail = vfma(t * t, vfma(t, p, V(-0.5f)), corr);
  const V lo = vfma(k, V(-2.12194440054690583e-4f), tail);
  const V hi = vfma(k, V(0.693359375f), t);
  return hi + lo;
}

template <class V>
BG_INLINE V log1pf_v(V u) {
  V res = log1pf_core(u);
  // Tiny |u| (including -0): log1p(u) rounds to u.
  res = vselect(vlt(vabs(u), V(0x1p-25f)), u, res);
  res = vselect(veq(u, V(__builtin_inff())), u, res);
  res = vselect(veq(u, V(-1.0f)), V(-__builtin_inff()), res);
  res = vselect(vlt(u, V(-1.0f)), V(__builtin_nanf("")), res);
  res = vselect(visnan(u), u, res);
  return res;
}

// log1p(u) for u in [0, 1] or NaN, as the stable softplus and sigmoid forms need it
// (u = exp(-|x|)): the same value as log1pf_v there (u >= 0 is never -0 or tiny
// negative), without the selects for the other special inputs.
template <class V>
BG_INLINE V log1pf_unit_v(V u) {
  return log1pf_core(u);
}

// log(x) (natural), for the estimators (ReSTE's power). Same reduction and polynomial
// as log1pf_v with t = f - 1 exact; subnormal inputs are scaled by 2^23 first.
// x = 0 gives -inf, x < 0 NaN, +inf +inf, NaN NaN. Accuracy <= 1.52 ulp, measured
// over every positive float against double log (AVX-512 build).
template <class V>
BG_INLINE V logf_v(V x) {
  using I = typename V::Int;
  const V one(1.0f);
  const V zero(0.0f);
  const auto sub = vlt(x, V(0x1p-126f));
  const V xs = vselect(sub, x * V(0x1p23f), x);
  const I bits = vbits(xs);
  V k = vint_to_float(((bits >> 23) & I(0xff)) - I(126));
  k = k - vselect(sub, V(23.0f), zero);
  V f = vfrom_bits((bits & I(0x007fffff)) | I(0x3f000000));
  const auto low = vlt(f, V(0.707106781186547524f));
  k = k - vselect(low, one, zero);
  f = vselect(low, f + f, f);
  const V t = f - one;
  V p = vfma(V(-7.634441555e-02f), t, V(1.276156753e-01f));
  p = vfma(p, t, V(-1.316019893e-01f));
  p = vfma(p, t, V(1.420176029e-01f));
  p = vfma(p, t, V(-1.662335545e-01f));
  p = vfma(p, t, V(2.000122666e-01f));
  p = vfma(p, t, V(-2.500082254e-01f));
  p = vfma(p, t, V(3.333333135e-01f));
  const V tail = t * t * vfma(t, p, V(-0.5f));
  const V lo = vfma(k, V(-2.12194440054690583e-4f), tail);
  const V hi = vfma(k, V(0.693359375f), t);
  V res = hi + lo;
  res = vselect(veq(x, V(__builtin_inff())), x, res);
  res = vselect(veq(x, zero), V(-__builtin_inff()), res);
  res = vselect(vlt(x, zero), V(__builtin_nanf("")), res);
  res = vselect(visnan(x), x, res);
  return res;
}

// sin(x) (kCos = false) or cos(x) (kCos = true). Reduction r = x - j pi/2 with
// j = round(x 2/pi) and pi/2 in three float parts (FMA), then Taylor polynomials of
// sin and cos on |r| <= pi/4 (truncation error below 2e-9) and the quadrant of j.
// Accurate to <= 1.58 ulp (every float with |x| <= 2^17 against double sin / cos);
// larger |x| loses accuracy
// (the result stays in [-1, 1]); +-inf and NaN give NaN.
template <class V, bool kCos>
BG_INLINE V sincosf_v(V x) {
  using I = typename V::Int;
  const V j = vround(x * V(0.636619772367581343f));
  V r = vfma(j, V(-1.57079637050628662f), x);
  r = vfma(j, V(4.37113882867379300e-08f), r);
  r = vfma(j, V(1.71512451000588190e-15f), r);
  const V r2 = r * r;
  V s = vfma(r2, V(2.75573192239858906e-06f), V(-1.98412698412698413e-04f));
  s = vfma(s, r2, V(8.33333333333333322e-03f));
  s = vfma(s, r2, V(-1.66666666666666657e-01f));
  s = vfma(s * r2, r, r);
  V c = vfma(r2, V(-2.75573192239858906e-07f), V(2.48015873015873016e-05f));
  c = vfma(c, r2, V(-1.38888888888888894e-03f));
  c = vfma(c, r2, V(4.16666666666666644e-02f));
  c = vfma(c * r2, r2, vfma(r2, V(-0.5f), V(1.0f)));
  // Clamp before the integer conversion so huge or non-finite j stays defined.
  I q = vtrunc_int(vmin(vmax(j, V(-1073741824.0f)), V(1073741824.0f)));
  if (kCos) q = q + I(1);
  const V swap = vint_to_float(q & I(1));
  const V neg = vint_to_float((q >> 1) & I(1));
  const V v = vselect(vlt(V(0.5f), swap), c, s);
  // Beyond the accurate range the reduction degrades; keep the result in [-1, 1].
  return vmax(vmin(v * (V(1.0f) - neg - neg), V(1.0f)), V(-1.0f));
}

}  // namespace vmath
}  // namespace cpu
}  // namespace bg
