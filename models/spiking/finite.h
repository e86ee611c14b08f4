// Finite checks on the bit pattern for both state precisions (immune to -ffast-math, like lpl::is_finite).
#pragma once
#include <cstdint>
#include <cstring>

#include "engine/common.h"

namespace lpl::spiking {

inline bool finite_value(float x) { return is_finite(x); }
inline bool finite_value(double x) {
  uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return ((u >> 52) & 0x7FFu) != 0x7FFu;
}

}  // namespace lpl::spiking
