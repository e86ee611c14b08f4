#include "models/lpl_step.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "engine/rng.h"

namespace lpl {

LplStep::LplStep(Vgg11& net, const LplStepOptions& o) : net_(net), opt_(o) {
  LPL_CHECK(!(o.no_pooling && net.options().projector), "lpl: --no_pooling cannot be combined with --use_projector_mlp");
  LPL_CHECK(!(o.no_pooling && o.stale_estimates), "lpl: --stale_estimates is not supported with --no_pooling");
  LPL_CHECK(!(o.no_pooling && o.end_to_end), "lpl: --no_pooling cannot be combined with --train_end_to_end");
  LPL_CHECK(!(o.no_pooling && o.objective != StepObjective::lpl),
            "lpl: --no_pooling is for the LPL objective only (not the supervised or negative-sample baselines)");
  LPL_CHECK(o.end_to_end == net.options().end_to_end,
            "lpl: the network and the step disagree on --train_end_to_end (projectors and heads depend on it)");
  if (o.objective == StepObjective::supervised)
    LPL_CHECK(net.num_heads() > 0, "lpl: the supervised objective needs a network with classifier heads (classes > 0)");
  supervised_.assign(Vgg11::kBlocks, 0.0);
  terms_ = lpl_terms_buffer(net.device(), Vgg11::kBlocks);
  stale_mean_.resize(Vgg11::kBlocks);
  stale_var_.resize(Vgg11::kBlocks);
  stale_valid_.assign(Vgg11::kBlocks, false);
  if (o.stale_estimates)
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      stale_mean_[k] = Tensor::zeros({net.objective_width(k)}, net.device());
      stale_var_[k] = Tensor::zeros({net.objective_width(k)}, net.device());
    }
}

Tensor LplStep::shuffle_perm(int64_t B, int64_t step_index) const {
  // Fisher-Yates with counter-based draws: the permutation depends on (seed, step) only.
  const CounterRng rng{opt_.seed, 0x5348554646ull};
  Tensor p = Tensor::empty({B}, cpu(), DType::I32);
  int32_t* v = p.data<int32_t>();
  std::iota(v, v + B, 0);
  for (int64_t i = B - 1; i > 0; --i) {
    const uint64_t idx = static_cast<uint64_t>(step_index) * static_cast<uint64_t>(B) + static_cast<uint64_t>(i);
    const auto j = static_cast<int64_t>(rng.uniform(idx / 4, static_cast<int>(idx % 4)) * static_cast<float>(i + 1));
    std::swap(v[i], v[std::min(j, i)]);
  }
  return p.to(net_.device());
}

Tensor LplStep::objective(int k, const Tensor& r, int64_t step_index, Tensor& terms) {
  prof::Scope s("objective", opt_.timer);
  if (opt_.objective == StepObjective::supervised) {
    // One head per trained layer: logits of both views, mean CE over the 2B rows = (CE1 + CE2) / 2.
    const int head = opt_.end_to_end ? 0 : k;
    Tensor logits = net_.head_forward(head, r);
    CrossEntropyResult ce = softmax_cross_entropy(logits, labels2_);
    supervised_[k] = ce.loss;
    return net_.head_backward(head, r, ce.dlogits);
  }
  LplObjectiveArgs args;
  args.coeffs = opt_.coeffs;
  args.no_pooling = opt_.no_pooling;
  args.negative_samples = opt_.objective == StepObjective::negative_samples;
  Tensor perm;
  if (opt_.shuffle_positives) {
    perm = shuffle_perm(r.dim(0) / 2, step_index);
    args.positive_perm = &perm;
  }
  if (opt_.stale_estimates) {
    args.stale_mean = &stale_mean_[k];
    args.stale_var = &stale_var_[k];
    args.stale_valid = stale_valid_[k];
  }
  Tensor dr = Tensor::empty(r.shape(), r.device());
  lpl_objective(r, dr, terms, k, args);
  if (opt_.stale_estimates) stale_valid_[k] = true;
  return dr;
}

void LplStep::run_layer(int k, const Tensor& x, int64_t step_index, Tensor& terms) {
  LPL_CHECK(!opt_.end_to_end, "lpl step: run_layer is the layer-local step (end-to-end trains through run)");
  prof::PhaseTimer* tm = opt_.timer;
  Tensor y, r, dr;
  {
    prof::Scope s("block forward", tm);
    y = net_.block_forward(k, x);
    inject_.inject(k + 1, step_index, y);  // no-op unless LPL_INJECT_NAN names this layer and step
  }
  {
    prof::Scope s("pool + projector forward", tm);
    r = opt_.no_pooling ? y : net_.pooled(k);
    if (net_.options().projector) r = net_.projector_forward(k, r);
  }
  dr = objective(k, r, step_index, terms);
  if (net_.options().projector) {
    prof::Scope s("projector backward", tm);
    dr = net_.projector_backward(k, dr);
  }
  prof::Scope s("block backward", tm);
  net_.block_backward(k, dr, !opt_.no_pooling);
}

std::vector<LplTerms> LplStep::run_end_to_end(const Tensor& x, int64_t step_index) {
  prof::PhaseTimer* tm = opt_.timer;
  constexpr int last = Vgg11::kBlocks - 1;
  Tensor in = x;
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    prof::Scope s("block forward", tm);
    in = net_.block_forward(k, in);  // every block keeps what its backward needs
    inject_.inject(k + 1, step_index, in);
  }
  Tensor r;
  {
    prof::Scope s("pool + projector forward", tm);
    r = net_.pooled(last);
    if (net_.options().projector) r = net_.projector_forward(last, r);
  }
  Tensor g = objective(last, r, step_index, terms_);
  if (net_.options().projector) {
    prof::Scope s("projector backward", tm);
    g = net_.projector_backward(last, g);
  }
  for (int k = last; k >= 0; --k) {
    prof::Scope s("block backward", tm);
    // dL/dz (pooled) for the final block, then dL/d(block output) from the next block's backward-data.
    g = net_.block_backward(k, g, k == last, k > 0);
    net_.release(k);
  }
  return lpl_terms_read(terms_);
}

void LplStep::save_state(TrainState& s) const {
  std::string valid;
  for (int k = 0; k < Vgg11::kBlocks; ++k) valid += stale_valid_[k] ? '1' : '0';
  s.values["lpl.stale_valid"] = valid;
  if (!opt_.stale_estimates) return;
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    s.tensors.emplace_back(fmt::format("lpl.stale_mean.{}", k), stale_mean_[k]);
    s.tensors.emplace_back(fmt::format("lpl.stale_var.{}", k), stale_var_[k]);
  }
}

void LplStep::load_state(const TrainState& s, const std::string& file) {
  auto it = s.values.find("lpl.stale_valid");
  LPL_CHECK(it != s.values.end() && it->second.size() == static_cast<size_t>(Vgg11::kBlocks),
            fmt::format("checkpoint state '{}' has no valid 'lpl.stale_valid' entry", file));
  if (!opt_.stale_estimates) return;
  std::map<std::string, Tensor> src;
  for (const auto& [n, t] : s.tensors)
    if (n.rfind("lpl.", 0) == 0) src.emplace(n, t);
  NamedTensors dst;
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    dst.emplace_back(fmt::format("lpl.stale_mean.{}", k), stale_mean_[k]);
    dst.emplace_back(fmt::format("lpl.stale_var.{}", k), stale_var_[k]);
  }
  restore_tensors(src, dst, file, true);
  for (int k = 0; k < Vgg11::kBlocks; ++k) stale_valid_[k] = it->second[k] == '1';
}

std::vector<LplTerms> LplStep::run(const Tensor& x, int64_t step_index, const Tensor& labels) {
  LPL_CHECK(x.ndim() == 4 && x.dim(0) % 2 == 0 && x.dim(0) >= 4,
            fmt::format("lpl step: input must be two stacked views [2B, C, S, S] with B >= 2, got {}", x.shape().str()));
  if (opt_.objective == StepObjective::supervised) {
    LPL_CHECK(labels.defined() && labels.dtype() == DType::I32 && labels.ndim() == 1 && labels.dim(0) == x.dim(0) / 2,
              fmt::format("lpl step: the supervised objective needs int32 labels [{}] for the batch, got {}", x.dim(0) / 2,
                          labels.defined() ? labels.shape().str() : std::string("none")));
    const Tensor l = labels.to(x.device());
    labels2_ = stack_views(l, l);
    std::fill(supervised_.begin(), supervised_.end(), 0.0);
  }
  std::vector<LplTerms> t;
  if (opt_.end_to_end) {
    t = run_end_to_end(x, step_index);
  } else {
    Tensor in = x;
    for (int k = 0; k < Vgg11::kBlocks; ++k) {
      run_layer(k, in, step_index, terms_);
      in = net_.block_output(k);
      net_.release(k);
    }
    t = lpl_terms_read(terms_);
  }
  for (int k = 0; k < Vgg11::kBlocks; ++k) t[k].supervised = supervised_[k];
  return t;
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
