// Segmented sums, the one reduction primitive both launchers provide (launch.h, launch_cuda.cuh).
// launch.sum(d, {segments, len, layout}, f) calls, for every seg in [0, segments),
//   f.finish(seg, s)   with   s = the sum over k in [0, len) of f.term(seg, k),
// where a term is a double or a Double2 (two sums in one pass over the data).
// f.term and f.finish are LPL_HD members, so both backends run the same arithmetic; only the order
// of the additions differs (the CPU adds k in order in four lanes, a CUDA block in a fixed tree), and
// neither uses atomics, so each backend gives the same bits run after run.
// The layout says which index walks memory, so the CUDA launcher can read it coalesced:
//   rows:    term(seg, k + 1) sits next to term(seg, k) (a row, an image plane, a chunk): one block
//            per segment, its threads stride k, warp shuffles add them.
//   columns: term(seg + 1, k) sits next to term(seg, k) (the columns of a row-major matrix): a block
//            holds 32 adjacent segments, its threads' rows stride k, shared memory adds them.
#pragma once
#include <cstdint>

#include "engine/common.h"

namespace lpl::kern {

struct Double2 {
  double a, b;  // trivial: CUDA shared memory holds it; Double2{} is zero
  LPL_HD Double2 operator+(const Double2& o) const { return {a + o.a, b + o.b}; }
};

enum class SegLayout { rows, columns };

struct Segments {
  int64_t segments = 0;
  int64_t len = 0;
  SegLayout layout = SegLayout::rows;
};

}  // namespace lpl::kern
