#include "models/train_step.h"

#include <fmt/format.h>

namespace lpl {

void check_losses(const DivergenceGuard& guard, const std::vector<LplTerms>& t) {
  for (size_t k = 0; k < t.size(); ++k) {
    const std::string layer = fmt::format("layer {}", k + 1);
    guard.check_loss(layer, "pull loss", t[k].pull);
    guard.check_loss(layer, "push loss", t[k].push);
    guard.check_loss(layer, "decorr loss", t[k].decorr);
    guard.check_loss(layer, "supervised loss", t[k].supervised);
  }
}

void check_tensors(const DivergenceGuard& guard, Encoder& net, bool gradients) {
  for (Param* p : net.trained_params())
    guard.check_tensor(param_place(*p), gradients ? "gradient" : "weight", p->name, gradients ? p->grad : p->value);
}

std::vector<LplTerms> train_step(LplStep& step, Optimizer& opt, Encoder& net, const DivergenceGuard& guard,
                                 prof::PhaseTimer* timer, const Tensor& x, const Tensor& labels, int64_t global_step,
                                 double lr) {
  const std::vector<LplTerms> t = step.run(x, global_step, labels);
  check_losses(guard, t);
  {
    prof::Scope ph("finite checks", timer);
    check_tensors(guard, net, true);
  }
  {
    prof::Scope ph("update", timer);
    opt.step(lr);
  }
  {
    prof::Scope ph("finite checks", timer);
    check_tensors(guard, net, false);
  }
  return t;
}

}  // namespace lpl
