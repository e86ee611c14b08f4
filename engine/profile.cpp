#include "engine/profile.h"

#include <fmt/format.h>

#if LPL_HAVE_CUDA
#include <cuda_profiler_api.h>
#include <nvtx3/nvToolsExt.h>
#endif

namespace lpl::prof {

void range_push(const char* name) {
#if LPL_HAVE_CUDA
  nvtxRangePushA(name);
#else
  (void)name;
#endif
}

void range_pop() {
#if LPL_HAVE_CUDA
  nvtxRangePop();
#endif
}

void profiler_start() {
#if LPL_HAVE_CUDA
  cudaProfilerStart();
#endif
}

void profiler_stop() {
#if LPL_HAVE_CUDA
  cudaProfilerStop();
#endif
}

Scope::Scope(const char* name, PhaseTimer* timer) : name_(name), timer_(timer), t0_(std::chrono::steady_clock::now()) {
  range_push(name);
}

Scope::~Scope() {
  range_pop();
  if (timer_) timer_->add(name_, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count());
}

std::string PhaseTimer::table(const std::string& title) const {
  double total = 0;
  for (auto& [k, v] : totals_) total += v;
  std::string s = fmt::format("{}\n", title);
  for (auto& [k, v] : totals_)
    s += fmt::format("  {:<14} {:9.3f} s  {:5.1f} %\n", k, v, total > 0 ? 100.0 * v / total : 0.0);
  s += fmt::format("  {:<14} {:9.3f} s\n", "total", total);
  return s;
}

}  // namespace lpl::prof
