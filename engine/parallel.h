// CPU side of "kernels written once": a per-element functor f(i) runs as an OpenMP loop here and
// as a CUDA grid in kernels/launch_cuda.cuh, so CPU tests execute the arithmetic the GPU runs.
#pragma once
#include <cstdint>

#include <omp.h>

namespace lpl {

// Threads used by CPU ops (0 = OpenMP's default). Set once from --threads.
void set_num_threads(int n);
int num_threads();

template <class F>
void cpu_for(int64_t n, const F& f) {
  if (n <= 0) return;
  // Small loops run inline: thread start-up costs more than the work.
  if (n < 4096 || num_threads() == 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(num_threads())
  for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace lpl
