// Sizes that files declare: a product that does not fit in int64 must never wrap to a small number
// (a wrapped byte count let a 2^61-element .npy pass its size check and crash later).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/common.h"

namespace lpl {

// a * b, or false when it overflows int64.
inline bool checked_mul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }

// Product of `dims` times `itemsize`; fails with "<what>: declared shape (d0,d1,...) is too large
// (overflows 64-bit byte count)" (or "... has a negative dimension").
inline int64_t checked_nbytes(const std::vector<int64_t>& dims, int64_t itemsize, const std::string& what) {
  auto refuse = [&](const char* why) {
    std::string shape = "(";
    for (size_t i = 0; i < dims.size(); ++i) {
      if (i) shape += ',';
      shape += std::to_string(dims[i]);
    }
    fail(what + ": declared shape " + shape + ") " + why);
  };
  int64_t n = itemsize;
  for (int64_t d : dims) {
    if (d < 0) refuse("has a negative dimension");
    if (!checked_mul(n, d, &n)) refuse("is too large (overflows 64-bit byte count)");
  }
  return n;
}

}  // namespace lpl
