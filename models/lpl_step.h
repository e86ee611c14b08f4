// One layer-local LPL training step on VGG-11, as a readable sequence of explicit calls:
// for each block k: forward -> representation -> [projector] -> objective (dL/dz and loss terms)
// -> [projector backward] -> block backward (dW, db) -> the block output feeds block k+1 with the
// gradient stopped. Both views travel as one batch of 2B images.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/divergence.h"
#include "engine/lpl_ops.h"
#include "engine/profile.h"
#include "models/vgg11.h"

namespace lpl {

struct LplStepOptions {
  LplCoeffs coeffs;
  bool no_pooling = false;         // objective on the block output itself
  bool stale_estimates = false;    // Hebbian term with the previous step's mean / variance
  bool shuffle_positives = false;  // pull pairs z1 with a random permutation of z2
  uint64_t seed = 24;              // for the shuffle permutation
  prof::PhaseTimer* timer = nullptr;  // per-phase wall time (CPU runs; GPU time needs a sync per phase)
};

class LplStep {
 public:
  LplStep(Vgg11& net, const LplStepOptions& o);
  // x: [2B, C, S, S], rows 0..B-1 view 1 and B..2B-1 view 2. Writes every parameter's gradient and
  // returns each layer's unweighted loss terms (read back once per step).
  std::vector<LplTerms> run(const Tensor& x, int64_t step_index);
  // Only layer k's objective and gradient, from block k's input x (for tests of layer-locality).
  void run_layer(int k, const Tensor& x, int64_t step_index, Tensor& terms);
  // Checkpoints: the stale estimates ("lpl.stale_mean.<k>", "lpl.stale_var.<k>", which are valid).
  void save_state(TrainState& s) const;
  void load_state(const TrainState& s, const std::string& file);

 private:
  Tensor shuffle_perm(int64_t B, int64_t step_index) const;
  Vgg11& net_;
  LplStepOptions opt_;
  Tensor terms_;
  std::vector<Tensor> stale_mean_, stale_var_;
  std::vector<bool> stale_valid_;
  NanInjection inject_ = NanInjection::from_env();  // LPL_INJECT_NAN (tests of the divergence guard)
};

// [B, ...] + [B, ...] -> [2B, ...] on the views' device.
Tensor stack_views(const Tensor& v1, const Tensor& v2);

}  // namespace lpl
