#include "models/spiking/run_length.h"

#include "engine/common.h"
#include "models/spiking/constants.h"

namespace lpl::spiking {

namespace {
const std::string kBound = strf("a run may have at most %lld steps of 0.1 ms (%.4f s; .spk files store the step in 32 bits)",
                                static_cast<long long>(kMaxRunSteps), static_cast<double>(kMaxRunSteps) * kDt);

int64_t phase_steps(const Phase& p) {
  if (!(p.seconds >= 0) || !(p.value >= 0)) fail(strf("%s must be >= 0, got %g", p.flag.c_str(), p.value));
  // Compared in double before any conversion: a cast of 1e19 (or inf) to int64 is undefined.
  const double steps = p.seconds / kDt;
  if (!(steps <= static_cast<double>(kMaxRunSteps)))
    fail(strf("%s %g s%s is %g steps; %s", p.flag.c_str(), p.value, p.note.c_str(), steps, kBound.c_str()));
  const int64_t n = steps_for(p.seconds);  // float32 rounding of the seconds may add a few steps
  if (n > kMaxRunSteps) fail(strf("%s %g s%s is %lld steps; %s", p.flag.c_str(), p.value, p.note.c_str(), static_cast<long long>(n), kBound.c_str()));
  return n;
}
}  // namespace

RunSteps run_steps(const Phase& prime, const Phase& learn) {
  RunSteps r;
  r.prime = phase_steps(prime);
  r.total = r.prime + phase_steps(learn);  // each <= 2^32: no overflow
  if (r.total > kMaxRunSteps)
    fail(strf("priming (%s %g) and learning (%s %g) are %lld steps; %s", prime.flag.c_str(), prime.value, learn.flag.c_str(),
              learn.value, static_cast<long long>(r.total), kBound.c_str()));
  return r;
}

}  // namespace lpl::spiking
