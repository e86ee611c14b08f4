#include "models/vgg11.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "engine/lpl_ops.h"
#include "engine/rng.h"

namespace lpl {

Tensor uniform_init(const Shape& s, int64_t fan_in, uint64_t seed, uint64_t stream, Device d) {
  const CounterRng rng{seed, stream};
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  std::vector<float> h(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < h.size(); ++i) h[i] = (2.0f * rng.uniform(i / 4, static_cast<int>(i % 4)) - 1.0f) * bound;
  return Tensor::from_vector(h, s, d);
}

namespace {
Param make_param(std::string name, const Shape& s, int64_t fan_in, uint64_t seed, uint64_t stream, Device d,
                 bool decay) {
  Param p;
  p.name = std::move(name);
  p.value = uniform_init(s, fan_in, seed, stream, d);
  p.grad = Tensor::zeros(s, d);
  p.decay = decay;
  return p;
}
}  // namespace

Vgg11::Vgg11(const Vgg11Options& opt, uint64_t seed, Device d) : opt_(opt), dev_(d) {
  LPL_CHECK(opt.in_channels > 0 && opt.mlp_hidden > 0 && opt.projection > 0,
            "vgg11: channel and projector sizes must be positive");
  LPL_CHECK(opt.classes >= 0, "vgg11: the number of classes of the classifier heads must be >= 0");
  int cin = opt.in_channels;
  uint64_t stream = 0;
  for (int k = 0; k < kBlocks; ++k) {
    const int co = kChannels[k];
    const int64_t fan_in = static_cast<int64_t>(cin) * 9;
    const std::string base = fmt::format("network.encoder.blocks.{}.module.0.", k);
    conv_w_[k] = make_param(base + "weight", {co, cin, 3, 3}, fan_in, seed, stream++, d, true);
    if (opt.bias) conv_b_[k] = make_param(base + "bias", {co}, fan_in, seed, stream++, d, false);
    cin = co;
  }
  if (opt.projector) {
    proj_.resize(kBlocks);
    for (int k = 0; k < kBlocks; ++k) {
      const int c = kChannels[k];
      const std::string base = fmt::format("network.encoder.projectors.{}.net.", k);
      auto& P = proj_[k];
      P.w1 = make_param(base + "0.weight", {opt.mlp_hidden, c}, c, seed, stream++, d, true);
      if (opt.bias) P.b1 = make_param(base + "0.bias", {opt.mlp_hidden}, c, seed, stream++, d, false);
      P.w2 = make_param(base + "2.weight", {opt.projection, opt.mlp_hidden}, opt.mlp_hidden, seed, stream++, d,
                        true);
      if (opt.bias)
        P.b2 = make_param(base + "2.bias", {opt.projection}, opt.mlp_hidden, seed, stream++, d, false);
    }
  }
  if (opt.classes > 0) {
    // The original's torch.nn.Linear(width, classes) per trained layer: always with a bias.
    stream = 1000;  // apart from the encoder's streams, so adding heads changes no other weight
    heads_.resize(opt.end_to_end ? 1 : kBlocks);
    for (int i = 0; i < num_heads(); ++i) {
      const int w = objective_width(head_layer(i));
      const std::string base = fmt::format("classifier_heads.{}.", i);
      heads_[i].w = make_param(base + "weight", {opt.classes, w}, w, seed, stream++, d, true);
      heads_[i].b = make_param(base + "bias", {opt.classes}, w, seed, stream++, d, false);
    }
  }
}

Tensor Vgg11::block_forward(int k, const Tensor& x) {
  Saved& s = saved_[k];
  s.x = x;
  Conv2dParams cp;
  cp.pad_h = cp.pad_w = 1;
  s.a = conv2d_forward(x, conv_w_[k].value, opt_.bias ? conv_b_[k].value : Tensor(), cp);
  relu_inplace(s.a);
  if (kPool[k]) {
    MaxPoolResult r = maxpool2d_forward(s.a, Pool2dParams{});
    s.y = r.y;
    s.argmax = r.argmax;
  } else {
    s.y = s.a;
    s.argmax = Tensor();
  }
  s.z = Tensor();
  return s.y;
}

Tensor Vgg11::pooled(int k) const {
  const Saved& s = saved_[k];
  LPL_CHECK(s.y.defined(), fmt::format("vgg11: block {} has no forward output", k + 1));
  return global_avgpool_forward(s.y);
}

Tensor Vgg11::projector_forward(int k, const Tensor& z) {
  LPL_CHECK(opt_.projector, "vgg11: the network has no projector");
  Saved& s = saved_[k];
  auto& P = proj_[k];
  s.z = z;
  s.h = linear_forward(z, P.w1.value, opt_.bias ? P.b1.value : Tensor());
  relu_inplace(s.h);
  s.p = linear_forward(s.h, P.w2.value, opt_.bias ? P.b2.value : Tensor());
  relu_inplace(s.p);
  return s.p;
}

Tensor Vgg11::projector_backward(int k, const Tensor& dp_in) {
  Saved& s = saved_[k];
  auto& P = proj_[k];
  Tensor dp = dp_in.clone();
  relu_mask_inplace(dp, s.p);
  LinearGrads g2 = linear_backward(s.h, P.w2.value, dp, true, opt_.bias);
  P.w2.grad = g2.dw;
  if (opt_.bias) P.b2.grad = g2.db;
  relu_mask_inplace(g2.dx, s.h);
  LinearGrads g1 = linear_backward(s.z, P.w1.value, g2.dx, true, opt_.bias);
  P.w1.grad = g1.dw;
  if (opt_.bias) P.b1.grad = g1.db;
  return g1.dx;
}

Tensor Vgg11::block_backward(int k, const Tensor& g, bool pooled_rep, bool need_dx) {
  Saved& s = saved_[k];
  LPL_CHECK(s.a.defined(), fmt::format("vgg11: block {} backward without its forward", k + 1));
  Tensor delta = lpl_block_delta(g, s.a, s.argmax, pooled_rep);
  Conv2dParams cp;
  cp.pad_h = cp.pad_w = 1;
  conv2d_backward_filter(s.x, delta, conv_w_[k].grad, opt_.bias ? &conv_b_[k].grad : nullptr, cp, false);
  if (!need_dx) return Tensor();
  return conv2d_backward_data(delta, conv_w_[k].value, s.x.shape(), cp);
}

Tensor Vgg11::head_forward(int i, const Tensor& r) {
  LPL_CHECK(i >= 0 && i < num_heads(), fmt::format("vgg11: no classifier head {}", i));
  return linear_forward(r, heads_[i].w.value, heads_[i].b.value);
}

Tensor Vgg11::head_backward(int i, const Tensor& r, const Tensor& dlogits) {
  LPL_CHECK(i >= 0 && i < num_heads(), fmt::format("vgg11: no classifier head {}", i));
  LinearGrads g = linear_backward(r, heads_[i].w.value, dlogits, true, true);
  heads_[i].w.grad = g.dw;
  heads_[i].b.grad = g.db;
  return g.dx;
}

std::vector<Param*> Vgg11::trained_params() {
  std::vector<Param*> out;
  for (Param* p : params()) {
    int k = -1;
    if (opt_.end_to_end && std::sscanf(p->name.c_str(), "network.encoder.projectors.%d.", &k) == 1 && k != kBlocks - 1)
      continue;
    out.push_back(p);
  }
  return out;
}

void Vgg11::release(int k) { saved_[k] = Saved{}; }

std::vector<Param*> Vgg11::params() {
  std::vector<Param*> out;
  for (int k = 0; k < kBlocks; ++k) {
    out.push_back(&conv_w_[k]);
    if (opt_.bias) out.push_back(&conv_b_[k]);
  }
  for (auto& P : proj_) {
    out.push_back(&P.w1);
    if (opt_.bias) out.push_back(&P.b1);
    out.push_back(&P.w2);
    if (opt_.bias) out.push_back(&P.b2);
  }
  for (auto& H : heads_) {
    out.push_back(&H.w);
    out.push_back(&H.b);
  }
  return out;
}

NamedTensors Vgg11::named_weights() const {
  NamedTensors out;
  for (auto* p : const_cast<Vgg11*>(this)->params()) out.emplace_back(p->name, p->value);
  return out;
}

void Vgg11::load_weights(const SafetensorsFile& f, const std::string& file) {
  for (auto* p : params()) {
    const Tensor& t = f.at(p->name, file);
    LPL_CHECK(t.dtype() == DType::F32 && t.shape() == p->value.shape(),
              fmt::format("{}: tensor {} has {} {} but this network needs float32 {}", file, p->name,
                          dtype_name(t.dtype()), t.shape().str(), p->value.shape().str()));
    p->value.copy_from(t);
  }
}

}  // namespace lpl
