#include "models/resnet.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "engine/rng.h"

namespace lpl {

namespace {

// torchvision's init of the original: kaiming_normal_(mode='fan_out', nonlinearity='relu') for the
// convs, N(0, 2 / (C_out k k)), drawn with Box-Muller from the counter RNG (seed, stream).
Tensor kaiming_normal_fan_out(const Shape& s, uint64_t seed, uint64_t stream, Device d) {
  const CounterRng rng{seed, stream};
  const double std = std::sqrt(2.0 / static_cast<double>(s[0] * s[2] * s[3]));
  std::vector<float> h(static_cast<size_t>(s.numel()));
  for (size_t i = 0; i < h.size(); ++i) {
    const Philox4 b = rng.block(i);
    const double u1 = 1.0 - CounterRng::to_unit_d(b.v[0], b.v[1]), u2 = CounterRng::to_unit_d(b.v[2], b.v[3]);
    h[i] = static_cast<float>(std * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  return Tensor::from_vector(h, s, d);
}

class ResNet50 : public Encoder {
 public:
  ResNet50(const EncoderOptions& o, uint64_t seed, Device d) : Encoder(o, d) {
    LPL_CHECK(!o.projector, encoder_options_problem(o));
    uint64_t stream = 0;
    stem_ = conv(o.in_channels, 64, 7, seed, stream++, "network.encoder.conv1");
    bn1_ = bn(64, "network.encoder.bn1", false);
    int in = 64;
    const std::array<int, 4> blocks{3, 4, 6, 3}, planes{64, 128, 256, 512};
    for (int s = 0; s < 4; ++s)
      for (int b = 0; b < blocks[static_cast<size_t>(s)]; ++b) {
        const int p = planes[static_cast<size_t>(s)], out = 4 * p;
        const std::string base = fmt::format("network.encoder.layer{}.{}", s + 1, b);
        Bottleneck k;
        k.stride = b == 0 && s > 0 ? 2 : 1;
        k.conv1 = conv(in, p, 1, seed, stream++, base + ".conv1");
        k.conv2 = conv(p, p, 3, seed, stream++, base + ".conv2");
        k.conv3 = conv(p, out, 1, seed, stream++, base + ".conv3");
        if (b == 0) {  // the first block of every stage changes the width (and the size after stage 1)
          k.down = conv(in, out, 1, seed, stream++, base + ".downsample.0");
          // The original's weight-decay rule skips names containing 'bias', 'bn' or 'norm': this
          // batch norm is named downsample.1, so its weight IS decayed there (and here).
          k.down_bn = bn(out, base + ".downsample.1", true);
        }
        blocks_.push_back(k);
        in = out;
      }
    // torchvision's fc (2048 -> 1000), unused by LPL: saved so the original loads our weights strictly.
    Param& w = add_param("network.encoder.fc.weight", {1000, 2048}, 2048, seed, stream++, 0, ParamRole::weight);
    Param& b = add_param("network.encoder.fc.bias", {1000}, 2048, seed, stream++, 0, ParamRole::bias);
    w.trained = b.trained = false;
    add_projectors_and_heads(seed, stream);
  }

  int num_layers() const override { return 1; }
  int channels(int) const override { return 2048; }
  bool supports_layer_local() const override { return false; }

  ag::Var layer_forward(ag::Tape& t, int k, const ag::Var& x, const ForwardMode& m) override {
    LPL_CHECK(k == 0, fmt::format("resnet: no layer {}", k + 1));
    Conv2dParams c7;
    c7.stride_h = c7.stride_w = 2;
    c7.pad_h = c7.pad_w = 3;
    ag::Var h = t.relu(norm(t, t.conv2d(x, t.param(*stem_), nullptr, c7), bn1_, m));
    Pool2dParams mp;
    mp.kernel_h = mp.kernel_w = 3;
    mp.pad_h = mp.pad_w = 1;
    h = t.maxpool2d(h, mp);
    for (const Bottleneck& b : blocks_) {
      Conv2dParams one, three;
      three.pad_h = three.pad_w = 1;
      three.stride_h = three.stride_w = b.stride;
      ag::Var out = t.relu(t.conv2d(h, t.param(*b.conv1), nullptr, one));
      out = t.relu(t.conv2d(out, t.param(*b.conv2), nullptr, three));
      out = t.conv2d(out, t.param(*b.conv3), nullptr, one);
      ag::Var identity = h;
      if (b.down) {
        Conv2dParams ds;
        ds.stride_h = ds.stride_w = b.stride;
        identity = norm(t, t.conv2d(h, t.param(*b.down), nullptr, ds), b.down_bn, m);
      }
      h = t.relu(t.add(out, identity));
    }
    return h;
  }

 private:
  struct Norm {
    Param *w = nullptr, *b = nullptr;
    Buffer *mean = nullptr, *var = nullptr, *count = nullptr;
  };
  struct Bottleneck {
    int stride = 1;
    Param *conv1 = nullptr, *conv2 = nullptr, *conv3 = nullptr, *down = nullptr;
    Norm down_bn;
  };

  Param* conv(int cin, int cout, int kk, uint64_t seed, uint64_t stream, const std::string& name) {
    return &add_param_value(name + ".weight", kaiming_normal_fan_out({cout, cin, kk, kk}, seed, stream, device()), 0,
                            ParamRole::weight);
  }
  Norm bn(int c, const std::string& name, bool decay_weight) {
    Norm n;
    n.w = &add_param_value(name + ".weight", Tensor::full({c}, 1.f, device()), 0, ParamRole::bn_weight);
    n.w->decay = decay_weight;
    n.b = &add_param_value(name + ".bias", Tensor::zeros({c}, device()), 0, ParamRole::bn_bias);
    n.mean = &add_buffer(name + ".running_mean", Tensor::zeros({c}, device()), 0);
    n.var = &add_buffer(name + ".running_var", Tensor::full({c}, 1.f, device()), 0);
    n.count = &add_buffer(name + ".num_batches_tracked", Tensor::zeros({}, cpu(), DType::I64), 0);
    return n;
  }
  // Batch norm in the forward's mode; in training each view is its own batch (the original runs the
  // two views as two forward passes) and num_batches_tracked counts them.
  ag::Var norm(ag::Tape& t, const ag::Var& x, const Norm& n, const ForwardMode& m) {
    BatchNormParams bp;
    bp.comm = m.comm;
    ag::Var y = t.batch_norm(x, t.param(*n.w), t.param(*n.b), n.mean->value, n.var->value, bp, m.training,
                             m.training ? m.views : 1);
    if (m.training) n.count->value.data<int64_t>()[0] += m.views;
    return y;
  }

  Param* stem_ = nullptr;
  Norm bn1_;
  std::vector<Bottleneck> blocks_;
};

}  // namespace

std::unique_ptr<Encoder> make_resnet50(const EncoderOptions& o, uint64_t seed, Device d) {
  return std::make_unique<ResNet50>(o, seed, d);
}

}  // namespace lpl
