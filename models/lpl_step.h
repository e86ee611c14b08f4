// One training step of any encoder, as a readable sequence of explicit calls. Layer-local (default),
// on the encoder's analytic path: for each block k: forward -> representation -> [projector] ->
// objective (dL/dz and loss terms) -> [projector backward] -> block backward (dW, db) -> the block
// output feeds block k+1 with the gradient stopped. End-to-end (--train_end_to_end), and layer-local
// for encoders without an analytic path: the encoder's layers on the reverse-mode tape (engine/tape.h),
// the objective on the final representation (end-to-end) or on each detached block's, then backward.
// The objective is LPL's, the negative-sample baseline's or a supervised classifier head's
// cross-entropy. Both views travel as one batch of 2B images.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/divergence.h"
#include "engine/lpl_ops.h"
#include "engine/profile.h"
#include "engine/tape.h"
#include "models/encoder.h"
#include "models/data_parallel.h"

namespace lpl {

// What a layer's objective is: LPL (spec §2), the negative-sample baseline (--use_negative_samples)
// or the supervised baseline (--train_with_supervision: (CE(head(z1), y) + CE(head(z2), y)) / 2).
enum class StepObjective { lpl, negative_samples, supervised };

struct LplStepOptions {
  LplCoeffs coeffs;
  StepObjective objective = StepObjective::lpl;
  bool end_to_end = false;         // the objective on the final layer, backprop through all blocks
  bool no_pooling = false;         // objective on the block output itself
  bool stale_estimates = false;    // Hebbian term with the previous step's mean / variance
  bool shuffle_positives = false;  // pull pairs z1 with a random permutation of z2
  uint64_t seed = 24;              // for the shuffle permutation and dropout
  // false: evaluation mode (no dropout, batch norm with its running statistics, not updated).
  bool training = true;
  // true: loss terms only, no gradients (validation).
  bool no_grad = false;
  // true: layer-local on the tape (detach at every block output) even where the encoder has an
  // analytic path (the tests compare the two).
  bool tape = false;
  prof::PhaseTimer* timer = nullptr;  // per-phase wall time (CPU runs; GPU time needs a sync per phase)
  // Data parallelism: the ranks of the job (x is this rank's shard of the global batch; null: one
  // process). By default LPL's statistics are the global batch's (all-reduced), so N ranks train as
  // one process with the whole batch; local_batch_stats keeps each rank's own statistics (as the
  // original's DDP) and averages the ranks' gradients. Either way compute() ends with the gradients
  // summed over the ranks and read() returns the same terms on every rank.
  Communicator* comm = nullptr;
  bool local_batch_stats = false;
};

class LplStep {
 public:
  LplStep(Encoder& net, const LplStepOptions& o);
  // x: [2B, C, S, S], rows 0..B-1 view 1 and B..2B-1 view 2; labels: int32 [B] (supervised only,
  // on x's device). Writes every trained parameter's gradient and returns each layer's unweighted
  // loss terms (read back once per step; end-to-end only the final layer's are set).
  std::vector<LplTerms> run(const Tensor& x, int64_t step_index, const Tensor& labels = Tensor());
  // run() without the read: the step's terms stay in the device buffer until read(), so the finite
  // checks of the gradients and weights (count_nonfinite) and the update can join the same read.
  void compute(const Tensor& x, int64_t step_index, const Tensor& labels = Tensor());
  // Adds the number of non-finite values of the parameters' gradients (or values) into the step's
  // buffer, on the device; compute() resets both counts.
  void count_nonfinite(const std::vector<Param*>& params, bool gradients);
  struct Readback {
    std::vector<LplTerms> terms;  // as run() returns them
    double nonfinite_gradients = 0, nonfinite_weights = 0;
  };
  // The one blocking read of a step: its loss terms, supervised losses and non-finite counts.
  Readback read();
  // Only layer k's objective and gradient, from block k's input x (analytic layer-local path).
  void run_layer(int k, const Tensor& x, int64_t step_index, Tensor& terms);
  // Checkpoints: the stale estimates ("lpl.stale_mean.<k>", "lpl.stale_var.<k>", which are valid).
  void save_state(TrainState& s) const;
  void load_state(const TrainState& s, const std::string& file);

 private:
  Tensor shuffle_perm(int64_t B, int64_t step_index);
  ForwardMode mode(int64_t step_index) const;
  // The objective of layer k on its representation r (a value on tape t): writes the terms (slot k)
  // and, unless no_grad, runs the tape's backward from it.
  void objective(int k, ag::Tape& t, const ag::Var& r, int64_t step_index, Tensor& terms);
  // The representation of layer k from its block output y on the tape: pooled, through the projector.
  ag::Var representation(int k, ag::Tape& t, const ag::Var& y);
  void run_on_tape(const Tensor& x, int64_t step_index);
  // Whether batch statistics (the LPL / negative-sample objective's, batch norm's) are the ranks'
  // global batch's (comm, not local_batch_stats).
  bool global_stats() const;
  // dL/d(output) of an objective normalised by this rank's batch alone, as its share of the ranks' mean.
  Tensor rank_share(const Tensor& g) const;
  Encoder& net_;
  LplStepOptions opt_;
  ag::Tape tape_;
  std::vector<Param*> top_params_;         // projector and head parameters (the tape accumulates into them)
  // float64 (int64-typed) on the device: 3 LPL terms per layer, then per layer the head's
  // cross-entropy (supervised), then the non-finite counts of the gradients and the weights.
  Tensor buffer_;
  Tensor terms_;                           // buffer_'s first 3L slots (lpl_objective's terms)
  Tensor labels2_;                         // [2B] int32: the step's labels for both views
  Tensor perm_;                            // --shuffle_positives: this step's permutation, on the device
  int64_t perm_step_ = -1, perm_b_ = 0;    // the step and batch size perm_ was made for
  std::shared_ptr<void> perm_host_;        // pinned staging for perm_
  mutable bool perm_pending_ = false;      // its upload may still be running (no read() since)
  std::vector<Tensor> stale_mean_, stale_var_;
  std::vector<bool> stale_valid_;
  NanInjection inject_ = NanInjection::from_env();  // LPL_INJECT_NAN (tests of the divergence guard)
  std::unique_ptr<GradientSync> sync_;      // with comm: the gradients' all-reduce
  std::vector<std::vector<Param*>> layer_params_;  // trained parameters by layer (overlapped all-reduce)
};

// [B, ...] + [B, ...] -> [2B, ...] on the views' device.
Tensor stack_views(const Tensor& v1, const Tensor& v2);

}  // namespace lpl
