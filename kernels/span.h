// How an op's flat index space is split between launchers. A functor's index i names one span of
// up to `per` consecutive items: on CUDA per = 1 (one thread per item, coalesced), on the CPU a
// span is a whole row or a long run, so its inner loop has no divisions and vectorises.
#pragma once
#include <cstdint>

#include "engine/common.h"

namespace lpl::kern {

struct Span {
  int64_t per = 1;    // items per functor call
  int64_t count = 0;  // functor calls
};

// `rows` rows of `row_len` items each, split into spans that never cross a row.
template <class L>
Span row_spans(int64_t rows, int64_t row_len) {
  if constexpr (L::is_cuda) return {1, rows * row_len};
  if (row_len <= 0) return {1, 0};
  return {row_len, rows};
}

// A flat run of n items: per = 1 on CUDA, long runs on the CPU.
template <class L>
Span flat_spans(int64_t n) {
  constexpr int64_t kCpuRun = 1024;
  if constexpr (L::is_cuda) return {1, n};
  return {kCpuRun, (n + kCpuRun - 1) / kCpuRun};
}

LPL_HD inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// q = a / b and r = a % b for a >= 0, b > 0: in 32-bit arithmetic when both fit (a GPU has no
// 64-bit divider: a 64-bit division is a long software routine, a 32-bit one a few instructions).
// Index maths of per-element functors goes through here; the CPU runs the same branch.
struct DivMod {
  int64_t q, r;
};
LPL_HD inline DivMod divmod(int64_t a, int64_t b) {
  if (((a | b) >> 31) == 0) {
    const uint32_t ua = static_cast<uint32_t>(a), ub = static_cast<uint32_t>(b), q = ua / ub;
    return {static_cast<int64_t>(q), static_cast<int64_t>(ua - q * ub)};
  }
  const int64_t q = a / b;
  return {q, a - q * b};
}
LPL_HD inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

}  // namespace lpl::kern
