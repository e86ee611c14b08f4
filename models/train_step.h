// One guarded training step, as the trainer runs it: forward + objective + backward (LplStep), the
// divergence checks of the loss terms, every trained gradient and weight (engine/divergence.h), and
// the optimiser update.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/divergence.h"
#include "engine/lpl_ops.h"
#include "engine/profile.h"
#include "models/encoder.h"
#include "models/lpl_step.h"
#include "models/optim.h"

namespace lpl {

// Non-finite loss terms, gradients or weights stop the run naming the layer (and the tensor).
void check_losses(const DivergenceGuard& guard, const std::vector<LplTerms>& t);
void check_tensors(const DivergenceGuard& guard, Encoder& net, bool gradients);

// x: both views stacked [2B, C, S, S]; labels: int32 [B] (supervised only). Returns the step's loss terms.
std::vector<LplTerms> train_step(LplStep& step, Optimizer& opt, Encoder& net, const DivergenceGuard& guard,
                                 prof::PhaseTimer* timer, const Tensor& x, const Tensor& labels, int64_t global_step,
                                 double lr);

}  // namespace lpl
