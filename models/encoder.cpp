#include "models/encoder.h"

#include <fmt/format.h>

#include <cmath>

#include "engine/rng.h"

namespace lpl {

Tensor uniform_init(const Shape& s, int64_t fan_in, uint64_t seed, uint64_t stream, Device d) {
  const CounterRng rng{seed, stream};
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  std::vector<float> h(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < h.size(); ++i) h[i] = (2.0f * rng.uniform(i / 4, static_cast<int>(i % 4)) - 1.0f) * bound;
  return Tensor::from_vector(h, s, d);
}

Encoder::Encoder(const EncoderOptions& o, Device d) : opt_(o), dev_(d) {
  LPL_CHECK(o.in_channels > 0 && o.mlp_hidden > 0 && o.projection > 0,
            "encoder: channel and projector sizes must be positive");
  LPL_CHECK(o.classes >= 0, "encoder: the number of classes of the classifier heads must be >= 0");
}

bool Encoder::projector_at(int k) const {
  if (!opt_.projector) return false;
  if (layer_trained(k)) return true;
  for (int e : extra_end_to_end_projectors_)
    if (e == k) return true;
  return false;
}

Param& Encoder::add_param(const std::string& name, const Shape& s, int64_t fan_in, uint64_t seed, uint64_t stream,
                          int layer, ParamRole role, ParamPart part) {
  return add_param_value(name, uniform_init(s, fan_in, seed, stream, dev_), layer, role, part);
}

Param& Encoder::add_param_value(const std::string& name, Tensor value, int layer, ParamRole role, ParamPart part) {
  auto p = std::make_unique<Param>();
  p->name = name;
  p->grad = Tensor::zeros(value.shape(), dev_);
  p->value = std::move(value);
  // The original exempts biases and batch-norm parameters from weight decay.
  p->decay = role == ParamRole::weight;
  p->layer = layer;
  p->role = role;
  p->part = part;
  params_.push_back(std::move(p));
  return *params_.back();
}

Buffer& Encoder::add_buffer(const std::string& name, Tensor value, int layer) {
  auto b = std::make_unique<Buffer>();
  b->name = name;
  b->value = std::move(value);
  b->layer = layer;
  buffers_.push_back(std::move(b));
  return *buffers_.back();
}

void Encoder::add_projectors_and_heads(uint64_t seed, uint64_t first_stream) {
  const int L = num_layers();
  uint64_t stream = first_stream;
  proj_.assign(static_cast<size_t>(L), Projector{});
  for (int k = 0; k < L && opt_.projector; ++k) {
    if (!projector_at(k)) continue;
    const int c = channels(k), h = opt_.mlp_hidden, out = opt_.projection;
    const std::string base = fmt::format("network.encoder.projectors.{}.net.", k);
    Projector& P = proj_[static_cast<size_t>(k)];
    P.exists = true;
    constexpr auto kProj = ParamPart::projector;
    P.w1 = &add_param(base + "0.weight", {h, c}, c, seed, stream++, k, ParamRole::weight, kProj);
    if (opt_.bias) P.b1 = &add_param(base + "0.bias", {h}, c, seed, stream++, k, ParamRole::bias, kProj);
    P.w2 = &add_param(base + "2.weight", {out, h}, h, seed, stream++, k, ParamRole::weight, kProj);
    if (opt_.bias) P.b2 = &add_param(base + "2.bias", {out}, h, seed, stream++, k, ParamRole::bias, kProj);
    if (!projector_used(k))
      for (Param* p : {P.w1, P.b1, P.w2, P.b2})
        if (p) p->trained = false;
  }
  if (opt_.classes > 0) {
    // The original's torch.nn.Linear(width, classes) per trained layer: always with a bias.
    stream = 1000;  // apart from the encoder's streams, so adding heads changes no other weight
    heads_.resize(opt_.end_to_end ? 1 : static_cast<size_t>(L));
    for (int i = 0; i < num_heads(); ++i) {
      const int w = objective_width(head_layer(i));
      const std::string base = fmt::format("classifier_heads.{}.", i);
      heads_[static_cast<size_t>(i)].w =
          &add_param(base + "weight", {opt_.classes, w}, w, seed, stream++, i, ParamRole::weight, ParamPart::head);
      heads_[static_cast<size_t>(i)].b =
          &add_param(base + "bias", {opt_.classes}, w, seed, stream++, i, ParamRole::bias, ParamPart::head);
    }
  }
}

ag::Var Encoder::projector_forward(ag::Tape& t, int k, const ag::Var& z) {
  LPL_CHECK(has_projector(k), fmt::format("encoder: layer {} has no projector", k + 1));
  const Projector& P = proj_[static_cast<size_t>(k)];
  ag::Var b1 = P.b1 ? t.param(*P.b1) : ag::Var{}, b2 = P.b2 ? t.param(*P.b2) : ag::Var{};
  ag::Var h = t.relu(t.linear(z, t.param(*P.w1), P.b1 ? &b1 : nullptr));
  return t.relu(t.linear(h, t.param(*P.w2), P.b2 ? &b2 : nullptr));
}

ag::Var Encoder::head_forward(ag::Tape& t, int i, const ag::Var& r) {
  LPL_CHECK(i >= 0 && i < num_heads(), fmt::format("encoder: no classifier head {}", i));
  const Head& H = heads_[static_cast<size_t>(i)];
  ag::Var b = t.param(*H.b);
  return t.linear(r, t.param(*H.w), &b);
}

std::vector<Tensor> Encoder::pooled_features(const Tensor& x, bool last_only) {
  ag::Tape t(false);
  ForwardMode m;  // evaluation mode
  std::vector<Tensor> out;
  ag::Var h = ag::Tape::input(x);
  for (int k = 0; k < num_layers(); ++k) {
    h = layer_forward(t, k, h, m);
    if (!last_only || k == last_layer()) out.push_back(global_avgpool_forward(h.value));
  }
  return out;
}

std::vector<Param*> Encoder::params() {
  std::vector<Param*> out;
  out.reserve(params_.size());
  for (auto& p : params_) out.push_back(p.get());
  return out;
}

std::vector<Param*> Encoder::trained_params() {
  std::vector<Param*> out;
  for (auto& p : params_)
    if (p->trained) out.push_back(p.get());
  return out;
}

std::vector<Buffer*> Encoder::buffers() {
  std::vector<Buffer*> out;
  for (auto& b : buffers_) out.push_back(b.get());
  return out;
}

NamedTensors Encoder::named_weights() const {
  NamedTensors out;
  for (const auto& p : params_) out.emplace_back(p->name, p->value);
  for (const auto& b : buffers_) out.emplace_back(b->name, b->value);
  return out;
}

std::vector<std::string> Encoder::weight_names() const {
  std::vector<std::string> out;
  for (const auto& p : params_) out.push_back(p->name);
  for (const auto& b : buffers_) out.push_back(b->name);
  return out;
}

void Encoder::load_weights(const SafetensorsFile& f, const std::string& file) {
  const auto load = [&](const std::string& name, Tensor& dst) {
    const Tensor& t = f.at(name, file);
    LPL_CHECK(t.dtype() == dst.dtype() && t.shape() == dst.shape(),
              fmt::format("{}: tensor {} has {} {} but this network needs {} {}", file, name, dtype_name(t.dtype()),
                          t.shape().str(), dtype_name(dst.dtype()), dst.shape().str()));
    dst.copy_from(t);
  };
  for (auto& p : params_) load(p->name, p->value);
  for (auto& b : buffers_) load(b->name, b->value);
}

}  // namespace lpl
