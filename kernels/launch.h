// How a per-element functor runs on the CPU. Its CUDA twin is kernels/launch_cuda.cuh; an op's
// shared driver is a template over the launcher, instantiated once in <op>_cpu.cpp and once in
// <op>_cuda.cu, so both backends execute the same arithmetic.
#pragma once
#include <cstdint>
#include <type_traits>

#include "engine/device.h"
#include "engine/parallel.h"
#include "kernels/segments.h"

namespace lpl {

struct CpuLaunch {
  static constexpr bool is_cuda = false;
  template <class F>
  void operator()(Device, int64_t n, const F& f) const {
    // Functors that handle a span of items per call (kernels/span.h) say how long it is.
    if constexpr (requires { f.per; })
      cpu_for(n, f, f.per);
    else
      cpu_for(n, f);
  }

  // Segmented sums (kernels/segments.h): segments in parallel, each added in order in eight lanes
  // (independent chains the compiler can vectorise), combined as a fixed tree.
  template <class F>
  void sum(Device, kern::Segments s, const F& f) const {
    using V = std::decay_t<decltype(f.term(0, 0))>;
    const int64_t len = s.len;
    cpu_for(s.segments, [&](int64_t seg) {
      V l[8] = {};
      int64_t k = 0;
      for (; k + 8 <= len; k += 8)
        for (int j = 0; j < 8; ++j) l[j] = l[j] + f.term(seg, k + j);
      for (; k < len; ++k) l[0] = l[0] + f.term(seg, k);
      f.finish(seg, ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7])));
    }, len > 0 ? len : 1);
  }
};

}  // namespace lpl
