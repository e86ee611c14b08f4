// Per-group spike lists for the last 9 steps: the axonal delay of 8 steps (SPIKING.md 1.3).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "models/spiking/constants.h"

namespace lpl::spiking {

class SpikeRing {
 public:
  // Starts step n: clears the slot that step n overwrites (it held step n-9).
  void begin_step(int64_t n) {
    step_ = n;
    cur_ = static_cast<int>(n % kSlots);
    slots_[cur_].clear();
  }
  // The step of now() (-1 before the first step).
  int64_t step() const { return step_; }
  // Spikes emitted at step m, for step() - 8 <= m <= step() (empty for m < 0).
  const std::vector<uint32_t>& at(int64_t m) const {
    static const std::vector<uint32_t> none;
    if (m < 0 || m > step_ || m < step_ - kAxonalDelay) return none;
    return slots_[static_cast<size_t>(m % kSlots)];
  }
  std::vector<uint32_t>& now() { return slots_[cur_]; }
  const std::vector<uint32_t>& now() const { return slots_[cur_]; }
  // Spikes emitted at step n-8 (empty for n < 8: those slots were never written).
  const std::vector<uint32_t>& delayed() const { return slots_[(cur_ + 1) % kSlots]; }

 private:
  static constexpr int kSlots = kAxonalDelay + 1;
  std::array<std::vector<uint32_t>, kSlots> slots_;
  int cur_ = 0;
  int64_t step_ = -1;
};

}  // namespace lpl::spiking
