// Counter-based RNG (Philox-4x32-10, Salmon et al. 2011): the value drawn for (seed, stream, index)
// is a pure function of those numbers, so CPU and GPU, and any thread count, give the same numbers.
#pragma once
#include <cstdint>

#include "engine/common.h"

namespace lpl {

struct Philox4 {
  uint32_t v[4];
};

LPL_HD inline uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Philox-4x32-10 of counter (c0..c3) under key (k0, k1).
LPL_HD inline Philox4 philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                 uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// A named stream of random numbers: (seed, stream) is the key/counter prefix; index selects a block
// of four 32-bit values. Callers give every draw a unique (index, lane).
struct CounterRng {
  uint64_t seed = 0;
  uint64_t stream = 0;

  LPL_HD Philox4 block(uint64_t index) const {
    return philox4x32(static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                      static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32),
                      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  }
  // Uniform in [0, 1) with 24 random bits (exactly representable in float).
  LPL_HD static float to_unit(uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }
  // Uniform in [0, 1) as double with 53 random bits from two words.
  LPL_HD static double to_unit_d(uint32_t a, uint32_t b) {
    uint64_t v = (static_cast<uint64_t>(a) << 21) ^ static_cast<uint64_t>(b >> 11);
    return static_cast<double>(v & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
  }
  LPL_HD float uniform(uint64_t index, int lane) const { return to_unit(block(index).v[lane & 3]); }
};

}  // namespace lpl
