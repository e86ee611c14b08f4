// Optimisers and the learning-rate schedule of LPL training (spec §3).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/param.h"

namespace lpl {

// Linear warm-up then cosine, per epoch e (0-based) as the original's LinearWarmupCosineAnnealingLR:
//   e < W: start + e (base - start) / (W - 1)       (W = 1: epoch 0 at start; W = 0: no warm-up)
//   e >= W: final + (base - final) (1 + cos(pi (e - W) / max(max_epochs - W, 1))) / 2
// per_step (--lr_schedule_per_step): the same curve at the fractional epoch e + step / steps_per_epoch.
struct ScheduleOptions {
  double base_lr = 1e-3, start_lr = 0.0, final_lr = 1e-6;
  int64_t warmup_epochs = 10, max_epochs = 800;
  bool per_step = false;
};
double scheduled_lr(const ScheduleOptions& s, int64_t epoch, int64_t step_in_epoch, int64_t steps_per_epoch);

struct OptimizerOptions {
  std::string kind = "adam";  // adam | sgd
  double weight_decay = 1.5e-6;  // L2 added to the gradient of weights (never biases)
  double momentum = 0.0;         // sgd only
};

class Optimizer {
 public:
  Optimizer(const OptimizerOptions& o, std::vector<Param*> params);
  // One update of every parameter from its .grad at learning rate lr.
  void step(double lr);
  int64_t steps() const { return steps_; }
  // Checkpoints: the moments as "optim.m.<param>" (and "optim.v.<param>" for Adam) and the step
  // count; loading refuses missing or mis-shaped moments and another optimiser kind by name.
  void save_state(TrainState& s) const;
  void load_state(const TrainState& s, const std::string& file);

 private:
  OptimizerOptions opt_;
  std::vector<Param*> params_;
  std::vector<Tensor> m_, v_;  // Adam moments, or SGD momentum buffers in m_
  int64_t steps_ = 0;
};

}  // namespace lpl
