#include "models/lpl_step.h"

#include <fmt/format.h>

#include <numeric>

#include "engine/rng.h"

namespace lpl {

LplStep::LplStep(Vgg11& net, const LplStepOptions& o) : net_(net), opt_(o) {
  LPL_CHECK(!(o.no_pooling && net.options().projector), "lpl: --no_pooling cannot be combined with --use_projector_mlp");
  LPL_CHECK(!(o.no_pooling && o.stale_estimates), "lpl: --stale_estimates is not supported with --no_pooling");
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

void LplStep::run_layer(int k, const Tensor& x, int64_t step_index, Tensor& terms) {
  LplObjectiveArgs args;
  args.coeffs = opt_.coeffs;
  args.no_pooling = opt_.no_pooling;
  Tensor perm;
  if (opt_.shuffle_positives) {
    perm = shuffle_perm(x.dim(0) / 2, step_index);
    args.positive_perm = &perm;
  }
  if (opt_.stale_estimates) {
    args.stale_mean = &stale_mean_[k];
    args.stale_var = &stale_var_[k];
    args.stale_valid = stale_valid_[k];
  }
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
  {
    prof::Scope s("objective", tm);
    dr = Tensor::empty(r.shape(), r.device());
    lpl_objective(r, dr, terms, k, args);
    if (opt_.stale_estimates) stale_valid_[k] = true;
  }
  if (net_.options().projector) {
    prof::Scope s("projector backward", tm);
    dr = net_.projector_backward(k, dr);
  }
  prof::Scope s("block backward", tm);
  net_.block_backward(k, dr, !opt_.no_pooling);
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

std::vector<LplTerms> LplStep::run(const Tensor& x, int64_t step_index) {
  LPL_CHECK(x.ndim() == 4 && x.dim(0) % 2 == 0 && x.dim(0) >= 4,
            fmt::format("lpl step: input must be two stacked views [2B, C, S, S] with B >= 2, got {}", x.shape().str()));
  Tensor in = x;
  for (int k = 0; k < Vgg11::kBlocks; ++k) {
    run_layer(k, in, step_index, terms_);
    in = net_.block_output(k);
    net_.release(k);
  }
  return lpl_terms_read(terms_);
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
