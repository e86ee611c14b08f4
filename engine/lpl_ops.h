// The LPL layer objective (spec §2) and the layer-local backward through a VGG block, as ops.
// Each picks its backend from its tensors' device; the arithmetic is written once in
// kernels/lpl_objective.h and kernels/lpl_block.h for both backends.
#pragma once
#include <cstdint>

#include "engine/comm.h"
#include "engine/ops.h"
#include "engine/tensor.h"

namespace lpl {

struct LplCoeffs {
  float pull = 1.0f, push = 1.0f, decorr = 10.0f;
};

// Loss terms of one layer, unweighted (as the original logs them). `supervised` is the classifier
// head's cross-entropy (--train_with_supervision), which enters the total with coefficient 1.
struct LplTerms {
  double pull = 0, push = 0, decorr = 0, supervised = 0;
  double weighted(const LplCoeffs& c) const {
    return c.pull * pull + c.push * push + c.decorr * decorr + supervised;
  }
};

struct LplObjectiveArgs {
  LplCoeffs coeffs;
  // --no_pooling: z is the block output [2B, C, H, W]; pull and Hebbian act per (c, h, w),
  // decorrelation on the maps reshaped to (B H W) x C.
  bool no_pooling = false;
  // --shuffle_positives: int32 [B] permutation; the pull term pairs z1[b] with z2[perm[b]].
  const Tensor* positive_perm = nullptr;
  // --stale_estimates: [M] running mean / variance state. When stale_valid, the Hebbian term
  // uses them (previous step); they are then overwritten with this step's estimates.
  Tensor* stale_mean = nullptr;
  Tensor* stale_var = nullptr;
  bool stale_valid = false;
  // --use_negative_samples: the cosine pull / squared-cosine push of the negative-sample baseline
  // (kernels/negative_objective.h) instead of pull / Hebbian / decorrelation; pooled z only, no
  // stale estimates. The decorrelation slot still holds the LPL decorrelation term (logged only).
  bool negative_samples = false;
  // Data parallelism with global batch statistics: z holds this rank's shard (equal shards on every
  // rank), and every mean, variance, covariance and loss term is over the ranks' global batch
  // (all-reduced sums), so dz is this rank's rows of the one-process gradient. Null: this batch only.
  // The negative-sample objective gathers every rank's normalised rows for its push term.
  Communicator* comm = nullptr;
};

// z: [2B, M] (rows 0..B-1 view 1, B..2B-1 view 2) or [2B, C, H, W] with no_pooling.
// dz (same shape as z) is overwritten with dL/dz of the weighted layer objective.
// The three unweighted loss terms are written as float64 into terms slots [3 slot, 3 slot + 3)
// (terms: a device buffer from lpl_terms_buffer), so a whole step's terms come back in one copy.
void lpl_objective(const Tensor& z, Tensor& dz, Tensor& terms, int64_t slot, const LplObjectiveArgs& args);

// A float64 buffer of n_layers x 3 loss terms on device d, and its host copy.
Tensor lpl_terms_buffer(Device d, int64_t n_layers);
std::vector<LplTerms> lpl_terms_read(const Tensor& terms);

// ---- The block backward of layer-local LPL -------------------------------------------------------
// Carries g = dL/d(block representation) back to the conv output: through the global average pool
// (g is [N, C]; pooled) or directly (g has the block output's shape; no_pooling), through the 2x2
// stride-2 max-pool routing (pool: the forward's parameters, argmax from maxpool2d_forward; both
// absent when the block has no pool) and the ReLU mask (a = ReLU output, [N, C, H, W]). Returns the
// conv-output delta [N, C, H, W]. Other pools (3x3 stride 2, with padding, ...) are refused: see
// lpl_block_delta_fits, and use maxpool2d_backward + relu_backward for them.
Tensor lpl_block_delta(const Tensor& g, const Tensor& a, const Tensor& argmax, const Pool2dParams* pool, bool pooled);
// Whether the fused block delta handles a block with this pool (nullptr: no pool).
bool lpl_block_delta_fits(const Pool2dParams* pool);

// In-place y = max(y, 0), and d = (y > 0) ? d : 0 (the ReLU backward with its output y).
void relu_inplace(Tensor& y);
void relu_mask_inplace(Tensor& d, const Tensor& y);

}  // namespace lpl

namespace lpl {

// ---- Optimiser updates (spec §3), one fused pass per parameter tensor -----------------------------
// Adam as torch.optim.Adam with L2 decay added to the gradient (not AdamW); step counts from 1.
struct AdamHyper {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.f;
  int64_t step = 1;
};
void adam_update(Tensor& w, const Tensor& g, Tensor& m, Tensor& v, const AdamHyper& h);
// SGD as torch.optim.SGD (dampening 0, no Nesterov): the first step's buffer is the gradient.
void sgd_update(Tensor& w, const Tensor& g, Tensor& buf, float lr, float momentum, float weight_decay, bool first);

}  // namespace lpl
