// Fixed constants of the spiking simulations (SPIKING.md sections 1, 2, 4.1).
#pragma once
#include <cstdint>

namespace lpl::spiking {

inline constexpr double kDt = 1e-4;           // simulation step (s)
inline constexpr int kAxonalDelay = 8;        // steps between emission and transmission
inline constexpr int kPostDelay = 200;        // LPL delay line of the target's own spikes
inline constexpr int kLocDelay = 8;           // LPL delay of f' and the PSP trace
inline constexpr int64_t kBatchSteps = 5000;  // LPL weight-update interval
inline constexpr uint32_t kSpkStepsPerSecond = 10000;
inline constexpr uint32_t kSpkFormatTag = 287960082;  // Auryn 0.8.2 binary spike file tag

// Number of steps of a run of T seconds: T as float32, divided by dt in double, truncated.
int64_t steps_for(double seconds);

}  // namespace lpl::spiking
