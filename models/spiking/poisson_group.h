// Poisson input population modulated by a rate file (SPIKING.md 6.1-6.3): piecewise-linear rate on
// the step grid, looped with period F_last, rate 0 at step 0. Default: independent Bernoulli(r dt)
// per unit and step (drawn by geometric skipping over the units); --poisson_quirk emulates
// Auryn's scheme in which unit 0 fires at about half the rate.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace lpl::spiking {

// Rate (Hz) per step within one loop period, from "time rate" points.
class RateSchedule {
 public:
  RateSchedule() = default;
  RateSchedule(const std::vector<std::vector<double>>& points, const std::string& what);
  static RateSchedule from_file(const std::string& path);
  double rate(int64_t n) const;  // Hz at step n (0 at step 0)
  int64_t period() const { return static_cast<int64_t>(r_.size()); }

 private:
  std::vector<double> r_;
};

class PoissonGroup {
 public:
  PoissonGroup(int n, RateSchedule rates, uint64_t seed, bool quirk);
  // Appends the units spiking at step n (ascending) to `out`.
  void draw(int64_t n, std::vector<uint32_t>& out);
  int size() const { return n_; }

 private:
  int n_;
  RateSchedule rates_;
  bool quirk_;
  std::mt19937_64 rng_;
  double uniform();  // in (0, 1]
};

}  // namespace lpl::spiking
