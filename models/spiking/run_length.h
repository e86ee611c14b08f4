// How many steps a run has (SPIKING.md 1): a priming phase, then a learning phase, each given in
// seconds by a command-line flag. Durations are checked before anything is simulated: 1e15 s is
// 1e19 steps, which overflowed int64 to a negative count (nothing ran, exit status 0).
#pragma once
#include <cstdint>
#include <string>

namespace lpl::spiking {

// The .spk step field is 32-bit (SPIKING.md 9.1): a run has at most this many steps (429,496 s).
inline constexpr int64_t kMaxRunSteps = 0xFFFFFFFFLL;

struct Phase {
  std::string flag;   // "--simtime"
  double value;       // the flag's value
  double seconds;     // the phase's duration (3 x --tau_mean for the network's priming)
  std::string note;   // how seconds follow from value, "" when equal
};
struct RunSteps {
  int64_t prime = 0, total = 0;
};
// steps_for() of both phases; refuses a negative or non-finite duration, or a run of more than
// kMaxRunSteps steps, with lpl::Error naming the flags, their values and the bound.
RunSteps run_steps(const Phase& prime, const Phase& learn);

}  // namespace lpl::spiking
