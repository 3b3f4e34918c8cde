#include "conv_geometry.h"

#include <string>

#include "op_runner.h"

namespace bg {
namespace glue {

namespace {

[[noreturn]] void bad(Napi::Env env, const char* op, const std::string& m) {
  throw_validation(env, "BITGRAD_INVALID_ARGUMENT", std::string(op) + ": " + m);
}

}  // namespace

int64_t checked_mul(Napi::Env env, const char* op, int64_t a, int64_t b) {
  constexpr int64_t kMax = INT64_C(1) << 53;
  if (a != 0 && b > kMax / a) bad(env, op, "sizes are too large");
  return a * b;
}

Operand bit_operand(Napi::Env env, const char* op, Napi::Value v, const char* name, size_t min_bytes, bool read_only) {
  if (NativeBuffer::From(v) == nullptr) bad(env, op, std::string(name) + " must be a native buffer");
  return resolve_operand(env, v, name, min_bytes, false, read_only);
}

void decode_conv_geometry(Napi::Env env, Napi::Object s, const char* op, ConvGeometry* g) {
  ConvGeometry& a = *g;
  const int64_t big = INT64_C(1) << 31;
  a.n = spec_int(env, s, "n", 0, big);
  a.h = spec_int(env, s, "h", 0, big);
  a.wd = spec_int(env, s, "w", 0, big);
  a.c = spec_int(env, s, "c", 0, big);
  a.xwords = spec_int(env, s, "xwords", 0, big);
  a.cout = spec_int(env, s, "cout", 0, big);
  a.kh = spec_int(env, s, "kh", 1, big);
  a.kw = spec_int(env, s, "kw", 1, big);
  a.cg = spec_int(env, s, "cg", 0, big);
  a.gwords = spec_int(env, s, "gwords", 0, big);
  a.groups = spec_int(env, s, "groups", 1, big);
  a.sh = spec_int(env, s, "sh", 1, big);
  a.sw = spec_int(env, s, "sw", 1, big);
  a.ph = spec_int(env, s, "ph", 0, big);
  a.pw = spec_int(env, s, "pw", 0, big);
  a.dh = spec_int(env, s, "dh", 1, big);
  a.dw = spec_int(env, s, "dw", 1, big);
  a.ho = spec_int(env, s, "ho", 0, big);
  a.wo = spec_int(env, s, "wo", 0, big);
  a.pad_mode = static_cast<int>(spec_int(env, s, "padMode", 0, 1));
  if (a.xwords < (a.c + 63) / 64) bad(env, op, "xwords < ceil(c / 64)");
  if (a.cg * a.groups != a.c) bad(env, op, "cg * groups != c");
  if (a.gwords != (a.cg + 63) / 64) bad(env, op, "gwords != ceil(cg / 64)");
  if (a.cout % a.groups != 0) bad(env, op, "groups must divide cout");
  const int64_t eh = a.h + 2 * a.ph - a.dh * (a.kh - 1) - 1;
  const int64_t ew = a.wd + 2 * a.pw - a.dw * (a.kw - 1) - 1;
  if ((eh < 0 ? 0 : eh / a.sh + 1) != a.ho || (ew < 0 ? 0 : ew / a.sw + 1) != a.wo) bad(env, op, "ho / wo do not match");
}

}  // namespace glue
}  // namespace bg
