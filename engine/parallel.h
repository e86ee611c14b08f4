// CPU side of "kernels written once": a per-element functor f(i) runs as an OpenMP loop here and
// as a CUDA grid in kernels/launch_cuda.cuh, so CPU tests execute the arithmetic the GPU runs.
// Without OpenMP (e.g. the CUDA-only GPU-check build) the loops run serially.
#pragma once
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace lpl {

// Threads used by CPU ops (0 = OpenMP's default). Set once from --threads.
void set_num_threads(int n);
int num_threads();

// grain: items of work per call of f (a functor that handles a span of items passes its length),
// so that the choice between inline and parallel looks at the total work.
template <class F>
void cpu_for(int64_t n, const F& f, int64_t grain = 1) {
  if (n <= 0) return;
  // Small loops run inline: thread start-up costs more than the work.
  if (n == 1 || n * grain < 4096 || num_threads() == 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(num_threads())
#endif
  for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace lpl
