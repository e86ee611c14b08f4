// How a per-element functor runs on the CPU. Its CUDA twin is kernels/launch_cuda.cuh; an op's
// shared driver is a template over the launcher, instantiated once in <op>_cpu.cpp and once in
// <op>_cuda.cu, so both backends execute the same arithmetic.
#pragma once
#include <cstdint>

#include "engine/device.h"
#include "engine/parallel.h"

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
};

}  // namespace lpl
