// Decoding and checking the binary convolution geometry that the forward (op_xnor.cpp)
// and backward (op_xnor_conv_train.cpp) ops share.
#pragma once
#include <napi.h>

#include <cstdint>

#include "../ops/xnor_args.h"
#include "buffer.h"

namespace bg {
namespace glue {

// Reads n, h, w, c, xwords, cout, kh, kw, cg, gwords, groups, sh, sw, ph, pw, dh, dw, ho,
// wo, padMode from spec into g and checks that they agree; ValidationError
// BITGRAD_INVALID_ARGUMENT ("<op>: ...") otherwise.
void decode_conv_geometry(Napi::Env env, Napi::Object spec, const char* op, ConvGeometry* g);

// a * b for sizes, ValidationError ("<op>: sizes are too large") past 2^53.
int64_t checked_mul(Napi::Env env, const char* op, int64_t a, int64_t b);

// spec value v as a NativeBuffer operand of at least min_bytes (bit tensors have no host
// form); read_only keeps its version (see Storage::version).
Operand bit_operand(Napi::Env env, const char* op, Napi::Value v, const char* name, size_t min_bytes,
                    bool read_only = false);

}  // namespace glue
}  // namespace bg
