#include "models/optim.h"

#include <fmt/format.h>

#include <cmath>
#include <numbers>

#include "engine/lpl_ops.h"

namespace lpl {

double scheduled_lr(const ScheduleOptions& s, int64_t epoch, int64_t step_in_epoch, int64_t steps_per_epoch) {
  double e = static_cast<double>(epoch);
  if (s.per_step && steps_per_epoch > 0) e += static_cast<double>(step_in_epoch) / static_cast<double>(steps_per_epoch);
  const double W = static_cast<double>(s.warmup_epochs);
  if (e < W) {
    if (s.warmup_epochs == 1) return s.start_lr;
    return s.start_lr + std::min(e, W - 1) * (s.base_lr - s.start_lr) / (W - 1);
  }
  const double span = std::max<double>(static_cast<double>(s.max_epochs) - W, 1.0);
  return s.final_lr + (s.base_lr - s.final_lr) * (1.0 + std::cos(std::numbers::pi * (e - W) / span)) / 2.0;
}

Optimizer::Optimizer(const OptimizerOptions& o, std::vector<Param*> params) : opt_(o), params_(std::move(params)) {
  LPL_CHECK(o.kind == "adam" || o.kind == "sgd", fmt::format("optimizer: unknown kind '{}' (adam or sgd)", o.kind));
  LPL_CHECK(o.weight_decay >= 0, "optimizer: weight decay must be >= 0");
  LPL_CHECK(o.momentum >= 0 && o.momentum < 1, "optimizer: momentum must be in [0, 1)");
  for (Param* p : params_) {
    m_.push_back(Tensor::zeros(p->value.shape(), p->value.device()));
    v_.push_back(o.kind == "adam" ? Tensor::zeros(p->value.shape(), p->value.device()) : Tensor());
  }
}

void Optimizer::step(double lr) {
  ++steps_;
  for (size_t i = 0; i < params_.size(); ++i) {
    Param& p = *params_[i];
    const float wd = p.decay ? static_cast<float>(opt_.weight_decay) : 0.f;
    if (opt_.kind == "adam") {
      AdamHyper h;
      h.lr = static_cast<float>(lr);
      h.weight_decay = wd;
      h.step = steps_;
      adam_update(p.value, p.grad, m_[i], v_[i], h);
    } else {
      sgd_update(p.value, p.grad, m_[i], static_cast<float>(lr), static_cast<float>(opt_.momentum), wd, steps_ == 1);
    }
  }
}

void Optimizer::save_state(TrainState& s) const {
  s.values["optim.kind"] = opt_.kind;
  s.set_i64("optim.steps", steps_);
  for (size_t i = 0; i < params_.size(); ++i) {
    s.tensors.emplace_back("optim.m." + params_[i]->name, m_[i]);
    if (v_[i].defined()) s.tensors.emplace_back("optim.v." + params_[i]->name, v_[i]);
  }
}

void Optimizer::load_state(const TrainState& s, const std::string& file) {
  auto kind = s.values.find("optim.kind");
  LPL_CHECK(kind != s.values.end() && kind->second == opt_.kind,
            fmt::format("checkpoint state '{}' holds the state of optimiser '{}', this run uses --optimizer {}", file,
                        kind == s.values.end() ? "(none)" : kind->second, opt_.kind));
  std::map<std::string, Tensor> src;
  for (const auto& [n, t] : s.tensors)
    if (n.rfind("optim.", 0) == 0) src.emplace(n, t);
  NamedTensors dst;
  for (size_t i = 0; i < params_.size(); ++i) {
    dst.emplace_back("optim.m." + params_[i]->name, m_[i]);
    if (v_[i].defined()) dst.emplace_back("optim.v." + params_[i]->name, v_[i]);
  }
  restore_tensors(src, dst, file, true);
  steps_ = s.get_i64("optim.steps", file);
}

}  // namespace lpl
