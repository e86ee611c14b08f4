#include "models/spiking/poisson_group.h"

#include <cmath>

#include "engine/common.h"
#include "models/spiking/constants.h"
#include "models/spiking/spike_io.h"

namespace lpl::spiking {

RateSchedule::RateSchedule(const std::vector<std::vector<double>>& pts, const std::string& what) {
  std::vector<int64_t> F(pts.size());
  for (size_t k = 0; k < pts.size(); ++k) {
    // Times bounded before the conversion to steps (a cast of 1e300 / dt to int64 is undefined).
    if (!(pts[k][0] >= 0 && pts[k][0] <= 2e5) || !(pts[k][1] >= 0) || !std::isfinite(pts[k][1]) || pts[k][1] * kDt >= 1.0)
      fail(strf("%s: point %zu (t = %g s, rate = %g Hz) needs 0 <= time <= 200000 s and 0 <= rate < 10000 Hz", what.c_str(), k + 1,
                pts[k][0], pts[k][1]));
    F[k] = static_cast<int64_t>(std::floor(pts[k][0] / kDt + 0.5));
    if (k > 0 && F[k] < F[k - 1]) fail(strf("%s: times not sorted at point %zu", what.c_str(), k + 1));
  }
  if (pts.size() < 2 || F.back() <= 0) fail(strf("%s: needs at least two points spanning a positive time", what.c_str()));
  if (F.back() > 2'000'000'000LL) fail(strf("%s: loop period beyond 200000 s", what.c_str()));
  r_.assign(static_cast<size_t>(F.back()), 0.0);
  for (size_t k = 0; k + 1 < pts.size(); ++k)
    for (int64_t n = F[k]; n < F[k + 1]; ++n)
      r_[n] = pts[k][1] + (pts[k + 1][1] - pts[k][1]) * static_cast<double>(n - F[k]) / static_cast<double>(F[k + 1] - F[k]);
}

RateSchedule RateSchedule::from_file(const std::string& path) { return RateSchedule(read_numeric_rows(path, 2), path); }

double RateSchedule::rate(int64_t n) const {
  if (n <= 0 || r_.empty()) return 0.0;
  return r_[static_cast<size_t>(n % static_cast<int64_t>(r_.size()))];
}

PoissonGroup::PoissonGroup(int n, RateSchedule rates, uint64_t seed, bool quirk)
    : n_(n), rates_(std::move(rates)), quirk_(quirk), rng_(seed) {}

double PoissonGroup::uniform() { return (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53; }

void PoissonGroup::draw(int64_t n, std::vector<uint32_t>& out) {
  const double p = rates_.rate(n) * kDt;
  if (p <= 0) return;
  if (quirk_) {
    // Auryn: event gaps 1 + round(E / (lambda dt)) with lambda = 1/(1/r - dt), the first position
    // redrawn from unit 0 at every step.
    const double ldt = p / (1.0 - p);
    double pos = std::round(-std::log(uniform()) / ldt);
    while (pos < n_) {
      out.push_back(static_cast<uint32_t>(pos));
      pos += 1.0 + std::round(-std::log(uniform()) / ldt);
    }
    return;
  }
  // Independent Bernoulli(p): gaps between successes are geometric.
  const double l1p = std::log1p(-p);
  double pos = std::floor(std::log(uniform()) / l1p);
  while (pos < n_) {
    out.push_back(static_cast<uint32_t>(pos));
    pos += 1.0 + std::floor(std::log(uniform()) / l1p);
  }
}

}  // namespace lpl::spiking
