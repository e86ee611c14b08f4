#include "models/conv_blocks.h"

#include <fmt/format.h>

#include "engine/lpl_ops.h"

namespace lpl {

ConvBlocksEncoder::ConvBlocksEncoder(const EncoderOptions& o, uint64_t seed, Device d, std::vector<ConvBlockSpec> blocks,
                                     std::vector<int> extra_end_to_end_projectors)
    : Encoder(o, d), blocks_(std::move(blocks)) {
  extra_end_to_end_projectors_ = std::move(extra_end_to_end_projectors);
  LPL_CHECK(!blocks_.empty(), "encoder: no blocks");
  int cin = o.in_channels;
  uint64_t stream = 0;
  for (size_t k = 0; k < blocks_.size(); ++k) {
    const ConvBlockSpec& b = blocks_[k];
    LPL_CHECK(b.out_channels > 0 && b.kernel > 0, fmt::format("encoder: block {} has no channels or kernel", k + 1));
    const int co = b.out_channels, kk = b.kernel;
    const int64_t fan_in = static_cast<int64_t>(cin) * kk * kk;
    const int layer = static_cast<int>(k);
    conv_w_.push_back(&add_param(b.conv_name + ".weight", {co, cin, kk, kk}, fan_in, seed, stream++, layer, ParamRole::weight));
    conv_b_.push_back(o.bias ? &add_param(b.conv_name + ".bias", {co}, fan_in, seed, stream++, layer, ParamRole::bias)
                             : nullptr);
    cin = co;
  }
  saved_.resize(blocks_.size());
  fused_.resize(blocks_.size());
  add_projectors_and_heads(seed, stream);
}

uint64_t ConvBlocksEncoder::dropout_stream(int64_t step, int k) {
  return (static_cast<uint64_t>(step) << 8) ^ static_cast<uint64_t>(k) ^ 0x44524f5000000000ull;  // "DROP"
}

ag::Var ConvBlocksEncoder::layer_forward(ag::Tape& t, int k, const ag::Var& x, const ForwardMode& m) {
  const ConvBlockSpec& b = block(k);
  ag::Var h = x;
  if (b.adaptive_pool > 0) h = t.adaptive_avgpool(h, b.adaptive_pool, b.adaptive_pool);
  if (b.dropout > 0 && m.training) h = t.dropout(h, b.dropout, m.seed, dropout_stream(m.step, k));
  ag::Var bias = conv_b_[static_cast<size_t>(k)] ? t.param(conv_bias(k)) : ag::Var{};
  h = t.conv2d(h, t.param(conv_weight(k)), bias.value.defined() ? &bias : nullptr, b.conv);
  const Pool2dParams* pool = b.pool ? &*b.pool : nullptr;
  if (lpl_block_delta_fits(pool) && t.recording() && h.requires_grad()) {
    FusedReluPool& f = fused_[static_cast<size_t>(k)];
    f.a = h.value;  // the conv's node keeps its input and weight, not its output: ReLU in place
    relu_inplace(f.a);
    f.has_pool = pool != nullptr;
    if (!pool) {
      f.argmax = Tensor();
      return t.custom({h}, f.a, &f);
    }
    MaxPoolResult r = maxpool2d_forward(f.a, *pool);
    f.argmax = r.argmax;
    f.pool = *pool;
    return t.custom({h}, r.y, &f);
  }
  h = t.relu(h);
  if (b.pool) h = t.maxpool2d(h, *b.pool);
  return h;
}

void ConvBlocksEncoder::FusedReluPool::backward(const Tensor& dy, std::vector<Tensor>& dinputs) {
  dinputs[0] = lpl_block_delta(dy, a, argmax, has_pool ? &pool : nullptr, /*pooled=*/false);
}

Tensor ConvBlocksEncoder::block_forward(int k, const Tensor& x, const ForwardMode& m) {
  const ConvBlockSpec& b = block(k);
  Saved& s = saved_[static_cast<size_t>(k)];
  s.x = x;
  if (b.adaptive_pool > 0) s.x = adaptive_avgpool_forward(s.x, b.adaptive_pool, b.adaptive_pool);
  if (b.dropout > 0 && m.training) s.x = dropout_forward(s.x, b.dropout, m.seed, dropout_stream(m.step, k));
  s.a = conv2d_relu_forward(s.x, conv_weight(k).value, conv_b_[static_cast<size_t>(k)] ? conv_bias(k).value : Tensor(),
                            b.conv, &s.x16);
  if (b.pool) {
    MaxPoolResult r = maxpool2d_forward(s.a, *b.pool);
    s.y = r.y;
    s.argmax = r.argmax;
  } else {
    s.y = s.a;
    s.argmax = Tensor();
  }
  return s.y;
}

Tensor ConvBlocksEncoder::pooled(int k) const {
  const Saved& s = saved_[static_cast<size_t>(k)];
  LPL_CHECK(s.y.defined(), fmt::format("encoder: block {} has no forward output", k + 1));
  return global_avgpool_forward(s.y);
}

void ConvBlocksEncoder::block_backward(int k, const Tensor& g, bool pooled_rep) {
  const ConvBlockSpec& b = block(k);
  Saved& s = saved_[static_cast<size_t>(k)];
  LPL_CHECK(s.a.defined(), fmt::format("encoder: block {} backward without its forward", k + 1));
  const Pool2dParams* pool = b.pool ? &*b.pool : nullptr;
  Tensor delta;
  if (lpl_block_delta_fits(pool)) {
    delta = lpl_block_delta(g, s.a, s.argmax, pool, pooled_rep);  // one fused pass (VGG-11's pools)
  } else {
    Tensor gy = pooled_rep ? global_avgpool_backward(g, s.y.shape()) : g;
    delta = relu_backward(maxpool2d_backward(gy, s.argmax, s.a.shape(), *pool), s.a);
  }
  Param* bias = conv_b_[static_cast<size_t>(k)];
  conv2d_backward_filter(s.x, delta, conv_weight(k).grad, bias ? &bias->grad : nullptr, b.conv, false, &s.x16);
}

}  // namespace lpl
