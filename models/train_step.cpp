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
  // Nothing here waits for the device until the one read at the end: the finite checks count
  // non-finite values into the step's buffer on the device, read together with the loss terms.
  // Only when something is wrong are the tensors checked one by one (in the order of the checks:
  // loss terms, gradients, weights), so the message names the layer and the tensor.
  step.compute(x, global_step, labels);
  const std::vector<Param*> params = net.trained_params();
  {
    prof::Scope ph("finite checks", timer);
    step.count_nonfinite(params, true);
  }
  {
    prof::Scope ph("update", timer);
    opt.step(lr);
  }
  LplStep::Readback r;
  {
    prof::Scope ph("finite checks", timer);
    step.count_nonfinite(params, false);
    r = step.read();
  }
  check_losses(guard, r.terms);
  if (r.nonfinite_gradients != 0) {
    check_tensors(guard, net, true);
    guard.check_count("the gradients", r.nonfinite_gradients);
  }
  if (r.nonfinite_weights != 0) {
    check_tensors(guard, net, false);
    guard.check_count("the updated weights", r.nonfinite_weights);
  }
  return r.terms;
}

}  // namespace lpl
