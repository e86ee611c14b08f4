#include "engine/divergence.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>

#include <fmt/format.h>

#include "engine/ops.h"

namespace lpl {

void DivergenceGuard::diverged(const std::string& what) const {
  std::string ck = last_checkpoint_.empty()
                       ? "no checkpoint had been written yet"
                       : fmt::format("the last good checkpoint '{}' is untouched", last_checkpoint_);
  throw DivergenceError(fmt::format(
      "training diverged at epoch {}, step {}: {}. Stopped without writing a checkpoint ({}); a lower "
      "--learning_rate or other loss coefficients may help",
      epoch_, step_, what, ck));
}

void DivergenceGuard::check_loss(const std::string& layer, const std::string& term, double value) const {
  if (!std::isfinite(value)) diverged(fmt::format("{} {} is {}", layer, term, value));
}

void DivergenceGuard::check_tensor(const std::string& layer, const std::string& term, const std::string& name,
                                   const Tensor& t) const {
  if (all_finite(t)) return;
  std::vector<float> v = t.to_vector();
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < v.size(); ++i)
    if (!is_finite(v[i])) {
      if (first < 0) first = static_cast<int64_t>(i);
      ++bad;
    }
  diverged(fmt::format("{} {} ('{}', shape {}) has {} non-finite value(s) of {} (first: {} at index {})", layer, term,
                       name, t.shape().str(), bad, v.size(), first >= 0 ? v[first] : 0.f, first));
}

void DivergenceGuard::check_count(const std::string& what, double count) const {
  if (count != 0) diverged(fmt::format("{} had {} non-finite value(s)", what, count));
}

NanInjection NanInjection::from_env() {
  NanInjection n;
  const char* e = std::getenv("LPL_INJECT_NAN");
  if (!e || !*e) return n;
  static const std::regex re(R"((\d+)@(\d+))");
  std::cmatch m;
  if (!std::regex_match(e, m, re) || std::stoi(m[1]) < 1)
    fail(fmt::format("LPL_INJECT_NAN='{}' is not of the form <layer>@<step> (layer >= 1, 1-based)", e));
  n.layer = std::stoi(m[1]);
  n.step = std::stoll(m[2]);
  return n;
}

void NanInjection::inject(int layer_1based, int64_t step_now, Tensor& t) const {
  if (!due(layer_1based, step_now) || t.numel() == 0) return;
  Tensor one = Tensor::from_vector({std::numeric_limits<float>::quiet_NaN()}, {1}, t.device());
  Tensor head = t.reshape({t.numel()}).slice0(0, 1);
  head.copy_from(one);
}

}  // namespace lpl
