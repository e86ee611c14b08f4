#include "models/lpl_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "engine/rng.h"

namespace lpl {

LplStep::LplStep(Encoder& net, const LplStepOptions& o) : net_(net), opt_(o) {
  LPL_CHECK(!(o.no_pooling && net.options().projector), "lpl: --no_pooling cannot be combined with --use_projector_mlp");
  LPL_CHECK(!(o.no_pooling && o.stale_estimates), "lpl: --stale_estimates is not supported with --no_pooling");
  LPL_CHECK(!(o.no_pooling && o.end_to_end), "lpl: --no_pooling cannot be combined with --train_end_to_end");
  LPL_CHECK(!(o.no_pooling && o.objective != StepObjective::lpl),
            "lpl: --no_pooling is for the LPL objective only (not the supervised or negative-sample baselines)");
  LPL_CHECK(o.end_to_end == net.options().end_to_end,
            "lpl: the network and the step disagree on --train_end_to_end (projectors and heads depend on it)");
  LPL_CHECK(o.end_to_end || net.supports_layer_local(),
            fmt::format("lpl: the {} encoder trains end-to-end only (as the original): add --train_end_to_end", net.kind()));
  if (o.objective == StepObjective::supervised)
    LPL_CHECK(net.num_heads() > 0, "lpl: the supervised objective needs a network with classifier heads (classes > 0)");
  const int L = net.num_layers();
  buffer_ = Tensor::zeros({4 * L + 2}, net.device(), DType::I64);
  terms_ = buffer_.slice0(0, 3 * L);
  stale_mean_.resize(static_cast<size_t>(L));
  stale_var_.resize(static_cast<size_t>(L));
  stale_valid_.assign(static_cast<size_t>(L), false);
  if (o.stale_estimates)
    for (int k = 0; k < L; ++k) {
      stale_mean_[static_cast<size_t>(k)] = Tensor::zeros({net.objective_width(k)}, net.device());
      stale_var_[static_cast<size_t>(k)] = Tensor::zeros({net.objective_width(k)}, net.device());
    }
  for (Param* p : net.trained_params())
    if (p->part != ParamPart::encoder) top_params_.push_back(p);
  if (o.comm) {
    sync_ = std::make_unique<GradientSync>(*o.comm);
    layer_params_.resize(static_cast<size_t>(L));
    for (Param* p : net.trained_params()) {
      LPL_CHECK(p->layer >= 0 && p->layer < L, fmt::format("lpl: parameter {} has no layer", p->name));
      layer_params_[static_cast<size_t>(p->layer)].push_back(p);
    }
  }
}

ForwardMode LplStep::mode(int64_t step_index) const {
  ForwardMode m;
  m.training = opt_.training;
  m.views = 2;
  m.seed = opt_.seed;
  m.step = step_index;
  m.comm = global_stats() ? opt_.comm : nullptr;
  return m;
}

Tensor LplStep::shuffle_perm(int64_t B, int64_t step_index) {
  // Made on the host once per step (every layer of a step pairs the same way) and uploaded once from
  // pinned memory, so the copy does not wait.
  if (perm_.defined() && perm_step_ == step_index && perm_b_ == B) return perm_;
  // The staging buffer is about to be rewritten while its last upload may run (rare: no read() since).
  if (perm_pending_) synchronize(net_.device());
  if (!perm_host_ || perm_b_ < B)
    perm_host_ = std::shared_ptr<void>(pinned_alloc(static_cast<size_t>(B) * sizeof(int32_t)), pinned_free);
  // Fisher-Yates with counter-based draws: the permutation depends on (seed, step) only.
  const CounterRng rng{opt_.seed, 0x5348554646ull};
  Tensor p = Tensor::wrap(perm_host_.get(), {B}, cpu(), DType::I32);
  int32_t* v = p.data<int32_t>();
  std::iota(v, v + B, 0);
  for (int64_t i = B - 1; i > 0; --i) {
    const uint64_t idx = static_cast<uint64_t>(step_index) * static_cast<uint64_t>(B) + static_cast<uint64_t>(i);
    const auto j = static_cast<int64_t>(rng.uniform(idx / 4, static_cast<int>(idx % 4)) * static_cast<float>(i + 1));
    std::swap(v[i], v[std::min(j, i)]);
  }
  perm_ = p.to(net_.device());
  perm_step_ = step_index, perm_b_ = B;
  perm_pending_ = net_.device().is_cuda();
  return perm_;
}

void LplStep::objective(int k, ag::Tape& t, const ag::Var& r, int64_t step_index, Tensor& terms) {
  const auto uk = static_cast<size_t>(k);
  if (opt_.objective == StepObjective::supervised) {
    // One head per trained layer: logits of both views, mean CE over the 2B rows = (CE1 + CE2) / 2.
    // The loss goes to the step's buffer on the device (read once with the other terms).
    ag::Var logits;
    Tensor dlogits;
    {
      prof::Scope s("objective", opt_.timer);
      logits = net_.head_forward(t, opt_.end_to_end ? 0 : k, r);
      dlogits = softmax_cross_entropy_into(logits.value, labels2_, buffer_, 3 * net_.num_layers() + k);
      if (opt_.comm) dlogits = rank_share(dlogits);  // the ranks' mean of equal shards is the global batch's
    }
    prof::Scope s("backward", opt_.timer);
    if (!opt_.no_grad) t.backward(logits, dlogits);
    return;
  }
  Tensor dr;
  {
    prof::Scope s0("objective", opt_.timer);
    LplObjectiveArgs args;
    args.coeffs = opt_.coeffs;
    args.no_pooling = opt_.no_pooling;
    args.negative_samples = opt_.objective == StepObjective::negative_samples;
    args.comm = global_stats() ? opt_.comm : nullptr;  // the objective's statistics over the ranks
    Tensor perm;
    if (opt_.shuffle_positives) {
      perm = shuffle_perm(r.value.dim(0) / 2, step_index);
      args.positive_perm = &perm;
    }
    if (opt_.stale_estimates) {
      args.stale_mean = &stale_mean_[uk];
      args.stale_var = &stale_var_[uk];
      args.stale_valid = stale_valid_[uk];
    }
    // The fused objective returns the loss terms and dL/dr together: dL/dr seeds the backward.
    dr = Tensor::empty(r.value.shape(), r.value.device());
    lpl_objective(r.value, dr, terms, k, args);
    if (opt_.comm && !args.comm) dr = rank_share(dr);
    if (opt_.stale_estimates) stale_valid_[uk] = true;
  }
  prof::Scope s1("backward", opt_.timer);
  if (!opt_.no_grad) t.backward(r, dr);
}

ag::Var LplStep::representation(int k, ag::Tape& t, const ag::Var& y) {
  prof::Scope s("pool + projector forward", opt_.timer);
  ag::Var r = opt_.no_pooling ? y : t.global_avgpool(y);
  if (net_.has_projector(k)) r = net_.projector_forward(t, k, r);
  return r;
}

void LplStep::run_layer(int k, const Tensor& x, int64_t step_index, Tensor& terms) {
  LPL_CHECK(!opt_.end_to_end && net_.analytic(),
            "lpl step: run_layer is the analytic layer-local step (end-to-end trains through run)");
  LayerLocalBlocks& blocks = *net_.analytic();
  prof::PhaseTimer* tm = opt_.timer;
  Tensor y;
  {
    prof::Scope s("block forward", tm);
    y = blocks.block_forward(k, x, mode(step_index));
    inject_.inject(k + 1, step_index, y);  // no-op unless LPL_INJECT_NAN names this layer and step
  }
  // The representation, projector and objective on the tape from a leaf at the block output (or its
  // pool): what comes back is dL/d(representation), which the analytic block backward carries on.
  tape_.clear();
  tape_.set_recording(!opt_.no_grad);
  ag::Var z = tape_.leaf(opt_.no_pooling ? y : global_avgpool_forward(y));
  ag::Var r = z;
  if (net_.has_projector(k)) {
    prof::Scope s("pool + projector forward", tm);
    r = net_.projector_forward(tape_, k, z);
  }
  objective(k, tape_, r, step_index, terms);
  if (opt_.no_grad) return;
  Tensor dz = tape_.grad(z);
  tape_.clear();
  prof::Scope s("block backward", tm);
  blocks.block_backward(k, dz, !opt_.no_pooling);
}

void LplStep::run_on_tape(const Tensor& x, int64_t step_index) {
  prof::PhaseTimer* tm = opt_.timer;
  const ForwardMode m = mode(step_index);
  const int L = net_.num_layers();
  tape_.set_recording(!opt_.no_grad);
  ag::Var h = ag::Tape::input(x);
  for (int k = 0; k < L; ++k) {
    if (!opt_.end_to_end) {
      tape_.clear();
      h = ag::Tape::detach(h);  // layer-local: nothing crosses a block boundary backwards
    }
    {
      prof::Scope s("block forward", tm);
      h = net_.layer_forward(tape_, k, h, m);
      inject_.inject(k + 1, step_index, h.value);
    }
    if (net_.layer_trained(k)) objective(k, tape_, representation(k, tape_, h), step_index, terms_);
  }
  tape_.clear();
}

void LplStep::save_state(TrainState& s) const {
  std::string valid;
  for (bool v : stale_valid_) valid += v ? '1' : '0';
  s.values["lpl.stale_valid"] = valid;
  if (!opt_.stale_estimates) return;
  for (size_t k = 0; k < stale_valid_.size(); ++k) {
    s.tensors.emplace_back(fmt::format("lpl.stale_mean.{}", k), stale_mean_[k]);
    s.tensors.emplace_back(fmt::format("lpl.stale_var.{}", k), stale_var_[k]);
  }
}

void LplStep::load_state(const TrainState& s, const std::string& file) {
  auto it = s.values.find("lpl.stale_valid");
  LPL_CHECK(it != s.values.end() && it->second.size() == stale_valid_.size(),
            fmt::format("checkpoint state '{}' has no valid 'lpl.stale_valid' entry", file));
  if (!opt_.stale_estimates) return;
  std::map<std::string, Tensor> src;
  for (const auto& [n, t] : s.tensors)
    if (n.rfind("lpl.", 0) == 0) src.emplace(n, t);
  NamedTensors dst;
  for (size_t k = 0; k < stale_valid_.size(); ++k) {
    dst.emplace_back(fmt::format("lpl.stale_mean.{}", k), stale_mean_[k]);
    dst.emplace_back(fmt::format("lpl.stale_var.{}", k), stale_var_[k]);
  }
  restore_tensors(src, dst, file, true);
  for (size_t k = 0; k < stale_valid_.size(); ++k) stale_valid_[k] = it->second[k] == '1';
}

std::vector<LplTerms> LplStep::run(const Tensor& x, int64_t step_index, const Tensor& labels) {
  compute(x, step_index, labels);
  return read().terms;
}

void LplStep::count_nonfinite(const std::vector<Param*>& params, bool gradients) {
  const int64_t slot = 4 * static_cast<int64_t>(net_.num_layers()) + (gradients ? 0 : 1);
  for (const Param* p : params) lpl::count_nonfinite(gradients ? p->grad : p->value, buffer_, slot);
}

bool LplStep::global_stats() const {
  return opt_.comm && !opt_.local_batch_stats;
}

Tensor LplStep::rank_share(const Tensor& g) const {
  Tensor out = Tensor::zeros(g.shape(), g.device());
  axpy(1.0f / static_cast<float>(opt_.comm->size()), g, out);
  return out;
}

LplStep::Readback LplStep::read() {
  const auto L = static_cast<size_t>(net_.num_layers());
  // Terms that are each rank's own (its batch's statistics, the head's cross-entropy) are averaged
  // over the ranks; with global statistics the LPL terms are already the same on every rank. The
  // non-finite counts are of the summed gradients and the same weights: the same everywhere.
  const bool average_lpl = opt_.comm && !(global_stats() && opt_.objective != StepObjective::supervised);
  if (opt_.comm) {
    double* b = buffer_.data<double>();
    if (average_lpl) opt_.comm->all_reduce_sum(b, static_cast<int64_t>(3 * L), buffer_.device());
    if (opt_.objective == StepObjective::supervised)
      opt_.comm->all_reduce_sum(b + 3 * L, static_cast<int64_t>(L), buffer_.device());
  }
  std::vector<double> h(static_cast<size_t>(buffer_.numel()));
  read_to_host(h.data(), buffer_.data<void>(), buffer_.device(), h.size() * sizeof(double));
  if (opt_.comm) {
    const double inv = 1.0 / static_cast<double>(opt_.comm->size());
    for (size_t i = 0; i < 3 * L; ++i) h[i] *= average_lpl ? inv : 1.0;
    if (opt_.objective == StepObjective::supervised)
      for (size_t i = 3 * L; i < 4 * L; ++i) h[i] *= inv;
  }
  perm_pending_ = false;  // the stream has passed every upload before the read
  Readback r;
  r.terms.resize(L);
  for (size_t k = 0; k < L; ++k) r.terms[k] = {h[3 * k], h[3 * k + 1], h[3 * k + 2], h[3 * L + k]};
  r.nonfinite_gradients = h[4 * L];
  r.nonfinite_weights = h[4 * L + 1];
  return r;
}

void LplStep::compute(const Tensor& x, int64_t step_index, const Tensor& labels) {
  LPL_CHECK(x.ndim() == 4 && x.dim(0) % 2 == 0 && x.dim(0) >= 4,
            fmt::format("lpl step: input must be two stacked views [2B, C, S, S] with B >= 2, got {}", x.shape().str()));
  const int L = net_.num_layers();
  if (opt_.objective == StepObjective::supervised) {
    LPL_CHECK(labels.defined() && labels.dtype() == DType::I32 && labels.ndim() == 1 && labels.dim(0) == x.dim(0) / 2,
              fmt::format("lpl step: the supervised objective needs int32 labels [{}] for the batch, got {}", x.dim(0) / 2,
                          labels.defined() ? labels.shape().str() : std::string("none")));
    if (labels.device().is_cpu()) {  // host memory: checked here without waiting for a device
      const int32_t* y = labels.data<int32_t>();
      const int classes = net_.options().classes;
      for (int64_t i = 0; i < labels.numel(); ++i)
        LPL_CHECK(y[i] >= 0 && y[i] < classes,
                  fmt::format("lpl step: label {} at row {} is out of range [0, {})", y[i], i, classes));
    }
    const Tensor l = labels.to(x.device());
    labels2_ = stack_views(l, l);
  }
  // The supervised losses and the non-finite counts start from 0 (the LPL terms are overwritten).
  Tensor rest = buffer_.slice0(3 * L, L + 2);
  rest.zero_();
  if (opt_.end_to_end || opt_.tape || !net_.analytic()) {
    if (!opt_.no_grad) ag::zero_grad(net_.trained_params());  // the tape accumulates
    run_on_tape(x, step_index);
  } else {
    if (!opt_.no_grad) ag::zero_grad(top_params_);  // block gradients are overwritten, the tape's accumulate
    LayerLocalBlocks& blocks = *net_.analytic();
    Tensor in = x;
    for (int k = 0; k < L; ++k) {
      run_layer(k, in, step_index, terms_);
      if (sync_ && !opt_.no_grad) {  // layer k's gradients are final: sum them while layer k + 1 computes
        prof::Scope s("gradient all-reduce", opt_.timer);
        sync_->start(layer_params_[static_cast<size_t>(k)]);
      }
      in = blocks.block_output(k);
      blocks.release(k);
    }
    if (sync_ && !opt_.no_grad) sync_->finish(net_.device());
    return;
  }
  if (opt_.comm && !opt_.no_grad) {  // the tape's gradients are final only after its backward
    prof::Scope s("gradient all-reduce", opt_.timer);
    sync_->all_reduce(net_.trained_params());
  }
}

Tensor stack_views(const Tensor& v1, const Tensor& v2) {
  LPL_CHECK(v1.shape() == v2.shape() && v1.dtype() == v2.dtype() && v1.device() == v2.device(),
            fmt::format("stack_views: views differ: {} vs {}", v1.shape().str(), v2.shape().str()));
  std::vector<int64_t> s = v1.shape().vec();
  const int64_t B = s[0];
  s[0] = 2 * B;
  Tensor out = Tensor::empty(Shape(s), v1.device(), v1.dtype());
  Tensor a = out.slice0(0, B), b = out.slice0(B, B);
  a.copy_from(v1);
  b.copy_from(v2);
  return out;
}

}  // namespace lpl
