// Per-group spike lists for the last 9 steps: the axonal delay of 8 steps (SPIKING.md 1.3).
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "models/spiking/constants.h"

namespace lpl::spiking {

class SpikeRing {
 public:
  // Starts step n: clears the slot that step n overwrites (it held step n-9).
  void begin_step(int64_t n) {
    cur_ = static_cast<int>(n % kSlots);
    slots_[cur_].clear();
  }
  std::vector<uint32_t>& now() { return slots_[cur_]; }
  const std::vector<uint32_t>& now() const { return slots_[cur_]; }
  // Spikes emitted at step n-8 (empty for n < 8: those slots were never written).
  const std::vector<uint32_t>& delayed() const { return slots_[(cur_ + 1) % kSlots]; }

 private:
  static constexpr int kSlots = kAxonalDelay + 1;
  std::array<std::vector<uint32_t>, kSlots> slots_;
  int cur_ = 0;
};

}  // namespace lpl::spiking
