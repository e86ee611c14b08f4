// Profiling: NVTX ranges (visible in Nsight Systems / Compute) around every phase and kernel family,
// and a per-phase wall-clock table for CPU runs. Both cost nothing measurable when unused.
#pragma once
#include <chrono>
#include <map>
#include <string>

namespace lpl::prof {

void range_push(const char* name);  // NVTX push (no-op without CUDA)
void range_pop();

// Accumulated seconds per phase name (forward, objective, update, data wait, ...).
class PhaseTimer {
 public:
  void add(const std::string& phase, double seconds) { totals_[phase] += seconds; }
  const std::map<std::string, double>& totals() const { return totals_; }
  void reset() { totals_.clear(); }
  std::string table(const std::string& title) const;  // aligned text table with shares of the total

 private:
  std::map<std::string, double> totals_;
};

// RAII: an NVTX range, and (when timer is given) the elapsed wall time added to that phase.
// (Callers synchronise the device before a phase ends when GPU time must be attributed exactly.)
class Scope {
 public:
  Scope(const char* name, PhaseTimer* timer = nullptr);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  const char* name_;
  PhaseTimer* timer_;
  std::chrono::steady_clock::time_point t0_;
};

// cudaProfilerStart/Stop for --profile (no-ops without CUDA).
void profiler_start();
void profiler_stop();

}  // namespace lpl::prof
